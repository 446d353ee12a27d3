"""backend.manage commands and their errors; settings from env and .env; one-line start-up errors."""
import os
import stat

import pytest

from backend.settings import SettingsError, load_dotenv, load_settings
from conftest import PASSWORD, manage, start_crm


def test_manage_user_lifecycle(tmp_path):
    data = str(tmp_path / "d")
    user_id = manage(data, "create-user", "--email", "m@firm.test", "--name", "Mo", "--role", "member",
                     "--password", "pw").stdout.strip()
    assert user_id == "1"
    assert manage(data, "set-role", "--email", "m@firm.test", "--role", "bot").stdout.strip() == "m@firm.test: role bot"
    token = manage(data, "issue-token", "--email", "m@firm.test", "--label", "spark").stdout.strip()
    assert token.startswith("crm_") and len(token) > 40
    assert manage(data, "list-users").stdout == "1\tm@firm.test\tbot\tMo\n"
    import sqlite3
    conn = sqlite3.connect(f"{data}/crm.db")
    stored = conn.execute("SELECT token_hash, label FROM api_tokens").fetchone()
    password_hash = conn.execute("SELECT password_hash FROM users").fetchone()[0]
    conn.close()
    assert token not in stored[0] and stored[1] == "spark"  # stored hashed
    assert password_hash.startswith("scrypt$") and "pw" not in password_hash.split("$")[-1]


@pytest.mark.parametrize("args, message", [
    (("set-role", "--email", "ghost@firm.test", "--role", "admin"), "no user with email 'ghost@firm.test'"),
    (("issue-token", "--email", "ghost@firm.test"), "no user with email"),
    (("create-user", "--email", "x@firm.test", "--name", "X", "--role", "owner"), "unknown role 'owner'"),
    (("set-role", "--email", "a@firm.test", "--role", "root"), "unknown role 'root'"),
    (("create-user", "--email", "a@firm.test", "--name", "A", "--role", "admin"), "already exists"),
    (("create-user", "--email", "no-at-sign", "--name", "A", "--role", "admin"), "not an email address"),
])
def test_manage_errors_are_one_clear_line(tmp_path, args, message):
    data = str(tmp_path / "d")
    manage(data, "create-user", "--email", "a@firm.test", "--name", "A", "--role", "admin", "--password", "pw")
    result = manage(data, *args, check=False)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_dotenv_is_read_without_overriding_the_environment(tmp_path):
    (tmp_path / ".env").write_text("# comment\nCRM_PORT=9123\nexport CRM_SESSION_DAYS='2'\nCRM_HOST=\"0.0.0.0\"\n")
    environ = {"CRM_DATA_DIR": str(tmp_path), "CRM_HOST": "127.0.0.2"}
    settings = load_settings(environ)
    assert (settings.port, settings.session_days, settings.host) == (9123, 2.0, "127.0.0.2")


def test_dotenv_syntax_error_names_the_line(tmp_path):
    (tmp_path / ".env").write_text("CRM_PORT=1\nthis is not a setting\n")
    with pytest.raises(SettingsError, match=r"\.env:2: expected KEY=VALUE"):
        load_dotenv(str(tmp_path / ".env"), {})


@pytest.mark.parametrize("env, variable", [
    ({"CRM_PORT": "eighty"}, "CRM_PORT"),
    ({"CRM_PORT": "70000"}, "CRM_PORT"),
    ({"CRM_RATE_LIMIT_PER_MIN": "0"}, "CRM_RATE_LIMIT_PER_MIN"),
    ({"CRM_GMAIL_INTEGRATION_ENABLED": "perhaps"}, "CRM_GMAIL_INTEGRATION_ENABLED"),
    ({"CRM_TLS_CERT": "/nonexistent.pem"}, "CRM_TLS_CERT"),
    ({"CRM_GMAIL_SYNC_INTERVAL_MIN": "soon"}, "CRM_GMAIL_SYNC_INTERVAL_MIN"),
    ({"CRM_GMAIL_INTEGRATION_ENABLED": "true", "CRM_GMAIL_SA_KEY_PATH": "/nonexistent.json"}, "CRM_GMAIL_SA_KEY_PATH"),
    ({"CRM_GMAIL_SECRET_KEY": "%%%"}, "CRM_GMAIL_SECRET_KEY"),
])
def test_a_bad_setting_stops_the_server_with_one_line(tmp_path, env, variable):
    code, stderr = start_crm(tmp_path / "d", env, expect_failure=True)
    assert code == 2
    assert stderr.startswith(f"configuration error: {variable}") and stderr.count("\n") == 1, stderr


def test_a_group_readable_service_account_key_stops_the_server(tmp_path):
    key = tmp_path / "sa.json"
    key.write_text("{}")
    os.chmod(key, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP)
    code, stderr = start_crm(tmp_path / "d", {"CRM_GMAIL_INTEGRATION_ENABLED": "true",
                                              "CRM_GMAIL_SA_KEY_PATH": str(key)}, expect_failure=True)
    assert code == 2 and "readable by group/others" in stderr and "CRM_GMAIL_SA_KEY_PATH" in stderr


def test_settings_from_the_data_dir_dotenv_reach_the_server(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / ".env").write_text("CRM_LOGIN_MAX_FAILURES=1\n")
    server = start_crm(data)
    try:
        server.create_user("a@firm.test", "member")
        client = server.client()
        assert client.login("a@firm.test", "wrong").status == 401
        assert client.login("a@firm.test", PASSWORD).status == 429
    finally:
        server.stop()
