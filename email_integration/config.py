"""CRM_GMAIL_* settings: the CONFIG singleton, parsed and validated from the environment.

`CONFIG` is filled from os.environ at import (bad values are kept at their defaults there);
`CONFIG.reload(environ)` refills it in place and `validate_startup(CONFIG)` raises
ConfigError with one line naming the first bad variable. The server calls both at start,
after it has merged `$CRM_DATA_DIR/.env` into the environment.
"""
from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass, field, fields

from .google import quota

GMAIL_API_BASE = "https://gmail.googleapis.com"
GOOGLE_CALENDAR_BASE = "https://www.googleapis.com"
TRUTHY = ("1", "true", "yes", "on")
FALSY = ("0", "false", "no", "off", "")


class ConfigError(ValueError):
    """A bad setting; str() is one line naming the variable."""


@dataclass
class GmailConfig:
    """Every CRM_GMAIL_* variable, at the seed's defaults."""

    integration_enabled: bool = False
    auth_method: str = "dwd"  # "dwd" | "oauth"
    sa_key_path: str = ""
    workspace_domain: str = ""
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_redirect_uri: str = ""
    secret_key: bytes = b""  # 32 bytes, AES-256-GCM key for refresh tokens
    secret_key_previous: bytes = b""  # accepted for decrypt during a key rotation
    sync_interval_min: float = 180.0
    backfill_page_size: int = 500
    max_attachment_mb: int = 50
    attach_concurrency: int = 4
    quota_profile: str = quota.DEFAULT_PROFILE  # which Gmail quota regime the Cloud project is in
    quota_units_per_min: float = 0.0  # per-account pace; 0 = 90% of the profile's per-user budget
    rate_units_sec: float = 0.0  # the older override, in units/s of the chosen profile; 0 = unset
    retry_max: int = 5
    history_stale_days: float = 5.0
    batch_size: int = quota.RECOMMENDED_BATCH_CALLS  # the most calls a batch carries (Gmail allows 100)
    http_timeout_sec: float = 30.0
    capture_all: bool = False
    capture_scope: str = "investors"  # "investors": list and fetch investor mail only; "all": every message
    # history.list poll per account, apart from the full schedule: 2 units, four a minute are 0.13% of the 2026
    # profile's 6,000 units per minute per user (google/quota.py)
    poll_sec: float = 15.0
    propose_since_days: float = 14.0  # mail older than this before enrollment drafts no card (the horizon)
    intake_max_open_cards: int = 10  # open cards the review room holds at most (CRM_INTAKE_MAX_OPEN_CARDS)
    intake_draft_wait_sec: float = 120.0  # how long a new card waits for the model's draft (CRM_INTAKE_DRAFT_WAIT_SEC)
    undo_window_min: float = 10.0  # a decision can be undone this long after it was made (CRM_UNDO_WINDOW_MIN)
    bulk_chunk: int = 200  # cards per transaction of a bulk decision; the actor is re-checked before each
    # Calendar capture (issue 25; google/quota.py, "Calendar API v3"): off unless CRM_CALENDAR=on, since DWD needs the
    # calendar.events.readonly scope added in the Admin console first (architecture §3). One events.list per
    # account per poll when nothing changed: 300 s is 0.03% of the 600 requests a minute per user, and an
    # event change is seen within five minutes (the freshness target; Twenty polls as often).
    calendar_enabled: bool = False
    calendar_poll_sec: float = 300.0
    calendar_api_base: str = ""  # "": Google's, or CRM_GMAIL_API_BASE when that points elsewhere (the emulator)
    calendar_months_back: int = 24  # the bounded full sync: this far back ...
    calendar_days_ahead: int = 90  # ... and this far ahead
    calendar_max_attendees: int = 15  # an event with more people is a conference or an all-hands: never stored
    api_base: str = GMAIL_API_BASE
    token_uri: str = "https://oauth2.googleapis.com/token"
    errors: list = field(default_factory=list, repr=False)  # one line per bad value seen at load

    def reload(self, environ=None) -> "GmailConfig":
        """Refill this object in place from `environ` (default os.environ); returns self."""
        fresh = load_config(os.environ if environ is None else environ)
        for f in fields(self):
            setattr(self, f.name, getattr(fresh, f.name))
        return self

    @property
    def quota(self) -> "quota.QuotaProfile":
        return quota.profile(self.quota_profile)

    @property
    def pace_units_per_min(self) -> float:
        """The budget each account's client paces to (CRM_GMAIL_QUOTA_UNITS_PER_MIN, else
        CRM_GMAIL_RATE_UNITS_SEC x 60, else 90% of the profile's per-user budget)."""
        if self.quota_units_per_min:
            return self.quota_units_per_min
        if self.rate_units_sec:
            return self.rate_units_sec * 60.0
        return self.quota.default_pace_units_per_min

    @property
    def calendar_base(self) -> str:
        """Where events.list is (…/calendar/v3/ under it): CRM_CALENDAR_API_BASE, else Google's when the Gmail API
        is Google's, else the Gmail base (the emulator serves both, contracts §6b)."""
        if self.calendar_api_base:
            return self.calendar_api_base
        return GOOGLE_CALENDAR_BASE if self.api_base == GMAIL_API_BASE else self.api_base

    @property
    def max_attachment_bytes(self) -> int:
        return self.max_attachment_mb * 1024 * 1024


