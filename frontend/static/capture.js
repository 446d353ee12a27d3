/* Email Capture: one card per pending proposed note, newest email or meeting first; approve / reject / edit next to
   the email (a meeting card shows the event's details in place of "View email"), or select many (click, shift-click, x, "select all shown") and decide them with one
   confirmation. Thousands of cards: all the data is loaded, but only the cards near the viewport are
   built and in the page (a window over the list, with spacers standing in for the rest at their
   measured or estimated heights), so the page costs the same at 50 cards or 5,000.
   Polls (default 25 s, ?poll=MS for tests) to add new cards and clear ones decided elsewhere,
   leaving alone a card someone is editing or reading. */
"use strict";

(function () {
  const { api, el, formatDate } = window.crm;
  // ?poll= is for tests; the floor keeps a crafted link (?poll=1) from hammering the server and
  // using up the per-address rate limit of everyone behind the same address.
  const MIN_POLL_MS = 2000;
  const POLL_MS = Math.max(MIN_POLL_MS, Number(new URLSearchParams(window.location.search).get("poll")) || 25000);
  const MIN_WINDOW = 24; // cards in the page at least (a short list is there whole)
  const OVERSCAN_PX = 600; // rendered beyond the viewport on each side
  const GAP_PX = 10; // .cards > .card margin-bottom
  const BULK_MAX = 5000; // ids per POST /api/email/proposals/bulk
  const list = document.getElementById("cards");
  const before = el("div", { className: "spacer" });
  const after = el("div", { className: "spacer" });
  const status = document.getElementById("capture-status");
  const errorBox = document.getElementById("capture-error");
  const investorFilter = document.getElementById("filter-investor");
  const teammateFilter = document.getElementById("filter-teammate");
  const bulkApprove = document.getElementById("bulk-approve");
  const bulkReject = document.getElementById("bulk-reject");
  const selectAll = document.getElementById("select-all");
  const selectNone = document.getElementById("select-none");
  const scopeAll = document.getElementById("select-scope-all"); // admins: "*" takes teammates' cards too
  let me = null;
  const cards = new Map(); // proposal id → {proposal, node?, textarea, dirty, viewer, checkbox}
  let order = []; // every pending id, newest email first (the server's order)
  let shown = []; // the ids passing the filters, in order
  let start = 0; // shown[start .. end) are in the page
  let end = 0;
  const heights = new Map(); // proposal id → measured height of its card, gap included
  let estimate = 180; // for cards never measured: the mean of those that were
  const selected = new Set();
  let anchor = null; // the last card clicked for selection: shift-click selects from here
  let total = 0;
  let bulkBusy = false;
  let notice = ""; // the outcome of the last bulk decision, shown until the next selection

  function person(p) { return window.crm.emailView.person(p); }

  // What a card is about, in a line: the email's subject, or the meeting's title (a private event's holder
  // alone sees its title; others get "A meeting with <investor>"). capture_decided.js uses it too.
  function subjectOf(p) {
    if (p.kind === "meeting") return p.meeting.title ? `Meeting: ${p.meeting.title}` : `A meeting with ${p.investor.name}`;
    return p.email.subject || "(no subject)";
  }
  window.crm.cardSubject = subjectOf;
  // A meeting's attendee by name where the event gives one (Google's displayName), else the address.
  const attendeeName = (p) => p.name || p.email;
  function attendeeLine(people) {
    const named = people.slice(0, 4).map(attendeeName).join(", ");
    return people.length > 4 ? `${named} and ${people.length - 4} more` : named;
  }
  const dateOf = (p) => (p.kind === "meeting" ? p.meeting.start : p.email.date);

  const RESPONSES = { accepted: "accepted", declined: "declined", tentative: "maybe", needsAction: "no answer" };

  // "Dec 1, 2026, 11:00 AM – 12:00 PM": a range within one day names the day once.
  const DAY = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
  const TIME = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
  function whenOf(start, end) {
    const from = new Date(start), to = new Date(end);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime())) return `${formatDate(start)} – ${formatDate(end)}`;
    return DAY.format(from) === DAY.format(to) ? `${formatDate(start)} – ${TIME.format(to)}` : `${formatDate(start)} – ${formatDate(end)}`;
  }

  function meetingDetails(meeting) {
    const who = (people) => people.map((p) => `${attendeeName(p)}${p.organizer ? " (organizer)" : ""}`).join(", ");
    const rows = [["When", whenOf(meeting.start, meeting.end)]];
    if (meeting.location) rows.push(["Where", meeting.location]);
    rows.push(["Attendees", who(meeting.attendees) || "—"]);
    rows.push(["Teammates", meeting.teammates.map((t) => `${t.name} (${RESPONSES[t.response_status] || "no answer"})`).join(", ") || "—"]);
    const box = el("div", { className: "card-email" }, el("dl", { className: "email-meta meeting-details" },
      ...rows.flatMap(([label, value]) => [el("dt", {}, label), el("dd", {}, value)])));
    box.dataset.meetingDetail = String(meeting.id);
    if (meeting.description) box.append(el("p", { className: "meeting-description" }, meeting.description));
    return box;
  }

  function busy(entry) {
    return !!entry.node && (entry.dirty || entry.node.contains(document.activeElement) ||
                            !!(entry.viewer && !entry.viewer.hidden));
  }

  function setMessage(entry, text, isError) {
    if (!entry.node) return;
    entry.message.textContent = text || "";
    entry.message.className = isError ? "error" : "status";
    entry.message.hidden = !text;
  }

  function updateStatus() {
    const filtered = investorFilter.value || teammateFilter.value;
    const parts = [cards.size ? `${cards.size} pending to review` : "Nothing to review: every proposed note is decided."];
    if (total > cards.size) parts.push(`(${total} in all; the newest ${cards.size} are loaded)`);
    if (filtered && cards.size) parts.push(`· ${shown.length} shown`);
    if (selected.size) parts.push(`· ${selected.size} selected`);
    if (notice) parts.unshift(notice);
    status.textContent = parts.join(" ");
    bulkApprove.disabled = bulkReject.disabled = !selected.size || bulkBusy;
    selectNone.disabled = !selected.size;
    bulkApprove.textContent = selected.size ? `Approve ${selected.size} selected` : "Approve selected";
    bulkReject.textContent = selected.size ? `Reject ${selected.size} selected` : "Reject selected";
  }

  // -- one card ----------------------------------------------------------------------------------
  // The toggle says what it does next: "View email" while closed, "Hide email" while open (aria-expanded too).
  function setExpanded(entry, open) {
    const what = entry.proposal.kind === "meeting" ? "meeting" : "email";
    entry.viewButton.textContent = `${open ? "Hide" : "View"} ${what}`;
    entry.viewButton.setAttribute("aria-expanded", String(open));
  }

  async function toggleView(entry) {
    if (entry.viewer) {
      entry.viewer.hidden = !entry.viewer.hidden;
      setExpanded(entry, !entry.viewer.hidden);
      return;
    }
    if (entry.proposal.kind === "meeting") { // the card holds the event's details: nothing to fetch
      entry.viewer = meetingDetails(entry.proposal.meeting);
      entry.node.append(entry.viewer);
      setExpanded(entry, true);
      return;
    }
    performance.mark("capture:view-start");
    entry.viewer = el("div", { className: "card-email" }, el("p", { className: "status" }, "Loading email…"));
    entry.node.append(entry.viewer);
    setExpanded(entry, true);
    try {
      entry.viewer.replaceChildren(await window.crm.emailView.load(entry.proposal.email.id));
      void entry.viewer.offsetHeight;
      performance.mark("capture:view-shown");
    } catch (err) {
      entry.viewer.replaceChildren(el("p", { className: "error" }, `The email cannot be shown: ${err.message}`));
      const viewer = entry.viewer;
      entry.viewer = null; // a failed fetch may be retried
      setExpanded(entry, false);
      setTimeout(() => viewer.remove(), 4000);
    }
  }

  function whyNot(err) {
    const current = err.payload && err.payload.proposal;
    return current && current.status !== "pending"
      ? `Already ${current.status}${current.decided_by ? ` by ${current.decided_by}` : ""}${current.decided_via ? ` (${current.decided_via})` : ""}.`
      : err.message;
  }

  async function decide(entry, decision) {
    const body = { decision, expected_version: entry.proposal.version };
    const text = entry.textarea.value.trim();
    if (decision === "edit" || (decision === "approve" && text !== entry.proposal.draft)) body.note = text;
    for (const button of entry.node.querySelectorAll("button.decide")) button.disabled = true;
    setMessage(entry, decision === "edit" ? "Saving…" : "Sending…");
    try {
      const reply = await api("POST", `/api/email/proposals/${entry.proposal.id}/decide`, body);
      if (reply.proposal.status === "pending") {
        entry.proposal.version = reply.proposal.version;
        entry.proposal.draft = reply.proposal.draft;
        entry.proposal.drafted_by = reply.proposal.drafted_by;
        showDrafter(entry);
        entry.dirty = false;
        setMessage(entry, "Saved.");
      } else {
        drop([entry.proposal.id], true);
        notice = `${reply.proposal.status === "approved" ? "Approved" : "Rejected"} "${subjectOf(entry.proposal)}"` +
          " (undo it under \"Decided recently\").";
        updateStatus();
        document.dispatchEvent(new CustomEvent("crm:decided"));
      }
    } catch (err) {
      setMessage(entry, `Not done: ${whyNot(err)}`, true);
      const current = err.payload && err.payload.proposal;
      if (current && current.status === "pending") entry.proposal.version = current.version;
    } finally {
      for (const button of entry.node.querySelectorAll("button.decide")) button.disabled = false;
    }
  }

  // Who wrote the draft in the box: the model on the Spark, the CRM's own drafter, or a person.
  function draftedBy(drafted) {
    if (drafted && drafted.startsWith("model:")) return `Drafted by the model (${drafted.slice(6)})`;
    return drafted === "edited" ? "Edited by a person" : "Drafted by the CRM";
  }

  function showDrafter(entry) {
    entry.drafter.textContent = draftedBy(entry.proposal.drafted_by);
    entry.drafter.dataset.draftedBy = entry.proposal.drafted_by || "crm";
  }

  /* The card's who (issue 24, item 8): the investor's person the email is with, then the investor
     ("Leo Park · Fjord Capital"); without a known person, the investor and its firm as before. */
  function cardWho(proposal) {
    const investor = proposal.investor;
    const people = (proposal.people || []).map((p) => p.name);
    if (!people.length) {
      return [el("strong", {}, investor.name), investor.firm ? el("span", { className: "status" }, ` · ${investor.firm}`) : null];
    }
    return [el("strong", { className: "card-person" }, people.join(", ")),
            el("span", { className: "status" }, ` · ${investor.firm || investor.name}`)];
  }

  // The draft's box fits its text: a row per wrapped line (an estimate from the box's width), 2 to 8 rows.
  function fitRows(textarea) {
    const perLine = Math.max(20, Math.floor((textarea.clientWidth || Math.min(window.innerWidth, 900) - 60) / 7.5));
    const lines = textarea.value.split("\n").reduce((n, line) => n + Math.max(1, Math.ceil(line.length / perLine)), 0);
    textarea.rows = Math.min(8, Math.max(2, lines));
  }

  function build(entry) {
    const proposal = entry.proposal;
    const node = el("article", { className: "card", tabIndex: 0, id: `proposal-${proposal.id}` });
    node.dataset.proposalId = String(proposal.id);
    const meeting = proposal.kind === "meeting";
    const investor = proposal.investor;
    entry.checkbox = el("input", { type: "checkbox", className: "select", checked: selected.has(proposal.id) });
    entry.checkbox.setAttribute("aria-label", `Select the note for ${investor.name}: ${subjectOf(proposal)}`);
    entry.checkbox.addEventListener("click", (event) => clickSelect(proposal.id, event.shiftKey, entry.checkbox.checked));
    node.classList.toggle("selected", selected.has(proposal.id));
    node.append(
      el("header", { className: "card-head" }, entry.checkbox,
        ...cardWho(proposal),
        el("span", { className: "card-date" }, formatDate(dateOf(proposal)))),
      el("div", { className: "card-subject" }, subjectOf(proposal)),
      el("div", { className: "status" }, meeting
        ? `With ${attendeeLine(proposal.meeting.attendees)}`
        : `From ${person(proposal.email.from)}`),
      ...(proposal.owner_only ? [el("p", { className: "status owner-only" }, meeting
        ? "Only you see this card: this meeting is private, or your calendar's visibility keeps it from teammates and the review room."
        : "Only you see this card: your mailbox's visibility keeps this email from teammates and the review room.")] : []));
    entry.textarea = el("textarea", { className: "draft", rows: 3, value: proposal.draft });
    entry.textarea.setAttribute("aria-label", "Proposed note");
    entry.drafter = el("div", { className: "status drafted-by" });
    showDrafter(entry);
    entry.textarea.addEventListener("input", () => {
      entry.dirty = entry.textarea.value !== entry.proposal.draft;
      fitRows(entry.textarea);
    });
    fitRows(entry.textarea);
    entry.viewButton = el("button", { type: "button", className: "link view" }, meeting ? "View meeting" : "View email");
    entry.viewButton.setAttribute("aria-expanded", "false");
    entry.viewButton.addEventListener("click", () => toggleView(entry));
    const approve = el("button", { type: "button", className: "decide approve" }, "Approve");
    const reject = el("button", { type: "button", className: "decide reject" }, "Reject");
    const save = el("button", { type: "button", className: "decide save" }, "Save edit");
    approve.addEventListener("click", () => decide(entry, "approve"));
    reject.addEventListener("click", () => decide(entry, "reject"));
    save.addEventListener("click", () => decide(entry, "edit"));
    entry.message = el("p", { className: "status", role: "status", hidden: true });
    const hide = proposal.holder && !meeting ? window.crm.privacy.toggle(proposal.thread_id, false, () => drop([proposal.id], true)) : null;
    node.append(entry.drafter, entry.textarea, el("div", { className: "card-actions" }, approve, reject, save, entry.viewButton, hide),
                entry.message);
    entry.node = node;
    return node;
  }

  // -- the window of rendered cards ----------------------------------------------------------------
  function nodeOf(id) {
    const entry = cards.get(id);
    return entry.node || build(entry);
  }

  function heightOf(id) {
    return heights.get(id) || estimate;
  }

  /* Which cards the viewport (plus overscan) needs: [first, last) over `shown`, and the pixels above. */
  function wanted(pinned) {
    const listTop = list.getBoundingClientRect().top + window.scrollY;
    const top = window.scrollY - listTop - OVERSCAN_PX;
    const bottom = window.scrollY + window.innerHeight - listTop + OVERSCAN_PX;
    let first = 0;
    let above = 0;
    while (first < shown.length && above + heightOf(shown[first]) < top) above += heightOf(shown[first++]);
    let last = first;
    let y = above;
    while (last < shown.length && (y < bottom || last - first < MIN_WINDOW)) y += heightOf(shown[last++]);
    if (pinned !== undefined && pinned >= 0) { // a card that must be in the page (keyboard, link)
      while (pinned < first) above -= heightOf(shown[--first]);
      last = Math.max(last, Math.min(shown.length, pinned + 1));
    }
    return { first, last, above };
  }

  /* Put shown[first .. last) in the page between the spacers, moving as few nodes as possible (a moved
     node loses focus, so the usual case, nothing changed, moves none); then measure what is shown. */
  function render(pinned) {
    const t0 = performance.now();
    const { first, last, above } = wanted(pinned);
    start = first;
    end = last;
    if (before.parentNode !== list) list.prepend(before);
    if (after.parentNode !== list) list.append(after);
    // Take out what left the window first, then insert only what is missing or out of order: a card
    // already in place is never moved, so a textarea someone is typing in keeps its focus and text.
    const keep = new Set();
    for (let i = start; i < end; i += 1) keep.add(nodeOf(shown[i]));
    for (let node = before.nextElementSibling; node && node !== after;) {
      const next = node.nextElementSibling;
      if (!keep.has(node)) node.remove();
      node = next;
    }
    let cursor = before.nextElementSibling;
    for (let i = start; i < end; i += 1) {
      const node = nodeOf(shown[i]);
      if (cursor === node) { cursor = cursor.nextElementSibling; continue; }
      list.insertBefore(node, cursor);
    }
    let below = 0;
    for (let i = end; i < shown.length; i += 1) below += heightOf(shown[i]);
    before.style.height = `${above}px`;
    after.style.height = `${below}px`;
    measure();
    updateStatus();
    performance.measure("capture:window", { start: t0, end: performance.now() }); // read by the benchmark
  }

  function measure() {
    let sum = 0;
    let count = 0;
    for (let i = start; i < end; i += 1) {
      const height = cards.get(shown[i]).node.offsetHeight + GAP_PX;
      heights.set(shown[i], height);
      sum += height;
      count += 1;
    }
    if (count) estimate = Math.round((estimate + sum / count) / 2);
  }

  let scheduled = false;
  window.addEventListener("scroll", () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; render(); });
  }, { passive: true });
  window.addEventListener("resize", () => render());

  /* Bring shown[index] into the page and into view; its node. */
  function reveal(index) {
    let offset = 0;
    for (let i = 0; i < index; i += 1) offset += heightOf(shown[i]);
    const listTop = list.getBoundingClientRect().top + window.scrollY;
    const node = nodeOf(shown[index]);
    if (!node.isConnected) window.scrollTo(0, listTop + offset - window.innerHeight / 3);
    render(index);
    node.scrollIntoView({ block: "nearest" });
    return node;
  }

  // -- data: load, merge, filter ---------------------------------------------------------------------
  function passes(entry) {
    const investor = investorFilter.value;
    const teammate = teammateFilter.value;
    if (investor && String(entry.proposal.investor.id) !== investor) return false;
    if (teammate && !(entry.proposal.teammates || []).some((t) => String(t.id) === teammate)) return false;
    return true;
  }

  function applyFilters() {
    shown = order.filter((id) => passes(cards.get(id)));
  }

  function fillFilter(select, counts) {
    const current = select.value;
    const first = select.options[0];
    const options = [...counts.values()].sort((a, b) => a.name.localeCompare(b.name))
      .map((c) => el("option", { value: String(c.id) }, `${c.name} (${c.count})`));
    select.replaceChildren(first, ...options);
    select.value = counts.has(current) || current === "" ? current : "";
  }

  function fillFilters() {
    const investors = new Map();
    const teammates = new Map();
    const tally = (map, id, name) => {
      const key = String(id);
      if (!map.has(key)) map.set(key, { id, name, count: 0 });
      map.get(key).count += 1;
    };
    for (const id of order) {
      const p = cards.get(id).proposal;
      tally(investors, p.investor.id, p.investor.name);
      for (const t of p.teammates || []) tally(teammates, t.id, t.name);
    }
    fillFilter(investorFilter, investors);
    fillFilter(teammateFilter, teammates);
  }

  /* Cards that left the pending list: decided here (gone at once), or elsewhere (gone unless in use). */
  function drop(ids, decidedHere) {
    for (const id of ids) {
      const entry = cards.get(id);
      if (!entry) continue;
      if (!decidedHere && busy(entry)) {
        setMessage(entry, "Decided elsewhere; this card stays until you move on.", true);
        entry.stale = true;
        continue;
      }
      const hadFocus = entry.node && entry.node.contains(document.activeElement);
      const neighbour = hadFocus && [entry.node.nextElementSibling, entry.node.previousElementSibling]
        .find((n) => n && n.classList.contains("card"));
      cards.delete(id);
      selected.delete(id);
      if (anchor === id) anchor = null;
      if (entry.node) entry.node.remove();
      if (neighbour) neighbour.focus();
    }
    const gone = new Set(ids.filter((id) => !cards.has(id)));
    if (!gone.size) return;
    total = Math.max(cards.size, total - gone.size);
    order = order.filter((id) => !gone.has(id));
    shown = shown.filter((id) => !gone.has(id));
    fillFilters();
    render();
  }

  function merge(proposals) {
    const seen = new Set();
    for (const proposal of proposals) {
      seen.add(proposal.id);
      const entry = cards.get(proposal.id);
      if (!entry) {
        cards.set(proposal.id, { proposal, node: null, dirty: false, viewer: null });
      } else if (proposal.version !== entry.proposal.version && !busy(entry)) {
        entry.proposal = proposal;
        if (entry.node) {
          entry.textarea.value = proposal.draft;
          showDrafter(entry);
        }
      }
    }
    const stale = [...cards.keys()].filter((id) => !seen.has(id));
    order = proposals.map((p) => p.id).concat(stale.filter((id) => busy(cards.get(id))));
    fillFilters();
    applyFilters();
    drop(stale, false);
    render();
  }

  async function refresh() {
    try {
      const reply = await api("GET", "/api/email/proposals?status=pending&limit=10000");
      performance.mark("capture:data");
      total = reply.total || reply.proposals.length;
      merge(reply.proposals);
      void list.offsetHeight; // style and layout included in what the benchmark measures
      performance.mark("capture:rendered");
      errorBox.hidden = true;
    } catch (err) {
      errorBox.textContent = err.status === 503 ? "The Gmail integration is off." : `Could not load proposals: ${err.message}`;
      errorBox.hidden = false;
    }
  }

  function filtersChanged() {
    selectShown(false); // a selection is of what is shown: a hidden card is never decided by surprise
    applyFilters();
    window.scrollTo(0, 0);
    render();
  }

  // -- selection and bulk decisions --------------------------------------------------------------------
  function setSelected(id, on) {
    if (on) selected.add(id); else selected.delete(id);
    const entry = cards.get(id);
    if (entry && entry.node) {
      entry.checkbox.checked = on;
      entry.node.classList.toggle("selected", on);
    }
  }

  function clickSelect(id, range, on) {
    notice = "";
    const from = anchor === null ? -1 : shown.indexOf(anchor);
    const to = shown.indexOf(id);
    if (range && from >= 0 && to >= 0) {
      for (let i = Math.min(from, to); i <= Math.max(from, to); i += 1) setSelected(shown[i], on);
    } else {
      setSelected(id, on);
    }
    anchor = id;
    updateStatus();
  }

  /* `*` and "Select all shown" take the cards shown that are the user's own (their mailbox holds the email),
     never a teammate's fresh cards, unless an admin ticks "Include teammates' cards" (issue 24, item 5). */
  function own(id) {
    const p = cards.get(id).proposal;
    return (p.teammates || []).some((t) => me && t.id === me.id);
  }

  function selectShown(on) {
    notice = "";
    if (!on) {
      for (const id of [...selected]) setSelected(id, false);
      updateStatus();
      return;
    }
    const everyone = scopeAll && scopeAll.checked && me && me.role === "admin";
    const taken = everyone ? shown : shown.filter(own);
    for (const id of taken) setSelected(id, true);
    const left = shown.length - taken.length;
    if (left) notice = `${left} teammate${left === 1 ? "'s card" : "s' cards"} left out` +
      (me && me.role === "admin" ? " (tick \"Include teammates' cards\" to take them too)." : ".");
    updateStatus();
  }

  async function decideSelected(decision) {
    const ids = shown.filter((id) => selected.has(id));
    if (!ids.length || bulkBusy) return;
    const word = decision === "approve" ? "Approve" : "Reject";
    const what = decision === "approve" ? "Each becomes a grid note with its draft as shown." : "No note is written.";
    const theirs = ids.filter((id) => !own(id)).length;
    const count = `${ids.length} proposed note${ids.length === 1 ? "" : "s"}`;
    const ok = await window.crm.confirmDialog({
      title: `${word} ${count}?`,
      text: [what, theirs ? `${theirs} of them ${theirs === 1 ? "is" : "are"} from a teammate's mailbox, not yours.`
                          : "All of them are from your own mailbox.",
             "Each decision can be undone for a while under \"Decided\"."],
      ok: `${word} ${ids.length}`,
    });
    if (!ok) return;
    bulkBusy = true;
    updateStatus();
    status.textContent = `${decision === "approve" ? "Approving" : "Rejecting"} ${ids.length}…`;
    performance.mark("capture:bulk-start");
    try {
      const reply = { decided: [], conflicts: [] };
      for (let i = 0; i < ids.length; i += BULK_MAX) { // the API takes up to 5,000 ids a request
        const part = await api("POST", "/api/email/proposals/bulk", { decision, ids: ids.slice(i, i + BULK_MAX) });
        reply.decided.push(...part.decided);
        reply.conflicts.push(...part.conflicts);
      }
      performance.mark("capture:bulk-answered");
      bulkBusy = false;
      drop(reply.decided, true);
      const elsewhere = reply.conflicts.filter((c) => !c.proposal || c.proposal.status !== "pending");
      drop(elsewhere.map((c) => c.id), true);
      void list.offsetHeight;
      performance.mark("capture:bulk-settled");
      document.dispatchEvent(new CustomEvent("crm:decided"));
      notice = `${decision === "approve" ? "Approved" : "Rejected"} ${reply.decided.length}.` +
        (elsewhere.length ? ` ${elsewhere.length} had already been decided elsewhere.` : "");
      updateStatus();
    } catch (err) {
      bulkBusy = false;
      errorBox.textContent = `The bulk decision stopped: ${err.message}`;
      errorBox.hidden = false;
      await refresh(); // whatever was decided before the failure leaves the list
      errorBox.hidden = false;
    }
  }

  investorFilter.addEventListener("change", filtersChanged);
  teammateFilter.addEventListener("change", filtersChanged);
  selectAll.addEventListener("click", () => selectShown(true));
  selectNone.addEventListener("click", () => selectShown(false));
  bulkApprove.addEventListener("click", () => decideSelected("approve"));
  bulkReject.addEventListener("click", () => decideSelected("reject"));

  // -- keyboard ----------------------------------------------------------------------------------------
  function focusCard(offset) {
    if (!shown.length) return;
    const current = shown.findIndex((id) => { const e = cards.get(id); return e.node && e.node.contains(document.activeElement); });
    const index = current < 0 ? 0 : Math.max(0, Math.min(shown.length - 1, current + offset));
    reveal(index).focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLSelectElement ||
      (event.target instanceof HTMLInputElement && event.target.type !== "checkbox");
    if (typing) {
      if (event.key === "Escape" && event.target.closest(".card")) event.target.closest(".card").focus();
      return;
    }
    const node = document.activeElement && document.activeElement.closest && document.activeElement.closest(".card");
    const entry = node && cards.get(Number(node.dataset.proposalId));
    const actions = { j: () => focusCard(1), k: () => focusCard(-1), "*": () => selectShown(true),
                      A: () => decideSelected("approve"), R: () => decideSelected("reject"),
                      f: () => investorFilter.focus() };
    if (entry) {
      Object.assign(actions, { a: () => decide(entry, "approve"), r: () => decide(entry, "reject"),
                               e: () => entry.textarea.focus(), v: () => toggleView(entry),
                               x: () => clickSelect(entry.proposal.id, false, !selected.has(entry.proposal.id)) });
    }
    if (event.key === "Escape" && selected.size) actions.Escape = () => selectShown(false);
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  });

  // The "Decided" view (capture_decided.js) undid a decision: its card comes back now, not at the next poll.
  document.addEventListener("crm:proposals-changed", (event) => {
    if (event.detail && event.detail.undone) notice = `Undone: "${event.detail.undone}" is back for review.`;
    refresh().then(updateStatus);
  });

  window.crm.me.then(async (user) => {
    me = user;
    if (scopeAll) scopeAll.closest("label").hidden = user.role !== "admin";
    await refresh();
    const target = window.location.hash.match(/^#proposal-(\d+)$/);
    const index = target ? shown.indexOf(Number(target[1])) : -1;
    if (index >= 0) reveal(index).focus();
    setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  });
})();
