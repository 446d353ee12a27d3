"""The /api/email/* surface (contracts §4, §5) as a route table; `try_handle` is the seed's Patch 3.

Members read captured (investor-linked) email as db_visibility allows and enroll only themselves;
admins also enroll others, sync and rematch; bots get 403. The privacy controls' routes are controls/routes.py,
the proposals' and the intake bot's review/proposal_routes.py and review/intake_routes.py.
"""
from __future__ import annotations

import urllib.parse

from backend.auth import SESSION_COOKIE, parse_cookies, require_admin, require_user, token_hash
from backend.db import atomic, iso_at
from backend.investors_db import investor_exists
from backend.router import serve_routes
from backend.web import BadRequest, Conflict, Forbidden, NotFound, Response, Route, field_int, parse_id, query_int
from email_integration.calendar.sync import consent_scopes
from email_integration.calendar.sync import status_view as calendar_status
from email_integration.capture.attachments import content_disposition
from email_integration.capture.targeted import search_progress
from email_integration.controls.routes import PRIVACY_ROUTES
from email_integration.coverage import view as coverage
from email_integration.coverage.routes import COVERAGE_ROUTES
from email_integration.google.pacing import known_limiter
from email_integration.review.intake_routes import INTAKE_ROUTES
from email_integration.review.proposal_routes import WEB_ROUTES

from .calendar import meetings
from .capture import db_accounts, db_capture, db_queries
from .config import CONFIG
from .privacy import db_privacy
from .review import db_proposals

ID = r"(?P<id>[0-9]{1,12})"
# The email's own HTML, shown only inside <iframe sandbox> on our pages: no scripts, no forms,
# no plugins; remote images only when the reader asks (they are read receipts for the sender).
HTML_CSP = ("sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data: cid:{images}; "
            "font-src data:; frame-ancestors 'self'")


def _scheduler(req):
    from .scheduler import get_scheduler  # late: the scheduler pulls in the whole sync stack
    return get_scheduler(req.handler.server.db_path, req.handler.server.settings.data_dir)


# What a mailbox's figures say (how much mail it lists, fetches and skips, its runs, its pace, what Gmail lists
# of it) is its owner's and the admins': capture.skipped rises with each personal email. A member sees them
# for their own mailbox only; of a teammate's, who it is, its state and its visibility level.
FIGURES = ("progress", "last_success_at", "queued", "given_up", "counts", "last_run", "quota", "capture",
           "completeness", "calendar")


def _account_view(conn, account: dict, scheduler, viewer: dict) -> dict:
    shown_state = account["state"]
    if scheduler is not None and scheduler.is_running(account["id"]):
        shown_state = "running"
    owner = db_accounts.get_user(conn, account["user_id"]) if account["user_id"] else None
    view = {"id": account["id"], "email": account["email"], "user_id": account["user_id"],
            "owner": owner["name"] if owner else None,
            "auth_method": account["auth_method"], "state": shown_state,
            "visibility": db_privacy.visibility(conn, account["id"])}
    if not _sees_figures(viewer, account):
        return {**view, "last_error": None, "cards_pending": None, **dict.fromkeys(FIGURES)}
    state = db_accounts.get_sync_state(conn, account["id"])
    return {**view, "last_error": account["last_error"],
            # cards on a mailbox's mail, for the sync summary: its owner's and the admins' figure, like completeness
            "cards_pending": db_proposals.pending_in_mailbox(conn, account["id"]),
            "progress": {"done": state["progress_done"], "total": state["progress_total"],
                         "phase": state["listing_kind"] or ("incremental" if state["history_id"] else "new")},
            "last_success_at": state["last_success_at"], "queued": db_accounts.queue_size(conn, account["id"]),
            "given_up": db_accounts.given_up_count(conn, account["id"]),
            "counts": db_queries.account_counts(conn, account["id"]), "last_run": db_accounts.last_run(conn, account["id"]),
            "quota": _account_quota(account["email"]), "capture": _capture_view(conn, account["id"]),
            "completeness": coverage.mailbox(conn, account["id"]),
            # the calendar's own state (issue 25): "calendar not granted" or "re-consent needed for calendar"
            # while mail goes on
            "calendar": calendar_status(conn, account["id"])}


def _sees_figures(viewer: dict, account: dict) -> bool:
    return viewer["role"] == "admin" or account["user_id"] == viewer["id"]


