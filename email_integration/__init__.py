"""Gmail capture for the Venture CRM (see README.md for the layout and the order of its subpackages).

Loading the package wires it together, once, whichever module is imported first:
- its enrolled mailboxes join the core's investor-address check (backend.address_policy), so no
  investor address can be a mailbox we capture;
- review and relationships subscribe to capture's store (capture/events.py), which never imports them.
The core itself never imports this package except through the seed's guarded seams.
"""
from backend.address_policy import register_team_addresses

try:
    from .capture import events
    from .capture.db_accounts import enrolled_addresses
    from .relationships.on_capture import RelationshipsOnCapture
    from .review.on_capture import ReviewOnCapture
except ImportError as error:
    # The core's seams read an ImportError as "the package is not installed" and go on without it
    # (no email tables, no config check): a broken module inside an installed package must stop the
    # start instead of switching capture off in silence.
    raise RuntimeError(f"email_integration is installed but cannot be loaded: {error}") from error

register_team_addresses(enrolled_addresses)
events.subscribe(ReviewOnCapture())
events.subscribe(RelationshipsOnCapture())