def _bool(name, raw, errors):
    value = raw.strip().lower()
    if value in TRUTHY:
        return True
    if value in FALSY:
        return False
    errors.append(f"{name}: expected true/false, got {raw!r}")
    return None


def _number(kind, minimum, maximum):
    def parse(name, raw, errors):
        try:
            value = kind(raw.strip())
        except ValueError:
            errors.append(f"{name}: expected a {'whole ' if kind is int else ''}number, got {raw!r}")
            return None
        if not (minimum <= value <= maximum):
            errors.append(f"{name}: must be between {minimum} and {maximum}, got {raw!r}")
            return None
        return value
    return parse


def _key(name, raw, errors):
    raw = raw.strip()
    if not raw:
        return b""
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        try:
            key = base64.urlsafe_b64decode(raw)
        except (binascii.Error, ValueError):
            errors.append(f"{name}: not valid base64")
            return None
    if len(key) != 32:
        errors.append(f"{name}: must decode to 32 bytes (got {len(key)}); make one with "
                      "python3 -c \"import os,base64;print(base64.b64encode(os.urandom(32)).decode())\"")
        return None
    return key


def _choice(*options):
    def parse(name, raw, errors):
        value = raw.strip().lower()
        if value not in options:
            errors.append(f"{name}: must be one of {', '.join(options)}, got {raw!r}")
            return None
        return value
    return parse


def _url(name, raw, errors):
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        errors.append(f"{name}: must be an http(s) URL, got {raw!r}")
        return None
    return value


def _text(name, raw, errors):
    return raw.strip()


# (attribute, parser); the variable is CRM_GMAIL_<ATTRIBUTE upper-cased> unless _NAMES says otherwise.
_PARSERS = (
    ("integration_enabled", _bool),
    ("auth_method", _choice("dwd", "oauth")),
    ("sa_key_path", _text),
    ("workspace_domain", _text),
    ("oauth_client_id", _text),
    ("oauth_client_secret", _text),
    ("oauth_redirect_uri", _text),
    ("secret_key", _key),
    ("secret_key_previous", _key),
    ("sync_interval_min", _number(float, 0.05, 7 * 24 * 60)),
    ("backfill_page_size", _number(int, 1, 500)),  # messages.list maxResults is at most 500
    ("max_attachment_mb", _number(int, 1, 1024)),
    ("attach_concurrency", _number(int, 1, 32)),
    ("quota_profile", _choice(*quota.PROFILES)),
    ("quota_units_per_min", _number(float, 1, quota.PROJECT_UNITS_PER_MIN)),  # checked against the profile below
    ("rate_units_sec", _number(float, 1, quota.PROJECT_UNITS_PER_MIN / 60)),
    ("retry_max", _number(int, 0, 20)),
    ("history_stale_days", _number(float, 0.01, 365)),
    ("batch_size", _number(int, 1, quota.MAX_BATCH_CALLS)),
    ("http_timeout_sec", _number(float, 0.1, 600)),
    ("capture_all", _bool),
    ("capture_scope", _choice("investors", "all")),
    ("poll_sec", _number(float, 1, 24 * 3600)),
    ("propose_since_days", _number(float, 0, 36500)),
    ("intake_max_open_cards", _number(int, 1, 500)),
    ("intake_draft_wait_sec", _number(float, 0, 86400)),
    ("undo_window_min", _number(float, 0, 7 * 24 * 60)),
    ("bulk_chunk", _number(int, 1, 5000)),
    ("calendar_enabled", _bool),
    ("calendar_poll_sec", _number(float, 10, 24 * 3600)),
    ("calendar_api_base", _url),
    ("calendar_months_back", _number(int, 1, 120)),
    ("calendar_days_ahead", _number(int, 1, 3650)),
    ("calendar_max_attendees", _number(int, 1, 10000)),
    ("api_base", _url),
    ("token_uri", _url),
)


