"""The intake bot's world for tests and the benchmark (development only): a real Synapse, a CRM on an
ephemeral port syncing from the Gmail emulator, an OpenAI-compatible stand-in for the local model, a
proxy that can make the CRM stall, and the bot itself as a subprocess (so it can be killed for real)."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devtools.gmail_emulator.server import start_emulator
from devtools.make_service_account import make_service_account
from devtools.synapse_harness import start_synapse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADMIN = "admin@firm.test"
INTAKE = "/api/intake/email-proposals"


class FakeLLM:
    """/v1/chat/completions answering a revision that quotes the reviewer's request, or a first draft naming
    the investor and the subject (read back from the fenced JSON data line, as a model would see it).
    `down` answers 503; `hold` (an Event, when cleared) keeps answers back until set, like a model busy
    for seconds; `script(data) -> (content, finish_reason)` answers something else (a chatty or hostile
    model)."""

    def __init__(self):
        self.down = False
        self.requests: list[dict] = []
        self.waiting = 0  # requests being held right now
        self.hold = threading.Event()
        self.hold.set()
        self.script = None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                if outer.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                data = json.loads(body["messages"][-1]["content"].splitlines()[1])
                outer.waiting += 1
                try:
                    outer.hold.wait(60)
                finally:
                    outer.waiting -= 1
                content, finish = outer.script(data) if outer.script else outer.default_answer(data)
                answer = {"choices": [{"message": {"role": "assistant", "content": content},
                                       "finish_reason": finish}]}
                reply = json.dumps(answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot stopped (or timed out) while the answer was held

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @staticmethod
    def default_answer(data: dict) -> tuple[str, str]:
        """A revision quotes the reviewer's request; a first draft names the investor and the subject."""
        if "request" in data:
            return f"Revised note: Kim asked for the model ({data['request']}).", "stop"
        return f"Model draft: {data['investor']} asked about {data['subject']}.", "stop"

    def stop(self):
        self.hold.set()
        self.server.shutdown()