def _capture_view(conn, account_id: int) -> dict:
    """Targeted capture on the Admin page: scope, listed / fetched / skipped, units per captured message."""
    tally = db_capture.counts(conn, account_id)
    return {"scope": CONFIG.capture_scope, **tally,
            "units_per_captured": round(tally["units"] / tally["captured"], 1) if tally["captured"] else None,
            "attachments_waiting": db_capture.waiting_attachments(conn, account_id),
            "backfill": db_capture.backfill_queue(conn, account_id, limit=5)}


def _account_quota(address: str) -> dict:
    """The account's pace and what Gmail charged it lately (this process's counters; zeros before a sync)."""
    limiter = known_limiter(address)
    if limiter is not None:
        return limiter.snapshot()
    return {"budget_units_per_min": round(CONFIG.pace_units_per_min), "pace_units_per_min":
            round(CONFIG.pace_units_per_min), "units_last_minute": 0, "units_last_hour": 0,
            "rate_limited_last_hour": 0, "paused_for_sec": 0}


def _quota() -> dict:
    """The regime the CRM is configured for (google/quota.py) and the pace it keeps per account."""
    profile = CONFIG.quota
    return {"profile": profile.name, "user_units_per_min": profile.user_units_per_min,
            "pace_units_per_min": round(CONFIG.pace_units_per_min), "costs": dict(profile.costs)}


def status(req):
    from .scheduler import current_scheduler
    scheduler = current_scheduler()
    next_run = scheduler.next_run_at if scheduler and scheduler.running else None
    return {"enabled": True, "auth_method": CONFIG.auth_method,
            "scheduler": {"running": bool(scheduler and scheduler.running),
                          "interval_min": CONFIG.sync_interval_min,
                          "next_run_at": iso_at(next_run) if next_run else None},
            "quota": _quota(), "accounts": _account_views(req.conn, scheduler, req.user),
            "propose_since_days": CONFIG.propose_since_days,  # the proposal horizon, for the Admin page's "Older mail"
            # the firm-wide completeness view (per investor, alerts, covered sources) is the admins'
            "completeness": coverage.firm(req.conn) if req.user["role"] == "admin" else None}


def _account_views(conn, scheduler, viewer: dict) -> list[dict]:
    return [_account_view(conn, account, scheduler, viewer) for account in db_accounts.list_accounts(conn)]


def accounts(req):
    from .scheduler import current_scheduler
    return {"accounts": _account_views(req.conn, current_scheduler(), req.user)}


def _enroll_user(conn, user: dict) -> tuple[dict, bool]:
    domain = CONFIG.workspace_domain.lower()
    if CONFIG.auth_method == "dwd" and domain and not user["email"].lower().endswith("@" + domain):
        raise BadRequest(f"{user['email']} is not in the Workspace domain {domain}")
    return db_accounts.enroll_account(conn, user["email"], user["id"], CONFIG.auth_method)


def enroll(req):
    data = req.json() if req.raw_body else {}
    user_id = field_int(data, "user_id", required=False, default=req.user["id"])
    if user_id != req.user["id"] and req.user["role"] != "admin":
        raise Forbidden("only an admin can enroll someone else's mailbox")
    user = db_accounts.get_user(req.conn, user_id)
    if user is None or user["role"] == "bot":
        raise NotFound(f"no person with user id {user_id}")
    account, created = _enroll_user(req.conn, user)
    return Response.json({"account": account, "created": created}, 201 if created else 200)


def enroll_all(req):
    if not CONFIG.workspace_domain:
        raise BadRequest("CRM_GMAIL_WORKSPACE_DOMAIN is not set")
    created, existing = [], []
    with atomic(req.conn):
        for user in db_accounts.workspace_users(req.conn, CONFIG.workspace_domain):
            account, new = _enroll_user(req.conn, user)
            (created if new else existing).append(account["email"])
    return {"created": created, "existing": existing}


def run_now(req):
    data = req.json() if req.raw_body else {}
    account_id = field_int(data, "account_id", required=False)
    if account_id is not None and db_accounts.get_account(req.conn, account_id) is None:
        raise NotFound(f"no email account {account_id}")
    started = _scheduler(req).run_now(account_id)
    return Response.json({"started": started}, 202)


