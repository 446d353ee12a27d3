"""The CRM's HTTP server: CRMServer (backend.connections' limits) + CRMHandler, init_db() and main().

Every request goes: rate limit → body (1 MiB cap, read deadline) → the Gmail flag gate → who is
asking → CSRF check → the email_integration seam → the core route table → JSON. Errors carry
their status (backend.web.HTTPError) and become JSON in one place, backend.router.
"""
from __future__ import annotations

import io
import logging
import os
import re
import signal
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler

from . import accounts_api, address_policy, audit_api, auth, auth_api, db, investors_api, relationships_api, static
from .client_address import client_address
from .connections import CLIENT_OVER_CAPACITY_MESSAGE, DeadlineReader, LimitedHTTPServer, Limits
from .data_dir import secure_data_dir
from .ratelimit import SlidingWindowLimiter
from .router import serve_routes
from .settings import Settings, SettingsError, load_settings
from .web import MAX_BODY_BYTES, BadRequest, HTTPError, PayloadTooLarge, Response

log = logging.getLogger("crm")

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
CORE_ROUTES = (auth_api.ROUTES + investors_api.ROUTES + audit_api.ROUTES + relationships_api.ROUTES
               + accounts_api.ROUTES)
EMAIL_PREFIXES = ("/api/email/", "/api/intake/")
UNSAFE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
# A one-time link's token is a password until used: the access log shows /invite/[link] instead.
ONE_TIME_LINK = re.compile(r"(/invite|/reset|/api/auth/links)/[^/]+")
WRITE_SLICE = 256 * 1024  # bytes per write; each gets CRM_BODY_TIMEOUT_SEC
_CONTENT_LENGTH = re.compile(r"[0-9]{1,16}")  # after the header parser drops the blanks before it


def printable(text: str) -> str:
    """`text` for a log line: control and non-ASCII characters as \\xNN / \\uNNNN, so a request
    path cannot forge or hide log lines (ESC sequences, CR/LF)."""
    return text.translate(_CONTROL_ESCAPES).encode("ascii", "backslashreplace").decode("ascii")


_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x5c, 0x7f]}  # 0x5c: a literal backslash


def is_email_path(path: str) -> bool:
    return path.startswith(EMAIL_PREFIXES) or path in ("/api/email", "/api/intake")


