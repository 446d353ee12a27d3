"""The emulator's Calendar v3 (contracts §6b) driven by Google's own client (googleapiclient's calendar.v3
discovery document, api_endpoint pointed at the emulator) over HTTP: full then incremental sync, 410 on an
expired token, paging, recurring events, cancellations, Google's refusals, scopes and quota. Every response
body is checked against the discovery document's schema (discovery_schema.conform)."""
import json

import google.oauth2.credentials
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from calendar_fixtures import (add_event, calendar_stats, calendar_token, call, delete_event, event,
                               expire_sync_tokens, patch_event)
from devtools.gmail_emulator.calendar_store import BadEvent
from discovery_schema import conform, document
from email_integration.google.quota import SYNC_TOKEN_REFUSES
from email_integration.google.scopes import CALENDAR_EVENTS_READONLY_SCOPE, GMAIL_READONLY_SCOPE
from emulator_fixtures import start_emulator

USER = "ann@firm.test"


@pytest.fixture(scope="module")
def discovery():
    return document("calendar.v3")


@pytest.fixture
def cal_emulator(keys):
    handle = start_emulator(service_account_key=keys[1], quota_units_per_min=0)
    yield handle
    handle.stop()


def service(emulator, keys, user=USER, scope=CALENDAR_EVENTS_READONLY_SCOPE):
    credentials = google.oauth2.credentials.Credentials(calendar_token(emulator.url, keys, user, scope))
    return build("calendar", "v3", credentials=credentials, static_discovery=True,
                 client_options={"api_endpoint": emulator.url + "/calendar/v3/"})


def listing(calendar, checker=None, **params):
    """Every page of events.list through list_next: (items, nextSyncToken, pages)."""
    items, request, pages, token = [], calendar.events().list(calendarId="primary", **params), 0, None
    while request is not None:
        response = request.execute()
        if checker:
            checker(response)
        items += response.get("items", [])
        token = response.get("nextSyncToken", token)
        assert ("nextSyncToken" in response) != ("nextPageToken" in response)
        request = calendar.events().list_next(request, response)
        pages += 1
    return items, token, pages


def reason(error: HttpError) -> tuple[int, str, str]:
    body = json.loads(error.content)["error"]
    return error.resp.status, body["errors"][0]["reason"], body["errors"][0]["domain"]


def test_full_then_incremental_sync_with_paging_every_shape_googles(cal_emulator, keys, discovery):
    schema = discovery["resources"]["events"]["methods"]["list"]["response"]

    def check(body):
        conform(body, schema, discovery["schemas"], "events.list")

    ids = [add_event(cal_emulator.url, USER, event(f"Meeting {i}", f"2026-11-{i + 2:02d}T10:00:00Z",
                                                   attendees=["kim@alder.vc", USER], location="Berlin",
                                                   description="Agenda"))["id"] for i in range(5)]
    calendar = service(cal_emulator, keys)
    items, token, pages = listing(calendar, check, maxResults=2, singleEvents=True)
    assert pages == 3 and sorted(e["id"] for e in items) == sorted(ids)
    ann = next(a for a in items[0]["attendees"] if a["email"] == USER)
    assert ann["self"] is True and items[0]["status"] == "confirmed" and items[0]["iCalUID"].endswith("@google.com")

    assert patch_event(cal_emulator.url, USER, ids[0], {"summary": "Moved"}) == 200
    assert delete_event(cal_emulator.url, USER, ids[1]) == 200
    new = add_event(cal_emulator.url, USER, event("New", "2026-11-20T09:00:00Z"))["id"]
    changed, token2, _ = listing(calendar, check, syncToken=token, singleEvents=True)
    by_id = {e["id"]: e for e in changed}
    assert set(by_id) == {ids[0], ids[1], new}
    assert by_id[ids[0]]["summary"] == "Moved" and by_id[ids[0]]["sequence"] == 1
    assert by_id[ids[1]]["status"] == "cancelled" and "summary" not in by_id[ids[1]]  # Google guarantees only the id
    again, _, _ = listing(calendar, check, syncToken=token2, singleEvents=True)
    assert again == []
    full, _, _ = listing(calendar, check, singleEvents=True)
    assert ids[1] not in {e["id"] for e in full}  # a full listing carries no cancellations ...
    shown, _, _ = listing(calendar, check, singleEvents=True, showDeleted=True)
    assert ids[1] in {e["id"] for e in shown}  # ... unless showDeleted
    assert calendar_stats(cal_emulator.url)[USER]["calls"]["events.list"] >= 7


