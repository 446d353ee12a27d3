"""The relationship view's speed over HTTP against a real CRM server (issue 17).

    .venv/bin/python bench/bench_relationships.py [--investors 2000] [--big-emails 3000] [--other-emails 10]
                                                  [--people N]

Builds a database through the real capture pipeline (RFC 822 → Gmail JSON → Ingestor: parse,
match, thread, store, propose): five teammates' mailboxes; one investor with --big-emails linked
emails across the five (threads of teammate → investor → teammate, over three years) and 200 grid
notes; --investors - 1 more investors with --other-emails each. Then starts `python -m
backend.server` with the integration on (its mailboxes disabled so no sync runs) and times, over
keep-alive HTTP on loopback as a member: the big investor's timeline (first and a deep page) and
connections, the grid (every investor with strength and closest teammate) warm and right after an
investor edit (which has that investor's stats recomputed), and the going-cold list.
`--people N` gives the big investor N people (issue 24, item 8), the first holding its address: the timeline
and connections then also say which person each email was with, and who knows each.
Prints median / p95 / max per request; asserts nothing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import email.utils
import http.client
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from backend import investors_db, users_db  # noqa: E402
from backend.auth import token_hash  # noqa: E402
from backend.db import atomic, connect, db_path  # noqa: E402
from backend.server import init_db  # noqa: E402
from bench_support import capture_environ, service_account, start_crm_process  # noqa: E402
from devtools.gmail_emulator.gmail_format import message_resource  # noqa: E402
from email_integration.capture import db_accounts as email_db  # noqa: E402
from email_integration.capture.attachments import blob_store_for  # noqa: E402
from email_integration.capture.ingest import Ingestor  # noqa: E402
from email_integration.capture.matcher import MatcherCache  # noqa: E402

DOMAIN = "bench.example"
TEAM = ["ann", "ben", "cat", "dan", "eve"]
NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
BATCH = 50  # one transaction per 50 messages, as sync stores them


class Builder:
    """Feeds generated conversations through the real ingest path into one database."""

    def __init__(self, data_dir: str):
        self.path = db_path(data_dir)
        init_db(self.path)
        self.conn = connect(self.path)
        self.ingestor = Ingestor(self.conn, MatcherCache(DOMAIN), blob_store_for(data_dir))
        self.accounts, self.count, self.pending = {}, 0, 0

    def teammates(self) -> int:
        member = None
        for name in TEAM:
            user_id = users_db.create_user(self.conn, f"{name}@{DOMAIN}", name.title(), "member", None)
            member = member or user_id
            self.accounts[name] = email_db.enroll_account(self.conn, f"{name}@{DOMAIN}", user_id, "dwd")[0]["id"]
        return member

    def message(self, name: str, investor: str, outgoing: bool, subject: str, when: dt.datetime, thread: str,
                reply_to: str | None) -> str:
        self.count += 1
        msg = EmailMessage()
        mate = f"{name.title()} <{name}@{DOMAIN}>"
        msg["From"], msg["To"] = (mate, investor) if outgoing else (investor, mate)
        msg["Subject"], msg["Date"] = subject, email.utils.format_datetime(when)
        msg["Message-ID"] = message_id = f"<m{self.count}@{DOMAIN}>"
        if reply_to:
            msg["In-Reply-To"] = msg["References"] = reply_to
        msg.set_content(f"Message {self.count} about the fund: could you send the quarterly numbers? Thanks.\n")
        resource = message_resource(bytes(msg), id=f"{self.count:016x}", thread_id=thread,
                                    label_ids=["SENT" if outgoing else "INBOX"], history_id=self.count,
                                    internal_date_ms=int(when.timestamp() * 1000))
        if self.pending == 0:
            self.conn.execute("BEGIN IMMEDIATE")
        self.ingestor.ingest(self.accounts[name], resource)
        self.pending += 1
        if self.pending == BATCH:
            self.flush()
        return message_id

    def flush(self):
        if self.pending:
            self.conn.execute("COMMIT")
            self.pending = 0

    def conversation(self, name: str, investor: str, subject: str, start: dt.datetime, length: int) -> None:
        thread, previous = f"t{self.count:015x}", None
        for turn in range(length):
            previous = self.message(name, investor, turn % 2 == 0, subject if turn == 0 else "Re: " + subject,
                                    start + dt.timedelta(hours=turn * 5), thread, previous)


def build(data_dir: str, investors: int, big_emails: int, other_emails: int) -> tuple[int, int]:
    builder = Builder(data_dir)
    member = builder.teammates()
    ids = [investors_db.create_investor(builder.conn, f"LP {i:04d}", f"Fund {i}", [f"gp@lp{i}.vc"], [])
           for i in range(investors)]
    started = time.perf_counter()
    span_days = 3 * 365
    for k in range(big_emails // 3):  # teammate → investor → teammate, spread over three years
        when = NOW - dt.timedelta(days=span_days * k / (big_emails // 3), hours=6)
        builder.conversation(TEAM[k % 5], "gp@lp0.vc", f"Big LP topic {k}", when, 3)
    for i in range(1, investors):
        for k in range(other_emails // 2):
            when = NOW - dt.timedelta(days=(i * 7 + k * 45) % span_days + 1)
            builder.conversation(TEAM[(i + k) % 5], f"gp@lp{i}.vc", f"LP {i} topic {k}", when, 2 if k % 3 else 1)
    builder.flush()
    for n in range(200):
        investors_db.add_grid_note(builder.conn, ids[0], f"Note {n} on the big LP.", "manual", None, member,
                                   created_at=(NOW - dt.timedelta(days=n * 5)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    with atomic(builder.conn):
        for account_id in builder.accounts.values():  # no sync against a Gmail that is not there
            email_db.set_account_state(builder.conn, account_id, "disabled")
    token = secrets.token_urlsafe(24)
    users_db.create_api_token(builder.conn, token_hash(token), member, "bench")
    emails = builder.conn.execute("SELECT count(*) FROM emails").fetchone()[0]
    print(f"built {investors} investors, {emails} emails through ingest in {time.perf_counter() - started:.1f} s; "
          f"big investor: {builder.conn.execute('SELECT count(*) FROM email_investor_links WHERE investor_id = ?', (ids[0],)).fetchone()[0]} "
          f"linked emails, 200 notes")
    builder.conn.close()
    return ids[0], token


def add_people(data_dir: str, investor_id: int, count: int) -> None:
    """The big investor's people: the first holds gp@lp0.vc (all its mail), the others an address each."""
    conn = connect(db_path(data_dir))
    if not investors_db.people_rows(conn, [investor_id]):
        for n in range(count):
            investors_db.add_person(conn, investor_id, "Gee Pee" if n == 0 else f"Partner {n}", None,
                                    ["gp@lp0.vc" if n == 0 else f"partner{n}@lp0.vc"])
    conn.close()


