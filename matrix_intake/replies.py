"""What the bot does with one event in the review room: find the card it is about (thread, reply to
the card or to one of the bot's messages, reaction, edit), read it (grammar.py), and act: decide,
revise through the model, ask, or nothing. Messages not about a card cost no CRM request."""
from __future__ import annotations

import asyncio
import logging

from nio import RoomGetEventResponse

from . import cards, events, grammar
from .crm_api import CRMRefused, CRMUnavailable
from .journal import now_ms
from .llm import LLMError
from .progress import Lanes

log = logging.getLogger(__name__)
ACTED = ("approve", "reject", "edit")
MAX_REMEMBERED = 2000
# How the bot's messages that show a draft end (the revision, an update, a stale yes; the ask line).
INVITATIONS = ("Reply yes to approve this version.", "Reply yes (or react 👍 here) to approve it, or say what else to "
               "change.", grammar.ASK_LINE)


class MatrixUnavailable(Exception):
    """The homeserver failed to answer a look-up (5xx, no JSON): the event is tried again, like a CRM outage."""


# Answers that mean the event really is not readable (it does not exist, or the bot may not see it).
NOT_READABLE = ("M_NOT_FOUND", "M_FORBIDDEN")
MAX_LOOKUP_TRIES = 12  # handle_until_done retries every 5 s: about a minute


