"""A real Synapse homeserver on loopback for the intake bot's tests and benchmark (development only).

    synapse = start_synapse(work_dir)                  # SQLite, registration by shared secret only
    ann = synapse.register("ann", "pw")                 # → MatrixUser with an access token
    room = ann.create_room(invite=[bot.user_id])
    ann.send_text(room, "yes", thread_root=event_id)
    synapse.stop()

Everything binds 127.0.0.1; rate limits are lifted so tests are not paced by them.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from devtools import element_events
from devtools.processes import stop_process

SERVER_NAME = "spark.test"
# What Element puts in a new private room by default (end-to-end encryption on).
ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
_UNLIMITED = {"per_second": 1000, "burst_count": 1000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _config(work_dir: str, port: int, shared_secret: str) -> dict:
    return {
        "server_name": SERVER_NAME, "pid_file": os.path.join(work_dir, "homeserver.pid"), "public_baseurl":
        f"http://127.0.0.1:{port}/", "listeners": [{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http",
                                                     "tls": False, "x_forwarded": False,
                                                     "resources": [{"names": ["client"], "compress": False}]}],
        "database": {"name": "sqlite3", "args": {"database": os.path.join(work_dir, "homeserver.db")}},
        "log_config": os.path.join(work_dir, "log.yaml"), "media_store_path": os.path.join(work_dir, "media"),
        "signing_key_path": os.path.join(work_dir, "signing.key"), "registration_shared_secret": shared_secret,
        "macaroon_secret_key": secrets.token_hex(16), "form_secret": secrets.token_hex(16), "report_stats": False,
        "trusted_key_servers": [], "suppress_key_server_warning": True, "enable_metrics": False,
        "rc_message": _UNLIMITED, "rc_registration": _UNLIMITED, "rc_admin_redaction": _UNLIMITED,
        "rc_login": {"address": _UNLIMITED, "account": _UNLIMITED, "failed_attempts": _UNLIMITED},
        "rc_joins": {"local": _UNLIMITED, "remote": _UNLIMITED},
        "rc_invites": {"per_room": _UNLIMITED, "per_user": _UNLIMITED, "per_issuer": _UNLIMITED},
        "federation_domain_whitelist": [], "presence": {"enabled": False},
    }


def _log_config(path: str, log_file: str) -> None:
    config = {"version": 1, "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
              "handlers": {"file": {"class": "logging.FileHandler", "filename": log_file, "formatter": "plain"}},
              "root": {"level": "WARNING", "handlers": ["file"]}, "disable_existing_loggers": False}
    with open(path, "w") as handle:
        json.dump(config, handle)  # JSON is YAML


def _request(method: str, url: str, body=None, token: str | None = None, timeout: float = 30):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data, headers, method=method)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"{}")


class MatrixUser:
    """A plain client-server API user (what a reviewer's app does), over urllib."""

    def __init__(self, base_url: str, user_id: str, access_token: str, device_id: str):
        self.base_url, self.user_id, self.access_token, self.device_id = base_url, user_id, access_token, device_id
        self._txn = 0

    def call(self, method: str, path: str, body=None):
        return _request(method, self.base_url + "/_matrix/client/v3" + path, body, self.access_token)

    def create_room(self, invite=(), name="Email review", encrypted=False) -> str:
        """A private room (as Element creates one; `encrypted`: with its default m.room.encryption state)."""
        body = {"preset": "private_chat", "name": name, "invite": list(invite),
                "power_level_content_override": {"users_default": 0}}
        if encrypted:
            body["initial_state"] = [ENCRYPTION_STATE]
        return self.call("POST", "/createRoom", body)["room_id"]

    def set_state(self, room_id: str, event_type: str, content: dict, state_key: str = "") -> str:
        path = f"/rooms/{urllib.parse.quote(room_id)}/state/{event_type}/{urllib.parse.quote(state_key)}"
        return self.call("PUT", path, content)["event_id"]

    def redact(self, room_id: str, event_id: str) -> str:
        self._txn += 1
        path = (f"/rooms/{urllib.parse.quote(room_id)}/redact/{urllib.parse.quote(event_id)}/"
                f"{self.user_id}-{time.time_ns()}-{self._txn}")
        return self.call("PUT", path, {})["event_id"]

    def notifications(self, limit: int = 200) -> list[dict]:
        """This user's push notifications (GET /notifications): which events notified or highlighted them."""
        return self.call("GET", f"/notifications?limit={limit}")["notifications"]

    def typing(self, room_id: str) -> list[str]:
        """Who the server says is typing in the room right now (m.typing ephemeral event of a fresh sync)."""
        # Synapse caches a sync's response for identical requests: a fresh filter each time reads the present.
        sync_filter = json.dumps({"room": {"rooms": [room_id], "timeline": {"limit": 0}, "state": {"types": []},
                                           "ephemeral": {"types": ["m.typing"],
                                                         "not_types": [f"x.fresh.{time.time_ns()}"]}}})
        reply = self.call("GET", "/sync?timeout=0&filter=" + urllib.parse.quote(sync_filter))
        room = reply.get("rooms", {}).get("join", {}).get(room_id, {})
        for event in room.get("ephemeral", {}).get("events", []):
            if event["type"] == "m.typing":
                return event["content"].get("user_ids", [])
        return []

    def join(self, room_id: str) -> None:
        self.call("POST", f"/join/{urllib.parse.quote(room_id)}", {})

    def send(self, room_id: str, event_type: str, content: dict) -> str:
        self._txn += 1
        txn = f"{self.user_id}-{time.time_ns()}-{self._txn}"
        path = f"/rooms/{urllib.parse.quote(room_id)}/send/{event_type}/{urllib.parse.quote(txn)}"
        return self.call("PUT", path, content)["event_id"]

    def send_text(self, room_id: str, body: str, thread_root: str | None = None, reply_to: str | None = None,
                  mention: tuple[str, str] | None = None, latest: str | None = None) -> str:
        """A message as Element sends it: in a thread (its fallback to `latest`, or a real reply), a reply (naming
        the replied-to sender in m.mentions, as Element does), a mention."""
        sender = None
        if reply_to:
            event = self.call("GET", f"/rooms/{urllib.parse.quote(room_id)}/event/{urllib.parse.quote(reply_to)}")
            sender = event["sender"] if event["sender"] != self.user_id else None  # Element never lists oneself
        return self.send(room_id, "m.room.message", element_events.message(
            body, thread_root, latest=latest, reply_to=reply_to, mention=mention, reply_sender=sender))

    def edit_text(self, room_id: str, original: str, new_body: str) -> str:
        return self.send(room_id, "m.room.message", element_events.edit(original, new_body))

    def react(self, room_id: str, event_id: str, key: str) -> str:
        return self.send(room_id, "m.reaction", element_events.reaction(event_id, key))

    def messages(self, room_id: str, limit: int = 500) -> list[dict]:
        """The room's events, oldest first."""
        query = urllib.parse.urlencode({"dir": "b", "limit": limit})
        chunk = self.call("GET", f"/rooms/{urllib.parse.quote(room_id)}/messages?{query}")["chunk"]
        return list(reversed(chunk))


class SynapseHandle:
    def __init__(self, process, url: str, shared_secret: str, work_dir: str):
        self.process, self.url, self.shared_secret, self.work_dir = process, url, shared_secret, work_dir

    def register(self, localpart: str, password: str, admin: bool = False) -> MatrixUser:
        """Shared-secret registration (Synapse admin API), as an operator would create the bot's account."""
        endpoint = self.url + "/_synapse/admin/v1/register"
        nonce = _request("GET", endpoint)["nonce"]
        mac = hmac.new(self.shared_secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), localpart.encode(), password.encode(),
                                 b"admin" if admin else b"notadmin"]))
        reply = _request("POST", endpoint, {"nonce": nonce, "username": localpart, "password": password,
                                            "admin": admin, "mac": mac.hexdigest()})
        return MatrixUser(self.url, reply["user_id"], reply["access_token"], reply["device_id"])

    def stop(self) -> None:
        stop_process(self.process, grace_sec=20)


def start_synapse(work_dir: str, timeout: float = 90.0) -> SynapseHandle:
    """Generate a config and keys, start Synapse, wait until the client API answers."""
    os.makedirs(work_dir, exist_ok=True)
    port, shared_secret = _free_port(), secrets.token_hex(16)
    config_path = os.path.join(work_dir, "homeserver.yaml")
    with open(config_path, "w") as handle:
        json.dump(_config(work_dir, port, shared_secret), handle)
    _log_config(os.path.join(work_dir, "log.yaml"), os.path.join(work_dir, "homeserver.log"))
    subprocess.run([sys.executable, "-m", "synapse.app.homeserver", "-c", config_path, "--generate-keys"],
                   check=True, capture_output=True, timeout=120)
    output = open(os.path.join(work_dir, "stdout.log"), "w")
    process = subprocess.Popen([sys.executable, "-m", "synapse.app.homeserver", "-c", config_path],
                               stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"synapse exited with {process.returncode}; see {work_dir}/stdout.log")
        try:
            _request("GET", url + "/_matrix/client/versions", timeout=2)
            return SynapseHandle(process, url, shared_secret, work_dir)
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.25)
    process.kill()
    raise RuntimeError("synapse did not start in time")
