#!/usr/bin/env bash
# Quick start #1: the CRM with demo data on this machine (creates .venv on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r backend/requirements.txt
exec .venv/bin/python -m devtools.demo "$@"
