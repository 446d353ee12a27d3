"""Quick start #1 prepares its data idempotently and the server it starts serves the demo login."""
import subprocess
import sys

from conftest import ROOT, start_crm
from devtools.demo import ADMIN_EMAIL, ADMIN_PASSWORD, INVESTORS


def test_demo_data_is_idempotent_and_logs_in(tmp_path):
    data = tmp_path / "demo"
    for _ in range(2):
        subprocess.run([sys.executable, "-m", "devtools.demo", "--data-dir", str(data), "--no-serve"],
                       cwd=ROOT, check=True, capture_output=True, timeout=120)
    server = start_crm(data)
    try:
        client = server.client()
        assert client.login(ADMIN_EMAIL, ADMIN_PASSWORD).status == 200
        investors = client.get("/api/investors").json["investors"]
        assert len(investors) == len(INVESTORS)
    finally:
        server.stop()


def test_demo_runs_the_whole_thing_on_the_emulator(tmp_path):
    """Quick start #1 end to end: emulator + CRM + enroll-all + a first sync, then it stops (--check)."""
    result = subprocess.run([sys.executable, "-m", "devtools.demo", "--data-dir", str(tmp_path / "demo"), "--port", "0",
                             "--check"], cwd=ROOT, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert ADMIN_EMAIL in result.stdout and ADMIN_PASSWORD in result.stdout
    captured = int(result.stdout.split(" investor conversations captured")[0].rsplit(" ", 1)[-1])
    assert "5 mailboxes synced" in result.stdout and captured > 100  # two years of conversations on /emails
    # ... but only the recent ones, inside the default 14-day proposal horizon, wait as cards
    assert 1 <= int(result.stdout.split(" proposed notes to review")[0].rsplit(" ", 1)[-1]) <= 20
