"""What the bot does on an open card, or says of a closed one (the acting half of replies.py): decide, revise
through the model, ask back, answer the bot's own question, and answer a decision that came too late or lost a
race. A mixin of Replies: it uses the bot (`self.bot`), the journal and Replies.note()."""
from __future__ import annotations

from . import cards, grammar
from .crm_api import CRMRefused, CRMUnavailable
from .journal import QUESTION_CHARS, now_ms
from .llm import LLMError

KEPT_LINE = "OK, the note stays as it is."


class CardActions:
    # -- the bot's question --------------------------------------------------------------------------
    async def _answer(self, card: dict, root: str, event_id: str, sender: str, yes_or_no: str, question: dict,
                      answer_to: str, prefix: str, what: str) -> str:
        """A yes to the bot's question revises the note with the words it asked about; a no leaves it."""
        self.journal.forget_questions(root, question["asked"])
        if yes_or_no == "approve":
            await self.edit(card, root, event_id, sender, question["instruction"], answer_to, prefix, what)
            return "edit"
        await self.bot.say(root, prefix + KEPT_LINE, txn=f"kept-{event_id}", reply_to=answer_to)
        self.note(event_id, root, sender, "kept", "no to the question: the note stays")
        return "kept"

    async def ask_back(self, root: str, event_id: str, sender: str, instruction: str, answer_to: str,
                       prefix: str) -> None:
        """Maybe an instruction: ask before anything reaches the model. Words too long to keep whole are not asked
        about (a yes would revise with part of them): the reviewer is asked for an edit instead."""
        if len(instruction) > QUESTION_CHARS:
            await self.bot.say(root, prefix + grammar.ASK_LINE, txn=f"ask-{event_id}", reply_to=answer_to)
            self.note(event_id, root, sender, "ask", "too long to ask back")
            return
        asked = await self.bot.say(root, prefix + grammar.question(cards.cut(instruction, 300)),
                                   txn=f"question-{event_id}", reply_to=answer_to)
        if asked:
            # its time on the homeserver's clock, as the replies' origin_server_ts: a yes sent before it is no answer
            self.journal.record_question(asked, root, sender, instruction, await self.sent_at(asked))
        self.note(event_id, root, sender, "unsure", "asked whether to revise the note")

    async def sent_at(self, event_id: str) -> int:
        """An event's origin_server_ts (the bot's own clock if the homeserver will not say)."""
        sent = ((await self.fetch(event_id)) or {}).get("origin_server_ts")
        return sent if isinstance(sent, int) else now_ms()

    def newer_draft_shown(self, root: str) -> None:
        """The room was shown a newer draft: a question about the old one is closed (a yes now means this one)."""
        self.journal.forget_questions(root)

    # -- decisions -----------------------------------------------------------------------------------
    async def late(self, root: str, event_id: str, sender: str, what: str, answer_to: str, prefix: str) -> None:
        """A decision on a card no longer open: one line saying who decided it, where and when (the CRM's
        state), and that this one changed nothing."""
        proposal_id = self.journal.card_id(root)
        state, seconds = {}, None
        if proposal_id is not None:
            try:
                found = await self.bot.crm.proposal(proposal_id)
                state, seconds = found.get("proposal") or {}, found.get("decided_ago_sec")
            except CRMRefused as error:
                if error.status != 404:
                    raise
                state = {"status": "withdrawn"}  # hidden from the bot now: say nothing more
        if state.get("status") in (None, "pending"):
            line = f"This card is no longer open here; your {what} changed nothing. Please decide on the web."
        else:
            line = cards.already_line(state, seconds, what)
        await self.bot.say(root, prefix + line, txn=f"late-{event_id}", reply_to=answer_to)
        self.note(event_id, root, sender, "conflict", self._decided(state, "the card was closed"))

    @staticmethod
    def _decided(state: dict, otherwise: str) -> str:
        if state.get("status") in ("approved", "rejected"):
            return f"already {state['status']} via {state.get('decided_via')} by {state.get('decided_by')}"
        return f"{state['status']}" if state.get("status") else otherwise

    async def decide(self, card: dict, root: str, event_id: str, actor: str, decision: str, answer_to: str,
                     prefix: str = "", how: str = "", sent_at: int | None = None, what: str = "") -> None:
        """Ask the CRM to apply `decision` to the version the room showed at `sent_at` (the event's
        origin_server_ts); a newer draft meanwhile makes it a 409, and the thread shows the new one."""
        entry = self.journal.entry(event_id)
        replay = entry.get("version") is not None  # seen before a crash: the CRM may have it
        version = entry["version"] if replay else self.bot.shown_version(card, sent_at)
        self.journal.update(event_id, version=version)
        reply = await self._crm_decide(card, root, event_id, actor, answer_to,
                                       f"{actor}'s {decision} is NOT confirmed as recorded",
                                       decision, actor, expected_version=version)
        if reply is None:
            return
        status, current, found = reply
        mine = replay and current.get("decided_via") == "matrix" and current.get("decided_by") == actor
        if status == 200 or mine:
            self._closed(root, card)
            line = cards.decided_line(current.get("status", decision + "d"), actor, "matrix")
            await self.bot.say(root, prefix + line[:-1] + how + ".", txn=f"done-{event_id}", reply_to=answer_to)
            self.note(event_id, root, actor, current.get("status", decision + "d"), f"version {version}")
        elif current.get("status") == "pending":  # the draft changed (edited on the web) since it was shown
            sending = now_ms()
            await self.bot.say(root, f"{prefix}The draft changed meanwhile; it now reads: "
                                     f"{cards.quote(current['draft'])}. Reply yes to approve this version.",
                               txn=f"stale-{event_id}", reply_to=answer_to)
            self.bot.adopt(card, current, since_ms=sending)
            self.newer_draft_shown(root)
            self.note(event_id, root, actor, "stale", f"{decision} of version {version}; the draft is now version "
                                                      f"{current.get('version')}")
        else:  # lost a race: decided meanwhile (here, on the web, in bulk)
            self._closed(root, card)
            await self.bot.say(root, prefix + cards.already_line(current, found.get("decided_ago_sec"), what or
                                                                 decision), txn=f"conflict-{event_id}",
                               reply_to=answer_to)
            self.note(event_id, root, actor, "conflict", self._decided(current, "decided elsewhere"))

    def _closed(self, root: str, card: dict) -> None:
        """The card is decided: replies to it from now on are late ones."""
        self.bot.open.pop(root, None)
        self.journal.remember_card(root, card["id"], closed=True)

    async def edit(self, card: dict, root: str, event_id: str, actor: str, instruction: str, answer_to: str,
                   prefix: str = "", what: str = "") -> None:
        entry = self.journal.entry(event_id)
        if entry.get("version") is None:
            self.journal.update(event_id, version=self.bot.shown_version(card))
        lead = ""
        for attempt in (1, 2):
            revision = entry.get("revision")
            if revision is not None and card["draft"] == revision:  # applied before a crash: show it again
                await self._show_revision(card, root, event_id, revision, answer_to, prefix + lead)
                self.note(event_id, root, actor, "edit", "revised before a restart; shown again")
                return
            if revision is None:
                try:
                    async with self.bot.revising():
                        revision = await self.bot.reviser.revise(card["draft"], instruction,
                                                                 self.journal.context(card["id"]))
                except LLMError as error:
                    await self.bot.say(root, prefix + f"I could not revise the draft: {error}. The draft is "
                                                      "unchanged.", txn=f"llm-{event_id}", reply_to=answer_to)
                    self.note(event_id, root, actor, "edit failed", f"the model: {error}")
                    return
                self.journal.update(event_id, revision=revision)
            self.journal.record_own_revision(card["id"], revision)  # before the CRM has it: never shown as a web edit
            reply = await self._crm_decide(card, root, event_id, actor, answer_to,
                                           "the revision is NOT confirmed as saved", "edit", actor, note=revision,
                                           expected_version=entry["version"])
            if reply is None:
                return
            status, current, found = reply
            if status == 200 or (current.get("status") == "pending" and current.get("draft") == revision):
                card.update(version=current["version"], draft=current["draft"])
                await self._show_revision(card, root, event_id, revision, answer_to, prefix + lead)
                self.note(event_id, root, actor, "edit", f"revised: version {current['version']}")
                return
            if attempt == 1 and current.get("status") == "pending" and \
                    str(current.get("drafted_by") or "").startswith("model:"):
                # The model's first draft landed while this revision was written: the reviewer's change is meant
                # for the note, so it is applied to that draft (a person's edit on the web would not be overridden).
                card.update(version=current["version"], draft=current["draft"])
                self.journal.update(event_id, version=current["version"], revision=None)
                lead = "The model's first draft arrived meanwhile; I applied your change to it.\n"
                continue
            break
        if current.get("status") == "pending":
            sending = now_ms()
            await self.bot.say(root, f"{prefix}The revision was not saved: the draft changed meanwhile (now: "
                                     f"{cards.quote(current.get('draft'))}).", txn=f"editfail-{event_id}",
                               reply_to=answer_to)
            self.bot.adopt(card, current, since_ms=sending)
            self.newer_draft_shown(root)
            self.note(event_id, root, actor, "stale", f"edit of version {entry['version']}; the draft is now "
                                                      f"version {current.get('version')}")
        else:
            self._closed(root, card)
            await self.bot.say(root, prefix + cards.already_line(current, found.get("decided_ago_sec"), what or "edit"),
                               txn=f"editfail-{event_id}", reply_to=answer_to)
            self.note(event_id, root, actor, "conflict", self._decided(current, "decided elsewhere"))

    async def _crm_decide(self, card: dict, root: str, event_id: str, actor: str, answer_to: str, unconfirmed: str,
                          *args, **kwargs):
        """crm.decide → (status, proposal state, the whole answer); None once the CRM stayed unreachable for a few
        rounds (the thread is told `unconfirmed`). Before that a CRM outage propagates: the reply is retried."""
        try:
            status, payload = await self.bot.crm.decide(card["id"], *args, **kwargs)
        except CRMUnavailable:
            self.outages[event_id] = self.outages.get(event_id, 0) + 1
            if self.outages[event_id] >= 3:  # after a few rounds of the CRM client's own retries, give up loudly
                await self.bot.say(root, f"I could not reach the CRM: {unconfirmed}. Please check the card on the "
                                         "web page.", txn=f"gaveup-{event_id}", reply_to=answer_to)
                self.note(event_id, root, actor, "gave up", "the CRM stayed unreachable")
                return None
            raise
        self.outages.pop(event_id, None)
        return status, payload.get("proposal") or {}, payload

    async def _show_revision(self, card: dict, root: str, event_id: str, revision: str, answer_to: str,
                             prefix: str) -> None:
        self.journal.record_shown(card["id"], card["version"], revision)
        self.newer_draft_shown(root)
        await self.bot.say(root, prefix + f"Revised draft: {cards.quote(revision)}\nReply yes (or react 👍 here) to "
                                          "approve it, or say what else to change.", txn=f"rev-{event_id}",
                           reply_to=answer_to)
