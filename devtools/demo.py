"""The demo: the whole thing on the built-in Gmail emulator, until Ctrl-C.

    bash devtools/demo.sh [--port 8080] [--data-dir data/demo] [--fresh] [--verbose]

A data dir with a demo admin, four teammates and investors; a service-account key; generated
mailboxes and calendars for the five teammates (devtools/mailgen.py, devtools/calgen.py); the emulator serving them; the CRM
with the integration on and pointed at the emulator; everyone enrolled and a first sync run.
Steps run in order; each is idempotent, so a second run reuses the same data.
"""
from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@demo.example", "demo-admin-password"
WORKSPACE_DOMAIN = "demo.example"
DEMO_MONTHS = 24  # of generated mail history (devtools/mailgen.py --months)
TEAMMATES = [("ana@demo.example", "Ana Silva"), ("ben@demo.example", "Ben Carter"),
             ("chloe@demo.example", "Chloe Martin"), ("dev@demo.example", "Dev Patel")]
TEAMMATE_PASSWORD = "demo-member-password"
INVESTORS = [
    ("Maya Okafor", "Northwind Ventures", ["maya@northwind.vc"], ["northwind.vc"],
     ["Met at the SF fintech dinner; interested in our seed extension."]),
    ("Jonas Berg", "Fjord Capital", ["jonas@fjordcap.com"], ["fjordcap.com"],
     ["Asked for the updated model after Q3."]),
    ("Priya Raman", "Lattice Partners", ["priya@latticepartners.com", "deals@latticepartners.com"],
     ["latticepartners.com"], []),
    ("Tom Alvarez", "Solstice Fund", ["tom@solstice.fund"], ["solstice.fund"],
     ["Passed for now: too early for their fund III."]),
    ("Elena Rossi", "Ardent Angels", ["elena.rossi@gmail.com"], [], ["Angel; prefers WhatsApp for quick questions."]),
    ("Sam Lee", "Harbor Street", ["sam@harborstreet.co"], ["harborstreet.co"], []),
    ("Ngozi Eze", "Baobab Growth", ["ngozi@baobabgrowth.com"], ["baobabgrowth.com"],
     ["Co-investor on two of our prior rounds."]),
    ("Luis Moreno", "Cobalt Seed", ["luis@cobaltseed.vc"], ["cobaltseed.vc"], []),
]


