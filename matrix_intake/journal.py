"""The little the bot keeps locally in MATRIX_STORE_PATH (everything else is CRM-side):
its Matrix session (so transaction ids stay deduplicated across restarts), its sync token
(so a restart never replays old replies), and a journal of replies being handled (so a
crash mid-edit neither loses the decision nor applies it twice). Files are written atomically."""
from __future__ import annotations

import json
import os
import tempfile

KEEP_HANDLED = 1000


def _write(path: str, data: dict) -> None:
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)


def _read(path: str) -> dict:
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


class Journal:
    def __init__(self, store_path: str):
        os.makedirs(store_path, mode=0o700, exist_ok=True)
        self.session_path = os.path.join(store_path, "session.json")
        self.state_path = os.path.join(store_path, "state.json")
        self.state = _read(self.state_path) or {"next_batch": None, "handled": {}}

    # session: access token and device id (secret: mode 600)
    def session(self) -> dict:
        return _read(self.session_path)

    def save_session(self, user_id: str, device_id: str, access_token: str) -> None:
        _write(self.session_path, {"user_id": user_id, "device_id": device_id, "access_token": access_token})
        os.chmod(self.session_path, 0o600)

    # sync token
    @property
    def next_batch(self) -> str | None:
        return self.state.get("next_batch")

    def save_next_batch(self, token: str) -> None:
        self.state["next_batch"] = token
        self._save()

    # replies being handled: event id → {"status": "started"|"done", ...}
    def entry(self, event_id: str) -> dict | None:
        return self.state["handled"].get(event_id)

    def start(self, event_id: str, **facts) -> dict:
        entry = self.state["handled"].setdefault(event_id, {"status": "started", **facts})
        self._save()
        return entry

    def update(self, event_id: str, **facts) -> None:
        self.state["handled"][event_id].update(facts)
        self._save()

    def done(self, event_id: str) -> None:
        self.state["handled"].setdefault(event_id, {})["status"] = "done"
        handled = self.state["handled"]
        while len(handled) > KEEP_HANDLED:
            handled.pop(next(iter(handled)))
        self._save()

    def _save(self) -> None:
        _write(self.state_path, self.state)
