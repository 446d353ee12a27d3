"""The address rules' costs (issue 22): loading the vendored public-mail list, looking domains up in it, and
normalising addresses for exclusions (mailbox_of) over a message's participants.

    .venv/bin/python bench/bench_address_rules.py [--rounds 20]

Prints the figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from backend import free_mail  # noqa: E402
from email_integration.privacy.exclusions import excluded  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    loads = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        domains = free_mail.load()
        free_mail.registry_parents(domains)
        loads.append((time.perf_counter() - start) * 1000)
    # A fresh interpreter importing the module (what a server start pays), against one that does not.
    cold = []
    for code in ("import backend.free_mail", "import backend.domain_names"):
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
            runs.append((time.perf_counter() - start) * 1000)
        cold.append(statistics.median(runs))
    probe = ["hotmail.fr", "alder.vc", "GMAIL.com.", "xn--bcher-kva.example", "mail.demo-alias.example"] * 2000
    start = time.perf_counter()
    for domain in probe:
        free_mail.is_free_mail(domain) or free_mail.covers_free_mail(domain)
    lookup_us = (time.perf_counter() - start) / len(probe) * 1e6
    participants = ["Kim@Alder.vc", "ann@firm.test", "dr.who+x@googlemail.com", "doc@clinic.test.", "a@xn--bcher-kva.example",
                    "raj@birch.capital"]
    patterns = ["dr.who@gmail.com", "@clinic.test", "@bücher.example", "lee@law.test", "@doctor.test"] * 2
    start = time.perf_counter()
    for _ in range(2000):
        excluded(participants, patterns)
    check_us = (time.perf_counter() - start) / 2000 * 1e6
    fresh = [[f"p{i}.{j}+t@host{i}.example" for j in range(6)] for i in range(2000)]  # never seen: no cache hit
    start = time.perf_counter()
    for people in fresh:
        excluded(people, patterns)
    fresh_us = (time.perf_counter() - start) / len(fresh) * 1e6
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"public-mail list: {len(domains)} domains; load + registry levels median {statistics.median(loads):.1f} ms "
          f"(min {min(loads):.1f}, max {max(loads):.1f}) over {args.rounds} rounds")
    print(f"interpreter start importing backend.free_mail {cold[0]:.0f} ms vs backend.domain_names {cold[1]:.0f} ms "
          f"(the list's share of a start: ~{cold[0] - cold[1]:.0f} ms)")
    print(f"domain lookup (is_free_mail + covers_free_mail): {lookup_us:.2f} µs")
    print(f"exclusion check of a message (6 participants x 10 patterns, normalised): {check_us:.1f} µs with "
          f"participants seen before, {fresh_us:.1f} µs with 6 never seen")


if __name__ == "__main__":
    main()