class Replies:
    def __init__(self, bot):
        self.bot, self.config, self.journal = bot, bot.config, bot.journal
        self.lanes = Lanes()
        self.outages: dict[str, int] = {}  # reply event id → rounds of CRM outage while handling it
        self.fetched: dict[str, dict | None] = {}  # event id → the event (None: not readable)
        self.lookup_failures: dict[str, int] = {}  # event id → homeserver hiccups looking it up
        self.not_open: set[str] = set()  # cards the CRM no longer lists as open
        self.withdrawn: set[str] = set()  # reactions redacted (taken back)
        self.holding: dict[str, asyncio.Event] = {}  # reactions in their grace period → set when taken back

    # -- entry points ------------------------------------------------------------------------------
    async def handle_until_done(self, event: dict) -> bool:
        """handle(); a CRM outage is waited out and the event tried again (its batch's sync token stays unsaved).
        False when the bot stops first: the event is not handled, so its sync token must not be saved."""
        while not self.bot.stopping.is_set():
            try:
                await self.handle_safely(event)
                return True
            except (CRMUnavailable, MatrixUnavailable) as error:
                log.warning("%s while handling %s (%s); retrying", type(error).__name__, event.get("event_id"), error)
                try:
                    await asyncio.wait_for(self.bot.stopping.wait(), timeout=5)
                except asyncio.TimeoutError:
                    pass
        return False

    def withdraw(self, event_ids: set[str]) -> None:
        """Redactions seen: a reaction still in its grace period is dropped."""
        for event_id in event_ids:
            self.withdrawn.add(event_id)
            if event_id in self.holding:
                self.holding[event_id].set()

    async def handle_safely(self, event: dict) -> None:
        """handle(), where anything but a CRM outage is logged and the event counted as handled."""
        try:
            await self.handle(event)
        except (CRMUnavailable, MatrixUnavailable):
            raise
        except CRMRefused as error:
            log.warning("event %s: %s", event.get("event_id"), error)
            root = self.journal.entry(event["event_id"]) and self.journal.entry(event["event_id"]).get("root")
            if root:
                await self.bot.say(root, f"The CRM refused this ({error}); nothing was recorded. Please decide on "
                                         "the web.", txn=f"refused-{event['event_id']}", reply_to=event["event_id"])
            self.journal.done(event["event_id"], outcome="refused")
        except Exception:  # noqa: BLE001 - one bad event must not stop the bot
            log.exception("event %s could not be handled", event.get("event_id"))
            self.journal.done(event["event_id"], outcome="failed")

    async def handle(self, event: dict) -> None:
        if event.get("sender") == self.config.user_id or event.get("type") not in ("m.room.message", "m.reaction"):
            return
        entry = self.journal.entry(event["event_id"])
        if entry and entry.get("status") == "done":
            return
        content = event.get("content") or {}
        relation = events.relation(content)
        if event["type"] == "m.reaction":
            if relation.kind == "annotation":
                await self.reaction(event, relation)
        elif relation.kind == "replace":
            await self.replaced(event, relation.target)
        elif relation.kind is not None:  # a plain room message is not about any card
            await self.message(event, relation, content)

    # -- finding the card --------------------------------------------------------------------------
    async def fetch(self, event_id: str) -> dict | None:
        """An event of the review room from Matrix (cached)."""
        if event_id not in self.fetched:
            if len(self.fetched) > MAX_REMEMBERED:
                self.fetched.clear()
            response = await self.bot.client.room_get_event(self.bot.room_id, event_id)
            if isinstance(response, RoomGetEventResponse):
                self.fetched[event_id] = response.event.source
            elif getattr(response, "status_code", None) in NOT_READABLE:
                self.fetched[event_id] = None
            elif self.lookup_failures.get(event_id, 0) < MAX_LOOKUP_TRIES:
                # a hiccup: never remember it as "not the bot's" at once, which would drop the reply for good
                self.lookup_failures[event_id] = self.lookup_failures.get(event_id, 0) + 1
                raise MatrixUnavailable(f"looking up {event_id}: {getattr(response, 'message', response)}")
            else:  # a minute of failures: give up on it rather than hold the sync token back for ever
                log.warning("giving up looking up %s", event_id)
                self.fetched[event_id] = None
            self.lookup_failures.pop(event_id, None)
        return self.fetched[event_id]

    async def is_bots(self, event_id: str | None) -> bool:
        if not event_id:
            return False
        if event_id in self.bot.open or event_id in self.bot.said:
            return True
        fetched = await self.fetch(event_id)
        return bool(fetched) and fetched.get("sender") == self.config.user_id

    async def card_root(self, event_id: str | None) -> str | None:
        """The card a reply or reaction target belongs to: the card, or one of the bot's messages in its thread."""
        if not event_id:
            return None
        if event_id in self.bot.open:
            return event_id
        if event_id in self.bot.said:
            return self.bot.said[event_id]
        fetched = await self.fetch(event_id)
        if not fetched or fetched.get("sender") != self.config.user_id:
            return None
        relation = events.relation(fetched.get("content") or {})
        return relation.target if relation.kind == "thread" else event_id if relation.kind is None else None

    async def shows_a_draft(self, event_id: str) -> bool:
        """One of the bot's thread messages that shows a draft and invites a yes ("Revised draft: …", "The draft
        was updated…", "The draft changed meanwhile…"): a reaction on it decides, as on the card."""
        fetched = await self.fetch(event_id)
        body = str(((fetched or {}).get("content") or {}).get("body", ""))
        return bool(fetched) and body.endswith(INVITATIONS)

    async def open_card(self, root: str) -> dict | None:
        """The open card whose thread root this is; the CRM is asked only about the bot's own cards."""
        if root in self.bot.open:
            return self.bot.open[root]
        if root in self.not_open:
            return None
        fetched = await self.fetch(root)
        if not fetched or fetched.get("sender") != self.config.user_id or \
                not str((fetched.get("content") or {}).get("body", "")).startswith("Proposed note for"):
            return None
        await self.bot.refresh_open()  # a card posted by an earlier run
        if root not in self.bot.open:
            if root in self.journal.cards_being_posted():
                raise CRMUnavailable("the CRM has not recorded this card yet")  # retried shortly
            self.not_open.add(root)
        return self.bot.open.get(root)

    # -- messages ----------------------------------------------------------------------------------
    async def message(self, event: dict, relation, content: dict, edited: bool = False) -> str | None:
        """Read and act on a message in a card's conversation; returns what it did (an outcome), if anything."""
        event_id = event["event_id"]
        root = relation.target if relation.kind == "thread" else await self.card_root(relation.target)
        if root is None:
            return None
        # Addressed to the bot: a mention of it or a real reply to one of its messages, naming nobody else
        # ("@ben what do you think?" as a reply to the card is for Ben).
        addressed = (events.mentions(content, self.config.user_id) or await self.is_bots(relation.reply_to)) and \
            not events.others_mentioned(content, self.config.user_id, event["sender"])
        words = events.text(content)
        if addressed:
            words = events.without_name(words, self.config.user_id, self.bot.display_name)
        reading = grammar.read(words, addressed)
        if reading.kind == "conversation":
            if not edited:
                self.journal.done(event_id, outcome="conversation", root=root)
            return None  # conversation changes nothing and costs no CRM request
        async with self.lanes.lane(root):
            card = await self.open_card(root)
            if card is None:
                self.journal.done(event_id, outcome="not-open", root=root)
                return None
            self.journal.start(event_id, root=root)
            if event["sender"] not in self.config.reviewers:
                await self._not_a_reviewer(root, event)
                return None
            answer_to = event.get("replaces") or event_id
            prefix = "Your edited message: " if edited else ""
            if reading.kind == "ask":
                await self.bot.say(root, prefix + grammar.ASK_LINE, txn=f"ask-{event_id}", reply_to=answer_to)
            elif reading.kind == "edit":
                await self.edit(card, root, event_id, event["sender"], reading.instruction, answer_to, prefix)
            else:
                await self.decide(card, root, event_id, event["sender"], reading.kind, answer_to, prefix,
                                  sent_at=event.get("origin_server_ts"))
            self.journal.done(event_id, outcome=reading.kind, root=root)
            return reading.kind

    async def replaced(self, event: dict, original_id: str | None) -> None:
        """An edited message (m.replace) is read as new text if the original did nothing yet."""
        original = await self.fetch(original_id) if original_id else None
        if not original or original.get("sender") != event.get("sender") or original.get("type") != "m.room.message":
            self.journal.done(event["event_id"], outcome="ignored")
            return  # only the author's edits of a message count
        content = {**(event.get("content") or {}).get("m.new_content", {}),
                   "m.relates_to": (original.get("content") or {}).get("m.relates_to")}
        relation = events.relation(content)
        root = relation.target if relation.kind == "thread" else await self.card_root(relation.target)
        if root:
            async with self.lanes.lane(root):
                pass  # the original may still be in hand (a model call): let it finish before judging it
        entry = self.journal.entry(original_id) or {}
        if entry.get("outcome") in ACTED:
            root = entry.get("root")
            if root and grammar.read(events.text(content)).kind != "conversation":
                await self.bot.say(root, f"Your message was already acted on ({entry['outcome']}); editing it changes "
                                         "nothing. Send a new reply instead.", txn=f"late-edit-{event['event_id']}",
                                   reply_to=original_id)
            self.journal.done(event["event_id"], outcome="late-edit")
            return
        if relation.kind in (None, "replace"):
            self.journal.done(event["event_id"], outcome="ignored")
            return
        outcome = await self.message({**event, "replaces": original_id}, relation, content, edited=True)
        if outcome:
            self.journal.done(original_id, outcome=outcome, root=entry.get("root") or relation.target)
        self.journal.done(event["event_id"], outcome=outcome or "conversation")

    async def _not_a_reviewer(self, root: str, event: dict) -> None:
        if self.journal.first_telling(root, event["sender"]):
            await self.bot.say(root, f"Sorry {event['sender']}, only the listed reviewers can decide on proposed "
                                     "notes.", txn=f"polite-{event['event_id']}", reply_to=event["event_id"])
        self.journal.done(event["event_id"], outcome="not-a-reviewer", root=root)

    # -- reactions ---------------------------------------------------------------------------------
    async def reaction(self, event: dict, relation) -> None:
        """👍/👎 on the card or the bot's messages in its thread, applied after the grace period unless redacted."""
        event_id = event["event_id"]
        decision = grammar.reaction(relation.key)
        root = await self.card_root(relation.target) if decision else None
        if root is None or (relation.target != root and not await self.shows_a_draft(relation.target)):
            return  # a 👍 on "only the listed reviewers…" or "I could not revise…" is a nod, not a decision
        if await self.open_card(root) is None:
            return
        if event["sender"] not in self.config.reviewers:
            async with self.lanes.lane(root):
                await self._not_a_reviewer(root, event)
            return
        self.journal.start(event_id, root=root)
        taken_back = self.holding.setdefault(event_id, asyncio.Event())
        if event_id in self.withdrawn:
            taken_back.set()
        try:
            await asyncio.wait_for(taken_back.wait(), timeout=self.config.reaction_grace_sec)
        except asyncio.TimeoutError:
            pass
        finally:
            self.holding.pop(event_id, None)
        if taken_back.is_set():
            log.info("reaction %s was taken back", event_id)
            self.journal.done(event_id, outcome="withdrawn", root=root)
            return
        async with self.lanes.lane(root):
            card = await self.open_card(root)
            if card is not None:
                await self.decide(card, root, event_id, event["sender"], decision, event_id,
                                  how=f" (your {relation.key} reaction)", sent_at=event.get("origin_server_ts"))
            self.journal.done(event_id, outcome=decision, root=root)

    # -- acting ------------------------------------------------------------------------------------
    async def decide(self, card: dict, root: str, event_id: str, actor: str, decision: str, answer_to: str,
                     prefix: str = "", how: str = "", sent_at: int | None = None) -> None:
        """Ask the CRM to apply `decision` to the version the room showed at `sent_at` (the event's
        origin_server_ts); a newer draft meanwhile makes it a 409, and the thread shows the new one."""
        entry = self.journal.entry(event_id)
        replay = entry.get("version") is not None  # seen before a crash: the CRM may have it
        version = entry["version"] if replay else self.bot.shown_version(card, sent_at)
        self.journal.update(event_id, version=version)
        reply = await self._crm_decide(card, root, event_id, answer_to,
                                       f"{actor}'s {decision} is NOT confirmed as recorded",
                                       decision, actor, expected_version=version)
        if reply is None:
            return
        status, current = reply
        mine = replay and current.get("decided_via") == "matrix" and current.get("decided_by") == actor
        if status == 200 or mine:
            self.bot.open.pop(root, None)
            line = cards.decided_line(current.get("status", decision + "d"), actor, "matrix")
            await self.bot.say(root, prefix + line[:-1] + how + ".", txn=f"done-{event_id}", reply_to=answer_to)
        elif current.get("status") == "pending":  # the draft changed (edited on the web) since it was shown
            sending = now_ms()
            await self.bot.say(root, f"{prefix}The draft changed meanwhile; it now reads: "
                                     f"{cards.quote(current['draft'])}. Reply yes to approve this version.",
                               txn=f"stale-{event_id}", reply_to=answer_to)
            self.bot.adopt(card, current, since_ms=sending)
        else:
            await self.bot.say(root, prefix + "Already " + cards.decided_line(
                current.get("status", "decided"), current.get("decided_by"), current.get("decided_via")).lower(),
                txn=f"conflict-{event_id}", reply_to=answer_to)

    async def edit(self, card: dict, root: str, event_id: str, actor: str, instruction: str, answer_to: str,
                   prefix: str = "") -> None:
        entry = self.journal.entry(event_id)
        if entry.get("version") is None:
            self.journal.update(event_id, version=self.bot.shown_version(card))
        revision = entry.get("revision")
        if revision is not None and card["draft"] == revision:  # applied before a crash: show it again
            await self._show_revision(card, root, event_id, revision, answer_to, prefix)
            return
        if revision is None:
            try:
                async with self.bot.typing():
                    revision = await self.bot.reviser.revise(card["draft"], instruction,
                                                             self.journal.context(card["id"]))
            except LLMError as error:
                await self.bot.say(root, prefix + f"I could not revise the draft: {error}. The draft is unchanged.",
                                   txn=f"llm-{event_id}", reply_to=answer_to)
                return
            self.journal.update(event_id, revision=revision)
        self.journal.record_own_revision(card["id"], revision)  # before the CRM has it: never shown as a web edit
        reply = await self._crm_decide(card, root, event_id, answer_to, "the revision is NOT confirmed as saved",
                                       "edit", actor, note=revision, expected_version=entry["version"])
        if reply is None:
            return
        status, current = reply
        if status == 200 or (current.get("status") == "pending" and current.get("draft") == revision):
            card.update(version=current["version"], draft=current["draft"])
            await self._show_revision(card, root, event_id, revision, answer_to, prefix)
            return
        sending = now_ms()
        await self.bot.say(root, prefix + "The revision was not saved: " + (
            f"the draft changed meanwhile (now: {cards.quote(current.get('draft'))})."
            if current.get("status") == "pending"
            else cards.decided_line(current.get("status", "decided"), current.get("decided_by"),
                                    current.get("decided_via"))), txn=f"editfail-{event_id}", reply_to=answer_to)
        if current.get("status") == "pending":
            self.bot.adopt(card, current, since_ms=sending)

    async def _crm_decide(self, card: dict, root: str, event_id: str, answer_to: str, unconfirmed: str,
                          *args, **kwargs):
        """crm.decide → (status, proposal state); None once the CRM stayed unreachable for a few rounds
        (the thread is told `unconfirmed`). Before that a CRM outage propagates: the reply is retried."""
        try:
            status, payload = await self.bot.crm.decide(card["id"], *args, **kwargs)
        except CRMUnavailable:
            self.outages[event_id] = self.outages.get(event_id, 0) + 1
            if self.outages[event_id] >= 3:  # after a few rounds of the CRM client's own retries, give up loudly
                await self.bot.say(root, f"I could not reach the CRM: {unconfirmed}. Please check the card on the "
                                         "web page.", txn=f"gaveup-{event_id}", reply_to=answer_to)
                return None
            raise
        self.outages.pop(event_id, None)
        return status, payload.get("proposal") or {}

    async def _show_revision(self, card: dict, root: str, event_id: str, revision: str, answer_to: str,
                             prefix: str) -> None:
        self.journal.record_shown(card["id"], card["version"], revision)
        await self.bot.say(root, prefix + f"Revised draft: {cards.quote(revision)}\nReply yes (or react 👍 here) to "
                                          "approve it, or say what else to change.", txn=f"rev-{event_id}",
                           reply_to=answer_to)
