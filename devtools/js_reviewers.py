"""Reviewers on a real Matrix client library (development only): matrix-js-sdk 37.5.0, the SDK Element Web is
built on, in one Node process (devtools/matrix_reviewer/reviewer.mjs) driven over JSON lines.

    with ReviewerDriver(log_path) as driver:
        ann = driver.login("ann", synapse.url, harness_user)      # the harness's access token: no extra login
        ann.join(room)
        ann.reply(room, card_id, "thanks!")                       # Element's Reply button, then typing
        ann.thread(room, card_id, "yes")                          # Element's thread composer

Every command waits for its event's remote echo and returns the event as the reviewer's own /sync served it.
Every wait has a timeout; a command given up on (here or in Node) is cancelled there and never sends anything
afterwards, into a later test, and its late answer is dropped. close() always ends the Node process (EOF, then
SIGTERM, then SIGKILL).
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "matrix_reviewer")
SCRIPT = os.path.join(FOLDER, "reviewer.mjs")
COMMAND_TIMEOUT = 30.0  # seconds, for each command in the driver; the Python side waits a little longer


class ReviewerError(RuntimeError):
    """A command failed (its timeout, a refusal from the homeserver), or the driver is not usable."""


def installed() -> str | None:
    """Why the driver cannot run here (None when it can): Node and `npm ci` in devtools/matrix_reviewer."""
    if shutil.which("node") is None:
        return "node is not installed (Node 20 or newer must be on the machine; devtools/test.sh checks it)"
    if not os.path.isdir(os.path.join(FOLDER, "node_modules", "matrix-js-sdk")):
        return "matrix-js-sdk is not installed: run `npm ci` in devtools/matrix_reviewer (devtools/test.sh does)"
    return None


class ReviewerDriver:
    """One `node reviewer.mjs` process hosting any number of reviewers (one MatrixClient each)."""

    def __init__(self, log_path: str, startup_timeout: float = 30.0):
        problem = installed()
        if problem:
            raise ReviewerError(problem)
        self.log = open(log_path, "a", encoding="utf-8")
        self.process = subprocess.Popen(["node", SCRIPT], cwd=FOLDER, text=True, encoding="utf-8",
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                        env={**os.environ, "REVIEWER_LOG": os.environ.get("REVIEWER_LOG", "warn")})
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next_id = 0
        self._results: dict[int, dict] = {}
        self._abandoned: set[int] = set()  # commands given up on: their late answers are dropped
        self._lock = threading.Lock()
        try:
            self.ready = self._line(startup_timeout)
        except BaseException:
            self.close()
            raise
        if not self.ready.get("ready"):
            self.close()
            raise ReviewerError(f"the driver did not start: {self.ready}")

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)  # the process ended

    def _line(self, timeout: float) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise ReviewerError(f"no answer from the driver within {timeout:.1f} s") from None
        if line is None:
            self.lines.put(None)
            raise ReviewerError(f"the driver exited (status {self.process.poll()}); see {self.log.name}")
        return json.loads(line)

    def submit(self, cmd: str, timeout: float = COMMAND_TIMEOUT, **args) -> int:
        """Send a command without waiting for it (commands of different reviewers run at the same time)."""
        with self._lock:
            self._next_id += 1
            ident = self._next_id
            try:
                self.process.stdin.write(json.dumps({"id": ident, "cmd": cmd, "timeout": timeout, **args}) + "\n")
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError) as error:
                raise ReviewerError(f"the driver is gone ({error}); see {self.log.name}") from None
        return ident

    def _abandon(self, ident: int) -> None:
        """Give up on a command: Node cancels it (it sends nothing more) and its answer, if any, is dropped."""
        self._abandoned.add(ident)
        try:
            self._abandoned.add(self.submit("cancel", target=ident))
        except ReviewerError:
            pass  # the process is gone: nothing more can be sent by it anyway

    def result(self, ident: int, timeout: float = COMMAND_TIMEOUT + 5) -> dict:
        deadline = time.monotonic() + timeout
        while ident not in self._results:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise ReviewerError(f"command {ident}: no answer within {timeout:.0f} s")
                reply = self._line(remaining)
            except ReviewerError:
                self._abandon(ident)
                raise
            if reply.get("id") in self._abandoned:
                self._abandoned.discard(reply.get("id"))  # a late answer nobody waits for
            else:
                self._results[reply.get("id")] = reply
        reply = self._results.pop(ident)
        if not reply.get("ok"):
            raise ReviewerError(f"command {ident}: {reply.get('error')}")
        return reply

    def call(self, cmd: str, timeout: float = COMMAND_TIMEOUT, **args) -> dict:
        return self.result(self.submit(cmd, timeout=timeout, **args), timeout=timeout + 5)

    def login(self, name: str, homeserver: str, user, history: int = 200) -> "Reviewer":
        """Log reviewer `name` in with a harness user's access token (synapse_harness.MatrixUser); the first sync
        brings the room's last `history` events (what a reviewer scrolling up would see), later ones arrive live."""
        self.call("login", **{"as": name}, homeserver=homeserver, user_id=user.user_id,
                  access_token=user.access_token, device_id=user.device_id, initial_sync_limit=history)
        return Reviewer(self, name, user.user_id)

    def close(self) -> None:
        """End the process whatever state it is in: stdin EOF (it stops its clients), then signals."""
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
            except (BrokenPipeError, OSError):
                pass
            for stop in (None, self.process.terminate, self.process.kill):
                if stop:
                    stop()
                try:
                    self.process.wait(timeout=10)
                    break
                except subprocess.TimeoutExpired:
                    continue
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Reviewer:
    """One reviewer's Element actions; each returns the event as it came back down this reviewer's /sync."""

    def __init__(self, driver: ReviewerDriver, name: str, user_id: str):
        self.driver, self.name, self.user_id = driver, name, user_id

    def _do(self, cmd: str, **args) -> dict:
        reply = self.driver.call(cmd, **{"as": self.name}, **args)
        return reply.get("echo") or reply

    def submit(self, cmd: str, **args) -> int:
        """Start an action without waiting (a race between reviewers); driver.result(id) collects it."""
        return self.driver.submit(cmd, **{"as": self.name}, **args)

    def join(self, room: str) -> None:
        self.driver.call("join", **{"as": self.name}, room=room)

    def wait(self, room: str, timeout: float = COMMAND_TIMEOUT, **match) -> dict:
        """The first event this reviewer has synced (or will) matching `match` (reviewer.mjs `matches`)."""
        return self.driver.call("wait", timeout=timeout, **{"as": self.name}, room=room, match=match)["event"]

    def send(self, room: str, body: str, **kw) -> dict:
        return self._do("send", room=room, body=body, **kw)

    def thread(self, room: str, root: str, body: str, **kw) -> dict:
        return self._do("thread", room=room, root=root, body=body, **kw)

    def reply(self, room: str, to: str, body: str, **kw) -> dict:
        """Reply pressed on `to`; kw: pills=[{user_id, name}], unthreaded=True, legacy_fallback=True."""
        return self._do("reply", room=room, to=to, body=body, **kw)

    def react(self, room: str, to: str, key: str) -> dict:
        return self._do("react", room=room, to=to, key=key)

    def edit(self, room: str, to: str, body: str) -> dict:
        return self._do("edit", room=room, to=to, body=body)

    def redact(self, room: str, to: str) -> dict:
        return self._do("redact", room=room, to=to)

    def sdk_send(self, room: str, content: dict, thread: str | None = None) -> dict:
        """client.sendMessage(room, thread, content) as the SDK fills it in (a thread it does not know yet gets
        no fallback m.in_reply_to at all)."""
        return self._do("sdk_send", room=room, content=content, thread=thread)
