"""How good are proposed notes? Fact recall and length of any drafter on the labelled set
(tests/drafting/labelled_emails.json: realistic investor emails, each with the facts a good note carries).

    .venv/bin/python tests/draft_quality.py            # today's fallback drafter and the old template

A drafter is `(parsed, investor, own_domain) -> str`, the CRM's DRAFTER signature; `parsed` comes from
the real parser (email_integration.parser.parse) so quoted history and signatures are split as in
production. Recall counts a fact when any of its spellings appears as a whole word (case-insensitive;
a trailing * allows any ending). bench/bench_model_drafts.py scores the model with the same code.
"""
from __future__ import annotations

import email.utils
import json
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]

from email_integration.mail.parser import parse  # noqa: E402
from devtools.gmail_emulator.gmail_format import message_resource  # noqa: E402
from emulator_fixtures import make_message  # noqa: E402

LABELS = os.path.join(HERE, "drafting", "labelled_emails.json")
_SENTENCE_END = re.compile(r"[.!?](\s|$)")


def load() -> dict:
    with open(LABELS, encoding="utf-8") as handle:
        return json.load(handle)


def raw_of(item: dict) -> bytes:
    """The labelled email as RFC 822 (its own conversation: no In-Reply-To)."""
    return make_message(sender=item["from"], to=item["to"], cc=item.get("cc"), subject=item["subject"],
                        date=item["date"], body=item["body"], message_id=f"<{item['id']}@labels.test>")


def parsed_of(item: dict) -> dict:
    """The labelled email through the production parser, as the CRM's drafter sees it."""
    return parse(message_resource(raw_of(item), id=item["id"], thread_id=item["id"], label_ids=["INBOX"],
                                  history_id=1, internal_date_ms=1_790_000_000_000))


def _address(header: str) -> str:
    return email.utils.parseaddr(header)[1].lower()


def mailbox_of(item: dict, own_domain: str) -> tuple[str, str]:
    """(the teammate's mailbox that holds the email, its Gmail label): SENT for ours, INBOX for theirs."""
    sender = _address(item["from"])
    if sender.endswith("@" + own_domain):
        return sender, "SENT"
    return _address(item["to"]), "INBOX"


def investors(labels: dict) -> list[dict]:
    """The CRM investors the labelled emails are about, matched by their mail domain."""
    found: dict[str, dict] = {}
    for item in labels["emails"]:
        other = next(_address(h) for h in (item["from"], item["to"]) if not _address(h).endswith(
            "@" + labels["own_domain"]))
        found.setdefault(item["investor"]["name"], {**item["investor"], "emails": [],
                                                    "domains": [other.split("@")[1]]})
    return list(found.values())


def _normal(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u00a0", " ")
    return " ".join(text.lower().split())


def _pattern(spelling: str) -> re.Pattern:
    prefix = spelling.endswith("*")
    word = re.escape(_normal(spelling.rstrip("*")))
    return re.compile(r"(?<!\w)" + word + ("" if prefix else r"(?!\w)"))


def has(note: str, spellings: list[str]) -> bool:
    text = _normal(note)
    return any(_pattern(s).search(text) for s in spellings)


def sentences(note: str) -> int:
    return max(1, len(_SENTENCE_END.findall(note.strip())))


def score_notes(labels: dict, notes: dict[str, str | None]) -> dict:
    """Scores for notes already written ({email id: note or None when the drafter gave nothing})."""
    found = total = forbidden = noise = 0
    lengths, counts, missed = [], [], {}
    for item in labels["emails"]:
        note = notes.get(item["id"]) or ""
        hits = [has(note, fact) for fact in item["facts"]]
        found, total = found + sum(hits), total + len(hits)
        if not all(hits):
            missed[item["id"]] = [fact[0] for fact, hit in zip(item["facts"], hits) if not hit]
        forbidden += any(has(note, [s]) for s in item.get("forbidden", []))
        noise += bool(re.search(r"(?<!\w)(re|fwd?|aw|wg)\s*:", note, re.I))
        if note:
            lengths.append(len(note))
            counts.append(sentences(note))
    return {"emails": len(labels["emails"]), "recall": found / total if total else 0.0, "facts": total,
            "found": found, "mean_chars": statistics.mean(lengths) if lengths else 0.0,
            "max_chars": max(lengths, default=0), "mean_sentences": statistics.mean(counts) if counts else 0.0,
            "over_two_sentences": sum(c > 2 for c in counts), "subject_noise": noise, "forbidden": forbidden,
            "empty": sum(1 for item in labels["emails"] if not notes.get(item["id"])), "missed": missed}


def score(drafter, labels: dict | None = None) -> dict:
    """Run a CRM-style drafter over every labelled email and score its notes."""
    labels = labels or load()
    notes = {item["id"]: drafter(parsed_of(item), item["investor"], labels["own_domain"]) for item in labels["emails"]}
    return score_notes(labels, notes)


def summary(name: str, result: dict) -> str:
    return (f"{name:<22} recall {result['recall']:.0%} ({result['found']}/{result['facts']} facts)  "
            f"chars mean {result['mean_chars']:.0f} max {result['max_chars']}  sentences mean "
            f"{result['mean_sentences']:.1f}, >2: {result['over_two_sentences']}  Re:/Fwd: {result['subject_noise']}  "
            f"forbidden {result['forbidden']}  empty {result['empty']}")


def main(argv=None) -> int:
    from drafting.baseline_template import template_note
    from email_integration.review.drafter import draft_note

    verbose = "-v" in (argv or sys.argv[1:])
    labels = load()
    for name, drafter in (("old template", template_note), ("fallback drafter", draft_note)):
        result = score(drafter, labels)
        print(summary(name, result))
        if verbose:
            for email_id, facts in result["missed"].items():
                print(f"    {email_id}: missed {', '.join(facts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