def test_an_expired_sync_token_answers_410_full_sync_required(cal_emulator, keys):
    add_event(cal_emulator.url, USER, event("One", "2026-11-02T10:00:00Z"))
    calendar = service(cal_emulator, keys)
    _, token, _ = listing(calendar)
    expire_sync_tokens(cal_emulator.url, USER)
    with pytest.raises(HttpError) as caught:
        calendar.events().list(calendarId="primary", syncToken=token).execute()
    assert reason(caught.value) == (410, "fullSyncRequired", "calendar")
    _, fresh, _ = listing(calendar)  # a full listing gives a token that works
    assert listing(calendar, syncToken=fresh)[0] == []


def test_recurring_events_expand_into_instances(cal_emulator, keys, discovery):
    weekly = add_event(cal_emulator.url, USER, event(
        "Partner sync", "2026-10-19T10:00:00+02:00", 30, time_zone="Europe/Berlin", attendees=["kim@alder.vc"],
        recurrence=["RRULE:FREQ=WEEKLY;BYDAY=MO,TH;COUNT=6"]))["id"]
    daily = add_event(cal_emulator.url, USER, event("Standup", "2026-11-02T09:00:00Z", 15,
                                                    recurrence=["RRULE:FREQ=DAILY;INTERVAL=2;UNTIL=20261108T235959Z"]))
    calendar = service(cal_emulator, keys)
    check = lambda body: conform(body, discovery["resources"]["events"]["methods"]["list"]["response"],  # noqa: E731
                                 discovery["schemas"])
    items, token, _ = listing(calendar, check, singleEvents=True)
    series = sorted((e for e in items if e.get("recurringEventId") == weekly), key=lambda e: e["start"]["dateTime"])
    assert [e["start"]["dateTime"][:16] for e in series] == [
        "2026-10-19T10:00", "2026-10-22T10:00", "2026-10-26T10:00", "2026-10-29T10:00", "2026-11-02T10:00",
        "2026-11-05T10:00"]  # 10:00 Berlin time across the end of summer time (Oct 25)
    assert series[2]["start"]["dateTime"].endswith("+01:00") and series[0]["start"]["dateTime"].endswith("+02:00")
    assert all(e["originalStartTime"] == e["start"] and "recurrence" not in e for e in series)
    assert series[0]["id"] == f"{weekly}_20261019T080000Z" and len({e["iCalUID"] for e in series}) == 1
    assert len([e for e in items if e.get("recurringEventId") == daily["id"]]) == 4  # 2, 4, 6, 8 Nov
    masters, _, _ = listing(calendar)  # without singleEvents: the series itself, with its rule
    assert {e["id"] for e in masters} == {weekly, daily["id"]} and masters[0]["recurrence"]

    bounded, _, _ = listing(calendar, singleEvents=True, timeMin="2026-10-25T00:00:00Z",
                            timeMax="2026-11-01T00:00:00Z")
    assert [e["start"]["dateTime"][:10] for e in bounded] == ["2026-10-26", "2026-10-29"]

    assert delete_event(cal_emulator.url, USER, series[1]["id"]) == 200  # one occurrence cancelled
    changed, _, _ = listing(calendar, check, syncToken=token, singleEvents=True)
    assert [(e["id"], e["status"], e["recurringEventId"]) for e in changed] == [(series[1]["id"], "cancelled", weekly)]
    after, _, _ = listing(calendar, singleEvents=True)
    assert series[1]["id"] not in {e["id"] for e in after} and len(after) == len(items) - 1


def test_rules_the_emulator_cannot_expand_are_refused_honestly(cal_emulator):
    for rule in ("RRULE:FREQ=MONTHLY;COUNT=3", "RRULE:FREQ=WEEKLY;BYDAY=1MO", "RRULE:FREQ=DAILY;BYMONTH=1",
                 "EXDATE:20261105T100000Z", "RRULE:FREQ=DAILY;COUNT=2;UNTIL=20261201T000000Z"):
        status, body = call(f"{cal_emulator.url}/_emulator/users/{USER}/events", "POST",
                            event("x", "2026-11-02T10:00:00Z", recurrence=[rule]))
        assert status == 400 and "recurrence" in body["error"], rule
    status, _ = call(f"{cal_emulator.url}/_emulator/users/{USER}/events", "POST",
                     {"summary": "no end", "start": {"dateTime": "2026-11-02T10:00:00Z"}})
    assert status == 400
    assert cal_emulator.server.calendars.calendar(USER).count() == 0


