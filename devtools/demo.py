"""The demo: a data dir with a demo admin and investors, then the CRM server, until Ctrl-C.

    bash devtools/demo.sh [--port 8080] [--data-dir data/demo] [--fresh]

Steps run in order; each is idempotent, so a second run reuses the same data.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@demo.example", "demo-admin-password"
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


def run_server(data_dir: str, host: str, port: int) -> int:
    env = {**os.environ, "CRM_DATA_DIR": data_dir, "CRM_HOST": host, "CRM_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "-m", "backend.server"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    if "listening on" not in line:
        server.wait()
        return server.returncode or 1
    url = line.rsplit(" ", 1)[-1]
    print(f"\nVenture CRM demo is running at {url}\n  login: {ADMIN_EMAIL}\n  password: {ADMIN_PASSWORD}\n"
          f"  data: {data_dir}\nPress Ctrl-C to stop.", flush=True)
    try:
        return server.wait()
    except KeyboardInterrupt:
        server.send_signal(signal.SIGTERM)
        return server.wait(timeout=15)


STEPS = [seed_people_and_investors]  # the Gmail emulator and a first sync join here


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the Venture CRM with demo data")
    parser.add_argument("--data-dir", default=os.path.join(ROOT, "data", "demo"))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--fresh", action="store_true", help="delete the demo data dir first")
    parser.add_argument("--no-serve", action="store_true", help="prepare the data and exit (for tests)")
    args = parser.parse_args(argv)
    data_dir = os.path.abspath(args.data_dir)
    if args.fresh and os.path.isdir(data_dir):
        shutil.rmtree(data_dir)
    os.makedirs(data_dir, exist_ok=True)
    for step in STEPS:
        step(data_dir)
    if args.no_serve:
        print(f"demo data ready in {data_dir}")
        return 0
    return run_server(data_dir, args.host, args.port)


if __name__ == "__main__":
    sys.exit(main())
