"""Model-written first drafts, CRM side, over real HTTP: the to_draft work-list, POST …/{id}/draft and its
races with people (web edits and decisions), drafted_by on the cards, and posting that waits for the draft."""
from __future__ import annotations

import threading
import time

import pytest

from capture_fixtures import KIM as KIM_INVESTOR, start_capture_crm, sync_all
from emulator_fixtures import add_message, make_message

ADMIN = "admin@firm.test"
KIM = "Kim Lee <kim@alder.vc>"
INTAKE = "/api/intake/email-proposals"
SUBJECTS = ("Listed", "Drafted", "Edited first", "Decided first", "Race edit", "Race approve", "Bad drafts", "Newer mail",
            "Posted after draft", "Made private")


def mail(url, subject, i, body=None, reply_to=None, day=2):
    add_message(url, ADMIN, make_message(
        sender=KIM, to=ADMIN, subject=("Re: " if reply_to else "") + subject, in_reply_to=reply_to,
        message_id=f"<{subject.replace(' ', '')}{i}@alder.vc>", date=f"Mon, 0{day} Nov 2026 10:{i:02d}:00 +0000",
        body=body or f"Could you send the data room link for {subject} by Friday?\n\n"
                     f"On Sun, Nov 1, 2026 Ann wrote:\n> QUOTED history for {subject}\n"))


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1])
    mail(emulator.url, "Earlier", 0, body="We met last week; the deck looked good.\n", day=1)
    for i, subject in enumerate(SUBJECTS, start=1):
        mail(emulator.url, subject, i, reply_to="<Earlier0@alder.vc>" if subject == "Listed" else None)
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys,
                               investors=[{**KIM_INVESTOR, "domains": ["alder.vc"]}],
                               CRM_INTAKE_DRAFT_WAIT_SEC="600")
    server.emulator = emulator
    yield server
    server.stop()
    emulator.stop()


def work(site, **query):
    path = INTAKE + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    reply = site.bot.get(path)
    assert reply.status == 200, reply
    return reply.json


def to_draft(site, subject):
    return next((item for item in work(site)["to_draft"] if item["email"]["subject"].endswith(subject)), None)


def web_card(site, subject):
    cards = site.member.get("/api/email/proposals?status=pending").json["proposals"]
    return next(c for c in cards if c["email"]["subject"].endswith(subject))


def model_draft(site, item, text="Kim (Alder) wants the data room link by Friday.", model="qwen2.5-7b", version=None):
    return site.bot.post(f"{INTAKE}/{item['id']}/draft", {"draft": text, "model": model,
                                                          "expected_version": item["version"] if version is None
                                                          else version})


def test_to_draft_lists_the_crms_own_drafts_newest_first_with_text_and_context(site):
    items = work(site)["to_draft"]
    assert len(items) == len(SUBJECTS)  # "Earlier" and "Listed" are one conversation: one proposal
    dates = [item["email"]["date"] for item in items]
    assert dates == sorted(dates, reverse=True)
    listed = to_draft(site, "Listed")
    assert listed["investor"] == {"id": listed["investor"]["id"], "name": "Kim Lee", "firm": "Alder"}
    assert listed["email"]["from"]["email"] == "kim@alder.vc" and listed["email"]["to"][0]["email"] == ADMIN
    assert listed["email"]["direction"] == "received"
    assert "data room link for Listed by Friday" in listed["text"] and "QUOTED" not in listed["text"]
    assert [c["text"] for c in listed["context"]] == ["We met last week; the deck looked good."]
    assert web_card(site, "Listed")["drafted_by"] == "crm"
    assert len(work(site, limit=2)["to_draft"]) == 2


def test_a_model_draft_bumps_the_version_and_shows_who_drafted_it(site):
    item = to_draft(site, "Drafted")
    reply = model_draft(site, item)
    assert reply.status == 200, reply
    proposal = reply.json["proposal"]
    assert proposal["version"] == item["version"] + 1 and proposal["drafted_by"] == "model:qwen2.5-7b"
    card = web_card(site, "Drafted")
    assert card["draft"] == "Kim (Alder) wants the data room link by Friday." and card["drafted_by"] == "model:qwen2.5-7b"
    assert to_draft(site, "Drafted") is None
    assert model_draft(site, item, "Again.").status == 409  # drafted once per version
    approved = site.member.post(f"/api/email/proposals/{item['id']}/decide",
                                {"decision": "approve", "expected_version": proposal["version"]})
    assert approved.status == 200 and approved.json["proposal"]["drafted_by"] == "model:qwen2.5-7b"