def test_google_refuses_what_it_refuses(cal_emulator, keys):
    add_event(cal_emulator.url, USER, event("One", "2026-11-02T10:00:00Z"))
    calendar = service(cal_emulator, keys)
    _, token, _ = listing(calendar)
    values = {"iCalUID": "x@google.com", "orderBy": "updated", "privateExtendedProperty": "a=b", "q": "kim",
              "sharedExtendedProperty": "a=b", "timeMin": "2026-01-01T00:00:00Z", "timeMax": "2027-01-01T00:00:00Z",
              "updatedMin": "2026-01-01T00:00:00Z"}
    assert set(values) == set(SYNC_TOKEN_REFUSES)
    for name, value in values.items():
        with pytest.raises(HttpError) as caught:
            calendar.events().list(calendarId="primary", syncToken=token, **{name: value}).execute()
        assert reason(caught.value) == (400, "syncTokenWithRequestRestrictions", "calendar"), name
    bad = [{"maxResults": 0}, {"maxResults": 2501}, {"timeMin": "2026-01-01T00:00:00"},
           {"timeMin": "2026-02-01T00:00:00Z", "timeMax": "2026-01-01T00:00:00Z"}, {"orderBy": "startTime"},
           {"pageToken": "bm90LW91cnM"}, {"syncToken": "bm90LW91cnM"}, {"syncToken": token, "showDeleted": False}]
    for params in bad:
        with pytest.raises(HttpError) as caught:
            calendar.events().list(calendarId="primary", **params).execute()
        assert caught.value.resp.status == 400, params
    with pytest.raises(HttpError) as caught:
        calendar.events().list(calendarId="primary", timeMin="2026-02-01T00:00:00Z",
                               timeMax="2026-02-01T00:00:00Z").execute()
    assert reason(caught.value) == (400, "timeRangeEmpty", "calendar")
    access = calendar_token(cal_emulator.url, keys, USER)
    for query in ("bogus=1", "singleEvents=yes", "maxResults=ten", "alt=media"):
        status, body = call(f"{cal_emulator.url}/calendar/v3/calendars/primary/events?{query}", token=access)
        assert status == 400 and body["error"]["code"] == 400, query
    status, _ = call(f"{cal_emulator.url}/calendar/v3/calendars/ben%40firm.test/events", token=access)
    assert status == 404  # another user's calendar: not this token's
    status, _ = call(f"{cal_emulator.url}/calendar/v3/calendars/primary/events")
    assert status == 401


def test_a_page_token_belongs_to_its_query(cal_emulator, keys):
    for i in range(3):
        add_event(cal_emulator.url, USER, event(f"M{i}", f"2026-11-0{i + 2}T10:00:00Z"))
    calendar = service(cal_emulator, keys)
    first = calendar.events().list(calendarId="primary", maxResults=1).execute()
    with pytest.raises(HttpError) as caught:
        calendar.events().list(calendarId="primary", maxResults=2, pageToken=first["nextPageToken"]).execute()
    assert caught.value.resp.status == 400


def test_scopes_gmail_token_refused_and_a_refused_calendar_delegation(keys):
    emulator = start_emulator(service_account_key=keys[1], quota_units_per_min=0,
                              dwd_deny_scopes=((USER, CALENDAR_EVENTS_READONLY_SCOPE),))
    try:
        gmail_only = service(emulator, keys, scope=GMAIL_READONLY_SCOPE)
        with pytest.raises(HttpError) as caught:
            gmail_only.events().list(calendarId="primary").execute()
        assert reason(caught.value) == (403, "insufficientPermissions", "global")
        from email_integration.google.errors import AuthError
        with pytest.raises(AuthError) as refused:
            calendar_token(emulator.url, keys, USER)
        assert refused.value.status == 401 and "calendar.events.readonly" in str(refused.value)
        assert calendar_token(emulator.url, keys, "ben@firm.test")  # only Ann's delegation is refused
        calendar_for_ben = service(emulator, keys, user="ben@firm.test")
        status, body = call(f"{emulator.url}/gmail/v1/users/me/profile",
                            token=calendar_token(emulator.url, keys, "ben@firm.test"))
        assert status == 403 and body["error"]["errors"][0]["reason"] == "insufficientPermissions"
        assert calendar_for_ben.events().list(calendarId="primary").execute()["items"] == []
    finally:
        emulator.stop()


