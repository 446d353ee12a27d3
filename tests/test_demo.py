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
