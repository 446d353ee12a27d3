"""Administrative commands (contracts §2): users, roles, API tokens, backups.

    python3 -m backend.manage create-user --email E --name N --role admin|member|bot [--password P]
    python3 -m backend.manage set-role --email E --role R
    python3 -m backend.manage set-password --email E [--password P]   (ends the user's sessions)
    python3 -m backend.manage issue-token --email E [--label L]
    python3 -m backend.manage list-tokens [--email E]
    python3 -m backend.manage revoke-token (--id N | --email E)
    python3 -m backend.manage deactivate-user --email E   (sessions and tokens stop at once)
    python3 -m backend.manage reactivate-user --email E
    python3 -m backend.manage list-users
    python3 -m backend.manage backup-now
    python3 -m backend.manage restore-backup NAME_OR_PATH
"""
from __future__ import annotations

import argparse
import getpass
import os
import sqlite3
import sys

from . import auth, backups, db, users_db
from .data_dir import secure_data_dir
from .server import init_db
from .settings import SettingsError, load_settings


class CommandError(Exception):
    """One line for stderr; exit status 2."""


def _open(settings):
    secure_data_dir(settings.data_dir)
    path = db.db_path(settings.data_dir)
    init_db(path)
    return db.connect(path)


def _role(value: str) -> str:
    if value not in users_db.ROLES:
        raise CommandError(f"unknown role {value!r}; roles are: {', '.join(users_db.ROLES)}")
    return value


def _existing_user(conn, email: str) -> dict:
    user = users_db.get_user_by_email(conn, email)
    if user is None:
        raise CommandError(f"no user with email {email!r}")
    return user


def create_user(conn, args, settings) -> None:
    role = _role(args.role)
    password = args.password
    if password is None and sys.stdin.isatty() and role != "bot":
        password = getpass.getpass("Password (empty for none): ") or None
    if "@" not in args.email:
        raise CommandError(f"not an email address: {args.email!r}")
    try:
        user_id = users_db.create_user(conn, args.email.strip(), args.name.strip(), role,
                                       auth.hash_password(password) if password else None)
    except sqlite3.IntegrityError:
        raise CommandError(f"a user with email {args.email!r} already exists") from None
    print(user_id)


def set_role(conn, args, settings) -> None:
    role = _role(args.role)
    _existing_user(conn, args.email)
    users_db.set_role(conn, args.email, role)
    print(f"{args.email}: role {role}")


def set_password(conn, args, settings) -> None:
    password = args.password or getpass.getpass("New password: ")
    user = _existing_user(conn, args.email)
    users_db.set_password_hash(conn, args.email, auth.hash_password(password))
    ended = users_db.end_sessions(conn, user["id"])  # a stolen session must not outlive the old password
    print(f"{args.email}: password set; {ended} session(s) ended")


def issue_token(conn, args, settings) -> None:
    user = _existing_user(conn, args.email)
    print(auth.issue_api_token(conn, user["id"], args.label))


def list_tokens(conn, args, settings) -> None:
    user_id = _existing_user(conn, args.email)["id"] if args.email else None
    for token in users_db.list_tokens(conn, user_id):
        state = f"revoked {token['revoked_at']}" if token["revoked_at"] else "live"
        print("\t".join([str(token["id"]), token["email"], token["label"] or "-", token["created_at"],
                         token["last_used_at"] or "never used", state]))


def revoke_token(conn, args, settings) -> None:
    if (args.id is None) == (args.email is None):
        raise CommandError("give either --id N (see list-tokens) or --email E (all of that user's tokens)")
    if args.id is not None:
        if not users_db.revoke_token(conn, args.id):
            raise CommandError(f"no live token with id {args.id}")
        print(f"token {args.id} revoked")
        return
    user = _existing_user(conn, args.email)
    print(f"{args.email}: {users_db.revoke_tokens(conn, user['id'])} token(s) revoked")


def deactivate_user(conn, args, settings) -> None:
    user = _existing_user(conn, args.email)
    users_db.set_active(conn, user["id"], False)
    print(f"{args.email}: deactivated; sessions ended and API tokens revoked")


def reactivate_user(conn, args, settings) -> None:
    user = _existing_user(conn, args.email)
    users_db.set_active(conn, user["id"], True)
    print(f"{args.email}: reactivated (log in again; issue new tokens)")


def list_users(conn, args, settings) -> None:
    for user in users_db.list_users(conn):
        print(f"{user['id']}\t{user['email']}\t{user['role']}\t{user['name']}" + ("" if user["active"] else "\t(inactive)"))


def backup_now(conn, args, settings) -> None:
    try:
        print(backups.backup_now(db.db_path(settings.data_dir), os.path.join(settings.data_dir, "backups"),
                                 settings.backup_keep))
    except backups.BackupError as exc:
        raise CommandError(str(exc)) from None


def restore_backup(conn, args, settings) -> None:
    backup_dir = os.path.join(settings.data_dir, "backups")
    path = args.backup if os.sep in args.backup else os.path.join(backup_dir, args.backup)
    conn.close()
    try:
        kept = backups.restore_backup(db.db_path(settings.data_dir), path)
    except backups.BackupError as exc:
        raise CommandError(str(exc)) from None
    print(f"restored {os.path.basename(path)}; the previous database was kept at {kept}")
    print("restart the CRM server to serve the restored data")


def _command(sub, name: str, run, help_text: str) -> argparse.ArgumentParser:
    command = sub.add_parser(name, help=help_text)
    command.set_defaults(run=run)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m backend.manage", description="Venture CRM administration")
    sub = parser.add_subparsers(dest="command", required=True)
    p = _command(sub, "create-user", create_user, "create a user and print its id")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, help="admin, member or bot")
    p.add_argument("--password", help="omit for a prompt (or no password for bots)")
    p = _command(sub, "set-role", set_role, "change a user's role, e.g. flip the bot's user member→bot")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True)
    p = _command(sub, "set-password", set_password, "set a user's password and end their sessions")
    p.add_argument("--email", required=True)
    p.add_argument("--password")
    p = _command(sub, "issue-token", issue_token, "print a new API bearer token (shown once, stored hashed)")
    p.add_argument("--email", required=True)
    p.add_argument("--label")
    p = _command(sub, "list-tokens", list_tokens, "list API tokens: id, email, label, created, last used, state")
    p.add_argument("--email")
    p = _command(sub, "revoke-token", revoke_token, "revoke one token (--id) or all of a user's tokens (--email)")
    p.add_argument("--id", type=int)
    p.add_argument("--email")
    for name, run, help_text in (("deactivate-user", deactivate_user, "block a user now: sessions end, tokens are revoked"),
                                 ("reactivate-user", reactivate_user, "let a deactivated user log in again")):
        _command(sub, name, run, help_text).add_argument("--email", required=True)
    _command(sub, "list-users", list_users, "list users: id, email, role, name")
    _command(sub, "backup-now", backup_now, "take an online backup now and print its path")
    p = _command(sub, "restore-backup", restore_backup, "restore a backup (a name in $CRM_DATA_DIR/backups or a path)")
    p.add_argument("backup")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        conn = _open(settings)
        try:
            args.run(conn, args, settings)
        finally:
            conn.close()
    except (CommandError, SettingsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
