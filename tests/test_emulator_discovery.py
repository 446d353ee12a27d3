"""Every response shape the emulator gives, checked against Google's own Gmail discovery document (the
gmail.v1.json google-api-python-client ships): each field is declared for its resource, with its JSON
type (int64/uint64 as decimal strings, bytes as base64url). Also: the paths the emulator routes and
the query parameters our client sends are the ones the document declares."""
import json
import urllib.parse
import urllib.request

import pytest

from devtools.gmail_emulator.gmail_api import ROUTES
from email_integration.capture.sync import HISTORY_TYPES
from email_integration.config import load_config
from email_integration.gmail.client import GmailClient
from email_integration.google.credentials import DWDCredentialProvider
from email_integration.google.http_conn import ConnectionPool
from discovery_schema import conform, document
from emulator_fixtures import access_token, add_message, make_message, post_json, start_emulator

USER = "ann@firm.test"


@pytest.fixture(scope="module")
def discovery():
    return document("gmail.v1")


def method(discovery, name: str) -> dict:
    """A method of users.* by our dotted name ("messages.attachments.get", "getProfile")."""
    node = discovery["resources"]["users"]
    *resources, verb = name.split(".")
    for resource in resources:
        node = node["resources"][resource]
    return node["methods"][verb]


@pytest.fixture(scope="module")
def emulator(keys):
    handle = start_emulator(service_account_key=keys[1], quota_units_per_min=0)
    handle.token = access_token(handle.url, USER)
    first = add_message(handle.url, USER, make_message(
        subject="Term sheet", body="Terms attached.\n", html="<p>Terms <b>attached</b></p>",
        message_id="<disc-1@alder.vc>", attachments=[("terms.pdf", "application/pdf", b"%PDF-1.4 terms")]))
    handle.first = first
    handle.reply = add_message(handle.url, USER, make_message(
        sender="Ann <ann@firm.test>", to="kim@alder.vc", subject="Re: Term sheet", body="Thanks!\n",
        in_reply_to="<disc-1@alder.vc>"), "SENT")
    handle.big = add_message(handle.url, USER, make_message(subject="Memo", body="m" * 1_100_000 + "\n"))
    handle.start = str(int(first["historyId"]) - 1)
    post_json(f"{handle.url}/_emulator/users/{USER}/messages/{first['id']}/modify",
              {"addLabelIds": ["STARRED"], "removeLabelIds": ["INBOX"]})
    gone = add_message(handle.url, USER, make_message(subject="Gone"))
    post_json(f"{handle.url}/_emulator/users/{USER}/messages/{gone['id']}", {}, method="DELETE")
    yield handle
    handle.stop()


def fetch(emulator, path: str, **query):
    url = f"{emulator.url}/gmail/v1/users/me{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query, doseq=True)
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {emulator.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_every_response_matches_googles_schema(emulator, discovery):
    schemas = discovery["schemas"]

    def check(name, body):
        conform(body, method(discovery, name)["response"], schemas, name)

    check("getProfile", fetch(emulator, "/profile"))
    check("messages.list", fetch(emulator, "/messages", maxResults=2))
    check("messages.list", fetch(emulator, "/messages", labelIds="SENT", includeSpamTrash="true"))
    check("messages.list", fetch(emulator, "/messages", q="subject:nothing-matches-this"))
    for message in (emulator.first, emulator.reply, emulator.big):
        for fmt in ("full", "metadata", "minimal", "raw"):
            check("messages.get", fetch(emulator, f"/messages/{message['id']}", format=fmt))
    check("messages.get", fetch(emulator, f"/messages/{emulator.first['id']}", format="metadata",
                                metadataHeaders=["Subject", "From"]))
    full = fetch(emulator, f"/messages/{emulator.first['id']}")
    attachment = next(p for p in full["payload"]["parts"] if p.get("filename"))["body"]["attachmentId"]
    check("messages.attachments.get", fetch(emulator, f"/messages/{emulator.first['id']}/attachments/{attachment}"))
    big = fetch(emulator, f"/messages/{emulator.big['id']}")["payload"]["body"]["attachmentId"]
    check("messages.attachments.get", fetch(emulator, f"/messages/{emulator.big['id']}/attachments/{big}"))
    history = fetch(emulator, "/history", startHistoryId=emulator.start)
    kinds = {key for record in history["history"] for key in record if key not in ("id", "messages")}
    assert kinds == {"messagesAdded", "messagesDeleted", "labelsAdded", "labelsRemoved"}
    check("history.list", history)
    check("history.list", fetch(emulator, "/history", startHistoryId=emulator.start, maxResults=1,
                                historyTypes="messageAdded"))
    for fmt in ("full", "metadata", "minimal"):
        check("threads.get", fetch(emulator, f"/threads/{emulator.first['threadId']}", format=fmt))


def test_the_emulated_paths_are_googles(discovery):
    declared = {name: "/" + method(discovery, name)["flatPath"] for name, _ in ROUTES}
    samples = {name: path.replace("{userId}", USER).replace("{messageId}", "m1").replace("{id}", "x1")
               for name, path in declared.items()}
    for name, pattern in ROUTES:
        match = pattern.match(samples[name])
        assert match, f"{name}: {declared[name]} is not what the emulator routes"
        assert method(discovery, name)["httpMethod"] == "GET"


class RecordingPool(ConnectionPool):
    """The client's real connection pool, remembering every GET target it sends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.targets = []

    def request(self, method, path, body=None, headers=None):
        if method == "GET":
            self.targets.append(path)
        return super().request(method, path, body, headers)


def test_the_parameters_and_formats_our_client_sends_are_declared(emulator, keys, discovery):
    config = load_config({"CRM_GMAIL_API_BASE": emulator.url, "CRM_GMAIL_TOKEN_URI": emulator.url + "/token"})
    pool = RecordingPool(config.api_base, 10)
    client = GmailClient(USER, DWDCredentialProvider(keys[0], config.token_uri), config, pool=pool)
    client.list_messages(q="subject:terms", label_ids=["INBOX"], include_spam_trash=True)
    page_token = client.list_messages(page_size=1)["nextPageToken"]
    client.list_messages(page_token=page_token, page_size=1)
    for fmt in ("full", "metadata", "minimal", "raw"):
        client.get_message(emulator.first["id"], fmt, ["Subject"])
        if fmt != "raw":
            client.get_thread(emulator.first["threadId"], fmt, ["Subject"])
    list(client.iter_history(emulator.start, HISTORY_TYPES, label_id="INBOX"))
    client.get_profile()
    sent = {}
    for target in pool.targets:
        split = urllib.parse.urlsplit(target)
        name = next(name for name, pattern in ROUTES if pattern.match(urllib.parse.unquote(split.path)))
        for key, values in urllib.parse.parse_qs(split.query).items():
            sent.setdefault(name, {}).setdefault(key, set()).update(values)
    assert set(sent) == {"messages.list", "messages.get", "threads.get", "history.list"}
    for name, parameters in sent.items():
        declared = method(discovery, name)["parameters"]
        for key, values in parameters.items():
            assert key in declared, f"{name}: {key} is not a parameter Google declares"
            if "enum" in declared[key]:
                assert values <= set(declared[key]["enum"]), f"{name}: {key}={values}"
