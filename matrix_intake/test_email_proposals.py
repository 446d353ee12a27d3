"""The intake bot against a real Synapse on loopback, a real CRM on an ephemeral port (syncing from
the Gmail emulator) and a small OpenAI-compatible stand-in for the local model."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from capture_fixtures import capture_env
from conftest import ROOT, start_crm, with_people
from devtools.gmail_emulator.server import start_emulator
from devtools.make_service_account import make_service_account
from devtools.synapse_harness import start_synapse
from emulator_fixtures import add_message, make_message

ADMIN = "admin@firm.test"
INTAKE = "/api/intake/email-proposals"
SUBJECTS = ["Say yes", "Say no", "Edit it", "Thumbs up", "Thumbs down", "Web decides", "Eve says yes", "LLM down",
            "Crash mid decide"]


class FakeLLM:
    """/v1/chat/completions answering a revision that quotes the reviewer's request; can be 'down'."""

    def __init__(self):
        self.down = False
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if outer.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                request = body["messages"][-1]["content"].split("Reviewer's requested change:\n<<<")[1].split(">>>")[0]
                answer = {"choices": [{"message": {"role": "assistant",
                                                   "content": f"Revised note: Kim asked for the model ({request})."}}]}
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self):
        self.server.shutdown()


class HangingProxy:
    """Forwards to the CRM; requests whose path ends with a suffix in `hang` get no answer until released,
    like a CRM that stalls mid-request."""

    def __init__(self, target: str):
        import urllib.error
        import urllib.request
        self.hang: set[str] = set()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                if any(self.path.endswith(suffix) for suffix in outer.hang):
                    outer.release.wait(60)
                    self.close_connection = True
                    return
                request = urllib.request.Request(target + self.path, body, method=self.command, headers={
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")})
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, data, ctype = response.status, response.read(), response.headers.get("Content-Type")
                except urllib.error.HTTPError as error:
                    status, data, ctype = error.code, error.read(), error.headers.get("Content-Type")
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.release.set()
        self.server.shutdown()


def wait_for(predicate, timeout=20.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


class World:
    """Synapse + CRM + emulator + LLM stand-in + the bot as a real subprocess."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.synapse = start_synapse(str(tmp / "synapse"))
        self.ann = self.synapse.register("ann", "ann-password-1")
        self.eve = self.synapse.register("eve", "eve-password-1")
        self.synapse.register("intakebot", "bot-password-1")
        self.bot_id = "@intakebot:spark.test"
        self.room = self.ann.create_room(invite=[self.bot_id, self.eve.user_id])
        self.eve.join(self.room)
        keys = make_service_account(str(tmp / "sa"))
        self.emulator = start_emulator(service_account_key=keys[1])
        for i, subject in enumerate(SUBJECTS):
            self.add_mail(subject, i)
        self.crm = with_people(start_crm(tmp / "crm", capture_env(self.emulator, keys[0])))
        self.crm.admin.post("/api/investors", {"name": "Kim Lee", "firm": "Alder", "emails": ["kim@alder.vc"],
                                               "domains": []})
        self.crm.admin.post("/api/email/accounts/enroll-all", {})
        self.sync_crm()
        self.llm = FakeLLM()
        self.proxy = HangingProxy(self.crm.url)
        self.bot = None
        self.bot_log = open(tmp / "bot.log", "ab")

    def add_mail(self, subject, i):
        add_message(self.emulator.url, ADMIN, make_message(
            sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=subject, message_id=f"<bot{i}-{subject[:4]}@alder.vc>",
            date=f"Mon, 02 Nov 2026 10:{i:02d}:00 +0000", body=f"Could you send the model for {subject}?\n"))

    def sync_crm(self):
        before = {a["id"]: (a["last_run"] or {}).get("id", 0) for a in self.crm.admin.get("/api/email/status").json["accounts"]}
        self.crm.admin.post("/api/email/sync/run-now", {})

        def done():
            accounts = self.crm.admin.get("/api/email/status").json["accounts"]
            return all(a["last_run"] and a["last_run"]["id"] > before.get(a["id"], 0) and a["state"] != "running"
                       and a["last_run"]["status"] != "running" for a in accounts)
        wait_for(done, what="CRM sync")

    def bot_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "MATRIX_", "LLM_"))}
        env.update({"MATRIX_HOMESERVER": self.synapse.url, "MATRIX_USER_ID": self.bot_id,
                    "MATRIX_PASSWORD": "bot-password-1", "MATRIX_STORE_PATH": str(self.tmp / "bot-store"),
                    "MATRIX_EMAIL_REVIEW_ROOM": self.room, "MATRIX_EMAIL_REVIEWERS": self.ann.user_id,
                    "CRM_BASE_URL": self.proxy.url, "CRM_BOT_TOKEN": self.crm.issue_token("bot@firm.test"),
                    "LLM_BASE_URL": self.llm.url, "LLM_MODEL": "qwen-test", "EMAIL_PROPOSAL_POLL_SEC": "0.5",
                    "LLM_TIMEOUT_SEC": "5", "CRM_GIVE_UP_SEC": "60", "PYTHONUNBUFFERED": "1"})
        return env

    def start_bot(self):
        self.bot = subprocess.Popen([sys.executable, "-m", "matrix_intake"], cwd=ROOT, env=self.bot_env(),
                                    stdout=self.bot_log, stderr=self.bot_log)

    def kill_bot(self):
        self.bot.send_signal(signal.SIGKILL)
        self.bot.wait(timeout=10)

    def stop(self):
        if self.bot and self.bot.poll() is None:
            self.bot.send_signal(signal.SIGTERM)
            try:
                self.bot.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.bot.kill()
        self.llm.stop()
        self.proxy.stop()
        self.crm.stop()
        self.emulator.stop()
        self.synapse.stop()

    # -- reading the room and the CRM ------------------------------------------------------------
    def events(self):
        return self.ann.messages(self.room)

    def cards(self):
        return [e for e in self.events() if e["sender"] == self.bot_id and e["type"] == "m.room.message"
                and e["content"].get("body", "").startswith("Proposed note for")]

    def card_for(self, subject):
        return wait_for(lambda: next((c for c in self.cards() if f"Subject: {subject}\n" in c["content"]["body"]), None),
                        what=f"card {subject}")

    def thread(self, root):
        return [e for e in self.events() if e["sender"] == self.bot_id and
                (e["content"].get("m.relates_to") or {}).get("event_id") == root and e["type"] == "m.room.message"]

    def said(self, root, fragment):
        return wait_for(lambda: next((e for e in self.thread(root) if fragment in e["content"]["body"]), None),
                        what=f"bot saying {fragment!r}")

    def proposal(self, card_event):
        work = self.crm.bot.get(INTAKE).json
        for item in work["open"] + work["to_close"]:
            if item["event_id"] == card_event["event_id"]:
                return item["id"]
        return None

    def status(self, proposal_id):
        for status in ("pending", "approved", "rejected"):
            if any(p["id"] == proposal_id for p in self.crm.admin.get(f"/api/email/proposals?status={status}").json["proposals"]):
                return status
        return None

    def notes(self):
        investor = self.crm.admin.get("/api/investors").json["investors"][0]
        return self.crm.admin.get(f"/api/investors/{investor['id']}/notes").json["notes"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    instance = World(tmp_path_factory.mktemp("intake"))
    instance.start_bot()
    yield instance
    instance.stop()


def test_each_card_is_posted_once_even_across_restarts(world):
    wait_for(lambda: len(world.cards()) == len(SUBJECTS), what="all cards")
    card = world.card_for("Say yes")
    assert card["content"]["format"] == "org.matrix.custom.html"
    assert "Kim Lee (Alder)" in card["content"]["body"] and "Draft note:" in card["content"]["body"]
    assert world.crm.bot.get(INTAKE).json["to_post"] == []
    world.kill_bot()
    world.start_bot()
    time.sleep(2)
    assert len(world.cards()) == len(SUBJECTS)


def test_yes_approves_and_the_note_exists(world):
    card = world.card_for("Say yes")
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved here by @ann:spark.test")
    assert world.status(proposal_id) == "approved"
    assert any(n["source_ref"].startswith(f"proposal:{proposal_id} ") for n in world.notes())


def test_no_rejects(world):
    card = world.card_for("Say no")
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    world.ann.send_text(world.room, "No", reply_to=card["event_id"])  # a plain reply to the card works too
    world.said(card["event_id"], "Rejected here")
    assert world.status(proposal_id) == "rejected"


def test_edit_then_yes_approves_the_revision(world):
    card = world.card_for("Edit it")
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    world.ann.send_text(world.room, "mention the Friday deadline", thread_root=card["event_id"])
    revised = world.said(card["event_id"], "Revised draft:")
    expected = "Kim asked for the model (mention the Friday deadline)."
    assert expected in revised["content"]["body"]
    opened = next(o for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id)
    assert opened["draft"] == expected
    prompt = world.llm.requests[-1]["messages"]
    assert prompt[0]["role"] == "system" and "<<<" in prompt[1]["content"]
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "Approved here")
    assert any(n["body"] == expected for n in world.notes())


def test_reactions_decide(world):
    up, down = world.card_for("Thumbs up"), world.card_for("Thumbs down")
    up_id = wait_for(lambda: world.proposal(up), what="proposal")
    down_id = wait_for(lambda: world.proposal(down), what="proposal")
    world.ann.react(world.room, up["event_id"], "👍")
    world.ann.react(world.room, down["event_id"], "👎")
    wait_for(lambda: world.status(up_id) == "approved" and world.status(down_id) == "rejected", what="reactions")


def test_a_web_decision_is_announced_and_closed(world):
    card = world.card_for("Web decides")
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    assert world.crm.member.post(f"/api/email/proposals/{proposal_id}/decide", {"decision": "approve"}).status == 200
    world.said(card["event_id"], "Approved on the web by Member")
    wait_for(lambda: any(e["type"] == "m.reaction" and e["sender"] == world.bot_id and
                         e["content"]["m.relates_to"]["event_id"] == card["event_id"] for e in world.events()),
             what="the card marked")
    wait_for(lambda: all(i["id"] != proposal_id for i in world.crm.bot.get(INTAKE).json["to_close"]), what="closed")


def test_a_non_reviewers_yes_changes_nothing(world):
    card = world.card_for("Eve says yes")
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    world.eve.send_text(world.room, "yes", thread_root=card["event_id"])
    world.said(card["event_id"], "only the listed reviewers can decide")
    assert world.status(proposal_id) == "pending"


def test_llm_down_leaves_the_draft_and_says_so(world):
    card = world.card_for("LLM down")
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    before = next(o for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id)
    world.llm.down = True
    try:
        world.ann.send_text(world.room, "make it shorter", thread_root=card["event_id"])
        world.said(card["event_id"], "The draft is unchanged")
    finally:
        world.llm.down = False
    after = next(o for o in world.crm.bot.get(INTAKE).json["open"] if o["id"] == proposal_id)
    assert after == before


def test_killed_while_the_crm_hangs_loses_no_decision_and_posts_no_duplicate(world):
    card = world.card_for("Crash mid decide")
    proposal_id = wait_for(lambda: world.proposal(card), what="proposal")
    proxy = world.proxy
    # 1. a reviewer says yes; the CRM stalls on the decision; the bot is killed before it answers
    proxy.release.clear()
    proxy.hang = {"/decide"}
    world.ann.send_text(world.room, "yes", thread_root=card["event_id"])
    time.sleep(1.5)
    world.kill_bot()
    proxy.hang = set()
    proxy.release.set()
    assert world.status(proposal_id) == "pending"
    # 2. a new proposal; the bot sends its card, the CRM stalls on /posted, the bot is killed
    world.add_mail("Late arrival", 99)
    world.sync_crm()
    proxy.release.clear()
    proxy.hang = {"/posted"}
    world.start_bot()
    wait_for(lambda: any("Subject: Late arrival\n" in c["content"]["body"] for c in world.cards()),
             what="the late card sent")
    time.sleep(0.5)
    world.kill_bot()
    proxy.hang = set()
    proxy.release.set()
    # 3. restarted: the yes from before the crash is applied, the late card is recorded, not re-sent
    world.start_bot()
    wait_for(lambda: world.status(proposal_id) == "approved", what="the yes from before the crash")
    late = world.card_for("Late arrival")
    wait_for(lambda: world.proposal(late), what="the late card recorded as posted")
    time.sleep(1.5)
    assert len([c for c in world.cards() if "Subject: Late arrival\n" in c["content"]["body"]]) == 1
    assert len(world.cards()) == len(SUBJECTS) + 1


def test_logs_hold_no_bodies_or_tokens(world):
    world.bot_log.flush()
    log = (world.tmp / "bot.log").read_text(errors="replace")
    for secret in ("Could you send the model", "crm_", "syt_", "bot-password-1"):
        assert secret not in log, secret
