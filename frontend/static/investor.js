/* The investor page: profile (with the next meeting), the timeline (notes, captured emails, meetings, pending
   cards decidable here, paged with "Older") and who on the team knows this investor best. While the team's
   mailboxes are searched for a new investor's (or a new address's) mail, both say so and fill in as it arrives. */
"use strict";

(function () {
  const { api, el, formatDate, relativeDate } = window.crm;
  const { person } = window.crm.emailView;
  const PAGE = Number(new URLSearchParams(window.location.search).get("page")) || 30;
  const investorId = Number(window.location.pathname.split("/").pop());
  const list = document.getElementById("timeline");
  const more = document.getElementById("timeline-more");
  const timelineStatus = document.getElementById("timeline-status");
  let nextBefore = null;
  let investorName = "";
  let emailOn = false;
  let connectionCount = 0;
  let searching = null; // the search state while the team's mailboxes are searched (search_watch.js)
  let known = false; // the search state is known: until then no status claims "nothing yet"
  let gaveUp = false;
  let watcher = null;
  const failures = { timeline: "", connections: "" }; // a failed load's message stays until a load succeeds

  function when(iso) {
    return el("time", { dateTime: iso || "", title: formatDate(iso) }, relativeDate(iso));
  }

  function meta(...parts) {
    return el("div", { className: "note-meta" }, ...parts);
  }

  function noteItem({ note }) {
    return [meta(el("span", { className: `badge ${note.source}` }, note.source === "email" ? "note from email" : "note"),
                 el("span", {}, note.author || "unknown"), when(note.created_at),
                 window.crm.noteActions(note, investorId, reload)),
            el("p", { className: "note-body" }, note.body)];
  }

  function viewerToggle(emailId, label) {
    const button = el("button", { type: "button", className: "link view" }, label);
    button.setAttribute("aria-expanded", "false");
    let pane = null;
    button.addEventListener("click", async () => {
      if (pane) {
        pane.hidden = !pane.hidden;
        button.setAttribute("aria-expanded", String(!pane.hidden));
        return;
      }
      pane = el("div", { className: "card-email" }, el("p", { className: "status" }, "Loading email…"));
      button.closest("li").append(pane);
      button.setAttribute("aria-expanded", "true");
      try {
        pane.replaceChildren(await window.crm.emailView.load(emailId));
      } catch (err) {
        pane.replaceChildren(el("p", { className: "error" }, `The email cannot be shown: ${err.message}`));
        const failed = pane;
        pane = null; // a failed fetch may be retried
        setTimeout(() => failed.remove(), 4000);
      }
    });
    return button;
  }

  function emailItem({ email }) {
    const whom = [...email.to, ...email.cc].map(person).join(", ");
    return [meta(el("span", { className: "badge email" }, "email"), el("span", {}, `${person(email.from)} → ${whom}`),
                 when(email.date), window.crm.investorPeople.withWhom(email.people)),
            el("div", { className: "card-subject" }, email.subject ?? "(subject not shared)"),
            email.snippet ? el("p", { className: "snippet" }, email.snippet) : null,
            el("div", { className: "card-actions" }, viewerToggle(email.id, "Open email"))];
  }

  const RESPONSES = { accepted: "accepted", declined: "declined", tentative: "maybe", needsAction: "no answer" };

  // A meeting as the viewer may see it: a private event shows only "A meeting with …" (no title, no description).
  function meetingTitle(meeting) {
    return meeting.title || "A meeting (details not shared)";
  }

  function meetingItem({ meeting }) {
    const mates = meeting.teammates.map((t) => `${t.name} (${RESPONSES[t.response_status] || "no answer"})`).join(", ");
    return [meta(el("span", { className: "badge email" }, "meeting"), el("span", {}, mates), when(meeting.start)),
            el("div", { className: "card-subject" }, meetingTitle(meeting)),
            el("p", { className: "snippet" }, `With ${meeting.attendees.map(person).join(", ")}`),
            meeting.description ? el("p", { className: "snippet" }, meeting.description) : null];
  }

  function cardItem({ card }, node) {
    const draft = el("textarea", { className: "draft", rows: 3, value: card.draft });
    draft.setAttribute("aria-label", "Proposed note");
    const message = el("p", { className: "status", role: "status", hidden: true });
    const decide = async (decision) => {
      const body = { decision, expected_version: card.version };
      if (decision === "approve" && draft.value.trim() !== card.draft) body.note = draft.value.trim();
      for (const button of node.querySelectorAll("button.decide")) button.disabled = true;
      try {
        await api("POST", `/api/email/proposals/${card.id}/decide`, body);
        await reload(); // an approved card is a grid note now: show the timeline as it stands
      } catch (err) {
        const current = err.payload && err.payload.proposal;
        message.textContent = `Not done: ${current && current.status !== "pending" ? `already ${current.status}` : err.message}`;
        message.className = "error";
        message.hidden = false;
        if (current) card.version = current.version;
        for (const button of node.querySelectorAll("button.decide")) button.disabled = false;
      }
    };
    const approve = el("button", { type: "button", className: "decide approve" }, "Approve");
    const reject = el("button", { type: "button", className: "decide reject" }, "Reject");
    approve.addEventListener("click", () => decide("approve"));
    reject.addEventListener("click", () => decide("reject"));
    node.dataset.proposalId = String(card.id);
    if (card.kind === "meeting") {
      return [meta(el("span", { className: "badge proposal" }, "proposed note"), el("span", {}, "from a meeting"),
                   when(card.meeting.start)),
              el("div", { className: "card-subject" }, meetingTitle(card.meeting)),
              draft, el("div", { className: "card-actions" }, approve, reject), message];
    }
    return [meta(el("span", { className: "badge proposal" }, "proposed note"), el("span", {}, `from ${person(card.email.from)}`),
                 when(card.email.date), window.crm.investorPeople.withWhom(card.people)),
            el("div", { className: "card-subject" }, card.email.subject || "(no subject)"),
            draft, el("div", { className: "card-actions" }, approve, reject, viewerToggle(card.email.id, "View email")),
            message];
  }

  const RENDER = { note: noteItem, email: emailItem, meeting: meetingItem, card: cardItem };

  function showNextMeeting(meeting) {
    const box = document.getElementById("next-meeting");
    if (!box) return;
    box.hidden = !meeting;
    if (meeting) box.replaceChildren(el("strong", {}, "Next meeting: "), `${formatDate(meeting.start)} · ${meetingTitle(meeting)}`);
  }

  function item(entry) {
    const node = el("li", { className: `item ${entry.kind}` });
    node.dataset.kind = entry.kind;
    node.dataset.id = String(entry.id);
    node.append(...RENDER[entry.kind](entry, node).filter(Boolean));
    return node;
  }

  async function loadPage(first) {
    more.disabled = true;
    const query = `limit=${PAGE}` + (first || !nextBefore ? "" : `&before=${encodeURIComponent(nextBefore)}`);
    try {
      const page = await api("GET", `/api/investors/${investorId}/timeline?${query}`);
      const nodes = page.items.map(item);
      if (first) list.replaceChildren(...nodes); else list.append(...nodes);
      nextBefore = page.next_before;
      if (first) showNextMeeting(page.next_meeting);
      more.hidden = !nextBefore;
      emailOn = Boolean(page.email);
      failures.timeline = "";
      showStatuses();
    } catch (err) {
      failures.timeline = `Could not load the timeline: ${err.message}`;
      timelineStatus.textContent = failures.timeline;
    } finally {
      more.disabled = false;
    }
  }

  function reload() {
    nextBefore = null;
    return loadPage(true);
  }

  function connectionRow(c) {
    const strength = el("meter", { min: 0, max: 100, value: c.strength, title: `strength ${c.strength} of 100` });
    // On a phone the row is a block (app.css): name and strength, then "sent … · received … · meeting …";
    // the 90-day and 12-month counts are the desktop's. Last meeting shows a strength that comes from meetings.
    const tr = el("tr", { className: "connection" },
      el("td", { className: "mate", title: c.user.email }, c.user.name),
      el("td", { className: "num strength" }, strength, ` ${c.strength}`),
      el("td", { className: "last sent" }, when(c.last_sent)), el("td", { className: "last received" }, when(c.last_received)),
      el("td", { className: "last meeting" }, when(c.last_meeting)),
      el("td", { className: "num count" }, `${c.sent_90d} / ${c.received_90d}`),
      el("td", { className: "num count" }, `${c.sent_12m} / ${c.received_12m}`));
    tr.dataset.userId = String(c.user.id);
    return tr;
  }

  async function loadConnections() {
    const status = document.getElementById("connections-status");
    try {
      const { connections, people } = await api("GET", `/api/investors/${investorId}/connections`);
      document.getElementById("connections-body").replaceChildren(...connections.map(connectionRow));
      window.crm.investorPeople.showConnections(people);
      document.getElementById("connections").hidden = !connections.length;
      connectionCount = connections.length;
      failures.connections = "";
      showStatuses();
    } catch (err) {
      failures.connections = `Could not load connections: ${err.message}`;
      status.textContent = failures.connections;
    }
  }

  function setupNoteForm() {
    const form = document.getElementById("add-note");
    const text = document.getElementById("new-note");
    const error = document.getElementById("note-error");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (!text.value.trim()) return;
      error.hidden = true;
      try {
        await api("POST", `/api/investors/${investorId}/notes`, { body: text.value.trim() });
        text.value = "";
        await reload();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    });
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
  }

  /* What the timeline and "Who knows them" say when they show nothing (or while mail is still searched for). */
  function showStatuses() {
    if (!known) return;
    const connections = document.getElementById("connections-status");
    const searchText = searching ? window.crm.searchWatch.message(searching, investorName) : "";
    const later = gaveUp ? "The team's mailboxes are still being searched: look again in a few minutes." : "";
    let timelineText = list.children.length ? "" : "Nothing yet: no notes, emails, meetings or proposed notes.";
    if (!emailOn) timelineText += " Email capture is off: notes only.";
    timelineStatus.textContent = failures.timeline || searchText || later || timelineText.trim();
    connections.textContent = failures.connections || searchText || later || (connectionCount ? "" : emailOn
      ? "No one on the team has emailed them yet." : "Email capture is off.");
    for (const node of [timelineStatus, connections]) node.classList.toggle("searching", Boolean(searchText));
  }

  function refresh() {
    return Promise.all([reload(), loadConnections()]);
  }

  /* Follow the targeted search for this investor's mail; resolves once its first state is known. */
  function watchSearch() {
    if (watcher) watcher.stop();
    gaveUp = false;
    watcher = window.crm.searchWatch.watch(investorId, {
      onProgress: (state) => { const fresh = !searching; searching = state; if (fresh) showStatuses(); else refresh(); },
      onDone: () => { searching = null; refresh(); },
      onGiveUp: () => { searching = null; gaveUp = true; refresh(); },
    });
    return watcher.first;
  }

  async function start() {
    const status = document.getElementById("investor-status");
    let investor;
    try {
      investor = await api("GET", `/api/investors/${investorId}`);
      window.crm.investorPeople.setup(investor);
    } catch (err) {
      if (err.status !== 401) status.textContent = err.status === 404 ? "No such investor." : err.message;
      return;
    }
    investorName = investor.name;
    window.crm.investorProfile.setup(investor, (saved) => {
      investorName = saved.name;
      if (emailOn) watchSearch(); // a new address: its mail is searched for now
    });
    status.hidden = true;
    document.getElementById("relationship").hidden = false;
    more.addEventListener("click", () => loadPage(false));
    setupNoteForm();
    document.addEventListener("investor-people-changed", () => refresh());
    await refresh();
    if (emailOn) await watchSearch();
    known = true;
    showStatuses();
  }

  window.crm.me.then(start, () => {});
})();
