"""python -m devtools.gmail_emulator --port P --mailboxes DIR [...] (contracts §2, §6)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .faults import KINDS
from .mailbox import MailStore
from .server import EmulatorOptions, EmulatorServer


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.gmail_emulator", description="A Gmail API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--mailboxes", help="DIR with one folder of .eml files per address")
    parser.add_argument("--quota-units-per-sec", type=float, default=None)
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
    options = EmulatorOptions(host=args.host, port=args.port, quota_units_per_sec=args.quota_units_per_sec,
                              latency_ms=args.latency_ms, fault_rate=args.fault_rate,
                              fault_kinds=tuple(k for k in args.fault_kinds.split(",") if k), seed=args.seed,
                              service_account_key=args.service_account_key, token_ttl=args.token_ttl)
    try:
        server = EmulatorServer(options, store)
    except (OSError, ValueError) as exc:
        print(f"cannot start the emulator: {exc}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"loaded {count} messages for {len(store.addresses())} mailboxes", file=sys.stderr)
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
