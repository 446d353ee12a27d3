"""The intake bot's two loops: the CRM poll (post cards, close decided ones) and the Matrix
long-poll sync (reviewers' replies and reactions → CRM decisions). Nothing here blocks the loop."""
from __future__ import annotations

import asyncio
import logging

from nio import (AsyncClient, AsyncClientConfig, JoinError, LoginResponse, RoomMessagesResponse, RoomSendResponse,
                 SyncResponse)

from . import cards
from .config import Config
from .crm_api import CRM, CRMRefused, CRMUnavailable
from .drafting import Drafter
from .journal import Journal
from .llm import LLMError, Reviser

log = logging.getLogger(__name__)
SYNC_TIMEOUT_MS = 30_000
# Synapse sends 10 timeline events per sync by default; ask for more, and page back when 'limited'.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": True}},
               "presence": {"types": []}, "account_data": {"types": []}}
MAX_BACKFILL_PAGES = 50


def open_cards(work: dict) -> dict[str, dict]:
    """The work-list's open cards by their Matrix event id (what replies point at)."""
    return {item["event_id"]: dict(item) for item in work.get("open", [])}


class MatrixSendError(Exception):
    pass


class IntakeBot:
    def __init__(self, config: Config, crm: CRM | None = None, reviser: Reviser | None = None):
        self.config = config
        self.crm = crm or CRM(config.crm_base_url, config.crm_bot_token, config.crm_give_up_sec)
        self.reviser = reviser or Reviser(config.llm_base_url, config.llm_model, config.llm_timeout_sec)
        # First drafts (LLM_DRAFTS) share the reviser's model client; None when the CRM's drafts stand.
        self.drafter = (Drafter(self.reviser, self.crm, config.llm_model, config.llm_draft_concurrency)
                        if config.llm_drafts else None)
        self.journal = Journal(config.store_path)
        self.client: AsyncClient | None = None
        self.room_id: str | None = None
        self.open: dict[str, dict] = {}  # card event id → {id, version, draft, context}
        self.stopping = asyncio.Event()
        self.outages: dict[str, int] = {}  # reply event id → rounds of CRM outage while handling it

    # -- Matrix plumbing -------------------------------------------------------------------------
    async def login(self) -> None:
        config = self.config
        self.client = AsyncClient(config.homeserver, config.user_id, device_id=config.device_id or None,
                                  config=AsyncClientConfig(encryption_enabled=False, store_sync_tokens=False))
        session = self.journal.session()
        if config.access_token:
            self.client.restore_login(config.user_id, config.device_id or session.get("device_id", ""),
                                      config.access_token)
        elif session.get("access_token") and session.get("user_id") == config.user_id:
            self.client.restore_login(config.user_id, session["device_id"], session["access_token"])
        else:
            response = await self.client.login(config.password, device_name="crm-intake-bot")
            if not isinstance(response, LoginResponse):
                raise RuntimeError(f"Matrix login failed: {getattr(response, 'message', response)}")
            self.journal.save_session(response.user_id, response.device_id, response.access_token)
        joined = await self.client.join(config.review_room)
        if isinstance(joined, JoinError):
            raise RuntimeError(f"cannot join {config.review_room}: {joined.message}")
        self.room_id = joined.room_id

    async def send(self, content: dict, txn: str, event_type: str = "m.room.message") -> str:
        """Send with a transaction id derived from what is sent: a retry after a crash is the same event."""
        response = await self.client.room_send(self.room_id, event_type, content, tx_id=txn,
                                               ignore_unverified_devices=True)
        if not isinstance(response, RoomSendResponse):
            raise MatrixSendError(getattr(response, "message", str(response)))
        return response.event_id

    async def say(self, root: str, text: str, txn: str, reply_to: str | None = None) -> None:
        try:
            await self.send(cards.thread_content(root, text, reply_to), txn)
        except MatrixSendError as error:
            log.warning("could not post in thread %s: %s", root, error)

    # -- the CRM poll ------------------------------------------------------------------------------
    async def poll_once(self) -> None:
        work = await self.crm.work_lists()
        self.open = open_cards(work)
        if self.drafter:
            self.drafter.start(work.get("to_draft", []))  # in the background: a slow model holds up nothing
        for card in work.get("to_post", []):
            await self._guarded(self.post_card(card, work.get("waiting", 0)), f"posting proposal {card.get('id')}")
        for item in list(self.open.values()):
            if self.drafter and self.drafter.busy_with(item["id"]):
                continue  # a newer email's redraft is with the model: show the update once it settles
            await self._guarded(self.show_updates(item), f"updating card {item.get('id')}")
        for item in work.get("to_close", []):
            await self._guarded(self.close_card(item), f"closing proposal {item.get('id')}")

    async def _guarded(self, step, what: str) -> None:
        """One card's trouble (a Matrix refusal, a CRM refusal) must not hold up the others."""
        try:
            await step
        except (MatrixSendError, CRMRefused) as error:
            log.warning("%s: %s", what, error)

    async def post_card(self, card: dict, waiting: int = 0) -> None:
        # Sent once per proposal: the event id is journaled before the CRM is told, and the
        # transaction id is the proposal's, so even a crash between the two posts nothing twice.
        event_id = self.journal.sent_card(card["id"])
        if event_id is None:
            event_id = await self.send(cards.card_content(card, self.config.crm_base_url, waiting),
                                       txn=f"card-{card['id']}")
            self.journal.record_sent(card["id"], event_id)
        self.journal.record_context(card["id"], card["email"].get("snippet") or "")
        self.journal.record_shown(card["id"], card["version"], card["draft"])
        status, payload = await self.crm.posted(card["id"], self.room_id, event_id)
        self.journal.forget_sent(card["id"])
        if status == 409:
            log.warning("proposal %s was already posted as %s", card["id"], payload.get("posted", {}).get("event_id"))
            return
        self.open[event_id] = {"id": card["id"], "room_id": self.room_id, "event_id": event_id,
                               "version": card["version"], "draft": card["draft"]}
        log.info("posted proposal %s as %s", card["id"], event_id)

    async def show_updates(self, item: dict) -> None:
        """A draft changed in the CRM (a newer email, an edit on the web): show it before anyone approves it."""
        shown = self.journal.shown(item["id"])
        if shown is None:
            self.journal.record_shown(item["id"], item["version"], item["draft"])
        elif item["version"] > shown["version"] and item["draft"] != shown["draft"]:
            await self.send(cards.thread_content(item["event_id"], cards.updated_line(item["version"], item["draft"])),
                            txn=f"update-{item['id']}-v{item['version']}")
            self.journal.record_shown(item["id"], item["version"], item["draft"])
        elif item["version"] > shown["version"]:
            self.journal.record_shown(item["id"], item["version"], item["draft"])

    def shown_version(self, card: dict) -> int:
        """The version a reviewer in the room has seen (what their yes refers to)."""
        shown = self.journal.shown(card["id"])
        return shown["version"] if shown else card["version"]

    async def close_card(self, item: dict) -> None:
        root = item["event_id"]
        if item.get("decided_via") != "matrix":  # decisions made here were announced when made
            # send(), not say(): if the announcement fails, the close waits for the next poll
            await self.send(cards.thread_content(root, cards.decided_line(item["status"], item.get("decided_by"),
                                                                          item.get("decided_via"))),
                            txn=f"close-{item['id']}")
        key = {"approved": "✅", "rejected": "❌"}.get(item["status"], "☑️")
        try:
            await self.send(cards.reaction_content(root, key), txn=f"mark-{item['id']}", event_type="m.reaction")
        except MatrixSendError as error:
            log.warning("could not mark card %s: %s", item["id"], error)
        await self.crm.closed(item["id"])
        self.open.pop(root, None)
        self.journal.forget_card(item["id"])

    async def poll_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                await self.poll_once()
            except (CRMUnavailable, CRMRefused, MatrixSendError) as error:
                log.warning("CRM poll: %s", error)
            except Exception:  # noqa: BLE001 - the loop must outlive one bad poll
                log.exception("CRM poll failed")
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=self.config.poll_sec)
            except asyncio.TimeoutError:
                pass

    # -- the Matrix sync -------------------------------------------------------------------------
    async def sync_loop(self) -> None:
        if not self.journal.next_batch:  # first start: skip history, never act on old replies
            first = await self.client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
            if isinstance(first, SyncResponse):
                self.journal.save_next_batch(first.next_batch)
        backoff = 1.0
        while not self.stopping.is_set():
            since = self.journal.next_batch
            try:
                response = await self.client.sync(timeout=SYNC_TIMEOUT_MS, since=since, sync_filter=SYNC_FILTER)
            except Exception:  # noqa: BLE001 - network trouble: back off and sync again
                log.exception("sync raised")
                response = None
            if not isinstance(response, SyncResponse):
                await self._sync_failed(response, backoff)
                backoff = min(backoff * 2, 60)
                continue
            backoff = 1.0
            room = response.rooms.join.get(self.room_id)
            try:
                for event in await self._timeline(room, since):
                    await self.handle_safely(event)
            except CRMUnavailable as error:
                # Keep the old sync token: the same events come back and are handled once the CRM is back.
                log.warning("CRM unreachable while handling replies (%s); retrying", error)
                await asyncio.sleep(5)
                continue
            self.journal.save_next_batch(response.next_batch)

    async def _timeline(self, room, since: str | None) -> list[dict]:
        """The room's new events, oldest first, including those a 'limited' sync left out."""
        if room is None:
            return []
        events = [e.source for e in room.timeline.events]
        if room.timeline.limited and room.timeline.prev_batch and since:
            missed, token = [], room.timeline.prev_batch
            for _ in range(MAX_BACKFILL_PAGES):
                page = await self.client.room_messages(self.room_id, start=token, end=since, limit=100)
                if not isinstance(page, RoomMessagesResponse) or not page.chunk:
                    break
                missed.extend(e.source for e in page.chunk)
                if not page.end or page.end == token:
                    break
                token = page.end
            known = {e.get("event_id") for e in events}
            events = [e for e in reversed(missed) if e.get("event_id") not in known] + events
        return events

    async def _sync_failed(self, response, backoff: float) -> None:
        code = getattr(response, "status_code", None)
        log.warning("sync failed: %s", getattr(response, "message", response))
        if code == "M_UNKNOWN_TOKEN" and self.config.password and not self.config.access_token:
            log.warning("the Matrix session was revoked; logging in again")
            self.journal.save_session(self.config.user_id, "", "")
            await self.client.close()
            await self.login()
        await asyncio.sleep(backoff)

    async def handle_safely(self, event: dict) -> None:
        """handle(), where anything but a CRM outage is logged and the event counted as handled."""
        try:
            await self.handle(event)
        except CRMUnavailable:
            raise
        except CRMRefused as error:
            log.warning("event %s: %s", event.get("event_id"), error)
            root = cards.target_of(event.get("content") or {}) or (event.get("content") or {}).get(
                "m.relates_to", {}).get("event_id")
            if root:
                await self.say(root, f"The CRM refused this ({error}); nothing was recorded. Please decide on the web.",
                               txn=f"refused-{event['event_id']}", reply_to=event["event_id"])
            self.journal.done(event["event_id"])
        except MatrixSendError as error:
            log.warning("event %s: %s", event.get("event_id"), error)
            self.journal.done(event["event_id"])
        except Exception:  # noqa: BLE001 - one bad event must not stop the bot
            log.exception("event %s could not be handled", event.get("event_id"))
            self.journal.done(event["event_id"])

    async def handle(self, event: dict) -> None:
        if event.get("sender") == self.config.user_id or event.get("type") not in ("m.room.message", "m.reaction"):
            return
        event_id = event["event_id"]
        entry = self.journal.entry(event_id)
        if entry and entry.get("status") == "done":
            return
        content = event.get("content") or {}
        if event["type"] == "m.reaction":
            relates = content.get("m.relates_to") or {}
            root, key = relates.get("event_id"), relates.get("key", "")
            decision = ("approve" if key in cards.APPROVE_REACTIONS else
                        "reject" if key in cards.REJECT_REACTIONS else None)
            text = key
        else:
            root = cards.target_of(content)
            text = cards.reply_text(content)
            decision = cards.classify(text) if text else None
        if root not in self.open:
            await self.refresh_open()
        card = self.open.get(root)
        if card is None or decision is None:
            return  # not about an open card (or a reaction we do not read)
        if event["sender"] not in self.config.reviewers:
            await self.say(root, f"Sorry {event['sender']}, only the listed reviewers can decide on proposed notes.",
                           txn=f"polite-{event_id}", reply_to=event_id)
            self.journal.done(event_id)
            return
        if decision == "edit":
            await self.edit(card, root, event_id, event["sender"], text)
        else:
            await self.decide(card, root, event_id, event["sender"], decision)
        self.journal.done(event_id)

    async def refresh_open(self) -> None:
        """Learn of cards posted by an earlier run; a CRM outage propagates (the reply is retried later)."""
        try:
            work = await self.crm.work_lists()
        except CRMRefused as error:
            log.warning("open cards: %s", error)
            return
        self.open = open_cards(work)

    async def decide(self, card: dict, root: str, event_id: str, actor: str, decision: str) -> None:
        replay = self.journal.entry(event_id) is not None  # seen before a crash: the CRM may have it already
        version = self.shown_version(card)
        self.journal.start(event_id, version=version)
        reply = await self._crm_decide(card, root, event_id, f"{actor}'s {decision} is NOT confirmed as recorded",
                                       decision, actor, expected_version=version)
        if reply is None:
            return
        status, current = reply
        mine = replay and current.get("decided_via") == "matrix" and current.get("decided_by") == actor
        if status == 200 or mine:
            self.open.pop(root, None)
            await self.say(root, cards.decided_line(current.get("status", decision + "d"), actor, "matrix"),
                           txn=f"done-{event_id}", reply_to=event_id)
        elif current.get("status") == "pending":  # the draft changed (edited on the web) since it was shown
            await self.say(root, f"The draft changed meanwhile; it now reads: “{current['draft']}”. "
                                 f"Reply yes to approve this version.", txn=f"stale-{event_id}", reply_to=event_id)
            self._adopt(card, current)
        else:
            await self.say(root, "Already " + cards.decided_line(current.get("status", "decided"),
                                                                  current.get("decided_by"),
                                                                  current.get("decided_via")).lower(),
                           txn=f"conflict-{event_id}", reply_to=event_id)

    async def edit(self, card: dict, root: str, event_id: str, actor: str, instruction: str) -> None:
        version = self.shown_version(card)
        entry = self.journal.start(event_id, version=version)
        revision = entry.get("revision")
        if revision is not None and card["draft"] == revision:  # applied before a crash: show it again
            await self._show_revision(card, root, event_id, revision)
            return
        if revision is None:
            try:
                revision = await self.reviser.revise(card["draft"], instruction, self.journal.context(card["id"]))
            except LLMError as error:
                await self.say(root, f"I could not revise the draft: {error}. The draft is unchanged.",
                               txn=f"llm-{event_id}", reply_to=event_id)
                return
            self.journal.update(event_id, revision=revision)
        reply = await self._crm_decide(card, root, event_id, "the revision is NOT confirmed as saved",
                                       "edit", actor, note=revision, expected_version=entry["version"])
        if reply is None:
            return
        status, current = reply
        if status == 200 or (current.get("status") == "pending" and current.get("draft") == revision):
            card.update(version=current["version"], draft=current["draft"])
            await self._show_revision(card, root, event_id, revision)
            return
        await self.say(root, "The revision was not saved: " + (
            f"the draft changed meanwhile (now: “{current.get('draft')}”)." if current.get("status") == "pending"
            else cards.decided_line(current.get("status", "decided"), current.get("decided_by"),
                                    current.get("decided_via"))), txn=f"editfail-{event_id}", reply_to=event_id)
        if current.get("status") == "pending":
            self._adopt(card, current)

    async def _crm_decide(self, card: dict, root: str, event_id: str, unconfirmed: str, *args, **kwargs):
        """crm.decide → (status, proposal state); None once the CRM stayed unreachable for a few rounds
        (the thread is told `unconfirmed`). Before that a CRM outage propagates: the reply is retried."""
        try:
            status, payload = await self.crm.decide(card["id"], *args, **kwargs)
        except CRMUnavailable:
            if self._give_up(event_id):
                await self.say(root, f"I could not reach the CRM: {unconfirmed}. Please check the card on the web "
                                     "page.", txn=f"gaveup-{event_id}", reply_to=event_id)
                return None
            raise
        return status, payload.get("proposal") or {}

    def _adopt(self, card: dict, current: dict) -> None:
        """The CRM's current draft is now the card's, and the one the room has been shown."""
        card.update(version=current["version"], draft=current["draft"])
        self.journal.record_shown(card["id"], current["version"], current["draft"])

    async def _show_revision(self, card: dict, root: str, event_id: str, revision: str) -> None:
        await self.say(root, f"Revised draft: “{revision}”\nReply yes to approve it, or say what else to change.",
                       txn=f"rev-{event_id}", reply_to=event_id)
        self.journal.record_shown(card["id"], card["version"], revision)

    def _give_up(self, event_id: str) -> bool:
        """Count CRM outages per reply; after a few rounds of the CRM client's own retries, give up loudly."""
        self.outages[event_id] = self.outages.get(event_id, 0) + 1
        return self.outages[event_id] >= 3

    # -- lifecycle ---------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.login()
        log.info("intake bot running as %s in %s", self.config.user_id, self.room_id)
        tasks = [asyncio.create_task(self.poll_loop()), asyncio.create_task(self.sync_loop())]
        stop = asyncio.create_task(self.stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop and task.exception():  # a loop died: exit non-zero, systemd restarts us
                    raise RuntimeError(f"a bot loop stopped: {task.exception()!r}")
        finally:
            stop.cancel()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.drafter:
                await self.drafter.stop()
            await self.crm.close()
            await self.client.close()
