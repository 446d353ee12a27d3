"""Units of the bot: cards, the config's one-line errors (reading replies: test_grammar.py, test_events.py;
the model's framing: test_llm.py)."""
import pytest

import json

from matrix_intake.cards import card_content, context_of
from matrix_intake.config import ConfigError, load_config


def test_card_caps_recipients_and_escapes_html():
    card = {"id": 1, "version": 1, "draft": "<script>x</script>", "web_url": "/capture#proposal-1",
            "investor": {"id": 1, "name": "Kim & Co", "firm": None},
            "email": {"from": {"email": "kim@alder.vc", "name": "Kim"}, "to": [{"email": f"p{i}@x.io", "name": ""}
                                                                              for i in range(200)],
                      "cc": [], "date": "2026-11-02T10:00:00Z", "subject": "S", "snippet": "s"}}
    content = card_content(card, "https://crm.example")
    assert "and 192 more" in content["body"] and len(content["formatted_body"]) < 5000
    assert "<script>" not in content["formatted_body"] and "Kim &amp; Co" in content["formatted_body"]
    assert content["m.mentions"] == {} and "waiting on the web" not in content["body"]


def test_a_card_stays_far_under_the_event_limit_whatever_the_email_holds():
    huge = "@room Ann " + "x" * 200_000
    card = {"id": 1, "version": 1, "draft": huge, "web_url": "/capture#proposal-1",
            "investor": {"id": 1, "name": huge, "firm": huge},
            "email": {"from": {"email": huge, "name": huge}, "to": [{"email": huge, "name": huge}] * 50,
                      "cc": [], "date": huge, "subject": huge, "snippet": huge}}
    content = card_content(card, "https://crm.example")
    assert len(json.dumps(content).encode()) < 48 * 1024  # Matrix's limit is 64 KiB for the whole event
    assert "Subject: @room Ann xxx" in content["body"] and "…" in content["body"]


def test_a_card_says_how_many_more_wait_on_the_web_when_the_crm_says():
    card = {"id": 1, "version": 1, "draft": "d", "web_url": "/capture#proposal-1", "investor": {"name": "Kim"},
            "email": {"subject": "S", "snippet": "s"}}
    content = card_content(card, "https://crm.example/", waiting=12)
    assert "12 more waiting on the web: https://crm.example/capture" in content["body"]
    assert '12 more waiting on the web: <a href="https://crm.example/capture">' in content["formatted_body"]
    for waiting in (None, 0):
        assert "waiting" not in card_content(card, "https://crm.example", waiting=waiting)["body"]


BASE = {"MATRIX_HOMESERVER": "http://127.0.0.1:1", "MATRIX_USER_ID": "@bot:s", "MATRIX_PASSWORD": "p",
        "MATRIX_EMAIL_REVIEW_ROOM": "!room", "MATRIX_EMAIL_REVIEWERS": "@ann:s", "CRM_BASE_URL": "http://127.0.0.1:2",
        "CRM_BOT_TOKEN": "crm_x"}


@pytest.mark.parametrize("change,variable", [({"MATRIX_USER_ID": "bot"}, "MATRIX_USER_ID"),
                                             ({"MATRIX_PASSWORD": ""}, "MATRIX_PASSWORD"),
                                             ({"MATRIX_EMAIL_REVIEW_ROOM": "room"}, "MATRIX_EMAIL_REVIEW_ROOM"),
                                             ({"MATRIX_EMAIL_REVIEWERS": "ann"}, "MATRIX_EMAIL_REVIEWERS"),
                                             ({"CRM_BASE_URL": "crm"}, "CRM_BASE_URL"),
                                             ({"EMAIL_PROPOSAL_POLL_SEC": "soon"}, "EMAIL_PROPOSAL_POLL_SEC")])
def test_config_errors_name_the_variable(change, variable):
    with pytest.raises(ConfigError, match=variable):
        load_config({**BASE, **change})
    assert load_config(BASE).reviewers == frozenset({"@ann:s"})


