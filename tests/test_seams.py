"""The three seed seams: the CRM runs without email_integration, and each seam sits where the seed says."""
import sqlite3
import textwrap

import pytest

from conftest import start_crm

WITHOUT_PACKAGE = ("-c", "import sys, runpy; sys.modules['email_integration'] = None; "
                   "runpy.run_module('backend.server', run_name='__main__')")


@pytest.mark.parametrize("flag", ["false", "true"])
def test_the_crm_serves_with_the_package_absent(tmp_path, flag):
    server = start_crm(tmp_path / "crm", {"CRM_GMAIL_INTEGRATION_ENABLED": flag}, argv=WITHOUT_PACKAGE)
    try:
        server.create_user("a@firm.test", "admin")
        client = server.logged_in("a@firm.test")
        assert client.post("/api/investors", {"name": "Still Works LP"}).status == 201
        reply = client.get("/api/email/status")
        assert reply.status == 503
        expected = "disabled" if flag == "false" else "not installed"
        assert expected in reply.json["error"]
        assert client.get("/login").status == 200
    finally:
        stderr = server.stop()
    if flag == "true":
        assert "scheduler is not installed" in stderr


SEAM_PACKAGE = {
    "__init__.py": "",
    "db.py": """
        def apply_migrations(cursor):
            # Runs inside init_db's transaction, after the core tables exist.
            cursor.execute("CREATE TABLE IF NOT EXISTS seam_probe (users_existed INTEGER)")
            exists = cursor.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'users'").fetchone()[0]
            cursor.execute("INSERT INTO seam_probe VALUES (?)", (exists,))
    """,
    "routes.py": """
        import json
        def try_handle(handler):
            if handler.url_path != "/api/email/probe":
                return False
            body = json.dumps({"user": handler.user and handler.user["role"], "via": handler.auth_via}).encode()
            handler.send_response(200)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
            return True
    """,
    "scheduler.py": """
        import os
        def start_sync_scheduler():
            open(os.path.join(os.environ["CRM_DATA_DIR"], "scheduler-started"), "w").close()
    """,
}


def seam_package(tmp_path):
    root = tmp_path / "pkg"
    (root / "email_integration").mkdir(parents=True)
    for name, source in SEAM_PACKAGE.items():
        (root / "email_integration" / name).write_text(textwrap.dedent(source))
    return root


def run_with(tmp_path, flag):
    root = seam_package(tmp_path)
    argv = ("-c", f"import sys, runpy; sys.path.insert(0, {str(root)!r}); "
                  "runpy.run_module('backend.server', run_name='__main__')")
    return start_crm(tmp_path / f"crm-{flag}", {"CRM_GMAIL_INTEGRATION_ENABLED": flag}, argv=argv)


def test_seams_run_in_place_when_the_flag_is_on(tmp_path):
    server = run_with(tmp_path, "true")
    try:
        conn = sqlite3.connect(f"{server.data_dir}/crm.db")
        assert conn.execute("SELECT users_existed FROM seam_probe").fetchall() == [(1,)]
        conn.close()
        assert (tmp_path / "crm-true" / "scheduler-started").exists()
        server.create_user("a@firm.test", "member")
        # try_handle sees the authenticated user: it runs after the auth pre-check.
        assert server.logged_in("a@firm.test").get("/api/email/probe").json == {"user": "member", "via": "cookie"}
        assert server.client().get("/api/email/probe").json == {"user": None, "via": None}
        # Paths the package does not claim fall through to the core.
        assert server.client().get("/api/email/other").status == 503
    finally:
        server.stop()


def test_flag_off_keeps_tables_but_no_scheduler_and_no_routes(tmp_path):
    server = run_with(tmp_path, "false")
    try:
        conn = sqlite3.connect(f"{server.data_dir}/crm.db")
        assert conn.execute("SELECT COUNT(*) FROM seam_probe").fetchone() == (1,)  # migrations still apply
        conn.close()
        assert not (tmp_path / "crm-false" / "scheduler-started").exists()
        reply = server.client().get("/api/email/probe")
        assert reply.status == 503 and "disabled" in reply.json["error"]
    finally:
        server.stop()


def test_rate_limit_runs_before_the_seam(tmp_path):
    root = seam_package(tmp_path)
    argv = ("-c", f"import sys, runpy; sys.path.insert(0, {str(root)!r}); "
                  "runpy.run_module('backend.server', run_name='__main__')")
    server = start_crm(tmp_path / "crm", {"CRM_GMAIL_INTEGRATION_ENABLED": "true", "CRM_RATE_LIMIT_PER_MIN": "3"},
                       argv=argv)
    try:
        client = server.client()
        assert [client.get("/api/email/probe").status for _ in range(4)] == [200, 200, 200, 429]
    finally:
        server.stop()


def test_a_broken_module_inside_the_installed_package_stops_the_start(tmp_path):
    """The seams read ImportError as "not installed"; a real package with one module that cannot be
    imported must not start with capture silently off (no email tables, no CRM_GMAIL_* check)."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT
    root = tmp_path / "pkg"
    shutil.copytree(f"{ROOT}/email_integration", root / "email_integration",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(root / "email_integration" / "review" / "drafter.py", "a", encoding="utf-8") as handle:
        handle.write("\nimport a_module_that_is_not_there\n")
    code = (f"import sys; sys.path.insert(0, {str(root)!r}); from backend.server import init_db; "
            f"init_db({str(tmp_path / 'crm.db')!r})")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "email_integration is installed but cannot be loaded: No module named 'a_module_that_is_not_there'" \
        in result.stderr