class CRMHandler(BaseHTTPRequestHandler):
    """One request; `self.user` and `self.conn` are set by the pre-checks for the seam and the routes."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, the body waits for the client's delayed
    # ACK of the headers (~40 ms on Linux) on every keep-alive request. TCP_NODELAY sends it at once.
    disable_nagle_algorithm = True
    server_version = "CRM"
    sys_version = ""

    # -- connection: reads with deadlines (backend.connections) ------------------------------
    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # the plain socket file; reads go through the deadlines instead
        self.slot = self.server.current_slot()
        self.reader = DeadlineReader(self.connection, self.server.limits, self.slot)
        self.rfile = io.BufferedReader(self.reader)
        self.requests_served = 0

    def handle_one_request(self) -> None:
        self.reader.expect_request(first=self.requests_served == 0)
        self.requests_served += 1
        super().handle_one_request()

    # -- responses -----------------------------------------------------------------------
    def respond(self, response: Response) -> None:
        body = response.encoded()
        self.send_response(response.status)
        headers = {**SECURITY_HEADERS, "Content-Type": response.content_type, **response.headers}
        if getattr(self, "path", "").startswith("/api/"):
            headers.setdefault("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            # In slices: the socket timeout bounds each sendall as a whole, so a slice that stalls
            # ends the connection while a large attachment to a slow reader still gets through.
            for start in range(0, len(body), WRITE_SLICE):
                self.wfile.write(body[start:start + WRITE_SLICE])
        self._log_access(response.status)

    def respond_error(self, error: HTTPError) -> None:
        self.respond(Response.error(error.message, error.status, error.headers, error.payload))

    def send_error(self, code, message=None, explain=None):
        """http.server's own errors (bad request line, unsupported method) as JSON too."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # answer garbage with a real status line, not HTTP/0.9's bare body
        self.respond(Response.error(message or "bad request", code))

    def log_request(self, code="-", size="-"):
        pass  # respond() logs, without the query string

    def log_message(self, format, *args):
        """http.server's own lines ("Request timed out" when a kept-alive connection idles out, a bad request
        line) go through logging at INFO like the access log, not straight to stderr: CRM_LOG_LEVEL=WARNING
        silences them."""
        log.info("%s %s", self.client_address[0], printable(format % args)[:300])

    def _log_access(self, status: int) -> None:
        elapsed = (time.monotonic() - getattr(self, "_started", time.monotonic())) * 1000
        path = ONE_TIME_LINK.sub(r"\1/[link]", urllib.parse.urlsplit(getattr(self, "path", "") or "").path)
        log.info("%s %s %s %d %.1fms", getattr(self, "client_ip", self.client_address[0]), printable(self.command or "-")[:20],
                 printable(path[:200]), status, elapsed)

    # -- pre-checks ----------------------------------------------------------------------
    def pre_checks(self) -> bool:
        """Rate limit, body, flag gate, auth, CSRF; False when a response was already sent."""
        self._started = time.monotonic()
        self.client_ip = self.client_address[0]
        self.user, self.conn, self.auth_via, self.raw_body = None, None, None, b""
        split = urllib.parse.urlsplit(self.path)
        self.url_path = split.path
        self.query = {k: v[0] for k, v in urllib.parse.parse_qs(split.query, keep_blank_values=True).items()}
        try:
            length = self._body_length()
            self.client_ip = client_address(self.client_address[0], self.headers.get_all("X-Forwarded-For"),
                                            self.server.settings.trusted_proxies)
            self._take_slot(length)
            wait = self.server.request_limiter.hit(self.client_ip)
            if wait:
                self.close_connection = self.close_connection or length > 0  # its body stays unread
                raise HTTPError("too many requests", 429, headers={"Retry-After": str(wait)})
            self.raw_body = self._read_body(length)
            if is_email_path(self.url_path) and not self.server.settings.gmail_enabled:
                raise HTTPError("email integration is disabled (CRM_GMAIL_INTEGRATION_ENABLED is off)", 503)
            self.conn = db.connect(self.server.db_path)
            self.user, self.auth_via = auth.authenticate(self.conn, self.headers)
            if self.headers.get("Authorization") and self.user is None:
                raise HTTPError("invalid or revoked API token", 401)
            self._check_csrf()
        except HTTPError as error:
            self.respond_error(error)
            return False
        return True

    def _take_slot(self, length: int) -> None:
        """Behind the trusted proxy the connection counts against the client it forwards (per request:
        a proxy reuses its connections for other clients); at that client's cap, 503 and close."""
        if self.slot is not None and not self.server.slots.attribute(self.slot, self.client_ip):
            self.close_connection = True
            raise HTTPError(CLIENT_OVER_CAPACITY_MESSAGE, 503, headers={"Retry-After": "5"})

    def _body_length(self) -> int:
        """The request body's length from its one Content-Length header: ASCII digits only.

        int() would take "+43", "4_3", " 43 " and other scripts' digits; a second Content-Length
        (equal or not) or any Transfer-Encoding is refused too, since a proxy in front may frame the
        request differently and the rest would be served as a second request (request smuggling).
        Each refusal closes the connection: its unread bytes must never be parsed as a request."""
        lengths = self.headers.get_all("Content-Length") or []
        if self.headers.defects or self.headers.get_payload():
            # A line that is no "Name: value" ("Content-Length : 5") ends http.client's header parse,
            # which would drop it and every header after it; a lenient proxy may have obeyed it.
            self.close_connection = True
            raise BadRequest("malformed header line")
        if self.headers.get_all("Transfer-Encoding"):
            self.close_connection = True
            raise BadRequest("Transfer-Encoding is not supported; send one Content-Length")
        if len(lengths) > 1:
            self.close_connection = True
            raise BadRequest("more than one Content-Length header")
        if not lengths:
            return 0
        if not _CONTENT_LENGTH.fullmatch(lengths[0]):
            self.close_connection = True
            raise BadRequest("invalid Content-Length: expected ASCII digits only")
        length = int(lengths[0])
        if length > MAX_BODY_BYTES:
            self.close_connection = True  # the unread body would poison the connection
            raise PayloadTooLarge(f"request body larger than {MAX_BODY_BYTES} bytes")
        return length

    def _read_body(self, length: int) -> bytes:
        if not length:
            return b""
        self.reader.expect_body()
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            body = b""
        if len(body) < length:
            self.close_connection = True
            raise HTTPError("request body not received in time", 408)
        return body

    def _check_csrf(self) -> None:
        """Refuse writes that a browser says come from another site (bearer calls are exempt).

        Without a session cookie too: otherwise another site's text/plain form could post JSON-shaped
        credentials to /api/auth/login and sign the victim's browser in as the attacker (login CSRF)."""
        if self.command not in UNSAFE_METHODS or self.auth_via == "bearer":
            return
        fetch_site = (self.headers.get("Sec-Fetch-Site") or "").lower()
        if fetch_site in ("cross-site", "same-site"):
            raise HTTPError("cross-site request refused", 403)
        origin = self.headers.get("Origin")
        if origin is not None and not self._same_origin(origin):
            raise HTTPError("cross-origin request refused", 403)
        if not auth.parse_cookies(self.headers.get("Cookie")).get(auth.SESSION_COOKIE):
            return  # a script without a session (the browser checks above already ran)
        if origin is None and not fetch_site and not self._json_content_type():
            # Neither header: an old browser's form post could look like this. A form cannot send
            # application/json (that needs CORS preflight), so a JSON write is still ours.
            raise HTTPError("write refused: send Origin or Content-Type: application/json", 403)

    def _same_origin(self, origin: str) -> bool:
        """Origin's scheme and host:port are ours ("null" and anything malformed are not)."""
        try:
            parts = urllib.parse.urlsplit(origin)
        except ValueError:
            return False
        public = self.server.settings.public_origin
        if public:  # behind a proxy: exactly the origin the browsers use
            return origin.lower() == public
        # Else this request's own: the Host header, and the scheme the browser used (a TLS-terminating
        # proxy says so in X-Forwarded-Proto; a header a cross-site page cannot add without preflight).
        forwarded = (self.headers.get("X-Forwarded-Proto") or "").split(",")[0].strip().lower()
        scheme = "https" if self.server.settings.tls else (forwarded or "http")
        host = (self.headers.get("Host") or "").lower()
        return parts.scheme == scheme and bool(host) and parts.netloc.lower() == host and not parts.path

    def _json_content_type(self) -> bool:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() == "application/json"

    # -- dispatch --------------------------------------------------------------------------
    def _finish(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def route(self) -> None:
        """Core routes, static pages, and the fallback for email paths nobody handled."""
        if is_email_path(self.url_path):
            self.respond_error(HTTPError("email integration is not installed", 503))
        elif self.url_path.startswith("/api/"):
            serve_routes(self, CORE_ROUTES, not_found=True)
        else:
            self.serve_static()

    def serve_static(self) -> None:
        if self.command not in ("GET", "HEAD"):
            self.respond_error(HTTPError("method not allowed", 405))
            return
        file_path = static.resolve(self.url_path)
        if file_path is None and static.wants_html(self.headers.get("Accept")):
            with open(static.NOT_FOUND_PAGE, "rb") as handle:
                self.respond(Response(status=404, body=handle.read(), content_type=static.content_type(static.NOT_FOUND_PAGE),
                                      headers={"Cache-Control": "no-cache"}))
            return
        if file_path is None:
            self.respond_error(HTTPError("not found", 404))
            return
        with open(file_path, "rb") as handle:
            body = handle.read()
        self.respond(Response(body=body, content_type=static.content_type(file_path),
                              headers={"Cache-Control": "no-cache"}))

    def dispatch(self) -> None:
        """Every method: the pre-checks, then the email_integration seam, then the core routes."""
        try:
            if not self.pre_checks():
                return
            # Patch 3 (seed): the email_integration routes, after the auth and rate-limit pre-checks.
            try:
                from email_integration.routes import try_handle
                if try_handle(self):
                    return
            except ImportError:
                pass
            self.route()
        finally:
            self._finish()

    do_GET = do_POST = do_PATCH = do_DELETE = dispatch
    do_HEAD = dispatch  # answered like GET; respond() leaves out the body


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """The server's TLS context (TLS 1.2+) when CRM_TLS_CERT is set; the handshake runs per connection."""
    if not settings.tls:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.tls_cert, settings.tls_key)
    return context