def test_a_sync_token_is_not_saved_past_an_event_whose_handling_was_stopped():
    import asyncio

    from matrix_intake.progress import Checkpoints

    async def scenario():
        saved = []
        checkpoints = Checkpoints(saved.append)
        held = asyncio.Event()

        async def handled():
            return True

        async def stopped():  # handle_until_done gives up when the bot stops
            await held.wait()
            return False

        first = asyncio.create_task(handled())
        checkpoints.add("t1", [first])
        await first
        grace = asyncio.create_task(held.wait())  # a reaction in its grace period, cancelled at shutdown
        checkpoints.add("t2", [grace])
        later = asyncio.create_task(handled())
        checkpoints.add("t3", [later])
        await later
        grace.cancel()
        await asyncio.gather(grace, return_exceptions=True)
        retried = asyncio.create_task(stopped())
        checkpoints.add("t4", [retried])
        held.set()
        await retried
        await asyncio.sleep(0)
        return saved

    assert asyncio.run(scenario()) == ["t1"]


def test_a_decision_refers_to_the_version_shown_when_it_was_sent(tmp_path):
    from matrix_intake.journal import Journal

    journal = Journal(str(tmp_path))
    journal.state["shown"]["7"] = {"version": 1, "draft": "old"}  # a store written before the history existed
    assert journal.shown_at(7, 123) == 1
    journal.record_shown(7, 2, "web edit")
    since = journal.shown(7)["history"][-1][1]
    assert journal.shown_at(7, since - 1) == 1 and journal.shown_at(7, since) == 2 and journal.shown_at(7, None) == 2
    journal.record_shown(7, 2, "web edit")  # shown again: still shown since then
    assert journal.shown(7)["history"][-1][1] == since and Journal(str(tmp_path)).shown_at(7, since - 1) == 1


def test_a_version_shown_by_a_message_counts_from_just_before_it_was_sent(tmp_path):
    from matrix_intake.journal import Journal

    journal = Journal(str(tmp_path))
    journal.record_shown(3, 1, "crm draft", since_ms=1_000)
    journal.record_shown(3, 2, "web edit", since_ms=5_000)  # the update line went out at 5.000 s
    assert journal.shown_at(3, 4_999) == 1 and journal.shown_at(3, 5_000) == 2


MEETING_CARD = {"id": 5, "kind": "meeting", "version": 1, "draft": "Ann met Jonas Berg (Fjord Capital) on 3 Dec: Fund II",
                "web_url": "/capture#proposal-5", "drafted_by": "crm",
                "investor": {"id": 1, "name": "Jonas Berg", "firm": "Fjord Capital"},
                "meeting": {"id": 9, "start": "2026-12-03T12:00:00Z", "end": "2026-12-03T13:00:00Z", "title": "Fund II",
                            "description": "<b>Agenda</b>: Q1 close", "location": "Room 1", "organizer": "jonas@fjord.vc",
                            "attendees": [{"email": "jonas@fjord.vc", "name": "Jonas", "organizer": True}] +
                                         [{"email": f"p{i}@x.io", "name": ""} for i in range(20)],
                            "teammates": [{"id": 1, "name": "Ann", "response_status": "accepted"}],
                            "visibility": "everything"}}


def test_a_meeting_card_shows_the_meeting_in_place_of_the_email():
    content = card_content(MEETING_CARD, "https://crm.example")
    assert "Proposed note for Jonas Berg (Fjord Capital) (a meeting)" in content["body"]
    assert "Meeting: Fund II" in content["body"] and "When: 2026-12-03T12:00:00Z" in content["body"]
    assert "and 13 more" in content["body"] and "From:" not in content["body"]
    assert "&lt;b&gt;Agenda&lt;/b&gt;" in content["formatted_body"] and "<b>Agenda" not in content["formatted_body"]
    assert "yes to approve" in content["body"] and "https://crm.example/capture#proposal-5" in content["body"]
    assert context_of(MEETING_CARD) == "Fund II\n<b>Agenda</b>: Q1 close"
    assert content["m.mentions"] == {}