def manage(data_dir: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRM_DATA_DIR": data_dir}
    return subprocess.run([sys.executable, "-m", "backend.manage", *args], cwd=ROOT, env=env, check=check,
                          capture_output=True, text=True)


def seed_people_and_investors(data_dir: str) -> None:
    """The demo admin and investors with a few manual notes, written straight through the data layer."""
    from backend import db, investors_db
    from backend.server import init_db
    existing = manage(data_dir, "list-users").stdout
    if ADMIN_EMAIL not in existing:
        manage(data_dir, "create-user", "--email", ADMIN_EMAIL, "--name", "Demo Admin", "--role", "admin",
               "--password", ADMIN_PASSWORD)
    for email, name in TEAMMATES:
        if email not in existing:
            manage(data_dir, "create-user", "--email", email, "--name", name, "--role", "member",
                   "--password", TEAMMATE_PASSWORD)
    path = db.db_path(data_dir)
    init_db(path)
    conn = db.connect(path)
    try:
        if investors_db.list_investors(conn):
            return
        admin_id = conn.execute("SELECT id FROM users WHERE email = ?", (ADMIN_EMAIL,)).fetchone()[0]
        for name, firm, emails, domains, notes in INVESTORS:
            investor_id = investors_db.create_investor(conn, name, firm, emails, domains, admin_id)
            for body in notes:
                investors_db.add_grid_note(conn, investor_id, body, "manual", None, admin_id)
    finally:
        conn.close()


def make_gmail_fixtures(data_dir: str) -> None:
    """A service-account key (as Google would issue it) and the teammates' generated mailboxes."""
    from devtools.mailgen import generate
    from devtools.make_service_account import make_service_account
    secrets = os.path.join(data_dir, "secrets")
    if not os.path.exists(os.path.join(secrets, "gmail-service-account.json")):
        make_service_account(secrets)
    mailboxes = os.path.join(data_dir, "mailboxes")
    if not os.path.isdir(mailboxes):
        # Two years of history up to now: with the default proposal horizon (14 days before enrollment)
        # the old conversations fill /emails and last contact, and only the recent few make cards.
        counts = generate(mailboxes, domain=WORKSPACE_DOMAIN, months=DEMO_MONTHS)
        print(f"generated {sum(counts.values())} emails for {len(counts)} teammates", flush=True)


def write_recent_asks(data_dir: str) -> None:
    """Recent investor mail with real asks (devtools/mailgen.py RECENT_ASKS), once per data dir: inside the
    proposal horizon, so the first sync leaves a useful set of cards on Email Capture, one of them HTML."""
    from devtools.mailgen import recent_asks
    mailboxes = os.path.join(data_dir, "mailboxes")
    marker = os.path.join(data_dir, "recent-asks.done")
    if os.path.isdir(mailboxes) and not os.path.exists(marker):
        added = recent_asks(mailboxes, domain=WORKSPACE_DOMAIN)
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(f"{added}\n")
        print(f"added {added} recent investor emails with asks (the cards to review)", flush=True)


def make_calendar_fixtures(data_dir: str) -> None:
    """The five teammates' generated calendars (devtools/calgen.py): two years back and 90 days ahead, about 15%
    with the investors the generated mail talks to, recurring series among them (issue 25)."""
    from devtools.calgen import generate
    calendars = os.path.join(data_dir, "calendars")
    if not os.path.isdir(calendars):
        counts = generate(calendars, domain=WORKSPACE_DOMAIN, months=DEMO_MONTHS)
        print(f"generated {sum(c['events'] for c in counts.values())} calendar events for {len(counts)} teammates",
              flush=True)


def calendar_args(data_dir: str) -> list[str]:
    """The emulator's calendars (contracts §6b)."""
    return ["--calendars", os.path.join(data_dir, "calendars")]


def start_process(args, env) -> tuple[subprocess.Popen, str]:
    """Start a server that prints 'listening on URL' first; (process, url)."""
    process = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if "listening on" not in line:
        process.wait()
        hint = "; if its port is taken, pick another with --port N" if args[1] == "backend.server" else ""
        raise SystemExit(f"demo: {args[1]} did not start (exit {process.returncode}){hint}")
    return process, line.rsplit(" ", 1)[-1]


def gmail_env(data_dir: str, emulator_url: str) -> dict:
    return {"CRM_GMAIL_INTEGRATION_ENABLED": "true", "CRM_GMAIL_AUTH_METHOD": "dwd",
            "CRM_GMAIL_SA_KEY_PATH": os.path.join(data_dir, "secrets", "gmail-service-account.json"),
            "CRM_GMAIL_WORKSPACE_DOMAIN": WORKSPACE_DOMAIN, "CRM_GMAIL_API_BASE": emulator_url,
            "CRM_GMAIL_TOKEN_URI": emulator_url + "/token", "CRM_GMAIL_SYNC_INTERVAL_MIN": "15",
            "CRM_CALENDAR": "on"}


def call(url: str, method: str, path: str, body=None, cookie: str | None = None):
    request = urllib.request.Request(url + path, None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Content-Type": "application/json", **({"Cookie": cookie} if cookie else {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers, json.loads(response.read() or b"{}")


def enroll_and_sync(url: str, timeout: float = 300.0, say=print) -> dict:
    """Log in as the demo admin, enroll every teammate, run a sync and wait for it (bounded), saying per
    mailbox what the sync is doing (SyncProgress) while it runs."""
    headers, _ = call(url, "POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    call(url, "POST", "/api/email/accounts/enroll-all", {}, cookie)
    _, before = call(url, "GET", "/api/email/status", cookie=cookie)
    call(url, "POST", "/api/email/sync/run-now", {}, cookie)
    say("First sync of every mailbox (two years of generated mail; about half a minute):", flush=True)
    progress = SyncProgress(say, {a["id"]: (a["last_run"] or {}).get("id") for a in before["accounts"]})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, status = call(url, "GET", "/api/email/status", cookie=cookie)
        if progress.report(status["accounts"]):
            break
        time.sleep(1)
    _, threads = call(url, "GET", "/api/email/threads?limit=1", cookie=cookie)
    _, proposals = call(url, "GET", "/api/email/proposals?status=pending", cookie=cookie)
    return {"accounts": len(status["accounts"]), "threads": threads["total"], "proposals": len(proposals["proposals"]),
            "runs": [a["last_run"]["status"] if a["last_run"] else None for a in status["accounts"]]}


class SyncProgress:
    """Progress lines for the first sync: per mailbox, what changed since its last line (at most one line per
    mailbox every EVERY_SEC while running), and a closing line when its sync ends."""

    EVERY_SEC = 3.0

    def __init__(self, say=print, earlier_runs: dict | None = None):
        """`earlier_runs`: {account id: its last run's id before this sync}: those runs are not this sync's."""
        self.say, self.shown, self.at, self.done = say, {}, {}, set()
        self.earlier = earlier_runs or {}

    @staticmethod
    def line(account: dict) -> tuple[str, bool]:
        """(the mailbox's line now, whether its sync has ended)."""
        who = account.get("owner") or account["email"]
        counts, run = account["counts"], account["last_run"]
        if run is None:
            return f"  {who}: waiting for its turn…", False
        if account["state"] == "running" or run["status"] == "running":
            read = account["progress"]["done"]
            return ((f"  {who}: reading… {read:,} messages listed, {counts['matched']:,} investor emails stored"
                     if read else f"  {who}: searching for investor mail…"), False)
        if run["status"] == "error":
            return f"  {who}: the sync stopped: {run.get('error') or 'an error'}", True
        cards = account.get("cards_pending")
        return (f"  {who}: done, {counts['matched']:,} investor emails with {counts.get('investors', 0)} investors"
                + (f", {cards} cards to review" if cards else ""), True)

    def report(self, accounts: list[dict]) -> bool:
        """Say what changed; True once every mailbox's sync has ended."""
        now = time.monotonic()
        for account in accounts:
            key = account["id"]
            if key in self.done:
                continue
            if account["last_run"] and account["last_run"]["id"] == self.earlier.get(key):
                account = {**account, "last_run": None}  # this sync's run has not started yet
            text, ended = self.line(account)
            due = now - self.at.get(key, -self.EVERY_SEC) >= self.EVERY_SEC
            if text != self.shown.get(key) and (due or ended):
                self.say(text, flush=True)
                self.shown[key], self.at[key] = text, now
            if ended:
                self.done.add(key)
        return len(self.done) >= len(accounts)


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on host:port (port 0 picks a free one: never in use)."""
    if port == 0:
        return False
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def quiet_env(verbose: bool) -> dict:
    """The servers' logging: warnings only unless --verbose (then every request and connection event too)."""
    return {} if verbose else {"CRM_LOG_LEVEL": "WARNING"}


def run_demo(data_dir: str, host: str, port: int, serve: bool = True, verbose: bool = False) -> int:
    emulator, emulator_url = start_process(
        ["-m", "devtools.gmail_emulator", "--mailboxes", os.path.join(data_dir, "mailboxes"),
         *calendar_args(data_dir),
         "--service-account-key",
         os.path.join(data_dir, "secrets", "gmail-service-account.json")],
        {**os.environ, "PYTHONUNBUFFERED": "1"})
    env = {**os.environ, "CRM_DATA_DIR": data_dir, "CRM_HOST": host, "CRM_PORT": str(port), **gmail_env(data_dir, emulator_url),
           **quiet_env(verbose)}
    try:
        server, url = start_process(["-m", "backend.server"], env)
    except SystemExit:
        emulator.terminate()
        raise
    try:
        summary = enroll_and_sync(url)
        print(f"\nVenture CRM demo is running at {url}\n  login: {ADMIN_EMAIL}\n  password: {ADMIN_PASSWORD}\n"
              f"  teammates: {', '.join(e for e, _ in TEAMMATES)} (password {TEAMMATE_PASSWORD})\n"
              f"  Gmail emulator: {emulator_url}; {summary['accounts']} mailboxes synced, "
              f"{summary['threads']} investor conversations captured\n"
              f"  {summary['proposals']} proposed notes to review at {url}/capture\n  data: {data_dir}", flush=True)
        if not serve:
            return 0 if all(r == "ok" for r in summary["runs"]) else 1
        print("Press Ctrl-C to stop.", flush=True)
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (server, emulator):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    process.kill()


STEPS = [seed_people_and_investors, make_gmail_fixtures, write_recent_asks, make_calendar_fixtures]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the Venture CRM with demo data")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "data", "demo"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--fresh", action="store_true", help="delete the demo data dir first")
    parser.add_argument("--verbose", action="store_true", help="show the servers' logs: every request, every connection")
    parser.add_argument("--no-serve", action="store_true", help="prepare the data and exit (for tests)")
    parser.add_argument("--check", action="store_true", help="start everything, sync once, print, stop (for tests)")
    args = parser.parse_args(argv)
    data_dir = os.path.abspath(args.data_dir)
    if not args.no_serve and port_in_use(args.host, args.port):  # before any work: say it at once, in one line
        print(f"demo: port {args.port} on {args.host} is already in use (is another demo running?); "
              f"pick another one with --port N, e.g. bash devtools/demo.sh --port {args.port + 1}", file=sys.stderr)
        return 2
    if args.fresh and os.path.isdir(data_dir):
        shutil.rmtree(data_dir)
    os.makedirs(data_dir, exist_ok=True)
    for step in STEPS:
        step(data_dir)
    if args.no_serve:
        print(f"demo data ready in {data_dir}")
        return 0
    return run_demo(data_dir, args.host, args.port, serve=not args.check, verbose=args.verbose)


if __name__ == "__main__":
    sys.exit(main())