class HangingProxy:
    """Forwards to the CRM (or to Synapse); requests whose path ends with a suffix in `hang` get no answer until released,
    like a CRM that stalls mid-request."""

    def __init__(self, target: str):
        self.hang: set[str] = set()
        self.fail: set[str] = set()  # paths answered at once with 502, like a CRM behind a dead proxy
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request the bot made
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                outer.requests.append((self.command, self.path))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
                if any(self.path.split("?")[0].endswith(suffix) for suffix in outer.fail):
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if any(self.path.endswith(suffix) for suffix in outer.hang):
                    outer.release.wait(60)
                    self.close_connection = True
                    return
                request = urllib.request.Request(target + self.path, body, method=self.command, headers={
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")})
                try:
                    with urllib.request.urlopen(request, timeout=90) as response:  # a Matrix long-poll is 30 s
                        status, data, ctype = response.status, response.read(), response.headers.get("Content-Type")
                except urllib.error.HTTPError as error:
                    status, data, ctype = error.code, error.read(), error.headers.get("Content-Type")
                self.send_response(status)
                self.send_header("Content-Type", ctype or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _forward

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
    """Synapse + CRM + emulator + LLM stand-in + the bot as a real subprocess. A context manager: whatever a
    fixture's set-up or a test did, leaving it stops every part (a failed __init__ stops what it started)."""

    def __init__(self, tmp, subjects, start_crm, with_people, capture_env, add_message, make_message,
                 max_open_cards: int = 100, **crm_env):
        """The CRM helpers come from the test suite (tests/conftest.py, capture_fixtures, emulator_fixtures);
        `max_open_cards`: the CRM's CRM_INTAKE_MAX_OPEN_CARDS (by default every subject's card at once);
        `crm_env`: more CRM settings."""
        self.tmp, self.subjects = tmp, subjects
        self.bot_defaults: dict[str, str] = {}  # bot environment every start_bot() of this world uses
        self._add_message, self._make_message = add_message, make_message
        self.bot = self.bot_log = self.synapse = self.emulator = self.crm = self.llm = self.proxy = None
        try:
            self._start(tmp, subjects, start_crm, with_people, capture_env, max_open_cards, crm_env)
        except BaseException:
            with contextlib.suppress(Exception):  # the set-up's own error is the one to see
                self.stop()
            raise

    def _start(self, tmp, subjects, start_crm, with_people, capture_env, max_open_cards, crm_env):
        self.synapse = start_synapse(str(tmp / "synapse"))
        self.ann = self.synapse.register("ann", "ann-password-1")
        self.eve = self.synapse.register("eve", "eve-password-1")
        self.synapse.register("intakebot", "bot-password-1")
        self.bot_id = "@intakebot:spark.test"
        self.room = self.ann.create_room(invite=[self.bot_id, self.eve.user_id])
        self.eve.join(self.room)
        keys = make_service_account(str(tmp / "sa"))
        self.emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
        for i, subject in enumerate(subjects):
            self.add_mail(subject, i)
        # A card waits at most 5 s for the model's first draft (CRM_INTAKE_DRAFT_WAIT_SEC; 120 in production).
        env = {"CRM_INTAKE_MAX_OPEN_CARDS": str(max_open_cards), "CRM_INTAKE_DRAFT_WAIT_SEC": "5", **crm_env}
        self.crm = with_people(start_crm(tmp / "crm", capture_env(self.emulator, keys[0], **env)))
        self.crm.admin.post("/api/investors", {"name": "Kim Lee", "firm": "Alder", "emails": ["kim@alder.vc"],
                                               "domains": []})
        self.crm.admin.post("/api/email/accounts/enroll-all", {})
        self.sync_crm()
        self.llm = FakeLLM()
        self.proxy = HangingProxy(self.crm.url)
        self.bot_token = self.crm.issue_token("bot@firm.test")
        self.bot_log = open(tmp / "bot.log", "ab")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def add_mail(self, subject, i, body=None):
        self._add_message(self.emulator.url, ADMIN, self._make_message(
            sender="Kim Lee <kim@alder.vc>", to=ADMIN, subject=subject, message_id=f"<bot{i}-{subject[:4]}@alder.vc>",
            date=f"Mon, 02 Nov 2026 10:{i:02d}:00 +0000", body=body or f"Could you send the model for {subject}?\n"))

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
                    "CRM_BASE_URL": self.proxy.url, "CRM_BOT_TOKEN": self.bot_token,
                    "LLM_BASE_URL": self.llm.url, "LLM_MODEL": "qwen-test", "EMAIL_PROPOSAL_POLL_SEC": "0.5",
                    "LLM_TIMEOUT_SEC": "30", "CRM_GIVE_UP_SEC": "60", "MATRIX_REACTION_GRACE_SEC": "2",
                    "PYTHONUNBUFFERED": "1"})
        return env

    def start_bot(self, **env):
        """The bot as a subprocess: bot_env(), then the world's `bot_defaults`, then `env`."""
        self.bot = subprocess.Popen([sys.executable, "-m", "matrix_intake"], cwd=ROOT,
                                    env={**self.bot_env(), **self.bot_defaults, **env},
                                    stdout=self.bot_log, stderr=self.bot_log)

    def kill_bot(self):
        self.bot.send_signal(signal.SIGKILL)
        self.bot.wait(timeout=10)

    def stop(self):
        """Stop every part that was started (idempotent; one part failing to stop does not leak the others)."""
        if self.bot and self.bot.poll() is None:
            self.bot.send_signal(signal.SIGTERM)
            try:
                self.bot.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.bot.kill()
                self.bot.wait(timeout=10)
        problems = []
        for part in (self.llm, self.proxy, self.crm, self.emulator, self.synapse):
            try:
                if part is not None:
                    part.stop()
            except Exception as error:  # noqa: BLE001 - stop the rest, then say what failed
                problems.append(f"{type(part).__name__}: {error!r}")
        self.llm = self.proxy = self.crm = self.emulator = self.synapse = None
        if self.bot_log:
            self.bot_log.close()
            self.bot_log = None
        if problems:
            raise RuntimeError("stopping the world: " + "; ".join(problems))

    # -- reading the room and the CRM ------------------------------------------------------------
    def events(self):
        return self.ann.messages(self.room)

    def cards(self):
        return [e for e in self.events() if e["sender"] == self.bot_id and e["type"] == "m.room.message"
                and e["content"].get("body", "").startswith("Proposed note for")]

    def card_for(self, subject):
        return wait_for(lambda: next((c for c in self.cards() if f"Subject: {subject}\n" in c["content"]["body"]), None),
                        what=f"card {subject}")

    def posted(self, subject):
        """(the card's event, its proposal id) once the bot has posted the card and the CRM recorded it."""
        card = self.card_for(subject)
        return card, wait_for(lambda: self.proposal(card), what=f"proposal of {subject}")

    def thread(self, root):
        return [e for e in self.events() if e["sender"] == self.bot_id and
                (e["content"].get("m.relates_to") or {}).get("event_id") == root and e["type"] == "m.room.message"]

    def said(self, root, fragment, timeout=20.0):
        return wait_for(lambda: next((e for e in self.thread(root) if fragment in e["content"]["body"]), None),
                        timeout=timeout, what=f"bot saying {fragment!r}")

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
