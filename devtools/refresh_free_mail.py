"""Refresh backend/lists/free_email_domains.txt, the vendored list of free and disposable mail providers.

    python3 -m devtools.refresh_free_mail                  # the newest free-email-domains on npm
    python3 -m devtools.refresh_free_mail --version 1.12.6 # a given version
    python3 -m devtools.refresh_free_mail --tarball free-email-domains-1.12.6.tgz  # offline, from `npm pack`

The source is the npm package free-email-domains (https://github.com/Kikobeats/free-email-domains, MIT): HubSpot's
published list of free-mail domains merged with two disposable-address blocklists. `npm pack` fetches the tarball
through npm's ordinary client (nothing is installed, no package script runs); its domains.json becomes one domain a
line under a header naming the source, the version, the date and the licence (whose text the MIT licence asks
copies to carry). Review the diff before committing: a domain that leaves the list is accepted as an investor
domain again.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import subprocess
import sys
import tarfile
import tempfile

PACKAGE = "free-email-domains"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "backend", "lists", "free_email_domains.txt")


def pack(version: str | None, into: str) -> str:
    """The tarball `npm pack` writes into `into` (npm's registry client; no install, no scripts)."""
    spec = f"{PACKAGE}@{version}" if version else PACKAGE
    out = subprocess.run(["npm", "pack", spec, "--pack-destination", into, "--ignore-scripts", "--silent"],
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    return os.path.join(into, out[-1])


def read_tarball(path: str) -> tuple[dict, list[str], str]:
    """(package.json, the domains, the licence text) of a free-email-domains tarball."""
    with tarfile.open(path, "r:gz") as tar:
        def text(name):
            return tar.extractfile(f"package/{name}").read().decode("utf-8")
        names = tar.getnames()
        licence = next((n[len("package/"):] for n in names if n.lower().startswith("package/license")), None)
        return json.loads(text("package.json")), json.loads(text("domains.json")), text(licence) if licence else ""


def render(meta: dict, domains: list[str], licence: str, today: str) -> str:
    clean = sorted({d.strip().lower().rstrip(".") for d in domains if isinstance(d, str) and d.strip()})
    header = [f"Free and disposable mail providers: refused as investor domains (backend/free_mail.py).",
              f"Source: npm package {meta['name']} {meta['version']} ({meta.get('homepage', '')}),",
              "  HubSpot's published free-mail domain list merged with disposable-address blocklists.",
              f"Licence: {meta.get('license', '?')} (text below). Fetched {today}; {len(clean)} domains.",
              "Refresh: python3 -m devtools.refresh_free_mail (README, \"Who can see what\").", ""]
    header += licence.strip().splitlines()
    return "".join(f"# {line}".rstrip() + "\n" for line in header) + "".join(d + "\n" for d in clean)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", help="a version of free-email-domains (default: the newest)")
    parser.add_argument("--tarball", help="a tarball `npm pack free-email-domains` wrote (no network)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tarball = args.tarball or pack(args.version, tmp)
        meta, domains, licence = read_tarball(tarball)
    with open(TARGET, "w", encoding="utf-8") as handle:
        handle.write(render(meta, domains, licence, _dt.date.today().isoformat()))
    print(f"{TARGET}: {meta['name']} {meta['version']}, {len(domains)} domains")
    return 0


if __name__ == "__main__":
    sys.exit(main())
