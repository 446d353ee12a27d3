"""Every corpus message parses without an exception and agrees with Python's email package on headers."""
from __future__ import annotations

import email
import email.policy
import re
from datetime import timezone
from pathlib import Path

import pytest

from devtools.gmail_emulator.gmail_format import message_resource
from email_integration.mail.parser import KEYS, parse

# A copy of the team's shared/corpus lives in the repository so every clone (and CI) runs it;
# test_copy_matches_the_shared_corpus catches drift when the shared folder is beside the checkout.
CORPUS = Path(__file__).resolve().parent / "corpus"
SHARED_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

FILES = sorted(str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*")
               if path.is_file() and path.name not in ("README.md", "LICENSE"))

# relative path → {compared field → why our value deliberately differs from Python's email package}.
KNOWN_DIFFERENCES: dict[str, dict[str, str]] = {
    "ruby-mail-fixtures/error_emails/invalid_subject_characters.eml": {
        "subject": "raw 8-bit Windows-1252 subject: Python substitutes U+FFFD without a defect, we decode "
                   "it as cp1252 ('Formação ... Verão')"},
}
# Python flags obsolete-but-valid syntax (RFC 5322 section 4) with this defect; its decoding is still right.
HARMLESS_DEFECTS = {"ObsoleteHeaderDefect"}


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _python_header(msg, name):
    """Python's parsed header, or None when it raises or records a defect on it."""
    try:
        header = msg[name]
    except Exception:  # noqa: BLE001 - Python could not decode it: nothing to compare against
        return None
    if header is None or {type(d).__name__ for d in getattr(header, "defects", ())} - HARMLESS_DEFECTS:
        return None
    return header


@pytest.fixture(scope="module")
def parsed():
    cache = {}

    def get(relative: str):
        if relative not in cache:
            raw = (CORPUS / relative).read_bytes()
            resource = message_resource(raw, id="m1", thread_id="t1", label_ids=["INBOX"], history_id=1,
                                        internal_date_ms=1700000000000, fmt="full")
            cache[relative] = (raw, parse(resource))
        return cache[relative]
    return get


def test_corpus_present():
    assert len(FILES) > 100


def test_copy_matches_the_shared_corpus():
    if not SHARED_CORPUS.is_dir():
        pytest.skip(f"no shared corpus at {SHARED_CORPUS} to compare with")
    shared = {str(p.relative_to(SHARED_CORPUS)): p.read_bytes() for p in SHARED_CORPUS.rglob("*") if p.is_file()}
    ours = {str(p.relative_to(CORPUS)): p.read_bytes() for p in CORPUS.rglob("*") if p.is_file()}
    assert ours == shared


@pytest.mark.parametrize("relative", FILES)
def test_parses_without_exception(parsed, relative):
    _, result = parsed(relative)
    assert isinstance(result, dict)
    assert set(result) == set(KEYS)
    assert isinstance(result["problems"], list)
    assert not [p for p in result["problems"] if "internal error" in p]


@pytest.mark.parametrize("relative", FILES)
@pytest.mark.parametrize("field", ["from", "to", "cc", "subject", "date", "message-id"])
def test_agrees_with_python_email(parsed, relative, field):
    if field in KNOWN_DIFFERENCES.get(relative, {}):
        pytest.skip(KNOWN_DIFFERENCES[relative][field])
    raw, result = parsed(relative)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    header = _python_header(msg, field)
    if header is None:
        pytest.skip("Python's email package does not decode this header cleanly (or it is absent)")
    if field == "subject":
        assert result["subject"] == _collapse(str(header))
    elif field in ("from", "to", "cc"):
        ours = result["from"] and [result["from"]] if field == "from" else result[field]
        theirs = {address.addr_spec.lower() for address in header.addresses if address.addr_spec}
        if field == "from":  # we keep the first sender only
            assert (ours[0]["email"] if ours else None) in (theirs or {None})
        else:
            assert {item["email"] for item in ours} == theirs
    elif field == "date":
        moment = header.datetime
        if moment is None:
            pytest.skip("Python found no date")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        assert result["date"] == moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert result["date_source"] == "header"
    else:
        assert result["message_id"] == str(header).strip().strip("<>").strip()
