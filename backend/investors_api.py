"""Routes for the investor grid: investors, their addresses, domains and people, and grid notes (contracts §5)."""
from __future__ import annotations

import re
import unicodedata

from . import address_policy, email_source, investors_db
from .auth import require_user
from .domain_names import is_domain
from .relationships_api import with_relationships
from .web import BadRequest, Conflict, Forbidden, NotFound, Response, Route, field_int, field_str, field_str_list, only_fields

# A pragmatic address check (RFC 5321 is looser; this refuses what is surely a typo). A domain may be
# internationalised (RFC 5890): it is checked in its ASCII (xn--) form, and kept as given (domain_names).
LOCAL_RE = re.compile(r"\A[^@\s,;<>\"\x00-\x1f\x7f]+\Z")
MAX_NOTE_CHARS = 20_000


def is_email(value: str) -> bool:
    """local@domain: no whitespace, quotes, separators or control characters in the local part."""
    local, at, domain = value.rpartition("@")
    return bool(at) and bool(LOCAL_RE.match(local)) and is_domain(domain)


def _emails(data) -> list[str]:
    emails = [unicodedata.normalize("NFC", e.lower()) for e in field_str_list(data, "emails", max_len=254)]
    for email in emails:
        if not is_email(email):
            raise BadRequest(f"not an email address: {email!r}")
    return list(dict.fromkeys(emails))


def _domains(data) -> list[str]:
    domains = [unicodedata.normalize("NFC", d.lower().lstrip("@")) for d in field_str_list(data, "domains", max_len=253)]
    for domain in domains:
        if not is_domain(domain):
            raise BadRequest(f"not a domain: {domain!r}")
    return list(dict.fromkeys(domains))


def _check_addresses(req, investor_id, emails, domains) -> None:
    """400 when an address or domain would capture the team's own mail (address_policy), breaks the caps on
    addresses, or is refused by an integration (e.g. Gmail's search cannot express it)."""
    reason = address_policy.refusal(req.conn, emails or [], domains or [], req.handler.server.settings.firm_domain) \
        or address_policy.limit_refusal(req.conn, investor_id, emails, domains) \
        or address_policy.registered_refusal(req.conn, investor_id, emails, domains)
    if reason:
        raise BadRequest(reason)


def _investor_id(req) -> int:
    investor_id = int(req.params["id"])
    if not investors_db.investor_exists(req.conn, investor_id):
        raise NotFound(f"no investor {investor_id}")
    return investor_id


def list_investors(req):
    q = (req.query.get("q") or "").strip()[:200] or None
    # `email`: whether captured email is read at all (the grid follows a new investor's mail search only then)
    return {"investors": with_relationships(req, investors_db.list_investors(req.conn, q)),
            "email": email_source.current() is not None}


def create_investor(req):
    data = req.json()
    name = field_str(data, "name", max_len=200)
    firm = field_str(data, "firm", required=False, max_len=200) or None
    emails, domains = _emails(data), _domains(data)
    _check_addresses(req, None, emails, domains)
    try:
        investor_id = investors_db.create_investor(req.conn, name, firm, emails, domains, req.user["id"])
    except investors_db.DuplicateEmail as exc:
        raise Conflict(str(exc)) from None
    return Response.json(investors_db.get_investor(req.conn, investor_id), 201)


def get_investor(req):
    return investors_db.get_investor(req.conn, _investor_id(req))


def patch_investor(req):
    investor_id = _investor_id(req)
    data = only_fields(req.json(), {"name", "firm", "emails", "domains"})
    changes = {}
    if "name" in data:
        changes["name"] = field_str(data, "name", max_len=200)
    if "firm" in data:
        changes["firm"] = field_str(data, "firm", required=False, max_len=200) or None
    if "emails" in data:
        changes["emails"] = _emails(data)
    if "domains" in data:
        changes["domains"] = _domains(data)
    _check_addresses(req, investor_id, changes.get("emails"), changes.get("domains"))
    hook = getattr(email_source.current(), "addresses_changed", None)
    also = (lambda conn: hook(conn, investor_id)) if hook and ("emails" in changes or "domains" in changes) else None
    try:
        investors_db.update_investor(req.conn, investor_id, changes, req.user["id"], also=also)
    except investors_db.DuplicateEmail as exc:
        raise Conflict(str(exc)) from None
    return investors_db.get_investor(req.conn, investor_id)


def list_notes(req):
    return {"notes": investors_db.list_notes(req.conn, _investor_id(req))}


def add_note(req):
    investor_id = _investor_id(req)
    body = field_str(req.json(), "body", max_len=MAX_NOTE_CHARS)
    note_id = investors_db.add_grid_note(req.conn, investor_id, body, "manual", None, req.user["id"])
    note = investors_db.get_note(req.conn, note_id)
    note.pop("investor_id", None)
    return Response.json(note, 201)


def _own_note(req) -> int:
    """The note named by the path, on this investor, that the user may change: its author or an admin."""
    investor_id, note_id = _investor_id(req), int(req.params["note_id"])
    found = investors_db.note_author(req.conn, note_id)
    if found is None or found[0] != investor_id:
        raise NotFound(f"no note {note_id} on investor {investor_id}")
    if found[1] != req.user["id"] and req.user["role"] != "admin":
        raise Forbidden("only the note's author or an admin can change it")
    return note_id


def edit_note(req):
    note_id = _own_note(req)
    data = only_fields(req.json(), {"body"})
    investors_db.update_note(req.conn, note_id, field_str(data, "body", max_len=MAX_NOTE_CHARS), req.user["id"])
    note = investors_db.get_note(req.conn, note_id)
    note.pop("investor_id", None)
    return note