# The intake bridge's settings are the review room's, not Gmail's: CRM_INTAKE_*; the calendar's are CRM_CALENDAR*.
_NAMES = {"intake_max_open_cards": "CRM_INTAKE_MAX_OPEN_CARDS", "intake_draft_wait_sec": "CRM_INTAKE_DRAFT_WAIT_SEC",
          "undo_window_min": "CRM_UNDO_WINDOW_MIN", "calendar_enabled": "CRM_CALENDAR",
          "calendar_poll_sec": "CRM_CALENDAR_POLL_SEC", "calendar_api_base": "CRM_CALENDAR_API_BASE",
          "calendar_months_back": "CRM_CALENDAR_MONTHS_BACK", "calendar_days_ahead": "CRM_CALENDAR_DAYS_AHEAD",
          "calendar_max_attendees": "CRM_CALENDAR_MAX_ATTENDEES"}


def env_name(attribute: str) -> str:
    return _NAMES.get(attribute, "CRM_GMAIL_" + attribute.upper())


def load_config(environ) -> GmailConfig:
    """Parse every CRM_GMAIL_* variable; bad ones keep their default and are listed in `.errors`."""
    config = GmailConfig()
    errors: list[str] = []
    for attribute, parse in _PARSERS:
        name = env_name(attribute)
        raw = environ.get(name)
        if raw is None:
            continue
        value = parse(name, raw, errors)
        if value is not None:
            setattr(config, attribute, value)
    config.workspace_domain = config.workspace_domain.lower().lstrip("@")
    errors.extend(_pace_errors(config, environ))
    config.errors = errors
    return config


def _pace_errors(config: GmailConfig, environ) -> list[str]:
    """The pace overrides must fit under the chosen profile's per-user budget, and only one may be set."""
    budget = config.quota.user_units_per_min
    hint = (f"the {config.quota.name} profile allows {budget:,} units per minute per user"
            + ("; set CRM_GMAIL_QUOTA_PROFILE=legacy if your Cloud project used the Gmail API between "
               "November 2025 and April 2026" if config.quota.name != "legacy" else ""))
    if config.quota_units_per_min and config.rate_units_sec:
        config.rate_units_sec = 0.0
        return ["CRM_GMAIL_RATE_UNITS_SEC: set CRM_GMAIL_QUOTA_UNITS_PER_MIN or CRM_GMAIL_RATE_UNITS_SEC, not both"]
    if config.quota_units_per_min > budget:
        raw = environ.get(env_name("quota_units_per_min"))
        config.quota_units_per_min = 0.0
        return [f"CRM_GMAIL_QUOTA_UNITS_PER_MIN: {raw} is over the per-user limit: {hint}"]
    if config.rate_units_sec * 60 > budget:
        raw = environ.get(env_name("rate_units_sec"))
        config.rate_units_sec = 0.0
        return [f"CRM_GMAIL_RATE_UNITS_SEC: {raw} units/s is over the per-user limit of "
                f"{budget / 60:g} units/s: {hint}"]
    return []


def validate_startup(config: GmailConfig) -> None:
    """Raise ConfigError (one line, naming the variable) if the enabled integration cannot run."""
    if config.errors:
        raise ConfigError(config.errors[0])
    if not config.integration_enabled:
        return
    if config.auth_method == "dwd":
        _check_key_file(config.sa_key_path)
    else:
        for attribute in ("oauth_client_id", "oauth_client_secret", "oauth_redirect_uri"):
            if not getattr(config, attribute):
                raise ConfigError(f"{env_name(attribute)}: required when CRM_GMAIL_AUTH_METHOD=oauth")
        if not config.secret_key:
            raise ConfigError("CRM_GMAIL_SECRET_KEY: required when CRM_GMAIL_AUTH_METHOD=oauth "
                              "(refresh tokens are encrypted with it)")


def _check_key_file(path: str) -> None:
    name = "CRM_GMAIL_SA_KEY_PATH"
    if not path:
        raise ConfigError(f"{name}: required when CRM_GMAIL_AUTH_METHOD=dwd")
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise ConfigError(f"{name}: cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{name}: {path} is readable by group/others; run chmod 600 {path}")


CONFIG = load_config(os.environ)
