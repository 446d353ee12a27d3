"""Playwright driving Debian's Chromium (never a downloaded browser), with console/CSP error capture."""
from __future__ import annotations

import contextlib

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


class Page:
    """A fresh browser context and page that records console errors and page errors."""

    def __init__(self, browser_instance, base_url: str):
        self.context = browser_instance.new_context(base_url=base_url)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, email: str, password: str) -> None:
        self.page.goto("/login")
        self.page.fill("input[name=email]", email)
        self.page.fill("input[name=password]", password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/")

    def unexpected_errors(self, allowed=("401",)) -> list[str]:
        """Console errors other than the expected ones (a 401 while signed out is expected)."""
        return [e for e in self.errors if not any(a in e for a in allowed)]

    def close(self) -> None:
        self.context.close()


@contextlib.contextmanager
def browsing(server, *also_stop):
    """A module's site: Chromium attached to `server` (as server.browser); stops server and the rest after."""
    try:
        with browser() as instance:
            server.browser = instance
            yield server
    finally:
        server.stop()
        for other in also_stop:
            other.stop()
