"""Quick start #1 prepares its data idempotently and the server it starts serves the demo login; the demo a
newcomer meets (issue 24, item 10): progress lines per mailbox during the first sync, quiet logs unless
--verbose, a useful set of cards (recent investor mail with asks, one of it HTML), a port-in-use error that
names --port."""
import socket
import sqlite3
import subprocess
import sys

import pytest

from conftest import ROOT, start_crm
from devtools.demo import ADMIN_EMAIL, ADMIN_PASSWORD, INVESTORS
from devtools.mailgen import RECENT_ASKS

REQUEST_LINE = "/api/email/status 200"  # the access log's line for the demo's own polling


def demo(*args, timeout=400):
    return subprocess.run([sys.executable, "-m", "devtools.demo", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def test_demo_data_is_idempotent_and_logs_in(tmp_path):
    data = tmp_path / "demo"
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "devtools.demo", "--data-dir", str(data), "--no-serve"],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
    assert (data / "recent-asks.done").read_text().strip() == str(len(RECENT_ASKS))  # added once, not twice
    server = start_crm(data)
    try:
        client = server.client()
        assert client.login(ADMIN_EMAIL, ADMIN_PASSWORD).status == 200
        investors = client.get("/api/investors").json["investors"]
        assert len(investors) == len(INVESTORS)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """Quick start #1 end to end: emulator + CRM + enroll-all + a first sync, then it stops (--check)."""
    data = tmp_path_factory.mktemp("demo") / "demo"
    result = demo("--data-dir", str(data), "--port", "0", "--check")
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    return data, result


def test_demo_runs_the_whole_thing_on_the_emulator(first_run):
    _, result = first_run
    assert ADMIN_EMAIL in result.stdout and ADMIN_PASSWORD in result.stdout
    captured = int(result.stdout.split(" investor conversations captured")[0].rsplit(" ", 1)[-1])
    assert "5 mailboxes synced" in result.stdout and captured > 100  # two years of conversations on /emails
    # ... but only the recent ones, inside the default 14-day proposal horizon, wait as cards: the recent asks
    # among them, a useful set to triage
    cards = int(result.stdout.split(" proposed notes to review")[0].rsplit(" ", 1)[-1])
    assert 8 <= cards <= 20


def test_the_first_sync_says_what_it_is_doing(first_run):
    _, result = first_run
    lines = result.stdout.splitlines()
    assert any(line.startswith("First sync of every mailbox") for line in lines)
    for name in ("Demo Admin", "Ana Silva", "Ben Carter", "Chloe Martin", "Dev Patel"):
        done = [line for line in lines if line.startswith(f"  {name}: done, ")]
        assert len(done) == 1, (name, lines)
        assert " investor emails with " in done[0]
    assert any(": reading… " in line and " messages listed" in line for line in lines)


def test_the_logs_are_quiet_by_default(first_run):
    _, result = first_run
    assert REQUEST_LINE not in result.stderr and " INFO " not in result.stderr
    assert "Request timed out" not in result.stderr and "Broken pipe" not in result.stderr
    assert len(result.stderr.splitlines()) <= 2, result.stderr[-2000:]


def test_verbose_shows_the_servers_logs(first_run):
    data, _ = first_run
    result = demo("--data-dir", str(data), "--port", "0", "--check", "--verbose")  # the data is ready: a short sync
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert REQUEST_LINE in result.stderr


def test_an_investor_email_with_html_waits_among_the_cards(first_run):
    data, _ = first_run
    conn = sqlite3.connect(data / "crm.db")
    try:
        html = conn.execute("SELECT count(*) FROM email_proposals p JOIN emails e ON e.id = p.email_id "
                            "WHERE p.status = 'pending' AND e.body_html LIKE '%<table%'").fetchone()[0]
    finally:
        conn.close()
    assert html >= 1


def test_a_port_in_use_says_to_pick_another(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = demo("--data-dir", str(tmp_path / "demo"), "--port", str(port), timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "--port N" in result.stderr
    assert not (tmp_path / "demo").exists()  # said before any work


@pytest.mark.parametrize("level", ["WARNING", "INFO"])
def test_an_idle_keep_alive_connection_is_no_noise_at_warning(tmp_path, level):
    """http.server's "Request timed out" (a kept-alive connection idling out) goes through logging at INFO,
    so the demo's CRM_LOG_LEVEL=WARNING hides it; INFO (--verbose) still shows it."""
    server = start_crm(tmp_path / "crm", {"CRM_KEEPALIVE_IDLE_SEC": "1", "CRM_LOG_LEVEL": level})
    try:
        host, port = server.url.rsplit("/", 1)[-1].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as conn:
            conn.sendall(b"GET /api/auth/me HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            for _ in range(100):  # until the server closes the idle connection (bounded)
                chunk = conn.recv(65536)
                if not chunk:
                    break
                received += chunk
            assert received.startswith(b"HTTP/1.1 401")
    finally:
        server.stop()
    log = open(server.log_path).read()
    assert ("Request timed out" in log) == (level == "INFO"), log[-2000:]
