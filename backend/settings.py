"""Core CRM settings from the environment (and an optional $CRM_DATA_DIR/.env), validated at start.

| variable | default | meaning |
|---|---|---|
| CRM_HOST | 127.0.0.1 | address to listen on |
| CRM_PORT | 8080 | port (0 = any free port; the real one is printed) |
| CRM_DATA_DIR | ./data | database, backups, attachments, secrets |
| CRM_SESSION_DAYS | 14 | browser session lifetime |
| CRM_RATE_LIMIT_PER_MIN | 600 | requests per minute per client address |
| CRM_LOGIN_MAX_FAILURES | 5 | login attempts per 15 minutes per email and client address before 429 |
| CRM_LOGIN_ACCOUNT_MAX_FAILURES | 50 | failed logins per 15 minutes per email from all addresses; beyond it each address gets one try |
| CRM_TRUSTED_PROXY | (unset) | proxy addresses/networks whose X-Forwarded-For names the client (default: trust none) |
| CRM_BACKUP_INTERVAL_MIN | 1440 | minutes between online backups |
| CRM_BACKUP_KEEP | 14 | backups kept |
| CRM_MAX_CONNECTIONS | 200 | connections served at once; when full an idle one is closed for a newcomer, with none idle one more is answered 503 |
| CRM_MAX_CONNECTIONS_PER_CLIENT | 32 | connections one client address may hold (behind CRM_TRUSTED_PROXY: per forwarded client); at the cap its own idle one is closed, with none idle 503 |
| CRM_HEADER_TIMEOUT_SEC | 10 | a request line + headers (and a TLS handshake) must arrive within this |
| CRM_BODY_TIMEOUT_SEC | 30 | a request body must arrive within this (else 408); each 256 KiB of a response too |
| CRM_KEEPALIVE_IDLE_SEC | 15 | a kept-alive connection idle this long between requests is closed |
| CRM_PUBLIC_ORIGIN | (unset) | e.g. https://crm.firm.com behind a proxy: the only Origin cookie writes may come from; https:// gives cookies Secure |
| CRM_TLS_CERT, CRM_TLS_KEY | (unset) | serve HTTPS with this PEM certificate and key; cookies get Secure |
| CRM_GMAIL_INTEGRATION_ENABLED | false | the Gmail capture package's master switch |
| CRM_GMAIL_WORKSPACE_DOMAIN | (unset) | also the firm's own domain for the core: investor addresses there are refused |
| CRM_FIRM_DOMAINS | (unset) | the firm's other domains (Workspace alias and secondary domains), comma-separated: refused like the Workspace domain |
| CRM_STALE_DAYS | 90 | "going cold": the last two-way contact (an email exchange or a meeting) is older than this many days |
"""
from __future__ import annotations

import os
import unicodedata
import urllib.parse
from dataclasses import dataclass

from .domain_names import is_domain
from .free_mail import is_free_mail
from .client_address import parse_trusted

TRUTHY = ("1", "true", "yes", "on")


class SettingsError(ValueError):
    """One line naming the bad variable."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "data"
    session_days: float = 14.0
    rate_limit_per_min: int = 600
    login_max_failures: int = 5
    login_account_max_failures: int = 50
    trusted_proxies: tuple = ()  # ipaddress networks (backend.client_address)
    backup_interval_min: float = 1440.0
    backup_keep: int = 14
    max_connections: int = 200
    max_connections_per_client: int = 32
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_idle: float = 15.0
    public_origin: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    gmail_enabled: bool = False
    firm_domain: str = ""  # CRM_GMAIL_WORKSPACE_DOMAIN: no investor address may sit there (address_policy)
    firm_domains: tuple = ()  # CRM_FIRM_DOMAINS: the firm's alias/secondary domains, refused alike
    stale_days: int = 90

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    @property
    def secure_cookies(self) -> bool:
        """Cookies get Secure when browsers reach the CRM over HTTPS: its own TLS, or a TLS proxy's
        https:// CRM_PUBLIC_ORIGIN (the proxy speaks plain HTTP to us, but the browser does not)."""
        return self.tls or self.public_origin.startswith("https://")


