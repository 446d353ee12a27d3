"""python -m devtools.gmail_emulator --port P --mailboxes DIR [--calendars DIR] [...] (contracts §2, §6, §6b)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from email_integration.google.quota import (CALENDAR_QUOTA_ERROR_SHAPES, CONCURRENT_CALLS_PER_USER,
                                            DEFAULT_CALENDAR_QUOTA_ERROR_SHAPE, DEFAULT_PROFILE,
                                            DEFAULT_QUOTA_ERROR_SHAPE, PROFILES, QUOTA_ERROR_SHAPES)

from .calendar_store import BadEvent, CalendarStore
from .faults import KINDS
from .mailbox import MailStore
from .query import MATCH_MODES
from .server import EmulatorOptions, EmulatorServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.gmail_emulator", description="A Gmail API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mailboxes", help="DIR with one folder of .eml files per address")
    parser.add_argument("--calendars", help="DIR with one folder of Event .json files per address (Calendar v3)")
    parser.add_argument("--calendar-requests-per-min", type=float, default=None,
                        help="Calendar requests per minute per user (default Google's 600; 0: not enforced)")
    parser.add_argument("--calendar-quota-error-shape", choices=list(CALENDAR_QUOTA_ERROR_SHAPES),
                        default=DEFAULT_CALENDAR_QUOTA_ERROR_SHAPE,
                        help="how a Calendar call over the budget is answered (default %(default)s)")
    parser.add_argument("--dwd-deny-scope", action="append", default=[], metavar="ADDR=SCOPE",
                        help="the token endpoint refuses SCOPE for ADDR (* for every subject; repeatable)")
    parser.add_argument("--quota-profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                        help="Gmail's quota regime: per-method costs and per-user budget (default %(default)s)")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--quota-units-per-min", type=float, default=None,
                        help="per-user budget per minute (default: the profile's; 0: not enforced)")
    budget.add_argument("--quota-units-per-sec", type=float, default=None, help="the same, per second (older flag)")
    parser.add_argument("--max-concurrent", type=int, default=CONCURRENT_CALLS_PER_USER,
                        help="calls in flight per user before 429 'Too many concurrent requests' (0: no limit)")
    parser.add_argument("--quota-error-shape", choices=list(QUOTA_ERROR_SHAPES), default=DEFAULT_QUOTA_ERROR_SHAPE,
                        help="how a call over the budget is answered, as reported from Gmail: 429 userRateLimitExceeded "
                             "with Retry-After, 429 rateLimitExceeded or 403 userRateLimitExceeded without (default "
                             "%(default)s)")
    parser.add_argument("--search-match", choices=MATCH_MODES, default="gmail",
                        help="from:/to:/cc:/bcc: match Gmail's words (default) or exact addresses")
    parser.add_argument("--search-lag-sec", type=float, default=0.0,
                        help="messages.list sees new mail this many seconds after history does (default 0)")
    parser.add_argument("--dwd-deny", action="append", default=[], metavar="ADDR",
                        help="the token endpoint answers 401 unauthorized_client for this subject (repeatable)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-kinds", default=",".join(KINDS))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--service-account-key", help="PEM public key (or the service-account JSON) to verify JWTs")
    parser.add_argument("--token-ttl", type=float, default=3600.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    store = MailStore()
    count = store.load_dir(args.mailboxes) if args.mailboxes else 0
    calendars = CalendarStore()
    try:
        events = calendars.load_dir(args.calendars) if args.calendars else 0
    except (BadEvent, OSError, ValueError) as exc:
        print(f"cannot load the calendars: {exc}", file=sys.stderr)
        return 2
    deny_scopes = []
    for item in args.dwd_deny_scope:
        subject, sep, scope = item.partition("=")
        if not sep or not scope:
            print(f"--dwd-deny-scope wants ADDR=SCOPE, got {item!r}", file=sys.stderr)
            return 2
        deny_scopes.append((subject, scope))
    options = EmulatorOptions(host=args.host, port=args.port, quota_profile=args.quota_profile,
                              quota_units_per_min=args.quota_units_per_min, quota_units_per_sec=args.quota_units_per_sec,
                              max_concurrent=args.max_concurrent or None, dwd_deny=tuple(args.dwd_deny),
                              dwd_deny_scopes=tuple(deny_scopes),
                              calendar_requests_per_min=args.calendar_requests_per_min,
                              calendar_error_shape=args.calendar_quota_error_shape,
                              quota_error_shape=args.quota_error_shape, search_match=args.search_match,
                              search_lag_sec=args.search_lag_sec,
                              latency_ms=args.latency_ms, fault_rate=args.fault_rate,
                              fault_kinds=tuple(k for k in args.fault_kinds.split(",") if k), seed=args.seed,
                              service_account_key=args.service_account_key, token_ttl=args.token_ttl)
    try:
        server = EmulatorServer(options, store, calendars)
    except (OSError, ValueError) as exc:
        print(f"cannot start the emulator: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"loaded {count} messages for {len(store.addresses())} mailboxes", file=sys.stderr)
    if args.calendars:
        print(f"loaded {events} events for {len(calendars.addresses())} calendars", file=sys.stderr)
    print(f"listening on {server.url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
