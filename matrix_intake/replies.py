"""What the bot does with one event in the review room: find the card it is about (its thread, a reply to the
card, to one of the bot's messages or to any message in the card's thread, a reaction, an edit), read it
(grammar.py), and act: decide, revise through the model, ask, answer a decision that came too late, or nothing.
Conversation costs no CRM request and never reaches the model. Every decision taken or refused is logged at
INFO: event, proposal, sender and outcome, never the words."""
from __future__ import annotations

import asyncio
import logging

from nio import RoomGetEventResponse

from . import cards, events, grammar
from .actions import CardActions
from .crm_api import CRMRefused, CRMUnavailable
from .progress import Lanes

log = logging.getLogger(__name__)
ACTED = ("approve", "reject", "edit", "kept")
MAX_REMEMBERED = 2000
# How the bot's messages that show a draft end (the revision, an update, a stale yes; the ask line).
INVITATIONS = ("Reply yes to approve this version.", "Reply yes (or react 👍 here) to approve it, or say what else to "
               "change.", grammar.ASK_LINE)
FAILED_LINE = ("Something went wrong while I handled this message (it is in my log); nothing was recorded. Please "
               "decide on the web.")


class MatrixUnavailable(Exception):
    """The homeserver failed to answer a look-up (5xx, no JSON): the event is tried again, like a CRM outage."""


# Answers that mean the event really is not readable (it does not exist, or the bot may not see it).
NOT_READABLE = ("M_NOT_FOUND", "M_FORBIDDEN")
MAX_LOOKUP_TRIES = 12  # handle_until_done retries every 5 s: about a minute
LOOKUP_TIMEOUT_SEC = 10  # one look-up of an event; a slower homeserver counts as a hiccup (retried)
MAX_REPLY_CHAIN = 5  # a Reply to a Reply to … the card: followed this many steps back


