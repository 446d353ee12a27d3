"""How fast a reviewer's "yes" in Matrix becomes an approved proposal in the CRM, through a real
Synapse (long-poll sync) and the bot as a subprocess, on loopback: first with the room idle, then
while another card's model revision is in flight (the model stand-in holds its answer for the whole
second phase, at least 5 s, so every yes there is measured with a model call outstanding).

    .venv/bin/python bench/bench_intake_latency.py [--cards 20]

The card poll interval is set long (60 s) on purpose: the figure must come from the sync path.
Latency = from the reviewer's send returning to the CRM listing the proposal as approved (polled
every 10 ms). Target: p95 <= 2 s in both phases. Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from capture_fixtures import capture_env  # noqa: E402
from conftest import start_crm, with_people  # noqa: E402
from devtools.intake_rig import World, wait_for  # noqa: E402
from emulator_fixtures import add_message, make_message  # noqa: E402


MODEL_BUSY_SEC = 5.0  # issue 13: a yes on card B while card A's revision takes 5 s


def _yes_latency(world, card) -> float:
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    sent = time.monotonic()
    while any(p["id"] == proposal_id for p in world.crm.admin.get("/api/email/proposals").json["proposals"]):
        if time.monotonic() - sent > 30:
            raise SystemExit("a yes did not arrive within 30 s")
        time.sleep(0.01)
    return time.monotonic() - sent


def _summary(label: str, latencies: list[float]) -> str:
    latencies = sorted(latencies)
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
    return (f"{label}, {len(latencies)} decisions: median {statistics.median(latencies) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms (target p95 <= 2000 ms)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cards", type=int, default=20)
    args = parser.parse_args(argv)
    idle, busy = [f"Latency {i}" for i in range(args.cards)], [f"Busy {i}" for i in range(args.cards)]
    subjects = idle + busy + ["Slow model card"]
    world = World(Path(tempfile.mkdtemp(prefix="bench-intake-")), subjects, start_crm, with_people, capture_env,
                  add_message, make_message)
    quiet, beside_model, held = [], [], 0.0
    try:
        env_poll = world.bot_env
        world.bot_env = lambda: {**env_poll(), "EMAIL_PROPOSAL_POLL_SEC": "60", "LLM_TIMEOUT_SEC": "300"}
        world.start_bot()
        wait_for(lambda: len(world.cards()) == len(subjects), timeout=120, what="all cards posted")
        for subject in idle:
            quiet.append(_yes_latency(world, world.card_for(subject)))
        slow = world.card_for("Slow model card")
        world.llm.hold.clear()  # the model answers nothing until the phase is over
        world.ann.send_text(world.room, "edit: mention the Friday deadline", thread_root=slow["event_id"])
        wait_for(lambda: world.llm.waiting == 1, what="the model call in flight")
        started = time.monotonic()
        for i, subject in enumerate(busy):
            # spread the decisions over the model's MODEL_BUSY_SEC, as reviewers would answer during it
            time.sleep(max(0.0, started + i * MODEL_BUSY_SEC / len(busy) - time.monotonic()))
            beside_model.append(_yes_latency(world, world.card_for(subject)))
            if world.llm.waiting != 1:
                raise SystemExit("the model call ended early; the figure would not be what it claims")
        time.sleep(max(0.0, started + MODEL_BUSY_SEC - time.monotonic()))
        held = time.monotonic() - started
        world.llm.hold.set()
    finally:
        world.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; Synapse {__import__('synapse').__version__} "
          f"(SQLite) + CRM + bot on loopback; card poll 60 s (the sync path is what is timed)")
    print(_summary("reviewer yes → CRM approved, room idle", quiet))
    print(_summary(f"reviewer yes → CRM approved while another card's model call is in flight "
                   f"(held {held:.1f} s)", beside_model))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
