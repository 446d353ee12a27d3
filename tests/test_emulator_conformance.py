"""The emulator speaks Gmail's dialect: Google's own client and auth libraries drive it."""
import base64
import time

import google.oauth2.credentials
import pytest
from google.auth.transport.requests import Request as AuthRequest
from google.oauth2 import service_account
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from devtools.make_service_account import make_service_account
from emulator_fixtures import access_token, add_message, make_message, start_emulator

USER = "ann@firm.test"
SCOPE = "https://www.googleapis.com/auth/gmail.readonly"


@pytest.fixture(scope="module")
def emulator(keys):
    handle = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    first = make_message(subject="Term sheet", body="Here is the term sheet.\n", message_id="<ts-1@alder.vc>",
                         attachments=[("terms.pdf", "application/pdf", b"%PDF-1.4 fake terms")])
    handle.first = add_message(handle.url, USER, first)
    handle.reply = add_message(handle.url, USER, make_message(sender="Ann <ann@firm.test>", to="kim@alder.vc",
                                                              subject="Re: Term sheet", body="Thanks!\n",
                                                              in_reply_to="<ts-1@alder.vc>"), "SENT")
    for i in range(7):
        add_message(handle.url, USER, make_message(subject=f"Update {i}", html=f"<p>Update <b>{i}</b></p>"))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def gmail(emulator):
    credentials = google.oauth2.credentials.Credentials(access_token(emulator.url, USER))
    return build("gmail", "v1", credentials=credentials, static_discovery=True,
                 client_options={"api_endpoint": emulator.url + "/"})


def test_list_with_paging(gmail):
    seen, request = [], gmail.users().messages().list(userId="me", maxResults=4)
    pages = 0
    while request is not None:
        response = request.execute()
        seen += [m["id"] for m in response.get("messages", [])]
        request = gmail.users().messages().list_next(request, response)
        pages += 1
    assert len(seen) == len(set(seen)) == 9 and pages == 3
    sent = gmail.users().messages().list(userId="me", labelIds=["SENT"]).execute()
    assert len(sent["messages"]) == 1
    found = gmail.users().messages().list(userId="me", q="subject:term has:attachment").execute()
    assert [m["id"] for m in found["messages"]] == [gmail_first_id(gmail)]


def gmail_first_id(gmail):
    return gmail.users().messages().list(userId="me", q="subject:\"term sheet\" -in:sent").execute()["messages"][0]["id"]


def test_get_in_every_format(gmail, emulator):
    message_id = emulator.first["id"]
    full = gmail.users().messages().get(userId="me", id=message_id, format="full").execute()
    assert full["threadId"] == message_id and full["labelIds"] == ["INBOX"]
    payload = full["payload"]
    assert payload["partId"] == "" and payload["mimeType"] == "multipart/mixed"
    assert [p["partId"] for p in payload["parts"]] == ["0", "1"]
    text, attachment = payload["parts"]
    assert base64.urlsafe_b64decode(text["body"]["data"]) == b"Here is the term sheet.\n"
    assert attachment["filename"] == "terms.pdf" and attachment["body"]["size"] == 19
    assert "attachmentId" in attachment["body"] and "data" not in attachment["body"]
    assert {"name": "Message-ID", "value": "<ts-1@alder.vc>"} in payload["headers"]
    assert full["snippet"] == "Here is the term sheet."
    metadata = gmail.users().messages().get(userId="me", id=message_id, format="metadata",
                                            metadataHeaders=["Subject", "From"]).execute()
    assert sorted(h["name"] for h in metadata["payload"]["headers"]) == ["From", "Subject"]
    assert "parts" not in metadata["payload"]
    minimal = gmail.users().messages().get(userId="me", id=message_id, format="minimal").execute()
    assert "payload" not in minimal and minimal["historyId"]
    raw = gmail.users().messages().get(userId="me", id=message_id, format="raw").execute()
    assert b"Subject: Term sheet" in base64.urlsafe_b64decode(raw["raw"])


def test_attachment_and_thread(gmail, emulator):
    message_id = emulator.first["id"]
    full = gmail.users().messages().get(userId="me", id=message_id).execute()
    attachment_id = full["payload"]["parts"][1]["body"]["attachmentId"]
    got = gmail.users().messages().attachments().get(userId="me", messageId=message_id, id=attachment_id).execute()
    assert base64.urlsafe_b64decode(got["data"]) == b"%PDF-1.4 fake terms" and got["size"] == 19
    thread = gmail.users().threads().get(userId="me", id=emulator.first["threadId"]).execute()
    assert [m["id"] for m in thread["messages"]] == [emulator.first["id"], emulator.reply["id"]]
    assert emulator.reply["threadId"] == emulator.first["threadId"]