def verify_now(req):
    """Verify now: the investor search alone in one or every mailbox (list calls only); 202, figures follow."""
    data = req.json() if req.raw_body else {}
    account_id = field_int(data, "account_id", required=False)
    if account_id is not None and db_accounts.get_account(req.conn, account_id) is None:
        raise NotFound(f"no email account {account_id}")
    return Response.json({"started": _scheduler(req).run_now(account_id, verify=True)}, 202)


def rematch(req):
    scheduler = _scheduler(req)
    counts = scheduler.service.rematch()
    counts["meetings"] = meetings.rematch(req.conn)  # the calendar's meetings with the current investors
    started = scheduler.run_now() if counts["queued"] or counts["backfills"] else []
    return {**counts, "started": started}


def _optional_id(req, name: str) -> int | None:
    raw = req.query.get(name)
    return parse_id(raw, name) if raw not in (None, "") else None


def threads(req):
    investor_id = _optional_id(req, "investor_id")
    # ?mailbox=ACCOUNT_ID: the conversations in one teammate's mailbox, as far as the viewer may know it (db_queries)
    mailbox_id = _optional_id(req, "mailbox")
    if mailbox_id is not None and db_accounts.get_account(req.conn, mailbox_id) is None:
        raise BadRequest(f"no mailbox {mailbox_id}: 'mailbox' takes the id of an enrolled mailbox (GET /api/email/accounts)")
    q = (req.query.get("q") or "").strip()[:200]
    items, total = db_queries.list_threads(req.conn, req.user["id"], investor_id, q or None,
                                           query_int(req.query, "limit", 50, 1, 200),
                                           query_int(req.query, "offset", 0, 0, 1_000_000), mailbox_id)
    return {"threads": items, "total": total}


def investor_search(req):
    """Whether the targeted backfill for an investor's addresses is still searching the team's mailboxes:
    how many mailboxes search and how many are done, never what any of them found (members read it)."""
    from .scheduler import current_scheduler
    investor_id = int(req.params["id"])
    if not investor_exists(req.conn, investor_id):
        raise NotFound(f"no investor {investor_id}")
    scheduler = current_scheduler()
    return {"investor_id": investor_id, **search_progress(req.conn, investor_id, CONFIG.workspace_domain,
                                                          targeted=CONFIG.capture_scope == "investors",
                                                          running=bool(scheduler and scheduler.running))}


def thread(req):
    found = db_queries.get_thread(req.conn, req.user["id"], int(req.params["id"]))
    if found is None:
        raise NotFound("no such thread")
    return found


def _email_id(req) -> int:
    return parse_id(req.query.get("id") or "", "id")


def detail(req):
    found = db_queries.get_email_detail(req.conn, req.user["id"], _email_id(req))
    if found is None:
        raise NotFound("no such email")
    return found


def email_html(req):
    html = db_queries.get_email_html(req.conn, req.user["id"], _email_id(req))
    if not html:
        raise NotFound("this email has no HTML body")
    images = " https:" if req.query.get("images") == "1" else ""
    return Response(body=html.encode("utf-8"), content_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": HTML_CSP.format(images=images),
                             "X-Frame-Options": "SAMEORIGIN", "Cache-Control": "no-store"})


