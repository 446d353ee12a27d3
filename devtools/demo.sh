#!/usr/bin/env bash
# Quick start #1: the CRM with demo data on this machine (creates .venv on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  if ! python3 -m venv .venv >/dev/null 2>&1; then
    rm -rf .venv
    echo "demo: python3 cannot make a virtual environment here; on Debian/Ubuntu install it first:" \
         "sudo apt-get install python3-venv" >&2
    exit 1
  fi
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r backend/requirements.txt
exec .venv/bin/python -m devtools.demo "$@"
