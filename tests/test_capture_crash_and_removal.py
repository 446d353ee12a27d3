"""Kill the sync process at random points mid-backfill: the next run resumes and converges.
And the operator commands: status, sync-now, remove-all (backup first, then every capture table)."""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from backend.db import connect
from capture_fixtures import CaptureRig, attachment_files, capture_env
from conftest import ROOT
from devtools.make_service_account import make_service_account
from emulator_fixtures import add_message, make_message, start_emulator

ANN = "ann@firm.test"


@pytest.fixture
def world(tmp_path):
    keys = make_service_account(str(tmp_path / "sa"))
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    (tmp_path / "data").mkdir()
    rig = CaptureRig(tmp_path / "data", emulator, keys)
    yield rig, emulator, keys
    rig.close()
    emulator.stop()


def manage(rig, emulator, keys, *args, input_text=None, **popen):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update(capture_env(emulator, keys[0], CRM_GMAIL_BATCH_SIZE="10"), CRM_DATA_DIR=rig.data_dir)
    command = [sys.executable, "-m", "email_integration.manage", *args]
    if popen:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, input=input_text, timeout=120)


def test_killed_mid_backfill_resumes_and_converges(world):
    rig, emulator, keys = world
    for i in range(160):
        add_message(emulator.url, ANN, make_message(sender="Kim <kim@alder.vc>", to=ANN, subject=f"S{i}",
                                                    body=f"B{i}\n", message_id=f"<k{i}@alder.vc>"))
    from emulator_fixtures import post_json
    post_json(f"{emulator.url}/_emulator/latency", {"ms": 15})
    account = rig.enroll(ANN)
    rng = random.Random(7)
    kills = 0
    for _ in range(4):
        process = manage(rig, emulator, keys, "sync-now", popen=True)
        time.sleep(rng.uniform(0.4, 1.6))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=30)
    assert kills >= 2, "the sync finished before it could be killed: make the backfill slower"
    progress = rig.query("SELECT progress_done, listing_kind FROM email_sync_state")[0]
    result = manage(rig, emulator, keys, "sync-now")
    assert result.returncode == 0, result.stderr
    assert rig.view(account) == rig.truth(ANN)
    assert rig.count("emails") == 160 and rig.count("email_mailbox_entries") == 160
    runs = rig.run_rows(account)
    assert runs[0]["status"] == "ok"
    assert any(r["status"] == "error" and "interrupted" in (r["error"] or "") for r in runs[1:])
    assert progress["listing_kind"] in ("backfill", None)


def test_status_and_unknown_account(world):
    rig, emulator, keys = world
    rig.enroll(ANN)
    assert manage(rig, emulator, keys, "sync-now", "--account", "nobody@firm.test").returncode == 2
    assert manage(rig, emulator, keys, "sync-now").returncode == 0
    out = manage(rig, emulator, keys, "status").stdout
    assert '"state": "idle"' in out and '"status": "ok"' in out


def test_remove_all_asks_backs_up_and_drops(world):
    rig, emulator, keys = world
    add_message(emulator.url, ANN, make_message(sender="Kim <kim@alder.vc>", to=ANN, subject="deck", body="b\n",
                                                attachments=[("d.pdf", "application/pdf", b"%PDF")]))
    account = rig.enroll(ANN)
    rig.sync(account)
    assert attachment_files(rig.data_dir)
    refused = manage(rig, emulator, keys, "remove-all", input_text="no\n")
    assert refused.returncode == 2 and rig.count("emails") == 1
    done = manage(rig, emulator, keys, "remove-all", "--yes")
    assert done.returncode == 0, done.stderr
    conn = connect(rig.db_file)
    left = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                       "(name LIKE 'email%')")]
    investors = conn.execute("SELECT count(*) FROM investors").fetchone()[0]
    conn.close()
    assert left == [] and investors == 3
    assert attachment_files(rig.data_dir) == []
    assert os.listdir(os.path.join(rig.data_dir, "backups"))
