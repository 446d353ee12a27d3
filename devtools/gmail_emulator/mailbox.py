"""Per-user mailboxes: messages, labels, Gmail-like threads, history records, and their expiry.

History follows users.history.list: every change gets the next historyId; records carry
messagesAdded / messagesDeleted / labelsAdded / labelsRemoved; a startHistoryId older than
the retained history answers 404 (HistoryExpired), which a client must treat as "full sync".
"""
from __future__ import annotations

import email.utils
import hashlib
import os
import threading
import time
from dataclasses import dataclass, field

from . import gmail_format
from .query import compile_query

SYSTEM_LABELS = ("INBOX", "SENT", "DRAFT", "CHAT", "SPAM", "TRASH", "UNREAD", "STARRED", "IMPORTANT",
                 "CATEGORY_PERSONAL", "CATEGORY_UPDATES", "CATEGORY_PROMOTIONS", "CATEGORY_SOCIAL", "CATEGORY_FORUMS")
ADDRESS_HEADERS = ("From", "To", "Cc", "Bcc")
HISTORY_TYPES = ("messageAdded", "messageDeleted", "labelAdded", "labelRemoved")
MAX_PAGE = 500


class HistoryExpired(LookupError):
    """startHistoryId is older than the history this mailbox keeps."""


class BadPageToken(ValueError):
    """A pageToken this mailbox did not issue."""


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    raw: bytes
    labels: list
    internal_date_ms: int
    history_id: int
    rfc_message_id: str
    facts: dict = field(default_factory=dict)
    seq: int = 0  # arrival order: ties on internalDate keep it, like Gmail
    arrived: float = 0.0  # time.monotonic() when it arrived (search lag); 0: loaded at start, long indexed


def _header(msg, name: str) -> str:
    return gmail_format.header_value(msg, name)


def _ids(value: str) -> list[str]:
    return [v.strip("<> \t") for v in value.replace(",", " ").split() if "@" in v]


