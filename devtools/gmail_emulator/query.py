"""A subset of Gmail's search syntax for messages.list `q` (support.google.com/mail/answer/7190).

Supported: after: / before: (YYYY/MM/DD or epoch seconds), newer_than: / older_than: (Nd, Nm, Ny),
from:, to:, cc:, subject:, label:, in:, has:attachment, a leading "-" to negate, and plain
words (matched against subject, snippet and addresses). Unknown operators match nothing,
loudly, rather than everything.
"""
from __future__ import annotations

import datetime as _dt
import re
import shlex
import time

_UNITS = {"d": 86400, "m": 30 * 86400, "y": 365 * 86400}


class QueryError(ValueError):
    """An operator we do not support; the server answers 400 invalidArgument."""


def _epoch_ms(value: str) -> int:
    if value.isdigit():
        return int(value) * 1000
    try:
        day = _dt.datetime.strptime(value.replace("-", "/"), "%Y/%m/%d")
    except ValueError:
        raise QueryError(f"bad date {value!r}") from None
    return int(day.replace(tzinfo=_dt.timezone.utc).timestamp() * 1000)


def _age_ms(value: str) -> int:
    match = re.fullmatch(r"(\d+)([dmy])", value)
    if not match:
        raise QueryError(f"bad age {value!r}")
    return int(match.group(1)) * _UNITS[match.group(2)] * 1000


def compile_query(q: str | None, now_ms: int | None = None):
    """A predicate over message facts {internal_date_ms, labels, from, to, cc, subject, text, has_attachment}."""
    if not q or not q.strip():
        return lambda facts: True
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    try:
        terms = shlex.split(q)
    except ValueError:
        terms = q.split()
    tests = []
    for term in terms:
        negate = term.startswith("-") and len(term) > 1
        term = term[1:] if negate else term
        op, sep, value = term.partition(":")
        op, value = op.lower(), value.lower()
        if not sep:
            word = term.lower()
            check = lambda f, w=word: w in f["text"] or w in f["subject"] or w in f["from"] or w in f["to"]
        elif op == "after":
            check = lambda f, t=_epoch_ms(value): f["internal_date_ms"] >= t
        elif op == "before":
            check = lambda f, t=_epoch_ms(value): f["internal_date_ms"] < t
        elif op == "newer_than":
            check = lambda f, t=now_ms - _age_ms(value): f["internal_date_ms"] >= t
        elif op == "older_than":
            check = lambda f, t=now_ms - _age_ms(value): f["internal_date_ms"] < t
        elif op in ("from", "to", "cc", "subject"):
            check = lambda f, k=op, v=value: v in f[k]
        elif op in ("label", "in"):
            check = lambda f, v=value.upper(): v in f["labels"] or (v == "ANYWHERE")
        elif op == "has" and value == "attachment":
            check = lambda f: f["has_attachment"]
        else:
            raise QueryError(f"unsupported search operator {op!r}")
        tests.append((negate, check))
    return lambda facts: all(check(facts) != negate for negate, check in tests)
