"""Shared fixtures: a real CRM server in a subprocess on an ephemeral loopback port.

    def test_x(crm):                      # one server per module, with admin/member/bot users
        crm.admin.get("/api/investors")   # CRMClient logged in by cookie as the admin
        crm.client()                      # a new anonymous client
        crm.create_user("b@x.io", "member", "pw")  # via backend.manage, same data dir
        crm.issue_token("b@x.io")

`start_crm(tmp_path, env={...})` starts one with other settings (the caller stops it).
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from crm_client import CRMClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PASSWORD = "correct horse battery"


def manage(data_dir: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRM_DATA_DIR": data_dir}
    result = subprocess.run([sys.executable, "-m", "backend.manage", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"manage {args[0]} failed: {result.stderr}")
    return result


class RunningCRM:
    def __init__(self, process: subprocess.Popen, url: str, data_dir: str, log_path: str):
        self.process, self.url, self.data_dir, self.log_path = process, url, data_dir, log_path
        self.users: dict[str, CRMClient] = {}

    def client(self, token: str | None = None) -> CRMClient:
        return CRMClient(self.url, token)

    def create_user(self, email: str, role: str, password: str | None = PASSWORD, name: str | None = None) -> int:
        args = ["create-user", "--email", email, "--name", name or email.split("@")[0].title(), "--role", role]
        if password:
            args += ["--password", password]
        return int(manage(self.data_dir, *args).stdout.strip())

    def issue_token(self, email: str) -> str:
        return manage(self.data_dir, "issue-token", "--email", email).stdout.strip()

    def logged_in(self, email: str, password: str = PASSWORD) -> CRMClient:
        client = self.client()
        reply = client.login(email, password)
        assert reply.status == 200, reply
        return client

    def log_containing(self, text: str, timeout: float = 10.0) -> str:
        """The server's log once it holds `text` (the access line is written after the response is
        sent, so a client can be ahead of it); the log as it is after `timeout` otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, encoding="utf-8", errors="replace") as handle:
                log = handle.read()
            if text in log or time.monotonic() > deadline:
                return log
            time.sleep(0.05)

    def stop(self) -> str:
        """Stop the server; returns its stderr. Fails the test if any request got a 500."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        with open(self.log_path, encoding="utf-8", errors="replace") as handle:
            stderr = handle.read()
        errors = [line for line in stderr.splitlines() if re.search(r" 5\d\d [\d.]+ms$", line) and " 503 " not in line]
        assert not errors, f"the server answered 5xx: {errors[:3]}"
        return stderr


def start_crm(data_dir, env: dict | None = None, argv=("-m", "backend.server"), expect_failure: bool = False):
    """Start `python -m backend.server` (or `python *argv`); RunningCRM, or (returncode, stderr) if expect_failure."""
    os.makedirs(data_dir, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    full_env.update({"CRM_DATA_DIR": str(data_dir), "CRM_PORT": "0", "CRM_HOST": "127.0.0.1",
                     "CRM_RATE_LIMIT_PER_MIN": "100000", "PYTHONUNBUFFERED": "1"})
    full_env.update(env or {})
    log_path = os.path.join(str(data_dir), "server.log")  # a file, not a pipe: a full pipe would block the server
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=full_env,
                                   stdout=subprocess.PIPE, stderr=log_file, text=True)
    if expect_failure:
        process.communicate(timeout=30)
        with open(log_path) as handle:
            return process.returncode, handle.read()
    deadline = time.monotonic() + 30
    line = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if "listening on" in line or not line:
            break
    if "listening on" not in line:
        process.kill()
        process.wait(timeout=5)
        with open(log_path) as handle:
            raise AssertionError(f"CRM did not start: {line!r} {handle.read()}")
    return RunningCRM(process, line.strip().rsplit(" ", 1)[-1], str(data_dir), log_path)


@pytest.fixture
def crm_factory(tmp_path):
    """Start servers with their own settings: crm_factory(env={...}); stopped at teardown."""
    started = []

    def factory(env=None, name="crm", **kw):
        server = start_crm(tmp_path / name, env, **kw)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


def with_people(server: RunningCRM) -> RunningCRM:
    """Add admin@firm.test, member@firm.test (logged-in clients) and bot@firm.test (a token client)."""
    server.create_user("admin@firm.test", "admin")
    server.create_user("member@firm.test", "member")
    server.create_user("bot@firm.test", "bot", password=None)
    server.admin = server.logged_in("admin@firm.test")
    server.member = server.logged_in("member@firm.test")
    server.bot = server.client(server.issue_token("bot@firm.test"))
    return server


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    """One running CRM per test module, with people (see with_people); tests must not depend on order."""
    server = with_people(start_crm(tmp_path_factory.mktemp("crm")))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    """(service-account JSON path, public key PEM path): the DWD key the emulator verifies."""
    from devtools.make_service_account import make_service_account
    return make_service_account(str(tmp_path_factory.mktemp("sa")))


@pytest.fixture
def emulator(keys):
    """A fresh Gmail emulator verifying JWTs against `keys` (modules with seeded mail override this)."""
    from devtools.gmail_emulator.server import start_emulator
    handle = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    yield handle
    handle.stop()


@pytest.fixture
def page(request, site):
    """A fresh browser page on the module's `site` (see ui_browser.browsing); signed in as the module's
    PAGE_LOGIN (email, password) when it sets one."""
    from ui_browser import Page
    wrapper = Page(site.browser, site.url)
    login = getattr(request.module, "PAGE_LOGIN", None)
    if login:
        wrapper.login(*login)
    yield wrapper
    wrapper.close()