def attachment(req):
    found = db_queries.get_attachment(req.conn, req.user["id"], int(req.params["id"]))
    if found is None:
        raise NotFound("no such attachment")
    if found["status"] == "pending":  # its bytes wait behind the mail: the first download fetches them now
        _scheduler(req).service.download_attachments(only_id=found["id"])
        found = db_queries.get_attachment(req.conn, req.user["id"], found["id"])
    if found["status"] != "stored":
        raise Conflict(f"attachment not available ({found['status']})")
    store = _scheduler(req).service.blob_store
    try:
        data = store.read(found["sha256"])
    except OSError:
        raise NotFound("attachment file missing") from None
    # Always a download, never rendered by us: an attachment's bytes are the sender's, not ours.
    return Response(body=data, content_type="application/octet-stream",
                    headers={"Content-Disposition": content_disposition(found["filename"]),
                             "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


# -- OAuth (CRM_GMAIL_AUTH_METHOD=oauth) ---------------------------------------------------------
def _session_id(req) -> str:
    session = parse_cookies(req.headers.get("Cookie")).get(SESSION_COOKIE)
    if not session:
        raise Forbidden("connecting Gmail needs a browser session")
    return token_hash(session)


def oauth_start(req):
    from email_integration.google.oauth_flow import consent_url, make_state
    if CONFIG.auth_method != "oauth":
        raise Conflict("CRM_GMAIL_AUTH_METHOD is not oauth")
    user_id = parse_id(req.query.get("user_id") or str(req.user["id"]), "user_id")
    if user_id != req.user["id"]:
        # Consent is the mailbox owner's to give, in their own session: not even an admin starts it for them.
        raise Forbidden("you can connect only your own Gmail; the mailbox's owner must sign in and connect it")
    user = req.user
    state = make_state(CONFIG.secret_key, _session_id(req), user["email"])
    return Response.redirect(consent_url(CONFIG.oauth_client_id, CONFIG.oauth_redirect_uri, state, user["email"],
                                         scopes=consent_scopes(CONFIG)))


def oauth_callback_redirect(req):
    """Google's redirect arrives cross-site, without our SameSite=Strict cookie: hand the code to
    the Admin page in the URL fragment (never sent to servers or logs); it posts it back same-site."""
    if req.query.get("error"):
        return Response.redirect("/admin#oauth-error=" + urllib.parse.quote(req.query["error"][:100]))
    fragment = urllib.parse.urlencode({"state": req.query.get("state", "")[:2000],
                                       "code": req.query.get("code", "")[:2000]})
    return Response.redirect("/admin#oauth&" + fragment)


def oauth_complete(req):
    from email_integration.google.crypto import cipher_from_config
    from email_integration.google.oauth_flow import StateError, complete_consent
    from email_integration.capture.service import SqliteTokenStore
    if CONFIG.auth_method != "oauth":
        raise Conflict("CRM_GMAIL_AUTH_METHOD is not oauth")
    data = req.json()
    state, code = str(data.get("state") or ""), str(data.get("code") or "")
    if not state or not code:
        raise BadRequest("state and code are required")
    try:
        user = complete_consent(CONFIG.secret_key, _session_id(req), state, code, CONFIG, cipher_from_config(CONFIG),
                                SqliteTokenStore(req.handler.server.db_path))
    except StateError as error:
        raise Forbidden(f"consent state refused: {error}") from None
    except ValueError as error:
        raise BadRequest(str(error)) from None
    account = db_accounts.get_account_by_email(req.conn, user)
    return {"connected": user, "account": account}


ROUTES = [
    Route("GET", r"/api/email/status", status, require_user),
    Route("GET", r"/api/email/accounts", accounts, require_user),
    # A member enrolls only their own mailbox (DWD); an admin may enroll anyone's (and everyone's).
    Route("POST", r"/api/email/accounts/enroll", enroll, require_user),
    Route("POST", r"/api/email/accounts/enroll-all", enroll_all, require_admin),
    Route("POST", r"/api/email/sync/run-now", run_now, require_admin),
    Route("POST", r"/api/email/rematch", rematch, require_admin),
    Route("POST", r"/api/email/completeness/verify", verify_now, require_admin),
    # Reads show each viewer only what db_visibility allows (private conversations, mailbox visibility, Bcc).
    Route("GET", r"/api/email/threads", threads, require_user),
    Route("GET", rf"/api/email/threads/{ID}", thread, require_user),
    Route("GET", r"/api/email/detail", detail, require_user),
    Route("GET", r"/api/email/html", email_html, require_user),
    Route("GET", rf"/api/email/attachments/{ID}", attachment, require_user),
    # The investor page and the grid poll it while a new investor's mail is being searched for.
    Route("GET", rf"/api/email/investors/{ID}/search", investor_search, require_user),
    # OAuth consent: each person connects only their own Gmail; starting it for someone else is refused (403).
    Route("GET", r"/api/email/oauth/start", oauth_start, require_user),
    Route("GET", r"/api/email/oauth/callback", oauth_callback_redirect, None),
    Route("POST", r"/api/email/oauth/callback", oauth_complete, require_user),
]


def try_handle(handler) -> bool:
    """The seed's Patch 3: answer any /api/email/* or /api/intake/* request (404 JSON for unknown ones)."""
    if handler.url_path.startswith("/api/email/"):
        table = ROUTES + WEB_ROUTES + PRIVACY_ROUTES + COVERAGE_ROUTES
    elif handler.url_path.startswith("/api/intake/"):
        table = INTAKE_ROUTES
    else:
        return False
    return serve_routes(handler, table, not_found=True)