class CRMServer(LimitedHTTPServer):
    allow_reuse_address = True

    def __init__(self, settings: Settings, db_file: str):
        limits = Limits(max_connections=settings.max_connections, max_per_client=settings.max_connections_per_client,
                        header_timeout=settings.header_timeout, body_timeout=settings.body_timeout,
                        keepalive_idle=settings.keepalive_idle)
        super().__init__((settings.host, settings.port), CRMHandler, limits, tls_context(settings),
                         settings.trusted_proxies)
        self.settings = settings
        self.db_path = db_file
        self.request_limiter = SlidingWindowLimiter(settings.rate_limit_per_min, 60.0)
        # Guess throttle: N attempts per email+client address per 15 minutes, counted before the
        # password is hashed, and a larger ceiling of failures per email (backend.auth_api._throttle).
        self.login_limiter = SlidingWindowLimiter(settings.login_max_failures, 15 * 60.0)
        self.account_limiter = SlidingWindowLimiter(settings.login_account_max_failures, 15 * 60.0)

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        # A client that went away mid-answer (a closed tab, a poll cut short) is routine: INFO, not WARNING.
        routine = isinstance(error, (BrokenPipeError, ConnectionResetError, TimeoutError))
        log.log(logging.INFO if routine else logging.WARNING, "connection error from %s: %s", client_address[0], error)


