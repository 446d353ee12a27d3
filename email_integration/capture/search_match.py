"""Why a conversation matched a search on the Emails page (issue 24, item 3): the words searched for, and
which field holds them (subject, body, participant, investor) with the spans to highlight.

Pure: db_queries hands in only what the viewer may see of each email (the subject from SUBJECT, the body
only at FULL, never a Bcc); the page marks the spans with text nodes, never as HTML. The word rule is the
search's own: with FTS5 (unicode61) every word is a quoted prefix term ("kim@alder" is the phrase kim,
alder*), so a word matches where its tokens start a word in the text, the last one as a prefix; without
FTS5 the search is one LIKE substring of the whole query, and so is the explanation.
"""
from __future__ import annotations

import re

_WORD = re.compile(r"[\w@.+-]+", re.UNICODE)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # unicode61: letters and digits; everything else separates
MAX_WORDS = 12
EXCERPT_BEFORE, EXCERPT_LENGTH = 60, 180
FIELDS = ("subject", "body", "participant", "investor")


def search_words(q: str) -> list[str]:
    """The words of a search as the FTS query takes them (at most MAX_WORDS, quotes dropped)."""
    return [w for w in (w.replace('"', "") for w in _WORD.findall(q)) if w][:MAX_WORDS]


def patterns(q: str, substring: bool = False) -> list[re.Pattern]:
    """One case-insensitive pattern per searched word (or one for the whole query, the LIKE search)."""
    if substring:
        return [re.compile(re.escape(q), re.IGNORECASE)] if q else []
    found = []
    for word in search_words(q):
        tokens = _TOKEN.findall(word)
        if tokens:
            found.append(re.compile(r"(?<![^\W_])" + r"[\W_]+".join(re.escape(t) for t in tokens), re.IGNORECASE))
    return found


def spans(text: str, words: list[re.Pattern], limit: int = 20) -> list[list[int]]:
    """[[start, end], …] of every searched word in `text`, in order, overlaps merged."""
    hits = sorted((m.start(), m.end()) for p in words for m in p.finditer(text or "") if m.end() > m.start())
    merged: list[list[int]] = []
    for start, end in hits:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged[:limit]


def matches_all(text: str, words: list[re.Pattern]) -> bool:
    return bool(words) and all(p.search(text or "") for p in words)


def excerpt(text: str, words: list[re.Pattern]) -> dict | None:
    """The stretch of a body around its first searched word (whitespace folded, "…" where cut), or None."""
    flat = " ".join((text or "").split())
    found = spans(flat, words)
    if not found:
        return None
    start = max(0, found[0][0] - EXCERPT_BEFORE)
    if start:
        space = flat.find(" ", start, found[0][0])
        start = space + 1 if space != -1 else start
    end = min(len(flat), max(start + EXCERPT_LENGTH, found[0][1]))
    if end < len(flat):
        space = flat.rfind(" ", found[0][1], end)
        end = space if space != -1 else end
    lead, tail = ("…" if start else ""), ("…" if end < len(flat) else "")
    shift = len(lead) - start
    marks = [[max(s, start) + shift, min(e, end) + shift] for s, e in found if s < end and e > start]
    return {"text": lead + flat[start:end] + tail, "marks": marks}


def _first(field: str, texts, words: list[re.Pattern]) -> dict | None:
    for text in texts:
        found = spans(text, words)
        if found:
            return {"field": field, "text": text, "marks": found}
    return None


def explain(words: list[re.Pattern], subjects=(), bodies=(), participants=(), investors=()) -> list[dict]:
    """[{field, text, marks, investor_id?}]: for each field, the first text holding a searched word.

    `subjects`, `bodies`: texts the viewer may read; `participants`: "Name <address>" strings;
    `investors`: [(id, text)] of the conversation's investors the search found by name."""
    why = []
    subject = _first("subject", subjects, words)
    if subject:
        why.append(subject)
    for body in bodies:
        cut = excerpt(body, words)
        if cut:
            why.append({"field": "body", **cut})
            break
    person = _first("participant", participants, words)
    if person:
        why.append(person)
    for investor_id, text in investors:
        found = spans(text, words)
        if found:
            why.append({"field": "investor", "text": text, "marks": found, "investor_id": investor_id})
            break
    return why