def _page(items: list, page_token, max_results) -> tuple[list, str | None]:
    try:
        start = int(page_token) if page_token else 0
    except ValueError:
        raise BadPageToken(page_token) from None
    size = max(1, min(int(max_results or 100), MAX_PAGE))
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class Mailbox:
    """One user's mailbox; every public method is thread-safe."""

    def __init__(self, address: str, id_seed: str = ""):
        self.address = address.lower()
        self._id_seed = id_seed or self.address
        self._messages: dict[str, StoredMessage] = {}
        self._by_rfc_id: dict[str, str] = {}
        self._history: list[dict] = []
        self._history_id = 1000
        self._oldest_valid = 0
        self._counter = 0
        self._lock = threading.RLock()

    # -- changes -----------------------------------------------------------------------
    def _next_history(self) -> int:
        self._history_id += 1
        return self._history_id

    def _new_id(self, raw: bytes) -> str:
        self._counter += 1
        return hashlib.sha256(f"{self._id_seed}/{self._counter}".encode() + raw[:64]).hexdigest()[:16]

    def add(self, raw: bytes, label_ids=None, internal_date_ms: int | None = None, arrived: float | None = None) -> dict:
        """Append a message (Gmail's messages.insert); returns {id, threadId, historyId}. `arrived`: when it
        reached the mailbox (monotonic clock; default now), for the search lag."""
        msg = gmail_format.parse_bytes(raw)
        labels = list(dict.fromkeys(label_ids or ["INBOX"]))
        if internal_date_ms is None:
            internal_date_ms = self._date_ms(msg)
        with self._lock:
            message_id = self._new_id(raw)
            rfc_id = _header(msg, "Message-ID").strip().strip("<>")
            thread_id = self._thread_for(msg) or message_id
            history_id = self._next_history()
            stored = StoredMessage(message_id, thread_id, raw, labels, internal_date_ms, history_id, rfc_id,
                                   self._facts(msg, labels, internal_date_ms), self._counter,
                                   time.monotonic() if arrived is None else arrived)
            self._messages[message_id] = stored
            if rfc_id:
                self._by_rfc_id.setdefault(rfc_id, message_id)
            ref = {"id": message_id, "threadId": thread_id}
            self._history.append({"id": history_id, "type": "messageAdded", "messages": [ref],
                                  "messagesAdded": [{"message": {**ref, "labelIds": list(labels)}}]})
            return {"id": message_id, "threadId": thread_id, "historyId": str(history_id)}

    @staticmethod
    def _date_ms(msg) -> int:
        try:
            parsed = email.utils.parsedate_to_datetime(_header(msg, "Date"))
            return int(parsed.timestamp() * 1000)
        except (TypeError, ValueError, IndexError, OverflowError):
            return int(time.time() * 1000)

    def _thread_for(self, msg) -> str | None:
        refs = _ids(_header(msg, "In-Reply-To")) + list(reversed(_ids(_header(msg, "References"))))
        for ref in refs:
            found = self._by_rfc_id.get(ref)
            if found and found in self._messages:
                return self._messages[found].thread_id
        return None

    @staticmethod
    def _facts(msg, labels, internal_date_ms) -> dict:
        has_attachment = any(gmail_format.is_attachment(p) and not p.is_multipart()
                             for _, p in gmail_format.walk_parts(msg) if _ != "")
        facts = {"subject": _header(msg, "Subject").lower(), "text": gmail_format.snippet(msg).lower(),
                 "has_attachment": has_attachment, "internal_date_ms": internal_date_ms}
        for name in ADDRESS_HEADERS:  # what from:/to:/cc:/bcc: search (query.py), display names included
            raw = _header(msg, name)
            facts[name.lower()] = raw.lower()
            facts[name.lower() + "_addrs"] = [a.lower() for _, a in email.utils.getaddresses([raw]) if "@" in a]
        facts["list"] = _header(msg, "List-Id").lower()  # what list: searches
        return facts

    def delete(self, message_id: str) -> bool:
        with self._lock:
            stored = self._messages.pop(message_id, None)
            if stored is None:
                return False
            ref = {"id": stored.id, "threadId": stored.thread_id}
            self._history.append({"id": self._next_history(), "type": "messageDeleted", "messages": [ref],
                                  "messagesDeleted": [{"message": ref}]})
            return True

    def modify(self, message_id: str, add=(), remove=()) -> dict:
        """Change labels (messages.modify); KeyError when absent."""
        with self._lock:
            stored = self._messages[message_id]
            added = [l for l in add if l not in stored.labels]
            removed = [l for l in remove if l in stored.labels and l not in added]
            stored.labels = [l for l in stored.labels if l not in removed] + added
            ref = {"id": stored.id, "threadId": stored.thread_id}
            if added:
                self._history.append({"id": self._next_history(), "type": "labelAdded", "messages": [ref],
                                      "labelsAdded": [{"message": {**ref, "labelIds": list(stored.labels)},
                                                       "labelIds": added}]})
            if removed:
                self._history.append({"id": self._next_history(), "type": "labelRemoved", "messages": [ref],
                                      "labelsRemoved": [{"message": {**ref, "labelIds": list(stored.labels)},
                                                         "labelIds": removed}]})
            stored.history_id = self._history_id
            return {"id": stored.id, "threadId": stored.thread_id, "labelIds": list(stored.labels)}

    def expire_history(self) -> int:
        """Every historyId issued so far becomes too old: history.list from them answers 404."""
        with self._lock:
            self._oldest_valid = self._next_history()
            self._history = []
            return self._history_id

    # -- reads -------------------------------------------------------------------------
    def get(self, message_id: str, fmt: str = "full", metadata_headers=None) -> dict:
        with self._lock:
            stored = self._messages[message_id]
            labels, history_id = list(stored.labels), stored.history_id
        return gmail_format.message_resource(stored.raw, id=stored.id, thread_id=stored.thread_id, label_ids=labels,
                                             history_id=history_id, internal_date_ms=stored.internal_date_ms,
                                             fmt=fmt, metadata_headers=metadata_headers)

    def list(self, q=None, label_ids=(), include_spam_trash=False, page_token=None, max_results=100,
             match: str = "gmail", lag_sec: float = 0.0) -> dict:
        """messages.list. `match`: how address operators match (query.py); `lag_sec`: the search index sees a
        message this long after it arrived (history and messages.get see it at once)."""
        matches = compile_query(q, mode=match)
        indexed_before = time.monotonic() - lag_sec
        with self._lock:
            candidates = sorted(self._messages.values(), key=lambda m: (m.internal_date_ms, m.seq), reverse=True)
            selected = []
            for m in candidates:
                if lag_sec and m.arrived > indexed_before:
                    continue
                labels = set(m.labels)
                if not include_spam_trash and labels & {"SPAM", "TRASH"}:
                    continue
                if any(l not in labels for l in label_ids or ()):
                    continue
                if matches({**m.facts, "labels": labels}):
                    selected.append({"id": m.id, "threadId": m.thread_id})
        page, next_token = _page(selected, page_token, max_results)
        result = {"resultSizeEstimate": len(selected)}
        if page:
            result["messages"] = page
        if next_token:
            result["nextPageToken"] = next_token
        return result

    def history(self, start_history_id, history_types=None, label_id=None, page_token=None, max_results=100) -> dict:
        start = int(start_history_id)
        types = set(history_types or HISTORY_TYPES)
        with self._lock:
            if start < self._oldest_valid:
                raise HistoryExpired(start)
            records = []
            for record in self._history:
                if record["id"] <= start or record["type"] not in types:
                    continue
                if label_id and not self._touches_label(record, label_id):
                    continue
                records.append({k: v for k, v in record.items() if k != "type"} | {"id": str(record["id"])})
            current = self._history_id
        page, next_token = _page(records, page_token, max_results)
        result = {"historyId": str(current)}
        if page:
            result["history"] = page
        if next_token:
            result["nextPageToken"] = next_token
        return result

    @staticmethod
    def _touches_label(record, label_id) -> bool:
        for key in ("messagesAdded", "labelsAdded", "labelsRemoved"):
            for item in record.get(key, ()):
                if label_id in item["message"].get("labelIds", ()) or label_id in item.get("labelIds", ()):
                    return True
        return False

    def attachment(self, message_id: str, attachment_id: str) -> dict:
        with self._lock:
            raw = self._messages[message_id].raw
        data = gmail_format.attachments(raw, message_id)[attachment_id]
        return {"size": len(data), "data": gmail_format.b64url(data)}

    def thread(self, thread_id: str, fmt: str = "full", metadata_headers=None) -> dict:
        with self._lock:
            members = sorted((m for m in self._messages.values() if m.thread_id == thread_id),
                             key=lambda m: (m.internal_date_ms, m.seq))
            if not members:
                raise KeyError(thread_id)
            history_id = max(m.history_id for m in members)
        return {"id": thread_id, "historyId": str(history_id),
                "messages": [self.get(m.id, fmt, metadata_headers) for m in members]}

    def profile(self) -> dict:
        with self._lock:
            return {"emailAddress": self.address, "messagesTotal": len(self._messages),
                    "threadsTotal": len({m.thread_id for m in self._messages.values()}),
                    "historyId": str(self._history_id)}

    def message_ids(self) -> list[str]:
        with self._lock:
            return list(self._messages)


