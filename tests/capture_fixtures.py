"""A capture pipeline on a temp database against the Gmail emulator over HTTP, for sync tests.

    rig = CaptureRig(tmp_path, emulator, keys)           # CRM schema + investors + CaptureService
    account = rig.enroll("ann@firm.test"); rig.sync(account)
    assert rig.view(account) == rig.truth("ann@firm.test")
"""
from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time

from backend import investors_db
from backend.db import connect, db_path
from backend.server import init_db
from email_integration.capture import db_accounts as email_db
from email_integration.capture import db_emails
from email_integration.capture.service import CaptureService
from email_integration.config import load_config

FIRM = "firm.test"
NOBODY = 0  # a viewer id no mailbox belongs to: sees what every teammate sees (db_visibility)
INVESTORS = [("Kim Lee", "Alder Ventures", ["kim@alder.vc"], ["alder.vc"]),
             ("Raj Patel", "Birch Capital", ["raj@birch.capital"], []),
             ("Mo Chen", "Cedar Partners", [], ["cedar.partners"])]


def capture_env(emulator, key_path: str, **extra) -> dict:
    """Settings for a capture against `emulator`; a value of None in `extra` leaves that variable unset
    (its default). The tests written before targeted capture run in CRM_GMAIL_CAPTURE_SCOPE=all."""
    env = {"CRM_GMAIL_INTEGRATION_ENABLED": "true", "CRM_GMAIL_API_BASE": emulator.url,
           "CRM_GMAIL_TOKEN_URI": emulator.url + "/token", "CRM_GMAIL_SA_KEY_PATH": key_path,
           "CRM_GMAIL_WORKSPACE_DOMAIN": FIRM, "CRM_GMAIL_QUOTA_PROFILE": "legacy", "CRM_GMAIL_RETRY_MAX": "8",
           "CRM_GMAIL_BACKFILL_PAGE_SIZE": "20", "CRM_GMAIL_CAPTURE_SCOPE": "all",
           # Fixtures date their mail in Nov 2026 whatever today is: no proposal horizon unless a test sets one.
           "CRM_GMAIL_PROPOSE_SINCE_DAYS": "36500",
           # No model drafts for these CRMs: a card goes to the room at once unless a test sets a wait.
           "CRM_INTAKE_DRAFT_WAIT_SEC": "0", **extra}
    return {name: value for name, value in env.items() if value is not None}


class CaptureRig:
    def __init__(self, tmp_path, emulator, keys, **env):
        self.data_dir = str(tmp_path)
        self.db_file = db_path(self.data_dir)
        init_db(self.db_file)
        self.emulator = emulator
        self.config = load_config(capture_env(emulator, keys[0], **env))
        assert self.config.errors == []
        self.service = CaptureService(self.db_file, self.data_dir, self.config)
        self.conn = connect(self.db_file)
        self.investor_ids = [investors_db.create_investor(self.conn, *row) for row in INVESTORS]

    def enroll(self, address: str) -> int:
        account, _ = email_db.enroll_account(self.conn, address, None, "dwd")
        return account["id"]

    def sync(self, account_id: int, stop=None) -> dict:
        return self.service.sync_account(account_id, stop)

    def view(self, account_id: int) -> dict:
        return db_emails.mailbox_view(self.conn, account_id)

    def truth(self, address: str) -> dict:
        """{gmail id: sorted labels} of what messages.list shows (spam and trash excluded)."""
        box = self.emulator.store.mailbox(address)
        truth = {}
        for gmail_id in box.message_ids():
            labels = box.get(gmail_id, "minimal")["labelIds"]
            if not {"SPAM", "TRASH"} & set(labels):
                truth[gmail_id] = sorted(labels)
        return truth

    def query(self, sql: str, *params):
        return [dict(r) for r in self.conn.execute(sql, params)]

    def count(self, table: str) -> int:
        return self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def run_rows(self, account_id: int) -> list[dict]:
        return email_db.list_runs(self.conn, account_id)

    def close(self):
        self.conn.close()


