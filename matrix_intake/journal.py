"""The little the bot keeps locally in MATRIX_STORE_PATH (everything else is CRM-side):
its Matrix session (so transaction ids stay deduplicated across restarts), its sync token
(so a restart never replays old replies), and a journal of replies being handled (so a
crash mid-edit neither loses the decision nor applies it twice). Files are written atomically."""
from __future__ import annotations

import json
import os
import tempfile
import time

KEEP_HANDLED = 1000
KEEP_CARDS = 5000  # cards remembered by their thread root (a late reply to a closed card still finds its proposal)
KEEP_QUESTIONS = 200
QUESTION_CHARS = 1000  # what the journal keeps of a question's words (a longer message is not asked back)
SHOWN_HISTORY = 8  # versions of a card remembered with the time each was shown


def now_ms() -> int:
    """Wall-clock milliseconds, comparable with events' origin_server_ts."""
    return int(time.time() * 1000)


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
        self.state = _read(self.state_path) or {}
        for key, empty in (("next_batch", None), ("handled", {}), ("sent", {}), ("shown", {}), ("context", {}),
                           ("own", {}), ("told", []), ("refused", []), ("cards", {}), ("questions", {})):
            self.state.setdefault(key, empty)

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

    def done(self, event_id: str, **facts) -> None:
        """Handled; `facts` such as outcome ("approve", "conversation", …) and root (the card's event)."""
        entry = self.state["handled"].setdefault(event_id, {})
        entry.update(facts, status="done")
        handled = self.state["handled"]
        while len(handled) > KEEP_HANDLED:
            handled.pop(next(iter(handled)))
        self._save()

    # cards sent but not yet confirmed by the CRM: proposal id → event id (never send a card twice)
    def sent_card(self, proposal_id: int) -> str | None:
        return self.state["sent"].get(str(proposal_id))

    def record_sent(self, proposal_id: int, event_id: str) -> None:
        self.state["sent"][str(proposal_id)] = event_id
        self._save()

    def sent_cards(self) -> dict[int, str]:
        return {int(proposal_id): event_id for proposal_id, event_id in self.state["sent"].items()}

    def cards_being_posted(self) -> set[str]:
        return set(self.state["sent"].values())

    def forget_sent(self, proposal_id: int) -> None:
        if self.state["sent"].pop(str(proposal_id), None) is not None:
            self._save()

    # what the room has been shown of each card (the version a reviewer's "yes" refers to), and the
    # email excerpt the model may read when revising
    def shown(self, proposal_id: int) -> dict | None:
        return self.state["shown"].get(str(proposal_id))

    def record_shown(self, proposal_id: int, version: int, draft: str, since_ms: int | None = None) -> None:
        """Record what the room now shows, and since when (ms; by default now; a caller that showed it passes the
        time just before sending, so no reply to that message can look older): a decision refers to the version
        shown when it was sent."""
        before = self.state["shown"].get(str(proposal_id)) or {}
        history = before.get("history") or ([[before["version"], 0]] if before else [])
        if not history or history[-1][0] != version:
            history = (history + [[version, now_ms() if since_ms is None else since_ms]])[-SHOWN_HISTORY:]
        self.state["shown"][str(proposal_id)] = {"version": version, "draft": draft, "history": history}
        self._save()

    def shown_at(self, proposal_id: int, when_ms: int | None) -> int | None:
        """The version the room showed at `when_ms` (a reply's origin_server_ts); the oldest one recorded if
        the reply is older than all of them, the current one when `when_ms` is unknown."""
        shown = self.shown(proposal_id)
        if shown is None:
            return None
        history = shown.get("history") or [[shown["version"], 0]]
        if not isinstance(when_ms, int):
            return shown["version"]
        seen = [version for version, since in history if since <= when_ms]
        return seen[-1] if seen else history[0][0]

    def context(self, proposal_id: int) -> str:
        return self.state["context"].get(str(proposal_id), "")

    def record_context(self, proposal_id: int, text: str) -> None:
        self.state["context"][str(proposal_id)] = text[:1500]
        self._save()

    # the bot's own revision of a card, recorded before the CRM is told (never announced as a web edit)
    def own_revision(self, proposal_id: int) -> str | None:
        return self.state["own"].get(str(proposal_id))

    def record_own_revision(self, proposal_id: int, draft: str) -> None:
        self.state["own"][str(proposal_id)] = draft
        self._save()

    # who has been told "only the listed reviewers decide" in which thread (once each)
    def first_telling(self, root: str, sender: str) -> bool:
        key = f"{root} {sender}"
        if key in self.state["told"]:
            return False
        self.state["told"] = (self.state["told"] + [key])[-KEEP_HANDLED:]
        self._save()
        return True

    # encrypted rooms the bot has already said it refuses (said once, however often it is restarted)
    def first_refusal(self, room_id: str) -> bool:
        if room_id in self.state["refused"]:
            return False
        self.state["refused"].append(room_id)
        self._save()
        return True

    # every card the bot has seen, by its thread root: root → {"id": proposal id, "closed": bool}
    def remember_card(self, root: str, proposal_id: int, closed: bool = False) -> None:
        known = self.state["cards"].get(root)
        if known == {"id": proposal_id, "closed": closed} or (known and known["closed"] and not closed):
            return  # nothing new (and a stale work-list never reopens a card the bot saw decided)
        self.state["cards"][root] = {"id": proposal_id, "closed": closed}
        while len(self.state["cards"]) > KEEP_CARDS:
            self.state["cards"].pop(next(iter(self.state["cards"])))
        self._save()

    def card_id(self, root: str) -> int | None:
        return (self.state["cards"].get(root) or {}).get("id")

    def card_closed(self, root: str) -> bool:
        return bool((self.state["cards"].get(root) or {}).get("closed"))

    # the bot's open questions ("Should I change the note to say …?"): question event id → what was asked
    def record_question(self, question_id: str, root: str, asked: str, instruction: str, since_ms: int) -> None:
        """`asked`: the reviewer asked; their yes/no sent after `since_ms` (the question's origin_server_ts), or
        anyone's real reply to the question, answers it."""
        self.forget_questions(root, asked, save=False)  # one open question per reviewer and card
        self.state["questions"][question_id] = {"root": root, "asked": asked, "instruction": instruction[:QUESTION_CHARS],
                                                "since": since_ms}
        while len(self.state["questions"]) > KEEP_QUESTIONS:
            self.state["questions"].pop(next(iter(self.state["questions"])))
        self._save()

    def question(self, question_id: str | None) -> dict | None:
        return self.state["questions"].get(question_id) if question_id else None

    def open_question(self, root: str, asked: str) -> tuple[str, dict] | None:
        """The question put to `asked` on this card, if still open: (its event id, what was asked)."""
        return next(((qid, q) for qid, q in self.state["questions"].items()
                     if q["root"] == root and q["asked"] == asked), None)

    def asked_others(self, root: str, sender: str, sent_ms: int | None) -> bool:
        """A question on this card put to someone other than `sender` was open when `sender` sent a message at
        `sent_ms` (its origin_server_ts; unknown: any open question counts)."""
        return any(q["root"] == root and q["asked"] != sender and (not isinstance(sent_ms, int) or q["since"] <= sent_ms)
                   for q in self.state["questions"].values())

    def forget_questions(self, root: str, asked: str | None = None, save: bool = True,
                         sent_after: int | None = None) -> None:
        """Close the questions on a card (only those put to `asked`, if given; only those asked before a message
        sent at `sent_after`, if given: a message typed before the question appeared lets nothing lapse)."""
        gone = [qid for qid, q in self.state["questions"].items()
                if q["root"] == root and (asked is None or q["asked"] == asked)
                and (sent_after is None or not isinstance(sent_after, int) or q["since"] <= sent_after)]
        for qid in gone:
            del self.state["questions"][qid]
        if gone and save:
            self._save()

    def forget_card(self, proposal_id: int) -> None:
        for key in ("shown", "context", "sent", "own"):
            self.state[key].pop(str(proposal_id), None)
        self._save()

    def _save(self) -> None:
        _write(self.state_path, self.state)
