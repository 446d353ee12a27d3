"""The CRM's drafter before issue 14, kept verbatim as the baseline tests/draft_quality.py compares against
(the grid's notes written before then look like this). Not used by the CRM."""
from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_SIGNAL = re.compile(r"\b(could you|can you|can we|would you|please|let me know|happy to|we('d| would)|"
                     r"agree[ds]?|attached|send|share|commit|term sheet|pass(ing)?|interested|invest|"
                     r"call|meet(ing)?|intro(duction)?|follow[- ]up|next step|diligence|valuation|round)\b", re.I)


def _first_name(person: dict | None) -> str:
    name = (person or {}).get("name") or (person or {}).get("email", "someone").split("@")[0]
    return name.split()[0] if name.split() else name


def template_note(parsed: dict, investor: dict, own_domain: str = "") -> str:
    sender = parsed.get("from") or {}
    day = (parsed.get("date") or "")[:10]
    ours = bool(own_domain) and sender.get("email", "").endswith("@" + own_domain.lower())
    who = investor["name"] + (f" ({investor['firm']})" if investor.get("firm") else "")
    subject = (parsed.get("subject") or "").strip() or "(no subject)"
    lead = (f"{day}: {_first_name(sender)} emailed {who} about \"{subject}\"." if ours
            else f"{day}: {who} emailed about \"{subject}\".")
    text = " ".join((parsed.get("body_text") or "")[:3000].split())
    sentences = [s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 12]
    chosen = [s for s in sentences if _SIGNAL.search(s)][:2] or sentences[:1]
    body = " ".join(chosen)
    if len(body) > 400:
        body = body[:397].rsplit(" ", 1)[0] + "…"
    return f"{lead} {body}".strip()
