"""Gmail capture for the Venture CRM (see README.md). Importing the package registers its enrolled
mailboxes with the core's investor-address check (backend.address_policy), so no investor address
can be a mailbox we capture; the core itself never imports this package."""
from backend.address_policy import register_team_addresses

from .db import enrolled_addresses

register_team_addresses(enrolled_addresses)
