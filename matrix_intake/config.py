"""The bot's settings from the environment (contracts §7), validated into attributes; ConfigError names the variable."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

MATRIX_ID = re.compile(r"^@[^:\s]+:\S+$")


class ConfigError(ValueError):
    """One line naming the bad variable."""


@dataclass
class Config:
    homeserver: str
    user_id: str
    password: str
    access_token: str
    device_id: str
    store_path: str
    review_room: str
    reviewers: frozenset = field(default_factory=frozenset)
    crm_base_url: str = ""
    crm_bot_token: str = ""
    llm_base_url: str = ""
    llm_model: str = "qwen"
    llm_drafts: bool = False  # the model writes first drafts from to_draft (LLM_DRAFTS; on when LLM_BASE_URL is set)
    llm_draft_concurrency: int = 2
    poll_sec: float = 15.0
    llm_timeout_sec: float = 60.0
    crm_give_up_sec: float = 300.0
    reaction_grace_sec: float = 10.0


def _url(environ, name: str, required: bool = True) -> str:
    value = environ.get(name, "").strip().rstrip("/")
    if not value and required:
        raise ConfigError(f"{name}: required")
    if value and not re.match(r"^https?://[^\s/]+", value):
        raise ConfigError(f"{name}: must be an http(s) URL, got {value!r}")
    return value


def _number(environ, name: str, default: float, low: float, high: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low:g} and {high:g}, got {raw!r}")
    return value


def _switch(environ, name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off", "1", "0", "true", "false", "yes", "no"):
        raise ConfigError(f"{name}: must be on or off, got {raw!r}")
    return raw in ("on", "1", "true", "yes")


def load_config(environ=os.environ) -> Config:
    user_id = environ.get("MATRIX_USER_ID", "").strip()
    if not MATRIX_ID.match(user_id):
        raise ConfigError(f"MATRIX_USER_ID: must look like @bot:server, got {user_id!r}")
    password, token = environ.get("MATRIX_PASSWORD", ""), environ.get("MATRIX_ACCESS_TOKEN", "").strip()
    if not password and not token:
        raise ConfigError("MATRIX_PASSWORD or MATRIX_ACCESS_TOKEN: one is required")
    room = environ.get("MATRIX_EMAIL_REVIEW_ROOM", "").strip()
    # Room ids are "!opaque:server", or "!opaque" alone from room version 12 on.
    if not re.match(r"^(![^\s]+|#[^:\s]+:\S+)$", room):
        raise ConfigError(f"MATRIX_EMAIL_REVIEW_ROOM: must be a room id (!id) or alias (#name:server), got {room!r}")
    reviewers = frozenset(r.strip() for r in environ.get("MATRIX_EMAIL_REVIEWERS", "").split(",") if r.strip())
    if not reviewers or not all(MATRIX_ID.match(r) for r in reviewers):
        raise ConfigError("MATRIX_EMAIL_REVIEWERS: a comma-separated list of Matrix ids (@name:server) is required")
    if not environ.get("CRM_BOT_TOKEN", "").strip():
        raise ConfigError("CRM_BOT_TOKEN: required (python3 -m backend.manage issue-token on the CRM)")
    store = environ.get("MATRIX_STORE_PATH", "").strip() or os.path.join(os.getcwd(), "intake-bot-store")
    llm_url = _url(environ, "LLM_BASE_URL", False)
    drafts = _switch(environ, "LLM_DRAFTS", bool(llm_url))
    if drafts and not llm_url:
        raise ConfigError("LLM_DRAFTS: on needs LLM_BASE_URL (the model that writes the drafts)")
    return Config(homeserver=_url(environ, "MATRIX_HOMESERVER"), user_id=user_id, password=password,
                  access_token=token, device_id=environ.get("MATRIX_DEVICE_ID", "").strip(), store_path=store,
                  review_room=room, reviewers=reviewers, crm_base_url=_url(environ, "CRM_BASE_URL"),
                  crm_bot_token=environ["CRM_BOT_TOKEN"].strip(), llm_base_url=llm_url,
                  llm_model=environ.get("LLM_MODEL", "").strip() or "qwen", llm_drafts=drafts,
                  llm_draft_concurrency=int(_number(environ, "LLM_DRAFT_CONCURRENCY", 2, 1, 16)),
                  poll_sec=_number(environ, "EMAIL_PROPOSAL_POLL_SEC", 15.0, 0.2, 3600),
                  llm_timeout_sec=_number(environ, "LLM_TIMEOUT_SEC", 60.0, 1, 600),
                  crm_give_up_sec=_number(environ, "CRM_GIVE_UP_SEC", 300.0, 1, 86400),
                  reaction_grace_sec=_number(environ, "MATRIX_REACTION_GRACE_SEC", 10.0, 0, 3600))
