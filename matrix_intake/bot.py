"""The intake bot's two loops: the CRM poll (post cards, close decided ones) and the Matrix
long-poll sync (reviewers' replies and reactions → CRM decisions, replies.py). Each event is handled
in its own task, one lane per card: a slow model call on one card never holds up another card.
Nothing here blocks the loop."""
from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager

from nio import (AsyncClient, AsyncClientConfig, JoinError, LoginResponse, ProfileGetDisplayNameResponse,
                 RoomGetStateEventResponse, RoomMessagesResponse, RoomSendResponse, SyncResponse)

from . import cards, events
from .config import Config
from .crm_api import CRM, CRMRefused, CRMUnavailable
from .drafting import Drafter
from .journal import Journal, now_ms
from .llm import Reviser
from .progress import Checkpoints
from .replies import Replies

log = logging.getLogger(__name__)
SYNC_TIMEOUT_MS = 30_000
# Synapse sends 10 timeline events per sync by default; ask for more, and page back when 'limited'.
SYNC_FILTER = {"room": {"timeline": {"limit": 100}, "state": {"lazy_load_members": True}},
               "presence": {"types": []}, "account_data": {"types": []}}
MAX_BACKFILL_PAGES = 50


KINDS = ("email", "meeting")


def email_items(items) -> list[dict]:
    """The work-list items this bot handles: proposed notes from an email or a meeting (`kind` "email" or
    "meeting"; no kind from a CRM older than contracts v3 is an email). A kind it does not know it leaves alone."""
    return [item for item in items or [] if item.get("kind", "email") in KINDS]


def open_cards(work: dict) -> dict[str, dict]:
    """The work-list's open cards by their Matrix event id (what replies point at)."""
    return {item["event_id"]: dict(item) for item in email_items(work.get("open"))}


class MatrixSendError(Exception):
    pass


class GapUnfilled(Exception):
    """A 'limited' sync's missing events could not be fetched (/messages failed): the batch is not handled."""


