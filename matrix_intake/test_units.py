"""Units of the bot: reading replies, cards, the config's one-line errors (the model's framing: test_llm.py)."""
import pytest

from matrix_intake.cards import card_content, classify, reply_text, target_of
from matrix_intake.config import ConfigError, load_config


@pytest.mark.parametrize("text,decision", [("yes", "approve"), ("Yes!", "approve"), ("👍", "approve"),
                                           ("👍🏽", "approve"), ("approve", "approve"), ("no", "reject"),
                                           ("👎🏿", "reject"), ("Reject.", "reject"),
                                           ("yes but mention the deadline", "edit"), ("make it shorter", "edit")])
def test_classify(text, decision):
    assert classify(text) == decision


def test_reply_text_drops_the_rich_reply_fallback_and_target_prefers_the_thread():
    content = {"body": "> <@bot:s> Proposed note for Kim\n\nyes", "m.relates_to": {
        "rel_type": "m.thread", "event_id": "$root", "m.in_reply_to": {"event_id": "$other"}}}
    assert reply_text(content) == "yes" and target_of(content) == "$root"
    assert target_of({"m.relates_to": {"m.in_reply_to": {"event_id": "$card"}}}) == "$card"
    assert target_of({"body": "hi"}) is None


def test_card_caps_recipients_and_escapes_html():
    card = {"id": 1, "version": 1, "draft": "<script>x</script>", "web_url": "/capture#proposal-1",
            "investor": {"id": 1, "name": "Kim & Co", "firm": None},
            "email": {"from": {"email": "kim@alder.vc", "name": "Kim"}, "to": [{"email": f"p{i}@x.io", "name": ""}
                                                                              for i in range(200)],
                      "cc": [], "date": "2026-11-02T10:00:00Z", "subject": "S", "snippet": "s"}}
    content = card_content(card, "https://crm.example")
    assert "and 192 more" in content["body"] and len(content["formatted_body"]) < 5000
    assert "<script>" not in content["formatted_body"] and "Kim &amp; Co" in content["formatted_body"]
    assert "wait on the web" not in content["body"]


def test_card_says_how_many_more_wait_on_the_web():
    card = {"id": 1, "version": 1, "draft": "d", "web_url": "/capture#proposal-1",
            "investor": {"id": 1, "name": "Kim", "firm": None},
            "email": {"from": None, "to": [], "cc": [], "date": "", "subject": "S", "snippet": "s"}}
    content = card_content(card, "https://crm.example/", waiting=42)
    assert "42 more proposed notes wait on the web: https://crm.example/capture" in content["body"]
    assert 'href="https://crm.example/capture"' in content["formatted_body"]


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
