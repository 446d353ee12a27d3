"""What private and limited mail contributes to the relationship view (issue 22, "Also"), over real HTTP.

The view is firm-wide (every member sees the same connections and grid), so it takes the exact time only
of mail every teammate may read in full: mail in a private conversation or a mailbox at `subject` or
`metadata` still counts, at its day (00:00:00Z). Changing either setting recomputes the stored stats.
"""
import pytest

from capture_fixtures import KIM, capture_site

ADMIN, MEMBER = "admin@firm.test", "member@firm.test"


def kim_to(box, subject, mid, date, **kw):
    from emulator_fixtures import make_message
    return box, make_message(sender=kw.pop("sender", "Kim Lee <kim@alder.vc>"), to=kw.pop("to", box), subject=subject,
                             message_id=f"<{mid}>", body="Could you send the deck?\n", date=date, **kw)


MAIL = [kim_to(MEMBER, "Open one", "rel-open@alder.vc", "Tue, 10 Nov 2026 08:00:00 +0000"),
        kim_to(MEMBER, "Private one", "rel-private@alder.vc", "Fri, 20 Nov 2026 14:37:21 +0000"),
        kim_to(MEMBER, "Re: Private one", "rel-private-2@firm.test", "Sat, 21 Nov 2026 10:00:05 +0000",
               sender=MEMBER, to="kim@alder.vc", in_reply_to="<rel-private@alder.vc>"),
        kim_to(ADMIN, "Limited one", "rel-limited@alder.vc", "Wed, 18 Nov 2026 09:12:45 +0000")]


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    with capture_site(tmp_path_factory, keys, MAIL) as server:
        server.kim = server.admin.get("/api/investors").json["investors"][0]["id"]
        yield server


def connections(client, investor_id):
    reply = client.get(f"/api/investors/{investor_id}/connections")
    assert reply.status == 200, reply
    return {c["user"]["email"]: c for c in reply.json["connections"]}


def grid_two_way(client, investor_id):
    """The grid's newest two-way contact (from the stored stats, recomputed when a privacy setting changes)."""
    rows = client.get("/api/investors").json["investors"]
    return next(r for r in rows if r["id"] == investor_id)["last_two_way_at"]


def thread_of(client, subject):
    return next(t["id"] for t in client.get("/api/email/threads?limit=50").json["threads"] if t["subject"] == subject)


def account(site, address):
    return next(a["id"] for a in site.admin.get("/api/email/accounts").json["accounts"] if a["email"] == address)


def test_private_and_limited_mail_count_at_their_day(site):
    before = connections(site.member, site.kim)
    assert before[MEMBER]["last_received"] == "2026-11-20T14:37:21Z" and before[MEMBER]["received_12m"] == 2
    assert before[MEMBER]["last_sent"] == before[MEMBER]["last_two_way"] == "2026-11-21T10:00:05Z"
    assert before[ADMIN]["last_received"] == "2026-11-18T09:12:45Z"
    assert grid_two_way(site.member, site.kim) == "2026-11-21T10:00:05Z"
    private = thread_of(site.member, "Private one")
    assert site.member.post(f"/api/email/threads/{private}/private", {"private": True}).status == 200
    assert site.admin.patch(f"/api/email/accounts/{account(site, ADMIN)}", {"visibility": "subject"}).status == 200
    try:
        for viewer in (site.member, site.admin):  # the same figures for everyone, their own mail included
            found = connections(viewer, site.kim)
            assert found[MEMBER]["last_received"] == "2026-11-20T00:00:00Z" and found[MEMBER]["received_12m"] == 2
            assert found[MEMBER]["last_sent"] == found[MEMBER]["last_two_way"] == "2026-11-21T00:00:00Z"
            assert found[ADMIN]["last_received"] == "2026-11-18T00:00:00Z" and found[ADMIN]["received_12m"] == 1
            assert grid_two_way(viewer, site.kim) == "2026-11-21T00:00:00Z"
    finally:
        assert site.member.post(f"/api/email/threads/{private}/private", {"private": False}).status == 200
        assert site.admin.patch(f"/api/email/accounts/{account(site, ADMIN)}",
                                {"visibility": "everything"}).status == 200
    after = connections(site.member, site.kim)
    assert after[MEMBER]["last_received"] == "2026-11-20T14:37:21Z"
    assert after[ADMIN]["last_received"] == "2026-11-18T09:12:45Z"
    assert grid_two_way(site.member, site.kim) == "2026-11-21T10:00:05Z"