def test_a_person_who_edited_or_decided_first_wins(site):
    edited, decided = to_draft(site, "Edited first"), to_draft(site, "Decided first")
    assert site.member.post(f"/api/email/proposals/{edited['id']}/decide",
                            {"decision": "edit", "note": "Mine.", "expected_version": edited["version"]}).status == 200
    assert site.member.post(f"/api/email/proposals/{decided['id']}/decide", {"decision": "reject"}).status == 200
    assert to_draft(site, "Edited first") is None and to_draft(site, "Decided first") is None
    late = model_draft(site, edited, version=edited["version"] + 1)  # even at the current version
    assert late.status == 409 and late.json["proposal"]["draft"] == "Mine."
    assert late.json["proposal"]["drafted_by"] == "edited"
    assert web_card(site, "Edited first")["drafted_by"] == "edited"
    gone = model_draft(site, decided)
    assert gone.status == 409 and gone.json["proposal"]["status"] == "rejected"


@pytest.mark.parametrize("subject,human", [("Race edit", {"decision": "edit", "note": "Kim wants the link."}),
                                           ("Race approve", {"decision": "approve"})])
def test_a_model_draft_racing_a_person_never_overrides_them(site, subject, human):
    item = to_draft(site, subject)
    barrier, results = threading.Barrier(2), {}

    def person():
        barrier.wait()
        results["person"] = site.member.post(f"/api/email/proposals/{item['id']}/decide",
                                             {**human, "expected_version": item["version"]})

    def model():
        barrier.wait()
        results["model"] = model_draft(site, item)

    threads = [threading.Thread(target=person), threading.Thread(target=model)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted([results["person"].status, results["model"].status]) == [200, 409]
    final = next(c for s in ("pending", "approved") for c in
                 site.member.get(f"/api/email/proposals?status={s}").json["proposals"] if c["id"] == item["id"])
    if results["person"].status == 200:  # the person won: their edit or decision stands, the model's is dropped
        assert final["draft"] != "Kim (Alder) wants the data room link by Friday."
    else:  # the model was first: the person's stale version is refused and they see the model's draft
        assert results["person"].json["proposal"]["drafted_by"] == "model:qwen2.5-7b"
        assert final["status"] == "pending" and final["drafted_by"] == "model:qwen2.5-7b"


@pytest.mark.parametrize("body", [{}, {"draft": "x", "model": "m"}, {"draft": "", "model": "m", "expected_version": 1},
                                  {"draft": "x" * 2001, "model": "m", "expected_version": 1},
                                  {"draft": "x", "model": "bad model name!", "expected_version": 1},
                                  {"draft": "x", "model": "", "expected_version": 1},
                                  {"draft": 5, "model": "m", "expected_version": 1},
                                  {"draft": "x", "model": "m", "expected_version": "1"}])
def test_bad_drafts_are_400_and_change_nothing(site, body):
    item = to_draft(site, "Bad drafts")
    reply = site.bot.post(f"{INTAKE}/{item['id']}/draft", body)
    assert reply.status == 400 and reply.json["error"]
    assert to_draft(site, "Bad drafts")["version"] == item["version"]


def test_not_json_unknown_ids_and_roles(site):
    item = to_draft(site, "Bad drafts")
    assert site.bot.post(f"{INTAKE}/{item['id']}/draft", body=b"{not json",
                         headers={"Content-Type": "application/json"}).status == 400
    assert site.bot.post(f"{INTAKE}/999999/draft", {"draft": "x", "model": "m", "expected_version": 1}).status == 404
    assert site.member.post(f"{INTAKE}/{item['id']}/draft", {"draft": "x", "model": "m",
                                                             "expected_version": 1}).status == 403
    assert site.client().post(f"{INTAKE}/{item['id']}/draft", {"draft": "x", "model": "m",
                                                               "expected_version": 1}).status == 401
    assert to_draft(site, "Bad drafts")["version"] == item["version"]


def test_a_newer_email_makes_a_model_drafted_card_the_crms_again(site):
    item = to_draft(site, "Newer mail")
    assert model_draft(site, item).status == 200
    mail(site.emulator.url, "Newer mail", 50, body="We would like to commit $2M to the round.\n",
         reply_to=f"<Newermail{SUBJECTS.index('Newer mail') + 1}@alder.vc>", day=3)
    sync_all(site)
    again = to_draft(site, "Newer mail")
    assert again is not None and again["version"] == item["version"] + 2 and "$2M" in again["text"]
    assert [c["text"] for c in again["context"]][0].startswith("Could you send the data room link for Newer mail")
    assert web_card(site, "Newer mail")["drafted_by"] == "crm"


def test_a_card_is_handed_out_only_once_its_draft_is_settled(site):
    item = to_draft(site, "Posted after draft")
    edited = to_draft(site, "Listed")

    def postable():
        return {card["email"]["subject"] for card in work(site)["to_post"]}
    before = work(site)
    assert not postable() & {"Posted after draft", "Listed"}  # the CRM's drafts are younger than the wait
    assert before["waiting"] >= 2  # held back, and counted as waiting
    assert model_draft(site, item).status == 200
    assert site.member.post(f"/api/email/proposals/{edited['id']}/decide",
                            {"decision": "edit", "note": "Kim asks for the link.",
                             "expected_version": edited["version"]}).status == 200
    ready = {card["email"]["subject"]: card for card in work(site)["to_post"]}
    assert ready["Posted after draft"]["drafted_by"] == "model:qwen2.5-7b"
    assert ready["Re: Listed"]["drafted_by"] == "edited"


def test_a_private_conversation_never_reaches_the_model(site):
    item = to_draft(site, "Made private")
    thread = web_card(site, "Made private")["thread_id"]
    assert site.admin.post(f"/api/email/threads/{thread}/private", {"private": True}).status == 200  # admin holds it
    assert to_draft(site, "Made private") is None
    assert all("Made private" not in c["text"] for i in work(site)["to_draft"] for c in i["context"])
    assert model_draft(site, item).status in (404, 409)  # its card was withdrawn: nothing to draft


@pytest.fixture(scope="module")
def everything_site(tmp_path_factory, keys):
    """CRM_GMAIL_CAPTURE_SCOPE=all with CRM_GMAIL_CAPTURE_ALL (every body kept): Kim's mail, and in its Gmail
    thread a forward to the firm's lawyer."""
    from capture_fixtures import capture_site
    kim = [{**KIM_INVESTOR, "domains": ["alder.vc"]}]
    thread = [(ADMIN, make_message(sender=KIM, to=ADMIN, subject="Deal terms", message_id="<dealA@alder.vc>",
                                   date="Mon, 02 Nov 2026 10:00:00 +0000", body="Here are the deal terms.\n")),
              (ADMIN, make_message(sender=f"Admin <{ADMIN}>", to="Lee Counsel <lee@counsel.example>",
                                   subject="Fwd: Deal terms", message_id="<fwdB@firm.test>", in_reply_to="<dealA@alder.vc>",
                                   date="Mon, 02 Nov 2026 11:00:00 +0000",
                                   body="LAWYER ONLY: can we walk away from clause 4?\n")),
              (ADMIN, make_message(sender=KIM, to=ADMIN, subject="Re: Deal terms", message_id="<dealC@alder.vc>",
                                   in_reply_to="<dealA@alder.vc>", date="Mon, 02 Nov 2026 12:00:00 +0000",
                                   body="Any questions on the terms?\n"))]
    with capture_site(tmp_path_factory, keys, thread, investors=kim, CRM_GMAIL_CAPTURE_SCOPE="all",
                      CRM_GMAIL_CAPTURE_ALL="true", CRM_INTAKE_DRAFT_WAIT_SEC="600") as server:
        yield server


def test_the_model_s_context_carries_matched_mail_only_in_every_scope(everything_site):
    """Capturing all, the forward to the lawyer is stored with its body, in the same conversation, unmatched: the
    model's context (earlier_in_thread) must leave it out, as the investors scope never stores it."""
    items = [i for i in work(everything_site)["to_draft"] if i["email"]["subject"] == "Re: Deal terms"]
    assert len(items) == 1, work(everything_site)["to_draft"]
    assert [c["text"] for c in items[0]["context"]] == ["Here are the deal terms."]
    assert all("LAWYER" not in c["text"] for i in work(everything_site)["to_draft"] for c in i["context"])
