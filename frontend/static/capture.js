/* Email Capture: one card per pending proposed note, newest email first; approve / reject / edit next to
   the email, or select many (click, shift-click, x, "select all shown") and decide them with one
   confirmation. Thousands of cards: all the data is loaded, but cards are built and rendered a window at
   a time as the reader scrolls (CSS content-visibility skips the off-screen ones).
   Polls (default 25 s, ?poll=MS for tests) to add new cards and clear ones decided elsewhere,
   leaving alone a card someone is editing or reading. */
"use strict";

(function () {
  const { api, el, formatDate } = window.crm;
  const POLL_MS = Number(new URLSearchParams(window.location.search).get("poll")) || 25000;
  const WINDOW = 40; // cards added to the page at a time
  const list = document.getElementById("cards");
  const more = document.getElementById("cards-more");
  const status = document.getElementById("capture-status");
  const errorBox = document.getElementById("capture-error");
  const investorFilter = document.getElementById("filter-investor");
  const teammateFilter = document.getElementById("filter-teammate");
  const bulkApprove = document.getElementById("bulk-approve");
  const bulkReject = document.getElementById("bulk-reject");
  const selectAll = document.getElementById("select-all");
  const selectNone = document.getElementById("select-none");
  const cards = new Map(); // proposal id → {proposal, node?, textarea, dirty, viewer, checkbox}
  let order = []; // every pending id, newest email first (the server's order)
  let shown = []; // the ids passing the filters, in order
  let rendered = 0; // shown[0 .. rendered) are on the page
  const selected = new Set();
  let anchor = null; // the last card clicked for selection: shift-click selects from here
  let total = 0;
  let bulkBusy = false;

  function person(p) { return window.crm.emailView.person(p); }

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
    const parts = [cards.size ? `${cards.size} pending` : "Nothing to review: every proposed note is decided."];
    if (total > cards.size) parts.push(`(${total} in all; the newest ${cards.size} are loaded)`);
    if (filtered && cards.size) parts.push(`· ${shown.length} shown`);
    if (selected.size) parts.push(`· ${selected.size} selected`);
    status.textContent = parts.join(" ");
    bulkApprove.disabled = bulkReject.disabled = !selected.size || bulkBusy;
    selectNone.disabled = !selected.size;
    bulkApprove.textContent = selected.size ? `Approve ${selected.size} selected` : "Approve selected";
    bulkReject.textContent = selected.size ? `Reject ${selected.size} selected` : "Reject selected";
    more.textContent = rendered < shown.length ? `${shown.length - rendered} more below…` : "";
  }

  // -- one card ----------------------------------------------------------------------------------
  async function toggleView(entry) {
    if (entry.viewer) {
      entry.viewer.hidden = !entry.viewer.hidden;
      entry.viewButton.setAttribute("aria-expanded", String(!entry.viewer.hidden));
      return;
    }
    performance.mark("capture:view-start");
    entry.viewer = el("div", { className: "card-email" }, el("p", { className: "status" }, "Loading email…"));
    entry.node.append(entry.viewer);
    entry.viewButton.setAttribute("aria-expanded", "true");
    try {
      entry.viewer.replaceChildren(await window.crm.emailView.load(entry.proposal.email.id));
      void entry.viewer.offsetHeight;
      performance.mark("capture:view-shown");
    } catch (err) {
      entry.viewer.replaceChildren(el("p", { className: "error" }, `The email cannot be shown: ${err.message}`));
      const viewer = entry.viewer;
      entry.viewer = null; // a failed fetch may be retried
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
        entry.dirty = false;
        setMessage(entry, "Saved.");
      } else {
        drop([entry.proposal.id], true);
      }
    } catch (err) {
      setMessage(entry, `Not done: ${whyNot(err)}`, true);
      const current = err.payload && err.payload.proposal;
      if (current && current.status === "pending") entry.proposal.version = current.version;
    } finally {
      for (const button of entry.node.querySelectorAll("button.decide")) button.disabled = false;
    }
  }

  function build(entry) {
    const proposal = entry.proposal;
    const node = el("article", { className: "card", tabIndex: 0, id: `proposal-${proposal.id}` });
    node.dataset.proposalId = String(proposal.id);
    const email = proposal.email;
    const investor = proposal.investor;
    entry.checkbox = el("input", { type: "checkbox", className: "select", checked: selected.has(proposal.id) });
    entry.checkbox.setAttribute("aria-label", `Select the note for ${investor.name}: ${email.subject || "(no subject)"}`);
    entry.checkbox.addEventListener("click", (event) => clickSelect(proposal.id, event.shiftKey, entry.checkbox.checked));
    node.classList.toggle("selected", selected.has(proposal.id));
    node.append(
      el("header", { className: "card-head" }, entry.checkbox,
        el("strong", {}, investor.name), investor.firm ? el("span", { className: "status" }, ` · ${investor.firm}`) : null,
        el("span", { className: "card-date" }, formatDate(email.date))),
      el("div", { className: "card-subject" }, email.subject || "(no subject)"),
      el("div", { className: "status" }, `From ${person(email.from)}`));
    entry.textarea = el("textarea", { className: "draft", rows: 3, value: proposal.draft });
    entry.textarea.setAttribute("aria-label", "Proposed note");
    entry.textarea.addEventListener("input", () => { entry.dirty = entry.textarea.value !== entry.proposal.draft; });
    entry.viewButton = el("button", { type: "button", className: "link view" }, "View email");
    entry.viewButton.setAttribute("aria-expanded", "false");
    entry.viewButton.addEventListener("click", () => toggleView(entry));
    const approve = el("button", { type: "button", className: "decide approve" }, "Approve");
    const reject = el("button", { type: "button", className: "decide reject" }, "Reject");
    const save = el("button", { type: "button", className: "decide save" }, "Save edit");
    approve.addEventListener("click", () => decide(entry, "approve"));
    reject.addEventListener("click", () => decide(entry, "reject"));
    save.addEventListener("click", () => decide(entry, "edit"));
    entry.message = el("p", { className: "status", role: "status", hidden: true });
    node.append(entry.textarea, el("div", { className: "card-actions" }, approve, reject, save, entry.viewButton),
                entry.message);
    entry.node = node;
    return node;
  }

  // -- the window of rendered cards ----------------------------------------------------------------
  function nodeOf(id) {
    const entry = cards.get(id);
    return entry.node || build(entry);
  }

  /* Make the page show exactly shown[0 .. rendered), moving as few nodes as possible (a moved node
     loses focus, so the usual case, nothing changed, moves none). */
  function reconcile() {
    rendered = Math.min(Math.max(rendered, Math.min(WINDOW, shown.length)), shown.length);
    let cursor = list.firstElementChild;
    for (let i = 0; i < rendered; i += 1) {
      const node = nodeOf(shown[i]);
      if (cursor === node) { cursor = cursor.nextElementSibling; continue; }
      list.insertBefore(node, cursor);
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    updateStatus();
  }

  function renderMore(upTo) {
    const end = Math.min(shown.length, Math.max(upTo || 0, rendered + WINDOW));
    if (end <= rendered) return;
    const fragment = document.createDocumentFragment();
    for (let i = rendered; i < end; i += 1) fragment.append(nodeOf(shown[i]));
    list.append(fragment);
    rendered = end;
    updateStatus();
  }

  /* Near the end of what is rendered, render the next window; observing afresh after each one gets a new
     report even when the sentinel never left the margin (a fast scroll), one window per task. */
  const nearEnd = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting) || rendered >= shown.length) return;
    renderMore();
    nearEnd.unobserve(more);
    nearEnd.observe(more);
  }, { rootMargin: "1200px 0px" });
  nearEnd.observe(more);

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
      const neighbour = hadFocus && (entry.node.nextElementSibling || entry.node.previousElementSibling);
      cards.delete(id);
      selected.delete(id);
      if (anchor === id) anchor = null;
      if (entry.node) entry.node.remove();
      if (neighbour) neighbour.focus();
    }
    const gone = new Set(ids.filter((id) => !cards.has(id)));
    if (!gone.size) return;
    order = order.filter((id) => !gone.has(id));
    shown = shown.filter((id) => !gone.has(id));
    rendered = Math.min(rendered, shown.length);
    fillFilters();
    reconcile();
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
        if (entry.node) entry.textarea.value = proposal.draft;
      }
    }
    const stale = [...cards.keys()].filter((id) => !seen.has(id));
    order = proposals.map((p) => p.id).concat(stale.filter((id) => busy(cards.get(id))));
    fillFilters();
    applyFilters();
    drop(stale, false);
    reconcile();
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
    rendered = 0;
    reconcile();
    window.scrollTo(0, 0);
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

  function selectShown(on) {
    for (const id of on ? shown : [...selected]) setSelected(id, on);
    updateStatus();
  }

  async function decideSelected(decision) {
    const ids = shown.filter((id) => selected.has(id));
    if (!ids.length || bulkBusy) return;
    const word = decision === "approve" ? "Approve" : "Reject";
    const what = decision === "approve" ? "each becomes a grid note with its draft as shown" : "no note is written";
    if (!window.confirm(`${word} ${ids.length} proposed note${ids.length === 1 ? "" : "s"}? (${what})`)) return;
    bulkBusy = true;
    updateStatus();
    status.textContent = `${decision === "approve" ? "Approving" : "Rejecting"} ${ids.length}…`;
    performance.mark("capture:bulk-start");
    try {
      const reply = await api("POST", "/api/email/proposals/bulk", { decision, ids });
      performance.mark("capture:bulk-answered");
      bulkBusy = false;
      drop(reply.decided, true);
      const elsewhere = reply.conflicts.filter((c) => !c.proposal || c.proposal.status !== "pending");
      drop(elsewhere.map((c) => c.id), true);
      void list.offsetHeight;
      performance.mark("capture:bulk-settled");
      const done = `${decision === "approve" ? "Approved" : "Rejected"} ${reply.decided.length}.`;
      status.textContent = `${done}${elsewhere.length ? ` ${elsewhere.length} had already been decided elsewhere.` : ""} ` +
        status.textContent;
    } catch (err) {
      bulkBusy = false;
      errorBox.textContent = `Nothing decided: ${err.message}`;
      errorBox.hidden = false;
      updateStatus();
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
    if (index >= rendered) renderMore(index + 1);
    const node = cards.get(shown[index]).node;
    node.focus();
    node.scrollIntoView({ block: "nearest" });
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

  window.crm.me.then(async () => {
    await refresh();
    const target = window.location.hash.match(/^#proposal-(\d+)$/);
    const index = target ? shown.indexOf(Number(target[1])) : -1;
    if (index >= 0) {
      renderMore(index + 1);
      cards.get(shown[index]).node.focus();
    }
    setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  });
})();