def init_db(db_file: str) -> None:
    """Create or upgrade the schema: core migrations, then the email integration's, one commit."""
    conn = db.connect(db_file)
    try:
        cursor = conn.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        db.apply_core_migrations(cursor)
        # Patch 1 (seed): the email_integration tables, after the core migrations, before commit.
        try:
            from email_integration.db import apply_migrations
            apply_migrations(cursor)
        except ImportError:
            pass
        conn.commit()
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    finally:
        conn.close()


def check_gmail_config() -> None:
    """Validate CRM_GMAIL_* at start (one line naming the variable) when the package is present."""
    try:
        from email_integration.config import CONFIG, validate_startup
    except ImportError:
        return
    CONFIG.reload()
    validate_startup(CONFIG)


def start_backup_scheduler(settings: Settings, db_file: str):
    from .backups import start_backup_scheduler as start
    return start(db_file, os.path.join(settings.data_dir, "backups"), settings.backup_interval_min, settings.backup_keep)


def main(argv=None) -> int:
    logging.basicConfig(level=os.environ.get("CRM_LOG_LEVEL", "INFO").upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = load_settings()
        check_gmail_config()
    except (SettingsError, ValueError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    address_policy.set_firm_domains(settings.firm_domains)
    secure_data_dir(settings.data_dir)
    db_file = db.db_path(settings.data_dir)
    init_db(db_file)
    try:
        httpd = CRMServer(settings, db_file)
    except OSError as exc:
        print(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}", file=sys.stderr)
        return 2
    start_backup_scheduler(settings, db_file)
    # Patch 2 (seed): the Gmail sync scheduler, only when the integration is enabled.
    if os.environ.get("CRM_GMAIL_INTEGRATION_ENABLED", "").lower() in ("1", "true", "yes", "on"):
        try:
            from email_integration.scheduler import start_sync_scheduler
            start_sync_scheduler()
        except ImportError:
            log.warning("CRM_GMAIL_INTEGRATION_ENABLED is on but email_integration.scheduler is not installed")
        # The relationship view's email facts (backend.email_source): the integration registers its provider.
        try:
            from email_integration.relationships import register
            register()
        except ImportError:
            pass

    def stop(signum, frame):
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = httpd.server_address[:2]
    scheme = "https" if settings.tls else "http"
    print(f"CRM listening on {scheme}://{host}:{port}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.5)
    finally:
        httpd.server_close()
    log.info("CRM stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
