"""The Email Capture page in Chromium: how long 500 pending cards take to render once their data
has arrived, and how long "View email" takes to open an email on loopback.

    .venv/bin/python bench/bench_capture_page.py [--cards 500] [--views 9]

Proposals are made by the real pipeline (500 investor emails, one conversation each) in a fresh
CRM; the page records performance marks (capture:data → capture:rendered, capture:view-start →
capture:view-shown) which are read back. Targets: ≤ 300 ms and ≤ 150 ms. Prints; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_support import ROOT, capture_environ, crm_database, service_account, start_crm_process  # noqa: E402
from backend.db import connect  # noqa: E402
from devtools.gmail_emulator.gmail_format import message_resource  # noqa: E402
from devtools.mailgen import FUNDS, sized_message  # noqa: E402
from email_integration import db as email_db  # noqa: E402
from email_integration.attachments import blob_store_for  # noqa: E402
from email_integration.ingest import Ingestor  # noqa: E402
from email_integration.matcher import MatcherCache  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tests"))
from ui_browser import Page, browser  # noqa: E402

PASSWORD = "bench-password-1"


def make_proposals(data_dir: str, count: int) -> None:
    conn = connect(os.path.join(data_dir, "crm.db"))
    account, _ = email_db.enroll_account(conn, "ann@bench.example", None, "dwd")
    ingestor = Ingestor(conn, MatcherCache("bench.example"), blob_store_for(data_dir))
    rng = random.Random(9)
    made, index = 0, 0
    while made < count:
        fund, people, domain = FUNDS[index % len(FUNDS)]
        raw = sized_message(rng, index, 8 * 1024, "bench.example")
        resource = message_resource(raw, id=f"{index:016x}", thread_id=f"{index:016x}", label_ids=["INBOX"],
                                    history_id=index + 1, internal_date_ms=1_767_225_600_000 + index * 60_000)
        resource["payload"]["headers"] = [h for h in resource["payload"]["headers"]
                                          if h["name"].lower() not in ("in-reply-to", "references")]
        ingestor.ingest(account["id"], resource)
        made = conn.execute("SELECT count(*) FROM email_proposals WHERE status = 'pending'").fetchone()[0]
        index += 1
    conn.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--views", type=int, default=9)
    args = parser.parse_args(argv)
    data_dir = tempfile.mkdtemp(prefix="bench-capture-")
    crm_database(data_dir)
    keys = service_account(os.path.join(data_dir, "secrets"))
    make_proposals(data_dir, args.cards)
    env = {**os.environ, "CRM_DATA_DIR": data_dir, "CRM_PORT": "0", "CRM_RATE_LIMIT_PER_MIN": "100000",
           **capture_environ("http://127.0.0.1:9", keys[0], CRM_GMAIL_SYNC_INTERVAL_MIN="10000")}
    subprocess.run([sys.executable, "-m", "backend.manage", "create-user", "--email", "m@bench.example", "--name",
                    "M", "--role", "member", "--password", PASSWORD], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    server, url = start_crm_process(env, data_dir)
    renders, views = [], []
    try:
        with browser() as instance:
            page = Page(instance, url)
            page.login("m@bench.example", PASSWORD)
            for _ in range(3):
                page.page.goto("/capture?poll=600000")
                page.page.locator("[data-proposal-id]").nth(args.cards - 1).wait_for()
                renders.append(page.page.evaluate(
                    "() => performance.measure('r', 'capture:data', 'capture:rendered').duration"))
            cards = page.page.locator("[data-proposal-id]")
            for i in range(args.views):
                card = cards.nth(i)
                card.get_by_role("button", name="View email").click()
                card.locator("[data-email-detail]").wait_for()
                views.append(page.page.evaluate(
                    "() => { const m = performance.getEntriesByName('capture:view-shown').pop();"
                    " const s = performance.getEntriesByName('capture:view-start').pop(); return m.startTime - s.startTime; }"))
            page.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Debian Chromium headless; CRM on loopback")
    print(f"{args.cards} cards rendered after their data arrived: median {statistics.median(renders):.0f} ms "
          f"(runs: {', '.join(f'{r:.0f}' for r in renders)}; target <= 300 ms)")
    print(f"View email, click to shown: median {statistics.median(views):.0f} ms, max {max(views):.0f} ms over "
          f"{len(views)} opens (target <= 150 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
