"""Shared by the sync benchmarks: generated mailboxes on disk, the emulator in its own process
(so its memory and CPU are not ours), and a CRM database with the demo's investors."""
from __future__ import annotations

import os
import random
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from backend import investors_db  # noqa: E402
from backend.db import connect, db_path  # noqa: E402
from backend.server import init_db  # noqa: E402
from devtools.mailgen import FUNDS, _address, sized_message  # noqa: E402
from devtools.make_service_account import make_service_account  # noqa: E402

DOMAIN = "bench.example"


def write_mailboxes(root: str, addresses: list[str], per_box: int, min_kb: int = 5, max_kb: int = 20,
                    seed: int = 5) -> int:
    rng = random.Random(seed)
    count = 0
    for box_index, address in enumerate(addresses):
        folder = os.path.join(root, address)
        os.makedirs(folder, exist_ok=True)
        for i in range(per_box):
            raw = sized_message(rng, box_index * per_box + i, rng.randint(min_kb, max_kb) * 1024, DOMAIN)
            with open(os.path.join(folder, f"{i:06d}.eml"), "wb") as handle:
                handle.write(raw)
            count += 1
    return count


def start_emulator_process(mailboxes: str, key_path: str, profile: str = "2026", units_per_min=None,
                           latency_ms: float = 0.0, extra=()):
    """The emulator in its own process, charging `profile`'s costs; `units_per_min` None enforces the
    profile's per-user budget, 0 none at all; `extra`: more flags (e.g. --search-match, --search-lag-sec)."""
    args = [sys.executable, "-m", "devtools.gmail_emulator", "--mailboxes", mailboxes, "--quota-profile", profile,
            "--service-account-key", key_path, "--latency-ms", str(latency_ms), *extra]
    if units_per_min is not None:
        args += ["--quota-units-per-min", str(units_per_min)]
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise SystemExit("the emulator did not start")
    return process, line.strip().rsplit(" ", 1)[-1]


def crm_database(data_dir: str) -> str:
    path = db_path(data_dir)
    init_db(path)
    conn = connect(path)
    for name, _, domain in FUNDS:
        investors_db.create_investor(conn, name, name, [_address(name, domain)], [domain])
    conn.close()
    return path


def service_account(directory: str) -> tuple[str, str]:
    return make_service_account(directory)


def capture_environ(emulator_url: str, key_path: str, **extra) -> dict:
    return {"CRM_GMAIL_INTEGRATION_ENABLED": "true", "CRM_GMAIL_API_BASE": emulator_url,
            "CRM_GMAIL_TOKEN_URI": emulator_url + "/token", "CRM_GMAIL_SA_KEY_PATH": key_path,
            "CRM_GMAIL_WORKSPACE_DOMAIN": DOMAIN, **extra}


def start_crm_process(env: dict, data_dir: str) -> tuple[subprocess.Popen, str]:
    """`python -m backend.server` with `env` (stderr to data_dir/server.log); (process, its URL)."""
    log = open(os.path.join(data_dir, "server.log"), "w")
    server = subprocess.Popen([sys.executable, "-m", "backend.server"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=log, text=True)
    line = server.stdout.readline()
    if "listening on" not in line:
        raise SystemExit(f"the CRM did not start; see {log.name}")
    return server, line.strip().rsplit(" ", 1)[-1]