def delete_note(req):
    note_id = _own_note(req)
    investors_db.delete_note(req.conn, note_id, req.user["id"])
    return {"deleted": note_id}


def merge(req):
    """POST /api/investors/{id}/merge {from_id}: the other investor's notes, addresses, domains, captured
    email links and proposals move here, and it is deleted (issue 24, item 5)."""
    keep = _investor_id(req)
    data = req.json()
    gone = field_int(data, "from_id")
    if gone == keep:
        raise BadRequest("an investor cannot be merged into itself")
    if gone is None or gone <= 0 or not investors_db.investor_exists(req.conn, gone):
        raise NotFound(f"no investor {gone}")
    provider = email_source.current()
    hook = getattr(provider, "merge_investors", None)
    moved = investors_db.merge_investors(req.conn, keep, gone, req.user["id"],
                                         also=(lambda conn: hook(conn, keep, gone)) if hook else None)
    return {"investor": investors_db.get_investor(req.conn, keep), "moved": moved}


# -- people of an investor (issue 24, item 8) ------------------------------------------------------
def _person_emails(req, investor_id: int, data: dict) -> list[str]:
    """The person's addresses: valid, none twice, none another investor's, and (for one the investor lacks)
    allowed by the address policy and the caps as any investor address is."""
    raw = [unicodedata.normalize("NFC", e.lower()) for e in field_str_list(data, "emails", max_len=254)]
    if len(set(raw)) != len(raw):
        raise BadRequest("an address is listed twice")
    for email in raw:
        if not is_email(email):
            raise BadRequest(f"not an email address: {email!r}")
    current = investors_db.get_investor(req.conn, investor_id)["emails"]
    new = [e for e in raw if e not in {c.lower() for c in current}]
    if new:
        _check_addresses(req, investor_id, [*current, *new], None)
    return raw


def _person_fields(req, investor_id: int, data: dict, partial: bool) -> dict:
    data = only_fields(data, {"name", "title", "emails"})
    changes = {}
    if "name" in data or not partial:
        changes["name"] = field_str(data, "name", max_len=200)
    if "title" in data:
        changes["title"] = field_str(data, "title", required=False, max_len=200) or None
    if "emails" in data or not partial:
        changes["emails"] = _person_emails(req, investor_id, data)
    return changes


def _person_write(req, investor_id: int, write):
    """Run a people write; an address another investor or person holds is a 400 saying whose it is. Then
    the email integration (when on) redrafts the investor's pending cards that hold its own draft."""
    try:
        found = write()
    except investors_db.DuplicateEmail as exc:
        raise BadRequest(f"{exc.email} belongs to another investor (investor {exc.investor_id})") from None
    except investors_db.AddressTaken as exc:
        raise BadRequest(str(exc)) from None
    hook = getattr(email_source.current(), "people_changed", None)
    if hook is not None:
        hook(req.conn, investor_id)
    return found


def _person_id(req, investor_id: int) -> int:
    person_id = int(req.params["person_id"])
    if investors_db.get_person(req.conn, investor_id, person_id) is None:
        raise NotFound(f"no person {person_id} at investor {investor_id}")
    return person_id


def add_person(req):
    """POST /api/investors/{id}/people {name, title?, emails?}: 201 with the person."""
    investor_id = _investor_id(req)
    fields = _person_fields(req, investor_id, req.json(), partial=False)
    person_id = _person_write(req, investor_id, lambda: investors_db.add_person(
        req.conn, investor_id, fields["name"], fields.get("title"), fields["emails"], req.user["id"]))
    return Response.json(investors_db.get_person(req.conn, investor_id, person_id), 201)


def edit_person(req):
    """PATCH /api/investors/{id}/people/{person_id} {name?, title?, emails?} (emails replace the person's)."""
    investor_id = _investor_id(req)
    person_id = _person_id(req, investor_id)
    fields = _person_fields(req, investor_id, req.json(), partial=True)
    _person_write(req, investor_id,
                  lambda: investors_db.update_person(req.conn, investor_id, person_id, fields, req.user["id"]))
    return investors_db.get_person(req.conn, investor_id, person_id)


def delete_person(req):
    """DELETE …/people/{person_id}: the person goes; their addresses stay the investor's."""
    investor_id = _investor_id(req)
    person_id = _person_id(req, investor_id)
    _person_write(req, investor_id, lambda: investors_db.delete_person(req.conn, investor_id, person_id, req.user["id"]))
    return {"deleted": person_id}


ID = r"(?P<id>[0-9]{1,12})"
PERSON = r"(?P<person_id>[0-9]{1,12})"
NOTE = r"(?P<note_id>[0-9]{1,12})"
ROUTES = [
    Route("GET", r"/api/investors", list_investors, require_user),
    Route("POST", r"/api/investors", create_investor, require_user),
    Route("GET", rf"/api/investors/{ID}", get_investor, require_user),
    Route("PATCH", rf"/api/investors/{ID}", patch_investor, require_user),
    Route("POST", rf"/api/investors/{ID}/merge", merge, require_user),
    Route("GET", rf"/api/investors/{ID}/notes", list_notes, require_user),
    Route("POST", rf"/api/investors/{ID}/notes", add_note, require_user),
    Route("PATCH", rf"/api/investors/{ID}/notes/{NOTE}", edit_note, require_user),
    Route("DELETE", rf"/api/investors/{ID}/notes/{NOTE}", delete_note, require_user),
    Route("POST", rf"/api/investors/{ID}/people", add_person, require_user),
    Route("PATCH", rf"/api/investors/{ID}/people/{PERSON}", edit_person, require_user),
    Route("DELETE", rf"/api/investors/{ID}/people/{PERSON}", delete_person, require_user),
]
