"""The CRM under hostile connection load (issue 15, items 1–3): what 1,000 idle connections cost
the server (threads, open files) and how 100 concurrent writers fare.

    .venv/bin/python bench/bench_connections.py [--idle 1000] [--writers 100]

Prints: the server's thread and file-descriptor counts (from /proc) with `--idle` idle
connections open, how a normal request fares meanwhile, and for `--writers` concurrent POSTs
how many were answered 201 and their latency.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_support import ROOT, start_crm_process  # noqa: E402


def start_crm(data_dir: str) -> tuple[subprocess.Popen, str, dict]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CRM_")},
           "CRM_DATA_DIR": data_dir, "CRM_PORT": "0", "CRM_RATE_LIMIT_PER_MIN": "1000000",
           # every writer and idle socket comes from one address (loopback): the per-client cap would
           # measure itself, not the backlog and the slots (tests/test_connections.py holds that cap)
           "CRM_MAX_CONNECTIONS_PER_CLIENT": "100"}
    subprocess.run([sys.executable, "-m", "backend.manage", "create-user", "--email", "w@bench.example", "--name",
                    "W", "--role", "member"], cwd=ROOT, env=env, check=True, capture_output=True)
    token = subprocess.run([sys.executable, "-m", "backend.manage", "issue-token", "--email", "w@bench.example"],
                           cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout.strip()
    server, url = start_crm_process(env, data_dir)
    return server, url, {"Authorization": f"Bearer {token}"}


def proc_counts(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/status") as handle:
        threads = next(int(line.split()[1]) for line in handle if line.startswith("Threads:"))
    return threads, len(os.listdir(f"/proc/{pid}/fd"))


def timed_get(url: str, headers: dict) -> tuple[str, float]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url + "/api/auth/me", headers=headers), timeout=30) as r:
            outcome = str(r.status)
    except urllib.error.HTTPError as error:
        outcome = str(error.code)
    except OSError as error:
        outcome = type(error).__name__
    return outcome, (time.perf_counter() - started) * 1000


def idle_flood(server, url: str, headers: dict, count: int) -> None:
    host, port = url.split("//")[1].split(":")
    held = []
    try:
        for _ in range(count):
            try:
                held.append(socket.create_connection((host, int(port)), timeout=5))
            except OSError:
                break
        time.sleep(1.0)
        threads, fds = proc_counts(server.pid)
        print(f"{len(held)} idle connections open: server threads {threads}, open fds {fds}")
        outcomes = []
        started = time.perf_counter()
        while time.perf_counter() - started < 30:
            outcome, ms = timed_get(url, headers)
            outcomes.append(outcome)
            if outcome == "200":
                print(f"a normal request meanwhile: answered 200 after {(time.perf_counter() - started):.1f} s "
                      f"({len(outcomes) - 1} refusals first: {sorted(set(outcomes[:-1]))}); that request {ms:.1f} ms")
                break
            time.sleep(0.25)
        else:
            print(f"a normal request meanwhile: no 200 within 30 s ({sorted(set(outcomes))})")
        threads, fds = proc_counts(server.pid)
        print(f"after the idle deadline: server threads {threads}, open fds {fds}")
    finally:
        for sock in held:
            sock.close()


def writers(url: str, headers: dict, count: int) -> None:
    gate = threading.Barrier(count)
    results = []

    def write(i):
        body = json.dumps({"name": f"Bench Writer {i}"}).encode()
        request = urllib.request.Request(url + "/api/investors", body, {**headers, "Content-Type": "application/json"})
        gate.wait(timeout=30)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                outcome = str(response.status)
        except urllib.error.HTTPError as error:
            outcome = str(error.code)
        except OSError as error:
            outcome = type(error).__name__
        results.append((outcome, (time.perf_counter() - started) * 1000))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    outcomes = {o: sum(1 for r in results if r[0] == o) for o in sorted({r[0] for r in results})}
    latencies = sorted(ms for _, ms in results)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(f"{count} concurrent writers: {outcomes}; latency median {statistics.median(latencies):.0f} ms, "
          f"p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=100)
    args = parser.parse_args(argv)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; CRM defaults (CRM_MAX_CONNECTIONS 200, "
          "header deadline 10 s) but CRM_MAX_CONNECTIONS_PER_CLIENT 100, on loopback")
    data_dir = tempfile.mkdtemp(prefix="bench-connections-")
    server, url, headers = start_crm(data_dir)
    try:
        writers(url, headers, args.writers)
        idle_flood(server, url, headers, args.idle)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
