"""The CRM's intake bridge over HTTP (bearer token of a `bot` user), with retry and backoff."""
from __future__ import annotations

import asyncio
import logging
import random

import aiohttp

log = logging.getLogger(__name__)
PATH = "/api/intake/email-proposals"


class CRMUnavailable(Exception):
    """The CRM could not be reached (or answered 5xx) for longer than we are willing to wait."""


class CRMRefused(Exception):
    """A 4xx other than 409: our request was wrong (a bug, a bad token, an unknown proposal)."""

    def __init__(self, status: int, payload: dict):
        super().__init__(f"CRM answered {status}: {payload.get('error', '')}")
        self.status, self.payload = status, payload


class CRM:
    def __init__(self, base_url: str, token: str, give_up_sec: float = 300.0, timeout_sec: float = 20.0):
        self.base_url, self.token, self.give_up_sec = base_url.rstrip("/"), token, give_up_sec
        self.timeout = aiohttp.ClientTimeout(total=timeout_sec)
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session:
            await self._session.close()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout,
                                                  headers={"Authorization": f"Bearer {self.token}"})
        return self._session

    async def _call(self, method: str, path: str, body: dict | None = None, give_up_sec: float | None = None):
        """(status, payload); retries connection errors and 5xx with full-jitter backoff until give_up_sec."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.give_up_sec if give_up_sec is None else give_up_sec)
        attempt = 0
        while True:
            try:
                async with self._client().request(method, self.base_url + path, json=body) as response:
                    payload = await response.json(content_type=None) if response.content_length != 0 else {}
                    if response.status < 500:
                        if 400 <= response.status < 500 and response.status != 409:
                            raise CRMRefused(response.status, payload or {})
                        return response.status, payload or {}
                    problem = f"HTTP {response.status}"
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                problem = type(error).__name__
            attempt += 1
            delay = random.uniform(0, min(30.0, 0.5 * 2 ** attempt))
            if loop.time() + delay > deadline:
                raise CRMUnavailable(f"{method} {path}: {problem} after {attempt} attempts")
            log.warning("CRM %s %s: %s; retry %d in %.1fs", method, path, problem, attempt, delay)
            await asyncio.sleep(delay)

    async def work_lists(self) -> dict:
        return (await self._call("GET", PATH, give_up_sec=0))[1]

    async def proposal(self, proposal_id: int) -> dict:
        """{proposal: state, decided_ago_sec?}; CRMRefused 404 when it was withdrawn from the room or is gone."""
        return (await self._call("GET", f"{PATH}/{proposal_id}"))[1]

    async def posted(self, proposal_id: int, room_id: str, event_id: str) -> tuple[int, dict]:
        return await self._call("POST", f"{PATH}/{proposal_id}/posted", {"room_id": room_id, "event_id": event_id})

    async def decide(self, proposal_id: int, decision: str, actor: str, note: str | None = None,
                     expected_version: int | None = None) -> tuple[int, dict]:
        body = {"decision": decision, "actor": actor}
        if note is not None:
            body["note"] = note
        if expected_version is not None:
            body["expected_version"] = expected_version
        return await self._call("POST", f"{PATH}/{proposal_id}/decide", body)

    async def draft(self, proposal_id: int, draft: str, expected_version: int, model: str) -> tuple[int, dict]:
        """The model's first draft; a draft is optional, so a CRM outage gives up sooner than a decision."""
        return await self._call("POST", f"{PATH}/{proposal_id}/draft",
                                {"draft": draft, "expected_version": expected_version, "model": model},
                                give_up_sec=min(self.give_up_sec, 30.0))

    async def closed(self, proposal_id: int) -> tuple[int, dict]:
        return await self._call("POST", f"{PATH}/{proposal_id}/closed", {})