def start_server(data_dir: str, key_path: str) -> tuple[subprocess.Popen, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(capture_environ("http://127.0.0.1:9", key_path, CRM_DATA_DIR=data_dir, CRM_PORT="0",
                               CRM_RATE_LIMIT_PER_MIN="1000000", CRM_LOG_LEVEL="WARNING"))
    process, url = start_crm_process(env, data_dir)
    return process, int(url.rsplit(":", 1)[-1])


class Client:
    def __init__(self, port: int, token: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body=None) -> tuple[float, dict]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        started = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        payload = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status} {payload[:200]!r}")
        return elapsed, json.loads(payload)


def report(label: str, times: list[float], target: str) -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(f"{label:<46} median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms   max {ordered[-1]:7.1f} ms"
          f"   (n={len(ordered)}, target {target})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--investors", type=int, default=2000)
    parser.add_argument("--big-emails", type=int, default=3000)
    parser.add_argument("--other-emails", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--people", type=int, default=0, help="people of the big investor (issue 24, item 8)")
    parser.add_argument("--data-dir", help="build here once and reuse on later runs (default: a new temp dir)")
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"SQLite {__import__('sqlite3').sqlite_version}")
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="bench-rel-")
    os.makedirs(data_dir, exist_ok=True)
    built = os.path.join(data_dir, "bench.json")
    fresh = not os.path.exists(built)
    if not fresh:  # --data-dir of an earlier run: measure again without rebuilding
        with open(built) as handle:
            big, token = json.load(handle)
    else:
        big, token = build(data_dir, args.investors, args.big_emails, args.other_emails)
        with open(built, "w") as handle:
            json.dump([big, token], handle)
    if args.people:
        add_people(data_dir, big, args.people)
    key_path, _ = service_account(tempfile.mkdtemp(prefix="bench-sa-"))
    process, port = start_server(data_dir, key_path)
    try:
        client = Client(port, token)
        elapsed, first = client.call("GET", "/api/investors")  # computes every strength once
        what = "first grid load (computes every investor's stats)" if fresh else "first grid load (stats kept from before)"
        print(f"{what}: {elapsed:.0f} ms, "
              f"{sum(1 for i in first['investors'] if i['strength'] is not None)} investors with a strength")
        _, page = client.call("GET", f"/api/investors/{big}/timeline?limit=50")
        deep = page["next_before"]
        for _ in range(20):  # the cursor of page 22, or of the last page when there are fewer
            following = client.call("GET", f"/api/investors/{big}/timeline?limit=50&before={deep}")[1]["next_before"]
            if following is None:
                break
            deep = following
        runs = {"timeline, first page of 50": [], "timeline, page 22 of 50": [], "connections": [],
                "grid (2,000 investors + strength)": [], "grid ?stale=1 (going cold)": []}
        for _ in range(args.repeat):
            runs["timeline, first page of 50"].append(client.call("GET", f"/api/investors/{big}/timeline?limit=50")[0])
            runs["timeline, page 22 of 50"].append(
                client.call("GET", f"/api/investors/{big}/timeline?limit=50&before={deep}")[0])
            runs["connections"].append(client.call("GET", f"/api/investors/{big}/connections")[0])
            runs["grid (2,000 investors + strength)"].append(client.call("GET", "/api/investors")[0])
            runs["grid ?stale=1 (going cold)"].append(client.call("GET", "/api/investors?stale=1")[0])
        targets = {"timeline, first page of 50": "≤ 100 ms", "timeline, page 22 of 50": "-",
                   "connections": "≤ 100 ms", "grid (2,000 investors + strength)": "≤ 300 ms",
                   "grid ?stale=1 (going cold)": "-"}
        for label, times in runs.items():
            report(label, times, targets[label])
        after_edit = []
        for n in range(5):
            client.call("PATCH", f"/api/investors/{big}", {"firm": f"Fund 0 rev {n}"})
            after_edit.append(client.call("GET", "/api/investors")[0])
        report("grid right after an investor edit (its stats redone)", after_edit, "-")
        connections = client.call("GET", f"/api/investors/{big}/connections")[1]["connections"]
        print("big investor's connections: " + ", ".join(f"{c['user']['name']} {c['strength']}" for c in connections))
    finally:
        process.terminate()
        process.wait(timeout=15)
    return 0


if __name__ == "__main__":
    sys.exit(main())