class Replies(CardActions):
    def __init__(self, bot):
        self.bot, self.config, self.journal = bot, bot.config, bot.journal
        self.lanes = Lanes()
        self.outages: dict[str, int] = {}  # reply event id → rounds of CRM outage while handling it
        self.fetched: dict[str, dict | None] = {}  # event id → the event (None: not readable)
        self.lookup_failures: dict[str, int] = {}  # event id → homeserver hiccups looking it up
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
        """handle(), where anything but a CRM outage is logged, answered in the thread, and counted as handled."""
        event_id = event.get("event_id")
        try:
            await self.handle(event)
        except (CRMUnavailable, MatrixUnavailable):
            raise
        except CRMRefused as error:
            root = (self.journal.entry(event_id) or {}).get("root")
            self.note(event_id, root, event.get("sender"), "refused", f"CRM {error.status}")
            if root:
                await self.bot.say(root, f"The CRM refused this ({error}); nothing was recorded. Please decide on "
                                         "the web.", txn=f"refused-{event_id}", reply_to=event_id)
            self.journal.done(event_id, outcome="refused")
        except Exception:  # noqa: BLE001 - one bad event must not stop the bot
            log.exception("event %s could not be handled", event_id)
            root = (self.journal.entry(event_id) or {}).get("root")
            if root:  # a reviewer's message about a card always gets an effect or an answer
                await self.bot.say(root, FAILED_LINE, txn=f"failed-{event_id}", reply_to=event_id)
            self.journal.done(event_id, outcome="failed")

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

    def note(self, event_id: str | None, root: str | None, sender: str | None, outcome: str, detail: str = "",
             level: int = logging.INFO) -> None:
        """One log line per decision taken or refused about a card: ids, the outcome and why; never the words or a
        draft. INFO (callers pass DEBUG for a thread that is no card of ours), also for a card the journal no longer
        knows the proposal of."""
        proposal = (self.bot.open.get(root) or {}).get("id") if root else None
        proposal = proposal if proposal is not None else (self.journal.card_id(root) if root else None)
        card = f"proposal {proposal}" if proposal is not None else f"card {root} (proposal unknown)"
        log.log(level, "event %s on %s from %s: %s%s", event_id, card, sender, outcome, f" ({detail})" if detail else "")

    def _no_card(self, event_id: str, root: str, sender: str) -> None:
        """A thread (or reply) that is none of the bot's cards: nothing to do."""
        self.journal.done(event_id, outcome="ignored", root=root)
        self.note(event_id, root, sender, "ignored", "not a proposal card", level=logging.DEBUG)

    # -- finding the card --------------------------------------------------------------------------
    async def fetch(self, event_id: str) -> dict | None:
        """An event of the review room from Matrix (cached)."""
        if event_id not in self.fetched:
            if len(self.fetched) > MAX_REMEMBERED:
                self.fetched.clear()
            try:
                response = await asyncio.wait_for(self.bot.client.room_get_event(self.bot.room_id, event_id),
                                                  timeout=LOOKUP_TIMEOUT_SEC)
            except asyncio.TimeoutError:
                response = f"no answer within {LOOKUP_TIMEOUT_SEC} s"
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

    async def card_root(self, event_id: str | None, steps: int = 0) -> str | None:
        """The thread a reply or reaction target belongs to: the card itself, or the thread of any message in a
        thread (a client without threads sends a plain reply to a message it shows in the timeline; spec
        "Threading": such a reply belongs to the thread of the event it replies to), or, for a Reply to a Reply,
        where that one belongs (at most MAX_REPLY_CHAIN steps back). open_card() checks that the thread is one of
        the bot's cards."""
        if not event_id:
            return None
        if event_id in self.bot.open:
            return event_id
        if event_id in self.bot.said:
            return self.bot.said[event_id]
        fetched = await self.fetch(event_id)
        if not fetched:
            return None
        relation = events.relation(fetched.get("content") or {})
        if relation.kind == "thread":
            return relation.target
        if relation.kind == "reply" and steps < MAX_REPLY_CHAIN:
            return await self.card_root(relation.target, steps + 1)
        return event_id if relation.kind is None and fetched.get("sender") == self.config.user_id else None

    async def to_a_teammates_question(self, reply_to: str | None, sender: str) -> bool:
        """The message is a real Reply to a question someone else asked ("should we mention the wire date?"): a yes
        there answers them, not the card."""
        if not reply_to or await self.is_bots(reply_to):
            return False
        target = await self.fetch(reply_to)
        if not target or target.get("sender") == sender or target.get("type") != "m.room.message":
            return False
        return grammar.normalize(events.text(target.get("content") or {})).endswith("?")

    async def shows_a_draft(self, event_id: str) -> bool:
        """One of the bot's thread messages that shows a draft and invites a yes ("Revised draft: …", "The draft
        was updated…", "The draft changed meanwhile…"): a reaction on it decides, as on the card."""
        fetched = await self.fetch(event_id)
        body = str(((fetched or {}).get("content") or {}).get("body", ""))
        return bool(fetched) and fetched.get("sender") == self.config.user_id and body.endswith(INVITATIONS)

    async def is_card(self, root: str) -> bool:
        """The thread root is one of the bot's proposal cards (open or not)."""
        if root in self.bot.open or self.journal.card_id(root) is not None:
            return True
        fetched = await self.fetch(root)
        return bool(fetched) and fetched.get("sender") == self.config.user_id and \
            str((fetched.get("content") or {}).get("body", "")).startswith("Proposed note for")

    async def open_card(self, root: str) -> dict | None:
        """The open card whose thread root this is; the CRM is asked only about the bot's own cards."""
        if root in self.bot.open:
            return self.bot.open[root]
        if self.journal.card_closed(root) or not await self.is_card(root):
            return None
        await self.bot.refresh_open()  # a card posted by an earlier run, or in the CRM's last answer too late
        if root not in self.bot.open and root in self.journal.cards_being_posted():
            raise CRMUnavailable("the CRM has not recorded this card yet")  # retried shortly
        return self.bot.open.get(root)

    # -- messages ----------------------------------------------------------------------------------
    async def message(self, event: dict, relation, content: dict, edited: bool = False) -> str | None:
        """Read and act on a message in a card's conversation; returns what it did (an outcome), if anything."""
        event_id, sender = event["event_id"], event["sender"]
        root = relation.target if relation.kind == "thread" else await self.card_root(relation.target)
        if root is None:
            log.debug("event %s is about no card", event_id)
            return None
        if sender not in self.config.reviewers:  # their words are never read (reading costs the event loop time)
            async with self.lanes.lane(root):
                if not await self.is_card(root):
                    return self._no_card(event_id, root, sender)
                self.journal.start(event_id, root=root)
                await self._not_a_reviewer(root, event)
            return None
        # Where it points (a Reply to the bot, a mention) never makes a message an edit: only whether an unclear
        # one is asked back (grammar.py). Element's Reply names the replied-to sender in m.mentions.
        me = self.config.user_id
        addressed = events.mentions(content, me) or await self.is_bots(relation.reply_to)
        words = events.text(content)
        if addressed:
            words = events.without_name(words, me, self.bot.display_name)
        reading = grammar.read(words, addressed, events.others_mentioned(content, me, sender),
                               await self.to_a_teammates_question(relation.reply_to, sender))
        answering = self._answering(root, event, relation, reading)
        if answering is None:
            reading = self._while_asking(root, event, relation, reading)
        if reading.kind == "conversation":
            if not await self.is_card(root):
                return self._no_card(event_id, root, sender)
            if not edited:
                self.journal.done(event_id, outcome="conversation", root=root)
            self.note(event_id, root, sender, "conversation", "addressed to the bot" if addressed else "")
            return None  # conversation changes nothing and costs no CRM request
        async with self.lanes.lane(root):
            card = await self.open_card(root)
            if card is None and not await self.is_card(root):
                return self._no_card(event_id, root, sender)
            self.journal.start(event_id, root=root)
            answer_to = event.get("replaces") or event_id
            prefix = "Your edited message: " if edited else ""
            what = ("edited message " if edited else "") + cards.words_of(words)
            if card is None:
                await self.late(root, event_id, sender, what, answer_to, prefix)
                outcome = "late"
            elif answering:
                outcome = await self._answer(card, root, event_id, sender, reading.kind, answering[1], answer_to,
                                             prefix, what)
            else:
                outcome = reading.kind
                if reading.kind == "ask":
                    await self.bot.say(root, prefix + grammar.ASK_LINE, txn=f"ask-{event_id}", reply_to=answer_to)
                    self.note(event_id, root, sender, "ask", "approve, reject or edit?")
                elif reading.kind == "unsure":
                    await self.ask_back(root, event_id, sender, reading.instruction, answer_to, prefix)
                elif reading.kind == "edit":
                    await self.edit(card, root, event_id, sender, reading.instruction, answer_to, prefix, what)
                else:
                    await self.decide(card, root, event_id, sender, reading.kind, answer_to, prefix,
                                      sent_at=event.get("origin_server_ts"), what=what)
            self.journal.done(event_id, outcome=outcome, root=root)
            return outcome

    def _while_asking(self, root: str, event: dict, relation, reading):
        """A message that does not answer the bot's question: from the person asked, it lets their question lapse
        (whatever it says, chatter too); a bare yes or no of someone else, pointing nowhere, while the bot waits for
        a teammate's answer may be meant for the question or for the card: asked."""
        sent = event.get("origin_server_ts")
        self.journal.forget_questions(root, event["sender"], sent_after=sent)
        if reading.kind in ("approve", "reject") and relation.reply_to is None and \
                self.journal.asked_others(root, event["sender"], sent):
            return grammar.Reading("ask")
        return reading

    def _answering(self, root: str, event: dict, relation, reading) -> tuple[str, dict] | None:
        """The bot's open question ("Should I change the note to say …?") that this yes or no answers: a real reply
        to the question (anyone's), or the next yes/no of the reviewer asked, sent after the question."""
        if reading.kind not in ("approve", "reject"):
            return None
        if relation.reply_to:  # pointing at something: only the question itself
            question = self.journal.question(relation.reply_to)
            return (relation.reply_to, question) if question and question["root"] == root else None
        found = self.journal.open_question(root, event["sender"])
        sent = event.get("origin_server_ts")
        return found if found and isinstance(sent, int) and sent >= found[1]["since"] else None

    async def replaced(self, event: dict, original_id: str | None) -> None:
        """An edited message (m.replace) is read as new text if the original did nothing yet."""
        event_id, sender = event["event_id"], event.get("sender")
        original = await self.fetch(original_id) if original_id else None
        if not original or original.get("sender") != sender or original.get("type") != "m.room.message":
            self.journal.done(event_id, outcome="ignored")
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
                                         "nothing. Send a new reply instead.", txn=f"late-edit-{event_id}",
                                   reply_to=original_id)
                self.note(event_id, root, sender, "late edit", f"the original was already acted on: {entry['outcome']}")
            self.journal.done(event_id, outcome="late-edit")
            return
        if relation.kind in (None, "replace"):
            self.journal.done(event_id, outcome="ignored")
            return
        outcome = await self.message({**event, "replaces": original_id}, relation, content, edited=True)
        if outcome:
            self.journal.done(original_id, outcome=outcome, root=entry.get("root") or relation.target)
        self.journal.done(event_id, outcome=outcome or "conversation")

    async def _not_a_reviewer(self, root: str, event: dict) -> None:
        told = self.journal.first_telling(root, event["sender"])
        if told:
            await self.bot.say(root, f"Sorry {event['sender']}, only the listed reviewers can decide on proposed "
                                     "notes.", txn=f"polite-{event['event_id']}", reply_to=event["event_id"])
        self.note(event["event_id"], root, event["sender"], "not a reviewer", "told" if told else "told before")
        self.journal.done(event["event_id"], outcome="not-a-reviewer", root=root)

    # -- reactions ---------------------------------------------------------------------------------
    async def reaction(self, event: dict, relation) -> None:
        """👍/👎 on the card, on the bot's messages in its thread that show a draft, or on its question; applied
        after the grace period unless redacted."""
        event_id, sender = event["event_id"], event["sender"]
        decision = grammar.reaction(relation.key)
        if decision is None:  # ❤️, 👀: not a decision; said in the log when it is on a card
            root = await self.card_root(relation.target)
            if root is not None and await self.is_card(root):
                self.note(event_id, root, sender, "ignored", "a reaction that decides nothing")
            return
        question = self.journal.question(relation.target)
        root = question["root"] if question else await self.card_root(relation.target)
        if root is None or not await self.is_card(root):
            return
        if question is None and relation.target != root and not await self.shows_a_draft(relation.target):
            self.note(event_id, root, sender, "nod", "a reaction on a notice decides nothing")
            return  # a 👍 on "only the listed reviewers…" or "I could not revise…" is a nod, not a decision
        if sender not in self.config.reviewers:
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
            self.note(event_id, root, sender, "withdrawn", "the reaction was taken back in its grace period")
            self.journal.done(event_id, outcome="withdrawn", root=root)
            return
        what = f"{relation.key} reaction"
        async with self.lanes.lane(root):
            card = await self.open_card(root)
            outcome = decision
            if card is None:
                await self.late(root, event_id, sender, what, event_id, "")
                outcome = "late"
            elif question and self.journal.question(relation.target):  # still open: the reaction answers it
                outcome = await self._answer(card, root, event_id, sender, decision, question, event_id, "", what)
            elif question:
                self.note(event_id, root, sender, "nod", "the question was answered already")
                outcome = "nod"
            else:
                await self.decide(card, root, event_id, sender, decision, event_id,
                                  how=f" (your {relation.key} reaction)", sent_at=event.get("origin_server_ts"),
                                  what=what)
            self.journal.done(event_id, outcome=outcome, root=root)