def test_calendar_quota_600_a_minute_per_user_in_googles_shape(keys):
    emulator = start_emulator(service_account_key=keys[1], quota_units_per_min=0, calendar_requests_per_min=3)
    try:
        assert emulator.server.calendar_quota.units_per_min == 3
        calendar = service(emulator, keys)
        for _ in range(3):
            calendar.events().list(calendarId="primary").execute()
        access = calendar_token(emulator.url, keys, USER)
        status, body = call(f"{emulator.url}/calendar/v3/calendars/primary/events", token=access)
        assert status == 403 and body["error"]["errors"][0] == {
            "message": "User Rate Limit Exceeded", "domain": "usageLimits", "reason": "userRateLimitExceeded"}
        assert calendar_stats(emulator.url)[USER] == {"calls": {"events.list": 4}, "units": 3, "rate_limited": 1}
        assert call(f"{emulator.url}/_emulator/calendar-quota", "POST", {"error_shape": "429"})[0] == 200
        status, body = call(f"{emulator.url}/calendar/v3/calendars/primary/events", token=access)
        assert status == 429 and body["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    finally:
        emulator.stop()
    default = start_emulator(service_account_key=keys[1])
    try:
        assert default.server.calendar_quota.units_per_min == 600
    finally:
        default.stop()


def test_calendars_load_from_a_directory(keys, tmp_path):
    folder = tmp_path / USER
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(event("Single", "2026-11-02T10:00:00Z")))
    (folder / "b.json").write_text(json.dumps({"items": [event("Listed", "2026-11-03T10:00:00Z", iCalUID="u1@x"),
                                                         event("Day", "2026-11-04")]}))
    emulator = start_emulator(service_account_key=keys[1], calendars_dir=str(tmp_path))
    try:
        items, _, _ = listing(service(emulator, keys), singleEvents=True)
        assert {e["summary"] for e in items} == {"Single", "Listed", "Day"}
        assert next(e for e in items if e["summary"] == "Listed")["iCalUID"] == "u1@x"
        assert next(e for e in items if e["summary"] == "Day")["start"] == {"date": "2026-11-04"}
    finally:
        emulator.stop()
    (folder / "c.json").write_text(json.dumps(event("Bad", "2026-11-02T10:00:00Z", recurrence=["RRULE:FREQ=YEARLY"])))
    with pytest.raises(BadEvent, match="c.json"):
        start_emulator(service_account_key=keys[1], calendars_dir=str(tmp_path))


def test_the_demo_calendars_hold_investor_meetings_and_series(keys, tmp_path):
    from devtools import demo
    from devtools.mailgen import FUNDS
    demo.make_calendar_fixtures(str(tmp_path))
    folder = tmp_path / "calendars"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["admin@demo.example"] + [address for address, _ in demo.TEAMMATES])
    emulator = start_emulator(service_account_key=keys[1], calendars_dir=str(folder), quota_units_per_min=0)
    try:
        items, _, pages = listing(service(emulator, keys, user="ana@demo.example"), singleEvents=True, maxResults=2500)
    finally:
        emulator.stop()
    investor_domains = {domain for _, _, domain in FUNDS}
    with_investor = [e for e in items if any(a["email"].split("@")[1] in investor_domains for a in e.get("attendees", []))]
    assert 350 <= len(items) <= 800 and 0.1 <= len(with_investor) / len(items) <= 0.3
    assert {e["summary"] for e in items if e.get("recurringEventId")} >= {"Team sync"}
    assert any(e.get("recurringEventId") for e in with_investor)  # an investor series among them
    assert any("date" in e["start"] for e in items)  # all-day events too


def test_an_occurrence_changed_alone_and_the_time_zone_checked(cal_emulator, keys):
    series = add_event(cal_emulator.url, USER, event("Weekly", "2026-11-02T10:00:00Z", 30,
                                                     recurrence=["RRULE:FREQ=WEEKLY;COUNT=3"]))["id"]
    calendar = service(cal_emulator, keys)
    items, token, _ = listing(calendar, singleEvents=True, timeZone="Europe/Berlin")
    second = sorted(items, key=lambda e: e["start"]["dateTime"])[1]["id"]
    assert patch_event(cal_emulator.url, USER, second, {"summary": "Weekly (at the fund)"}) == 200
    changed, _, _ = listing(calendar, syncToken=token, singleEvents=True)
    assert [(e["id"], e["summary"], e["recurringEventId"]) for e in changed] == [
        (second, "Weekly (at the fund)", series)]
    assert patch_event(cal_emulator.url, USER, "nosuchevent1", {"summary": "x"}) == 404
    with pytest.raises(HttpError) as caught:
        calendar.events().list(calendarId="primary", timeZone="Mars/Olympus").execute()
    assert caught.value.resp.status == 400