class MailStore:
    """All mailboxes of the emulator, by lower-cased address."""

    def __init__(self):
        self._boxes: dict[str, Mailbox] = {}
        self._lock = threading.Lock()

    def mailbox(self, address: str) -> Mailbox:
        with self._lock:
            key = address.lower()
            if key not in self._boxes:
                self._boxes[key] = Mailbox(key)
            return self._boxes[key]

    def has(self, address: str) -> bool:
        with self._lock:
            return address.lower() in self._boxes

    def addresses(self) -> list[str]:
        with self._lock:
            return sorted(self._boxes)

    def load_dir(self, path: str) -> int:
        """Load DIR/<address>/*.eml (sorted by name); SENT when From is the owner, else INBOX."""
        count = 0
        for address in sorted(os.listdir(path)):
            folder = os.path.join(path, address)
            if not os.path.isdir(folder) or "@" not in address:
                continue
            box = self.mailbox(address)
            for name in sorted(os.listdir(folder)):
                if not name.endswith(".eml"):
                    continue
                with open(os.path.join(folder, name), "rb") as handle:
                    raw = handle.read()
                sender = email.utils.parseaddr(_header(gmail_format.parse_bytes(raw), "From"))[1].lower()
                box.add(raw, ["SENT"] if sender == box.address else ["INBOX", "UNREAD"], arrived=0.0)
                count += 1
        return count