def test_history_and_profile(gmail, emulator):
    start = emulator.first["historyId"]
    history = gmail.users().history().list(userId="me", startHistoryId=start,
                                           historyTypes=["messageAdded"]).execute()
    added = [r["messagesAdded"][0]["message"]["id"] for r in history["history"]]
    assert added[0] == emulator.reply["id"] and len(added) == 8
    profile = gmail.users().getProfile(userId="me").execute()
    assert profile["emailAddress"] == USER and profile["messagesTotal"] == 9
    assert profile["historyId"] == history["historyId"]


def test_missing_message_is_a_404_http_error(gmail):
    with pytest.raises(HttpError) as info:
        gmail.users().messages().get(userId="me", id="0000000000000000").execute()
    assert info.value.resp.status == 404 and info.value.reason == "Requested entity was not found."


def test_batch_through_googles_batch_request(gmail, emulator):
    results = {}

    def callback(request_id, response, exception):
        results[request_id] = exception or response

    batch = BatchHttpRequest(callback=callback, batch_uri=emulator.url + "/batch/gmail/v1")
    ids = gmail.users().messages().list(userId="me").execute()["messages"]
    for ref in ids[:5]:
        batch.add(gmail.users().messages().get(userId="me", id=ref["id"], format="metadata"), request_id=ref["id"])
    batch.add(gmail.users().messages().get(userId="me", id="ffffffffffffffff"), request_id="missing")
    batch.execute()
    assert set(results) == {r["id"] for r in ids[:5]} | {"missing"}
    for ref in ids[:5]:
        assert results[ref["id"]]["id"] == ref["id"]
    assert isinstance(results["missing"], HttpError) and results["missing"].resp.status == 404


def sa_credentials(key_path, token_uri):
    import json
    with open(key_path) as handle:
        info = json.load(handle) | {"token_uri": token_uri}
    return service_account.Credentials.from_service_account_info(info, scopes=[SCOPE], subject=USER)


def test_service_account_credentials_with_subject(emulator, keys):
    credentials = sa_credentials(keys[0], emulator.url + "/token")
    credentials.refresh(AuthRequest())
    assert credentials.token and credentials.expiry
    gmail = build("gmail", "v1", credentials=credentials, static_discovery=True,
                  client_options={"api_endpoint": emulator.url + "/"})
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == USER
    with pytest.raises(HttpError) as info:
        gmail.users().messages().list(userId="bob@firm.test").execute()
    assert info.value.resp.status == 403


def test_a_jwt_signed_by_another_key_is_refused(emulator, tmp_path):
    other_key, _ = make_service_account(str(tmp_path))
    credentials = sa_credentials(other_key, emulator.url + "/token")
    from google.auth.exceptions import RefreshError
    with pytest.raises(RefreshError, match="invalid_grant"):
        credentials.refresh(AuthRequest())


def test_refresh_token_grant_and_expired_access_tokens(keys):
    import urllib.error
    import urllib.request
    from emulator_fixtures import post_json
    handle = start_emulator(service_account_key=keys[1], quota_profile="legacy", token_ttl=1)
    try:
        post_json(f"{handle.url}/_emulator/oauth/refresh-tokens", {"refresh_token": "1//r", "user": USER})
        credentials = google.oauth2.credentials.Credentials(
            None, refresh_token="1//r", token_uri=handle.url + "/token", client_id="c", client_secret="s")
        gmail = build("gmail", "v1", credentials=credentials, static_discovery=True,
                      client_options={"api_endpoint": handle.url + "/"})
        assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == USER
        stale = credentials.token
        time.sleep(1.2)
        request = urllib.request.Request(handle.url + "/gmail/v1/users/me/profile",
                                         headers={"Authorization": f"Bearer {stale}"})
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(request, timeout=5)
        assert info.value.code == 401
        # Google's client meets the 401, refreshes through the refresh-token grant, and retries.
        assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == USER
        assert credentials.token != stale
        post_json(f"{handle.url}/_emulator/oauth/refresh-tokens", {"refresh_token": "1//r"}, method="DELETE")
        time.sleep(1.2)
        from google.auth.exceptions import RefreshError
        with pytest.raises(RefreshError, match="invalid_grant"):
            gmail.users().getProfile(userId="me").execute()
    finally:
        handle.stop()