class EncryptedRoom(Exception):
    """The review room is end-to-end encrypted: the bot cannot read it and refuses to run in it."""

    def __init__(self, room_id: str):
        super().__init__(f"the review room {room_id} is end-to-end encrypted, and this bot cannot read encrypted "
                         "messages. Create a new review room with encryption turned off (encryption can never be "
                         "removed from a room), invite the bot, and set MATRIX_EMAIL_REVIEW_ROOM to it.")


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
        self.display_name = ""
        self.open: dict[str, dict] = {}  # card event id → {id, version, draft, context}
        self._posts = 0  # cards posted by this process (a work-list asked for before a post may lack that card)
        self.said: dict[str, str] = {}  # the bot's thread messages → their card's root (replies to them count)
        self.stopping = asyncio.Event()
        self.replies = Replies(self)
        self.tasks: set[asyncio.Task] = set()
        self._typing = 0  # model calls in flight (the room sees "typing…" while there is one)

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
        state = await self.client.room_get_state_event(self.room_id, "m.room.encryption")
        if isinstance(state, RoomGetStateEventResponse) and state.content:
            await self.refuse_encrypted()
        profile = await self.client.get_displayname(config.user_id)
        if isinstance(profile, ProfileGetDisplayNameResponse):
            self.display_name = profile.displayname or ""

    async def refuse_encrypted(self) -> None:
        """Say once in the room why the bot stops (plaintext still shows there), then stop with one line."""
        refusal = EncryptedRoom(self.room_id)
        if self.journal.first_refusal(self.room_id):
            try:
                await self.send({"msgtype": "m.notice", "body": f"I am stopping: {refusal}", **cards.NO_MENTIONS},
                                txn="encrypted-room-refusal")
            except MatrixSendError as error:
                log.warning("could not say so in the room: %s", error)
        raise refusal

    async def send(self, content: dict, txn: str, event_type: str = "m.room.message") -> str:
        """Send with a transaction id derived from what is sent: a retry after a crash is the same event."""
        response = await self.client.room_send(self.room_id, event_type, content, tx_id=txn,
                                               ignore_unverified_devices=True)
        if not isinstance(response, RoomSendResponse):
            raise MatrixSendError(getattr(response, "message", str(response)))
        return response.event_id

    async def say(self, root: str, text: str, txn: str, reply_to: str | None = None) -> str | None:
        """A line in the card's thread; its event id (None if Matrix refused it: logged)."""
        try:
            event_id = await self.send(cards.thread_content(root, text, reply_to), txn)
        except MatrixSendError as error:
            log.warning("could not post in thread %s: %s", root, error)
            return None
        if len(self.said) > 5000:
            self.said.clear()  # only a cache: replies.card_root looks older messages up in the room
        self.said[event_id] = root
        return event_id

    @asynccontextmanager
    async def revising(self):
        """Around a reviewer's revision: the room sees the bot typing, and first drafts wait (a person is waiting;
        a backlog of first drafts must not hold the model while they do)."""
        async with self.typing():
            if self.drafter is None:
                yield
            else:
                async with self.drafter.reviewer_waiting():
                    yield

    @asynccontextmanager
    async def typing(self):
        """'typing…' in the room while a model call runs (refreshed: Synapse drops it after its timeout)."""
        self._typing += 1
        done = asyncio.Event()
        refresher = asyncio.create_task(self._keep_typing(done))
        try:
            yield
        finally:
            done.set()
            await refresher  # its last "typing" must reach the server before the "stopped" below
            self._typing -= 1
            if not self._typing:
                await self._typing_notice(False)

    async def _keep_typing(self, done: asyncio.Event) -> None:
        while not done.is_set():
            await self._typing_notice(True)
            try:
                await asyncio.wait_for(done.wait(), timeout=20)
            except asyncio.TimeoutError:
                pass

    async def _typing_notice(self, typing: bool) -> None:
        """A courtesy: trouble sending it never disturbs the work it announces."""
        try:
            await self.client.room_typing(self.room_id, typing, timeout=30_000)
        except Exception as error:  # noqa: BLE001
            log.warning("typing notice: %s", type(error).__name__)

    # -- the CRM poll ------------------------------------------------------------------------------
    async def work_lists(self) -> dict:
        """The CRM's work-lists, email items only; the open cards become `self.open` (keeping any card posted
        while the request was on its way: the answer may predate it)."""
        posts = self._posts
        work = await self.crm.work_lists()
        work = {**work, **{key: email_items(work.get(key)) for key in ("to_post", "open", "to_close", "to_draft")}}
        fresh = {event_id: card for event_id, card in open_cards(work).items()
                 if not self.journal.card_closed(event_id)}  # decided here since the CRM answered
        for event_id, card in self.open.items():
            if card.get("post", 0) > posts:
                fresh.setdefault(event_id, card)
            elif event_id in fresh:
                fresh[event_id] = self._newer(card, fresh[event_id])
        self.open = fresh
        for event_id, card in fresh.items():
            self.journal.remember_card(event_id, card["id"])
        return work

    @staticmethod
    def _newer(held: dict, answered: dict) -> dict:
        """The card held here, updated with the CRM's answer unless that is older (a revision saved while the
        work-list was on its way has a higher version): the same dict, so a reply in hand that updates its card
        updates the open one."""
        if answered.get("version", 0) >= held.get("version", 0):
            held.update(answered)
        return held

    async def poll_once(self) -> None:
        work = await self.work_lists()
        if self.drafter:
            self.drafter.start(work["to_draft"])  # in the background: a slow model holds up nothing
        waiting = work.get("waiting")  # pending cards the CRM keeps off the room (absent from older CRMs)
        offered = {card["id"] for card in work["to_post"]}
        for proposal_id, event_id in self.journal.sent_cards().items():
            if proposal_id not in offered:
                await self._guarded(self.confirm_sent(proposal_id, event_id), f"reporting card {proposal_id}")
        for card in work["to_post"]:
            await self._guarded(self.post_card(card, waiting), f"posting proposal {card.get('id')}")
        for item in list(self.open.values()):
            if self.drafter and self.drafter.busy_with(item["id"]):
                continue  # a newer email's redraft is with the model: show the update once it settles
            await self._guarded(self.show_updates(item), f"updating card {item.get('id')}")
        for item in work["to_close"]:
            await self._guarded(self.close_card(item), f"closing proposal {item.get('id')}")

    async def _guarded(self, step, what: str) -> None:
        """One card's trouble (a Matrix refusal, a CRM refusal) must not hold up the others."""
        try:
            await step
        except (MatrixSendError, CRMRefused) as error:
            log.warning("%s: %s", what, error)

    async def post_card(self, card: dict, waiting: int | None = None) -> None:
        # Sent once per proposal: the event id is journaled before the CRM is told, and the
        # transaction id is the proposal's, so even a crash between the two posts nothing twice.
        event_id = self.journal.sent_card(card["id"])
        if event_id is None:
            event_id = await self.send(cards.card_content(card, self.config.crm_base_url, waiting),
                                       txn=f"card-{card['id']}")
            self.journal.record_sent(card["id"], event_id)
        self.journal.record_context(card["id"], cards.context_of(card))
        self.journal.record_shown(card["id"], card["version"], card["draft"])
        status, payload = await self.crm.posted(card["id"], self.room_id, event_id)
        self.journal.forget_sent(card["id"])
        if status == 409:
            log.warning("proposal %s was already posted as %s", card["id"], payload.get("posted", {}).get("event_id"))
            return
        self._posts += 1
        self.journal.remember_card(event_id, card["id"])
        self.open[event_id] = {"id": card["id"], "room_id": self.room_id, "event_id": event_id,
                               "version": card["version"], "draft": card["draft"], "post": self._posts}
        log.info("posted proposal %s as %s", card["id"], event_id)

    async def confirm_sent(self, proposal_id: int, event_id: str) -> None:
        """A card sent before a crash or a CRM outage that the CRM no longer offers (decided on the web
        meanwhile, or newer cards took the free places): it is in the room, so the CRM is told (a decided
        one then comes back in to_close). Replies to it wait for this, so it must not wait for an offer."""
        try:
            await self.crm.posted(proposal_id, self.room_id, event_id)
        except CRMRefused as error:  # gone, or withdrawn from the room: there is nothing to record
            log.warning("card %s for proposal %s cannot be recorded: %s", event_id, proposal_id, error)
        self.journal.forget_sent(proposal_id)

    async def show_updates(self, item: dict) -> None:
        """A draft changed in the CRM (a newer email, an edit on the web): show it before anyone approves it."""
        shown = self.journal.shown(item["id"])
        if shown is None:
            self.journal.record_shown(item["id"], item["version"], item["draft"])
        elif item["version"] > shown["version"] and item["draft"] not in (shown["draft"],
                                                                          self.journal.own_revision(item["id"])):
            sending = now_ms()
            await self.send(cards.thread_content(item["event_id"], cards.updated_line(item["version"], item["draft"])),
                            txn=f"update-{item['id']}-v{item['version']}")
            self.journal.record_shown(item["id"], item["version"], item["draft"], since_ms=sending)
            self.journal.forget_questions(item["event_id"])  # a yes from now on means the new draft
        elif item["version"] > shown["version"]:
            self.journal.record_shown(item["id"], item["version"], item["draft"])

    def shown_version(self, card: dict, when_ms: int | None = None) -> int:
        """The version a reviewer in the room had seen at `when_ms` (their reply's origin_server_ts): what their
        yes refers to. Not the version shown when its turn comes: a 👍 held for its grace period, or a yes
        waiting behind a revision in the card's lane, was given on the draft shown before."""
        shown = self.journal.shown_at(card["id"], when_ms)
        return shown if shown is not None else card["version"]

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
        self.journal.remember_card(root, item["id"], closed=True)
        self.journal.forget_questions(root)
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
        # The sync token is saved once every event of its batch (and of all before) is handled.
        self.checkpoints = Checkpoints(self.journal.save_next_batch)
        if not self.journal.next_batch:  # first start: skip history, never act on old replies
            first = await self.client.sync(timeout=0, full_state=True, sync_filter=SYNC_FILTER)
            if isinstance(first, SyncResponse):
                room = first.rooms.join.get(self.room_id)
                # the start-up state read may have failed: the full state is the last chance to see encryption
                if room is not None and events.encryption_in([e.source for e in room.state]
                                                             + [e.source for e in room.timeline.events]):
                    await self.refuse_encrypted()
                self.journal.save_next_batch(first.next_batch)
        backoff = 1.0
        since = self.journal.next_batch
        while not self.stopping.is_set():
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
                timeline = await self._timeline(room, since)
            except GapUnfilled as error:  # sync again from the same point: never skip (and save past) a gap
                log.warning("sync: %s; trying again", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)
                continue
            if room is not None and events.encryption_in(timeline + [e.source for e in room.state]):
                await self.refuse_encrypted()
            self.replies.withdraw(events.redacted_ids(timeline))
            tasks = [self._spawn(self.replies.handle_until_done(event)) for event in timeline]
            self.checkpoints.add(response.next_batch, tasks)
            since = response.next_batch  # sync on; the saved token (what a restart replays from) may lag behind

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _timeline(self, room, since: str | None) -> list[dict]:
        """The room's new events, oldest first, including those a 'limited' sync left out."""
        if room is None:
            return []
        events = [e.source for e in room.timeline.events]
        if room.timeline.limited and room.timeline.prev_batch and since:
            missed, token = [], room.timeline.prev_batch
            for _ in range(MAX_BACKFILL_PAGES):
                page = await self.client.room_messages(self.room_id, start=token, end=since, limit=100)
                if not isinstance(page, RoomMessagesResponse):
                    raise GapUnfilled(f"paging back through a limited sync: {getattr(page, 'message', page)}")
                if not page.chunk:
                    break
                missed.extend(e.source for e in page.chunk)
                if not page.end or page.end == token:
                    break
                token = page.end
            else:
                log.warning("more than %d pages of events were missed; the oldest are not read", MAX_BACKFILL_PAGES)
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

    async def refresh_open(self) -> None:
        """Learn of cards posted by an earlier run; a CRM outage propagates (the reply is retried later)."""
        try:
            await self.work_lists()
        except CRMRefused as error:
            log.warning("open cards: %s", error)

    def adopt(self, card: dict, current: dict, since_ms: int | None = None) -> None:
        """The CRM's current draft is now the card's, and the one the room has been shown (since `since_ms`)."""
        card.update(version=current["version"], draft=current["draft"])
        self.journal.record_shown(card["id"], current["version"], current["draft"], since_ms=since_ms)

    # -- lifecycle ---------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.login()
        log.info("intake bot running as %s in %s", self.config.user_id, self.room_id)
        tasks = [asyncio.create_task(self.poll_loop()), asyncio.create_task(self.sync_loop())]
        stop = asyncio.create_task(self.stopping.wait())
        try:
            done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop and isinstance(task.exception(), EncryptedRoom):
                    raise task.exception()
                if task is not stop and task.exception():  # a loop died: exit non-zero, systemd restarts us
                    raise RuntimeError(f"a bot loop stopped: {task.exception()!r}")
        finally:
            stop.cancel()
            for task in [*tasks, *self.tasks]:
                task.cancel()
            await asyncio.gather(*tasks, *self.tasks, return_exceptions=True)
            if self.drafter:
                await self.drafter.stop()
            await self.crm.close()
            await self.client.close()
