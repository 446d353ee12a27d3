"""The proposal horizon (CRM_GMAIL_PROPOSE_SINCE_DAYS, default 14) over real HTTP: a two-year mailbox
backfilled with the defaults drafts cards only for recent mail, yet every conversation is on /emails and
last contact is right; the admin's backfill widens the horizon once, for one investor or everyone."""
import datetime
import email.utils

import pytest

from backend.server import init_db
from capture_fixtures import capture_site
from email_integration.capture.ingest import horizon_for
from email_integration.review.proposal_routes import since_field
from emulator_fixtures import make_message
from migration_check import copy_live, snapshot

ANN = "admin@firm.test"
KIM = {"name": "Kim Lee", "firm": "Alder", "emails": ["kim@alder.vc"], "domains": []}
RAJ = {"name": "Raj Patel", "firm": "Birch", "emails": ["raj@birch.capital"], "domains": []}
# (subject, sender, days ago of each message): a few conversations spread over 24 months.
CONVERSATIONS = [("k700", "kim@alder.vc", [700]), ("k400", "kim@alder.vc", [400, 399]), ("k100", "kim@alder.vc", [100]),
                 ("k20", "kim@alder.vc", [20]), ("k60-then-2", "kim@alder.vc", [60, 2]), ("k5", "kim@alder.vc", [5]),
                 ("r500", "raj@birch.capital", [500]), ("r30", "raj@birch.capital", [30]),
                 ("r1", "raj@birch.capital", [1])]
NOW = datetime.datetime.now(datetime.timezone.utc)


def at(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


def two_years_of_mail():
    for subject, sender, days in CONVERSATIONS:
        previous = None
        for n, age in enumerate(days):
            mid = f"<{subject}-{n}@{sender.split('@')[1]}>"
            yield ANN, make_message(sender=sender, to=ANN, subject=("Re: " if n else "") + subject, message_id=mid,
                                    in_reply_to=previous, date=email.utils.format_datetime(at(age)),
                                    body=f"Could you send the {subject} numbers?\n")
            previous = mid


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    with capture_site(tmp_path_factory, keys, two_years_of_mail(), investors=(KIM, RAJ),
                      CRM_GMAIL_PROPOSE_SINCE_DAYS=None) as server:  # None: the default horizon
        server.investors = {i["name"]: i["id"] for i in server.admin.get("/api/investors").json["investors"]}
        yield server


def pending(site):
    return sorted(p["email"]["subject"] for p in site.member.get("/api/email/proposals").json["proposals"])


def test_horizon_for():
    assert horizon_for("2026-11-26T10:00:00Z", 14) == "2026-11-12T10:00:00Z"
    assert horizon_for("2026-11-26T10:00:00Z", None) == "" and horizon_for("", 14) == ""


def test_default_horizon_drafts_only_recent_cards_but_captures_everything(site):
    assert pending(site) == ["Re: k60-then-2", "k5", "r1"]
    threads = site.member.get("/api/email/threads?limit=200").json
    assert threads["total"] == len(CONVERSATIONS)
    kim = site.member.get(f"/api/investors/{site.investors['Kim Lee']}").json
    raj = site.member.get(f"/api/investors/{site.investors['Raj Patel']}").json
    kim, raj = kim.get("investor", kim), raj.get("investor", raj)
    assert kim["last_contact_at"][:13] == at(2).strftime("%Y-%m-%dT%H")
    assert raj["last_contact_at"][:13] == at(1).strftime("%Y-%m-%dT%H")


def test_migration_0005_twice_on_a_populated_copy(site, tmp_path):
    copy = copy_live(site.data_dir, str(tmp_path / "copy.db"))
    before = snapshot(copy)
    assert before["rows"]["email_proposals"] and len(before["rows"]["email_proposal_deferred"]) == 8
    init_db(copy)
    init_db(copy)
    assert snapshot(copy) == before


def test_backfill_input_and_roles(site):
    path = "/api/email/proposals/backfill"
    assert site.member.post(path, {"since": "2025-01-01"}).status == 403
    assert site.bot.post(path, {"since": "2025-01-01"}).status == 403
    for body in ({}, {"since": "last year"}, {"since": "2025-13-01"}, {"since": 2025},
                 {"since": "2025-01-01", "investor_id": "1"}):
        reply = site.admin.post(path, body)
        assert reply.status == 400 and reply.json["error"], body
    assert site.admin.post(path, {"since": "2025-01-01", "investor_id": 999999}).status == 404
    assert pending(site) == ["Re: k60-then-2", "k5", "r1"]  # bad requests drafted nothing


@pytest.mark.parametrize("raw, stored", [("0999-12-31T23:59:59Z", "0999-12-31T23:59:59Z"), ("0500-01-01", "0500-01-01T00:00:00Z"),
                                         ("0001-01-01", "0001-01-01T00:00:00Z"), ("2025-1-5", "2025-01-05T00:00:00Z")])
def test_an_early_since_keeps_four_year_digits(site, raw, stored):
    # strftime("%Y") writes year 999 as "999": "999-…" sorts after "2025-…", so a backfill "since the
    # year 999" drafted nothing, and the echoed `since` was not the stored format.
    assert since_field({"since": raw}) == stored
    nobody = site.admin.post("/api/investors", {"name": f"Quiet {raw}", "emails": [], "domains": []}).json["id"]
    reply = site.admin.post("/api/email/proposals/backfill", {"investor_id": nobody, "since": raw})
    assert reply.status == 200 and reply.json["since"] == stored and reply.json["proposals"] == 0


def test_widening_for_one_investor_drafts_only_their_older_cards_in_range(site):
    since = at(450).strftime("%Y-%m-%d")
    reply = site.admin.post("/api/email/proposals/backfill", {"investor_id": site.investors["Kim Lee"], "since": since})
    assert reply.status == 200
    # k400's two messages make one card (on the reply); k60-then-2 already has its newer card; k700 is out of range.
    assert reply.json["proposals"] == 3 and reply.json["emails"] == 5
    assert pending(site) == ["Re: k400", "Re: k60-then-2", "k100", "k20", "k5", "r1"]
    again = site.admin.post("/api/email/proposals/backfill", {"investor_id": site.investors["Kim Lee"], "since": since})
    assert again.json["proposals"] == 0  # once: what was held back is drafted once
    private = site.admin.get("/api/email/threads?q=r500").json["threads"][0]["id"]
    assert site.admin.post(f"/api/email/threads/{private}/private", {"private": True}).status == 200
    everyone = site.admin.post("/api/email/proposals/backfill", {"since": at(800).strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert everyone.json["proposals"] == 2  # k700 and r30; r500's conversation is private: never a card
    assert pending(site) == ["Re: k400", "Re: k60-then-2", "k100", "k20", "k5", "k700", "r1", "r30"]
