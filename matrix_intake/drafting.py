"""First drafts by the local model: the CRM lists proposals whose draft is still its own (`to_draft`); the
bot asks the model for a note and posts it back (`POST …/{id}/draft`). Any failure is silent: the CRM's
draft stands and the card is posted after CRM_INTAKE_DRAFT_WAIT_SEC. A person still approves every note.

Drafting runs beside the poll (at most `concurrency` model calls at once, each bounded by the LLM
client's timeout), so a slow model never holds up posting or closing cards. Each (proposal, version)
is tried once per bot process: a model that failed on it is not asked again until the email changes.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from .crm_api import CRM, CRMRefused, CRMUnavailable
from .llm import LLM, LLMError

log = logging.getLogger(__name__)
DRAFT_TASK = ("You write the first draft of one short note for a venture firm's CRM about one email with an "
              "investor. Say who (the person and their firm), what they asked, offered, agreed or declined, with "
              "any amounts, dates and the next step, in one or two sentences. 'direction' is 'received' when the "
              "investor wrote to us and 'sent' when our teammate wrote to them. Use only facts found in 'email' "
              "('earlier' is background from the same conversation); never invent amounts, dates or commitments.")
MAX_TRIED = 10_000  # the tried-once memory is bounded; the oldest entries go first


def model_input(item: dict) -> dict:
    """What the model reads for one to_draft item: strangers' text, fenced as data by llm.framed()."""
    investor, email = item.get("investor") or {}, item.get("email") or {}
    sender = email.get("from") or {}
    # `who`: the CRM's name for the investor's side, its person when it knows one ('Leo Park (Fjord Capital)')
    return {"investor": item.get("who") or investor.get("name", "") + (f" ({investor['firm']})" if investor.get("firm") else ""),
            "direction": email.get("direction", "received"),
            "from": f"{sender.get('name', '')} <{sender.get('email', '')}>".strip(),
            "to": ", ".join(p.get("name") or p.get("email", "") for p in email.get("to") or []),
            "date": email.get("date") or "", "subject": email.get("subject") or "", "email": item.get("text") or "",
            "earlier": [f"{(m.get('from') or {}).get('name') or (m.get('from') or {}).get('email', '')} "
                        f"({m.get('date') or ''}): {m.get('text') or ''}" for m in item.get("context") or []]}


class Drafter:
    def __init__(self, llm: LLM, crm: CRM, model_name: str, concurrency: int = 2):
        self.llm, self.crm, self.model_name = llm, crm, model_name
        self.slots = asyncio.Semaphore(concurrency)
        # Items in hand at once (calling the model or next in line): a backlog is never a task per item
        # waiting behind a busy model, with drafts landing long after their cards were posted.
        self.queue_limit = 2 * concurrency
        self.tried: dict[tuple[int, int], bool] = {}  # (id, version) → drafted (True) or fell back (False)
        self.running: dict[int, asyncio.Task] = {}  # proposal id → its drafting task
        self.reviewers = 0  # reviewers' revisions with the model now: first drafts wait for them
        self.reviewers_done = asyncio.Event()
        self.reviewers_done.set()
        self.patience = llm.timeout.total or 60.0  # the longest a first draft waits for one revision

    @asynccontextmanager
    async def reviewer_waiting(self):
        """A reviewer's revision is with the model: no first draft starts meanwhile (one already asked finishes).
        A small model server answers one request at a time; the person waiting goes first."""
        self.reviewers += 1
        self.reviewers_done.clear()
        try:
            yield
        finally:
            self.reviewers -= 1
            if not self.reviewers:
                self.reviewers_done.set()

    def start(self, items: list[dict]) -> None:
        """Start drafting every item not tried yet at its version (returns at once)."""
        for item in items:
            if len(self.running) >= self.queue_limit:
                break  # the rest (older emails) wait for a later poll, if they still need a draft then
            key = (item.get("id"), item.get("version"))
            if key in self.tried or item.get("id") in self.running:
                continue
            self.running[item["id"]] = asyncio.create_task(self._draft(item))

    def busy_with(self, proposal_id: int) -> bool:
        return proposal_id in self.running

    async def _draft(self, item: dict) -> None:
        key = (item["id"], item["version"])
        try:
            async with self.slots:
                try:  # bounded: a revision is itself bounded by the model's timeout
                    await asyncio.wait_for(self.reviewers_done.wait(), timeout=self.patience)
                except asyncio.TimeoutError:
                    pass
                self._remember(key, await self.draft_one(item))
        except Exception:  # noqa: BLE001 - a draft is optional: never let one take the bot down
            log.exception("drafting proposal %s failed", item["id"])
            self._remember(key, False)
        finally:
            self.running.pop(item["id"], None)

    async def draft_one(self, item: dict) -> bool:
        """True when the model's draft is now the proposal's; False when the CRM's draft stands."""
        try:
            note = await self.llm.note(DRAFT_TASK, model_input(item))
        except LLMError as error:
            log.info("proposal %s: no model draft (%s); the CRM's draft stands", item["id"], error)
            return False
        try:
            status, payload = await self.crm.draft(item["id"], note, item["version"], self.model_name)
        except (CRMUnavailable, CRMRefused) as error:
            log.warning("proposal %s: the model's draft was not saved (%s)", item["id"], error)
            return False
        if status == 409:  # a person edited or decided it meanwhile, or a newer email redrafted it: they win
            log.info("proposal %s changed meanwhile; the model's draft is dropped", item["id"])
            return False
        log.info("proposal %s drafted by %s (version %s)", item["id"], self.model_name,
                 (payload.get("proposal") or {}).get("version"))
        return True

    def _remember(self, key: tuple[int, int], drafted: bool) -> None:
        self.tried[key] = drafted
        while len(self.tried) > MAX_TRIED:
            self.tried.pop(next(iter(self.tried)))

    async def stop(self) -> None:
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.gather(*self.running.values(), return_exceptions=True)