def load_dotenv(path: str, environ=os.environ) -> None:
    """KEY=VALUE lines (comments, blank lines, optional quotes) into `environ`, never overriding."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier():
            raise SettingsError(f"{path}:{number}: expected KEY=VALUE")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        environ.setdefault(key, value)


def _int(environ, name, default, minimum, maximum):
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name}: must be between {minimum} and {maximum}, got {raw!r}")
    return value


def _float(environ, name, default, minimum, maximum):
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name}: must be between {minimum} and {maximum}, got {raw!r}")
    return value


def _bool(environ, name):
    raw = environ.get(name, "").strip().lower()
    if raw in TRUTHY:
        return True
    if raw in ("", "0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name}: expected true/false, got {environ.get(name)!r}")


def _origin(environ, name):
    """scheme://host[:port] in lower case, nothing else (an Origin header's shape), or ""."""
    raw = environ.get(name, "").strip().rstrip("/")
    if not raw:
        return ""
    parts = urllib.parse.urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.username:
        raise SettingsError(f"{name}: expected an origin like https://crm.example.com, got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()


def _domains(environ, name) -> tuple:
    """A comma-separated list of domains ('@' and a trailing dot allowed), lower case, NFC, or ()."""
    raw = environ.get(name, "")
    found = []
    for item in raw.split(","):
        domain = unicodedata.normalize("NFC", item.strip().lower().lstrip("@").rstrip("."))
        if not domain and not item.strip():
            continue
        if not is_domain(domain):
            raise SettingsError(f"{name}: not a domain: {item.strip()!r} (expected e.g. firm-alias.com,firm.co.uk)")
        if is_free_mail(domain):
            raise SettingsError(f"{name}: {domain} is a public mail provider, not the firm's own domain")
        found.append(domain)
    return tuple(dict.fromkeys(found))


def _networks(environ, name):
    try:
        return parse_trusted(environ.get(name, ""))
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def load_settings(environ=os.environ) -> Settings:
    """Read $CRM_DATA_DIR/.env into `environ` (no override), then parse and validate the CRM_* variables."""
    data_dir = environ.get("CRM_DATA_DIR", "").strip() or "data"
    load_dotenv(os.path.join(data_dir, ".env"), environ)
    cert, key = environ.get("CRM_TLS_CERT", "").strip(), environ.get("CRM_TLS_KEY", "").strip()
    if bool(cert) != bool(key):
        raise SettingsError("CRM_TLS_CERT: CRM_TLS_CERT and CRM_TLS_KEY must be set together")
    for name, path in (("CRM_TLS_CERT", cert), ("CRM_TLS_KEY", key)):
        if path and not os.path.isfile(path):
            raise SettingsError(f"{name}: no such file: {path}")
    return Settings(
        host=environ.get("CRM_HOST", "").strip() or "127.0.0.1",
        port=_int(environ, "CRM_PORT", 8080, 0, 65535),
        data_dir=data_dir,
        session_days=_float(environ, "CRM_SESSION_DAYS", 14.0, 0.00001, 365),
        rate_limit_per_min=_int(environ, "CRM_RATE_LIMIT_PER_MIN", 600, 1, 1_000_000),
        login_max_failures=_int(environ, "CRM_LOGIN_MAX_FAILURES", 5, 1, 1000),
        login_account_max_failures=_int(environ, "CRM_LOGIN_ACCOUNT_MAX_FAILURES", 50, 1, 100_000),
        trusted_proxies=_networks(environ, "CRM_TRUSTED_PROXY"),
        backup_interval_min=_float(environ, "CRM_BACKUP_INTERVAL_MIN", 1440.0, 0.01, 525_600),
        backup_keep=_int(environ, "CRM_BACKUP_KEEP", 14, 1, 10_000),
        max_connections=_int(environ, "CRM_MAX_CONNECTIONS", 200, 1, 10_000),
        max_connections_per_client=_int(environ, "CRM_MAX_CONNECTIONS_PER_CLIENT", 32, 1, 10_000),
        header_timeout=_float(environ, "CRM_HEADER_TIMEOUT_SEC", 10.0, 0.1, 3600),
        body_timeout=_float(environ, "CRM_BODY_TIMEOUT_SEC", 30.0, 0.1, 3600),
        keepalive_idle=_float(environ, "CRM_KEEPALIVE_IDLE_SEC", 15.0, 0.1, 3600),
        public_origin=_origin(environ, "CRM_PUBLIC_ORIGIN"),
        tls_cert=cert, tls_key=key,
        gmail_enabled=_bool(environ, "CRM_GMAIL_INTEGRATION_ENABLED"),
        firm_domain=environ.get("CRM_GMAIL_WORKSPACE_DOMAIN", "").strip().lower().lstrip("@"),
        firm_domains=_domains(environ, "CRM_FIRM_DOMAINS"),
        stale_days=_int(environ, "CRM_STALE_DAYS", 90, 1, 36500),
    )
