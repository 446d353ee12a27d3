"""email_integration.config: defaults, parsing, and one-line start-up errors naming the variable."""
import base64
import os

import pytest

from email_integration.config import ConfigError, GmailConfig, load_config, validate_startup

KEY = base64.b64encode(os.urandom(32)).decode()


def test_defaults_are_the_seeds():
    config = load_config({})
    assert config.errors == []
    assert (config.integration_enabled, config.auth_method) == (False, "dwd")
    assert (config.sync_interval_min, config.backfill_page_size, config.max_attachment_mb) == (180, 500, 50)
    assert (config.attach_concurrency, config.retry_max, config.batch_size) == (4, 5, 50)
    assert (config.quota_profile, config.quota.user_units_per_min, config.pace_units_per_min) == ("2026", 6000, 5400)
    assert config.history_stale_days == 5
    assert (config.capture_scope, config.poll_sec) == ("investors", 15)
    assert (config.propose_since_days, config.intake_max_open_cards) == (14, 10)
    assert config.intake_draft_wait_sec == 120
    assert config.api_base == "https://gmail.googleapis.com"
    assert config.token_uri == "https://oauth2.googleapis.com/token"


def test_values_are_parsed():
    config = load_config({
        "CRM_GMAIL_INTEGRATION_ENABLED": "Yes",
        "CRM_GMAIL_QUOTA_PROFILE": "Legacy",
        "CRM_GMAIL_RATE_UNITS_SEC": "250",
        "CRM_GMAIL_API_BASE": "http://127.0.0.1:9/",
        "CRM_GMAIL_WORKSPACE_DOMAIN": "@Ten31.XYZ",
        "CRM_GMAIL_SECRET_KEY": KEY,
        "CRM_GMAIL_CAPTURE_SCOPE": " All ",
        "CRM_GMAIL_POLL_SEC": "15",
        "CRM_GMAIL_PROPOSE_SINCE_DAYS": "30.5",
        "CRM_INTAKE_MAX_OPEN_CARDS": "3",
        "CRM_INTAKE_DRAFT_WAIT_SEC": "0",
    })
    assert (config.propose_since_days, config.intake_max_open_cards) == (30.5, 3)
    assert config.intake_draft_wait_sec == 0
    assert config.errors == []
    assert (config.capture_scope, config.poll_sec) == ("all", 15.0)
    assert config.integration_enabled is True
    assert (config.quota_profile, config.rate_units_sec, config.pace_units_per_min) == ("legacy", 250.0, 15000)
    assert config.api_base == "http://127.0.0.1:9"
    assert config.workspace_domain == "ten31.xyz"
    assert config.secret_key == base64.b64decode(KEY)


@pytest.mark.parametrize("name, value", [
    ("CRM_GMAIL_SYNC_INTERVAL_MIN", "three hours"),
    ("CRM_GMAIL_RATE_UNITS_SEC", "101"),  # over the 2026 profile's 100 units/s
    ("CRM_GMAIL_QUOTA_UNITS_PER_MIN", "6001"),
    ("CRM_GMAIL_QUOTA_UNITS_PER_MIN", "lots"),
    ("CRM_GMAIL_QUOTA_PROFILE", "2025"),
    ("CRM_GMAIL_RETRY_MAX", "1.5"),
    ("CRM_GMAIL_SECRET_KEY", "not base64!!"),
    ("CRM_GMAIL_SECRET_KEY", base64.b64encode(b"short").decode()),
    ("CRM_GMAIL_AUTH_METHOD", "password"),
    ("CRM_GMAIL_INTEGRATION_ENABLED", "maybe"),
    ("CRM_GMAIL_API_BASE", "ftp://x"),
    ("CRM_GMAIL_CAPTURE_SCOPE", "everything"),
    ("CRM_GMAIL_POLL_SEC", "0"),
    ("CRM_GMAIL_POLL_SEC", "a minute"),
    ("CRM_GMAIL_PROPOSE_SINCE_DAYS", "two weeks"),
    ("CRM_GMAIL_PROPOSE_SINCE_DAYS", "-1"),
    ("CRM_INTAKE_MAX_OPEN_CARDS", "0"),
    ("CRM_INTAKE_MAX_OPEN_CARDS", "ten"),
    ("CRM_INTAKE_DRAFT_WAIT_SEC", "-5"),
    ("CRM_INTAKE_DRAFT_WAIT_SEC", "two minutes"),
])
def test_a_bad_value_is_one_line_naming_the_variable(name, value):
    config = load_config({name: value})
    with pytest.raises(ConfigError) as info:
        validate_startup(config)
    message = str(info.value)
    assert message.startswith(name + ":") and "\n" not in message


def test_pace_follows_the_profile_and_its_overrides():
    assert load_config({"CRM_GMAIL_QUOTA_PROFILE": "legacy"}).pace_units_per_min == 13500  # 90% of 15,000
    assert load_config({"CRM_GMAIL_QUOTA_UNITS_PER_MIN": "3000"}).pace_units_per_min == 3000
    assert load_config({"CRM_GMAIL_RATE_UNITS_SEC": "50"}).pace_units_per_min == 3000
    both = load_config({"CRM_GMAIL_QUOTA_UNITS_PER_MIN": "3000", "CRM_GMAIL_RATE_UNITS_SEC": "50"})
    assert both.errors == ["CRM_GMAIL_RATE_UNITS_SEC: set CRM_GMAIL_QUOTA_UNITS_PER_MIN or CRM_GMAIL_RATE_UNITS_SEC, "
                           "not both"]
    over = load_config({"CRM_GMAIL_RATE_UNITS_SEC": "150"})  # the old default, too fast for a 2026 project
    assert "CRM_GMAIL_QUOTA_PROFILE=legacy" in over.errors[0] and over.pace_units_per_min == 5400


def test_dwd_key_file_must_exist_and_be_private(tmp_path):
    key = tmp_path / "sa.json"
    env = {"CRM_GMAIL_INTEGRATION_ENABLED": "true", "CRM_GMAIL_SA_KEY_PATH": str(key)}
    with pytest.raises(ConfigError, match="^CRM_GMAIL_SA_KEY_PATH: cannot read"):
        validate_startup(load_config(env))
    key.write_text("{}")
    key.chmod(0o640)
    with pytest.raises(ConfigError, match="readable by group/others"):
        validate_startup(load_config(env))
    key.chmod(0o600)
    validate_startup(load_config(env))


def test_oauth_needs_client_and_secret_key():
    env = {"CRM_GMAIL_INTEGRATION_ENABLED": "1", "CRM_GMAIL_AUTH_METHOD": "oauth",
           "CRM_GMAIL_OAUTH_CLIENT_ID": "id", "CRM_GMAIL_OAUTH_CLIENT_SECRET": "s",
           "CRM_GMAIL_OAUTH_REDIRECT_URI": "https://crm.example/api/email/oauth/callback"}
    with pytest.raises(ConfigError, match="^CRM_GMAIL_SECRET_KEY: required"):
        validate_startup(load_config(env))
    validate_startup(load_config({**env, "CRM_GMAIL_SECRET_KEY": KEY}))


def test_disabled_integration_needs_no_key():
    validate_startup(load_config({"CRM_GMAIL_INTEGRATION_ENABLED": "false"}))


def test_reload_refills_the_singleton_in_place():
    config = GmailConfig()
    same = config.reload({"CRM_GMAIL_RETRY_MAX": "7"})
    assert same is config and config.retry_max == 7
    config.reload({})
    assert config.retry_max == 5