class FailingFetch:
    """The real client, except that fetching one message always fails (transiently: it stays queued)."""

    def __init__(self, client, victim):
        self.client, self.victim = client, victim

    def __getattr__(self, name):
        return getattr(self.client, name)

    def batch_get_messages(self, ids, *args, **kwargs):
        from email_integration.google.errors import TransientError
        found, failed = self.client.batch_get_messages(ids, *args, **kwargs)
        if self.victim in found:
            del found[self.victim]
            failed[self.victim] = TransientError("injected")
        return found, failed


def problems(detail_json: str) -> list:
    return json.loads(detail_json)


def attachment_files(data_dir: str) -> list[str]:
    root = os.path.join(data_dir, "email_attachments")
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)


KIM = {"name": "Kim Lee", "firm": "Alder", "emails": ["kim@alder.vc"], "domains": []}


def db_rows(server, sql, *params) -> list:
    """Rows of a read-only query on a running CRM's database."""
    conn = sqlite3.connect(f"file:{server.data_dir}/crm.db?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def sync_all(server, timeout: float = 30.0) -> None:
    """Run-now on a running CRM and wait until every account has a newer finished run."""
    def last_ids():
        return [a["last_run"]["id"] if a["last_run"] else 0 for a in server.admin.get("/api/email/status").json["accounts"]]
    before = last_ids()
    assert server.admin.post("/api/email/sync/run-now", {}).status == 202
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accounts = server.admin.get("/api/email/status").json["accounts"]
        if all(a["last_run"] and a["last_run"]["id"] > b and a["last_run"]["status"] != "running"
               and a["state"] != "running" for a, b in zip(accounts, before)):
            return
        time.sleep(0.1)
    raise AssertionError("sync did not finish")


def work_lists(server) -> dict:
    """The intake bot's GET /api/intake/email-proposals, as the bot."""
    reply = server.bot.get("/api/intake/email-proposals")
    assert reply.status == 200, reply
    return reply.json


@contextlib.contextmanager
def capture_site(tmp_path_factory, keys, mail, investors=(KIM,), **env):
    """An emulator holding `mail` [(mailbox address, raw RFC 822)] and a CRM capturing it (synced once);
    both stopped afterwards."""
    from devtools.gmail_emulator.server import start_emulator
    from emulator_fixtures import add_message
    emulator = start_emulator(service_account_key=keys[1])
    try:
        for box, raw in mail:
            add_message(emulator.url, box, raw)
        server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors, **env)
        try:
            yield server
        finally:
            server.stop()
    finally:
        emulator.stop()


MEMBER2 = "member2@firm.test"
KIM_ALDER = {**KIM, "domains": ["alder.vc"]}


def start_privacy_crm(data_dir, emulator, keys, investors=(KIM_ALDER,), **env):
    """The privacy sites' CRM: admin@, member@ and member2@ (`server.member2`), the investors (their ids by name
    in `server.ids`), every mailbox enrolled, nothing synced yet (a site may add exclusions first)."""
    from conftest import start_crm, with_people
    server = with_people(start_crm(data_dir, capture_env(emulator, keys[0], **env)))
    server.create_user(MEMBER2, "member", name="Member Two")
    server.member2 = server.logged_in(MEMBER2)
    server.emulator = emulator
    server.ids = {}
    for investor in investors:
        reply = server.admin.post("/api/investors", investor)
        assert reply.status == 201
        server.ids[investor["name"]] = reply.json["id"]
    assert server.admin.post("/api/email/accounts/enroll-all", {}).status == 200
    return server


def start_capture_crm(data_dir, emulator, keys, investors=(KIM,), sync: bool = True, **env):
    """A CRM (with admin/member/bot) capturing from `emulator`, with investors, everyone enrolled, synced once."""
    from conftest import start_crm, with_people
    server = with_people(start_crm(data_dir, capture_env(emulator, keys[0], **env)))
    for investor in investors:
        assert server.admin.post("/api/investors", investor).status == 201
    server.admin.post("/api/email/accounts/enroll-all", {})
    if sync:
        sync_all(server)
    return server
