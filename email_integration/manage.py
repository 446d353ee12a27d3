"""Operator commands for the Gmail capture.

    python3 -m email_integration.manage status                 accounts, their state and last run
    python3 -m email_integration.manage sync-now [--account E]  one sync in the foreground (all accounts by default)
    python3 -m email_integration.manage remove-all [--yes]     back up, then drop every email_*/emails* table
                                                               and $CRM_DATA_DIR/email_attachments

Reads the same environment as the CRM (CRM_DATA_DIR, CRM_GMAIL_*); exit status 2 with one line on error.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys

from backend import address_policy, backups
from backend.db import connect, db_path
from backend.server import init_db
from backend.settings import SettingsError, load_settings

from . import db
from .capture import db_accounts
from .config import CONFIG, ConfigError, validate_startup


class CommandError(Exception):
    """One line for stderr; exit status 2."""


def status(settings, args) -> None:
    conn = connect(db_path(settings.data_dir))
    try:
        for account in db_accounts.list_accounts(conn):
            run = db_accounts.last_run(conn, account["id"]) or {}
            print(json.dumps({"email": account["email"], "state": account["state"], "last_error": account["last_error"],
                              "last_run": {k: run.get(k) for k in ("kind", "status", "finished_at", "messages_added",
                                                                   "error")}}))
    finally:
        conn.close()


def sync_now(settings, args) -> None:
    from email_integration.capture.service import CaptureService
    address_policy.set_firm_domains(settings.firm_domains)  # as the server does: alias domains are the firm's
    CONFIG.reload()
    try:
        validate_startup(CONFIG)
    except ConfigError as error:
        raise CommandError(str(error)) from None
    service = CaptureService(db_path(settings.data_dir), settings.data_dir, CONFIG)
    conn = connect(service.db_path)
    try:
        db_accounts.reset_interrupted(conn)
        accounts = db_accounts.list_accounts(conn)
    finally:
        conn.close()
    if args.account:
        accounts = [a for a in accounts if a["email"] == args.account.lower()]
        if not accounts:
            raise CommandError(f"no email account {args.account}")
    failed = False
    for account in accounts:
        run = service.sync_account(account["id"])
        print(json.dumps({"email": account["email"], **(run or {"skipped": "another process is syncing it"})}),
              flush=True)
        failed = failed or bool(run and run["status"] == "error")
    if failed:
        raise CommandError("a sync run ended in error (see above)")


def remove_all(settings, args) -> None:
    path = db_path(settings.data_dir)
    attachments = os.path.join(settings.data_dir, "email_attachments")
    conn = connect(path)
    try:
        tables = db.capture_tables(conn)
        if not args.yes:
            print(f"This drops {len(tables)} tables ({', '.join(tables)}) and deletes {attachments}.")
            if input("A backup is taken first. Type 'remove' to go on: ").strip() != "remove":
                raise CommandError("not confirmed; nothing changed")
        backup = backups.backup_now(path, os.path.join(settings.data_dir, "backups"), settings.backup_keep)
        print(f"backup: {backup}")
        dropped = db.drop_capture_tables(conn)
    finally:
        conn.close()
    shutil.rmtree(attachments, ignore_errors=True)
    print(f"dropped {len(dropped)} tables and {attachments}; set CRM_GMAIL_INTEGRATION_ENABLED=false "
          "(or remove the package) before the next start, or the tables are created again, empty")


COMMANDS = {"status": status, "sync-now": sync_now, "remove-all": remove_all}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m email_integration.manage", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("status")
    sync = sub.add_parser("sync-now")
    sync.add_argument("--account")
    remove = sub.add_parser("remove-all")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        os.makedirs(settings.data_dir, exist_ok=True)
        init_db(db_path(settings.data_dir))
        COMMANDS[args.command](settings, args)
    except (CommandError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
