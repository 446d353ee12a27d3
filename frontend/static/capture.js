/* Email Capture: one card per pending proposed note; approve / reject / edit next to the email.
   Polls (default 25 s, ?poll=MS for tests) to add new cards and clear ones decided elsewhere,
   leaving alone a card someone is editing or reading. */
"use strict";

(function () {
  const { api, el, formatDate } = window.crm;
  const POLL_MS = Number(new URLSearchParams(window.location.search).get("poll")) || 25000;
  const list = document.getElementById("cards");
  const status = document.getElementById("capture-status");
  const errorBox = document.getElementById("capture-error");
  const cards = new Map(); // proposal id → {node, proposal, textarea, dirty, viewer}

  function person(p) { return window.crm.emailView.person(p); }

  function busy(entry) {
    return entry.dirty || entry.node.contains(document.activeElement) || !!(entry.viewer && !entry.viewer.hidden);
  }

  function setMessage(entry, text, isError) {
    entry.message.textContent = text || "";
    entry.message.className = isError ? "error" : "status";
    entry.message.hidden = !text;
  }

  function updateStatus() {
    status.textContent = cards.size ? `${cards.size} proposed note(s) to review` : "Nothing to review: every proposed note is decided.";
  }

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
        remove(entry.proposal.id, true);
      }
    } catch (err) {
      const current = err.payload && err.payload.proposal;
      const why = current && current.status !== "pending"
        ? `Already ${current.status}${current.decided_by ? ` by ${current.decided_by}` : ""}${current.decided_via ? ` (${current.decided_via})` : ""}.`
        : err.message;
      setMessage(entry, `Not done: ${why}`, true);
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

  function build(proposal) {
    const entry = { proposal, dirty: false, viewer: null };
    const node = el("article", { className: "card", tabIndex: 0, id: `proposal-${proposal.id}` });
    node.dataset.proposalId = String(proposal.id);
    const email = proposal.email;
    const investor = proposal.investor;
    node.append(
      el("header", { className: "card-head" },
        el("strong", {}, investor.name), investor.firm ? el("span", { className: "status" }, ` · ${investor.firm}`) : null,
        el("span", { className: "card-date" }, formatDate(email.date))),
      el("div", { className: "card-subject" }, email.subject || "(no subject)"),
      el("div", { className: "status" }, `From ${person(email.from)}`));
    entry.textarea = el("textarea", { className: "draft", rows: 3, value: proposal.draft });
    entry.textarea.setAttribute("aria-label", "Proposed note");
    entry.drafter = el("div", { className: "status drafted-by" });
    showDrafter(entry);
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
    node.append(entry.drafter, entry.textarea, el("div", { className: "card-actions" }, approve, reject, save, entry.viewButton),
                entry.message);
    entry.node = node;
    return entry;
  }

  function remove(id, decidedHere) {
    const entry = cards.get(id);
    if (!entry) return;
    if (!decidedHere && busy(entry)) {
      setMessage(entry, "Decided elsewhere; this card stays until you move on.", true);
      entry.stale = true;
      return;
    }
    const next = entry.node.nextElementSibling || entry.node.previousElementSibling;
    const hadFocus = entry.node.contains(document.activeElement);
    entry.node.remove();
    cards.delete(id);
    if (hadFocus && next) next.focus();
    updateStatus();
  }

  function merge(proposals) {
    const seen = new Set();
    const fragment = document.createDocumentFragment();
    for (const proposal of proposals) {
      seen.add(proposal.id);
      const entry = cards.get(proposal.id);
      if (!entry) {
        const created = build(proposal);
        cards.set(proposal.id, created);
        fragment.append(created.node);
      } else if (proposal.version !== entry.proposal.version && !busy(entry)) {
        entry.proposal = proposal;
        entry.textarea.value = proposal.draft;
        showDrafter(entry);
      }
    }
    list.append(fragment);
    for (const id of [...cards.keys()]) if (!seen.has(id)) remove(id, false);
    updateStatus();
  }

  async function refresh() {
    try {
      const { proposals } = await api("GET", "/api/email/proposals?status=pending");
      performance.mark("capture:data");
      merge(proposals);
      void list.offsetHeight; // style and layout included in what the benchmark measures
      performance.mark("capture:rendered");
      errorBox.hidden = true;
    } catch (err) {
      errorBox.textContent = err.status === 503 ? "The Gmail integration is off." : `Could not load proposals: ${err.message}`;
      errorBox.hidden = false;
    }
  }

  function focusCard(offset) {
    const nodes = [...list.querySelectorAll(".card")];
    if (!nodes.length) return;
    const current = nodes.findIndex((n) => n.contains(document.activeElement));
    const index = current < 0 ? 0 : Math.max(0, Math.min(nodes.length - 1, current + offset));
    nodes[index].focus();
    nodes[index].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const typing = event.target instanceof HTMLTextAreaElement || event.target instanceof HTMLInputElement;
    if (typing) {
      if (event.key === "Escape") event.target.closest(".card").focus();
      return;
    }
    const node = document.activeElement && document.activeElement.closest && document.activeElement.closest(".card");
    const entry = node && cards.get(Number(node.dataset.proposalId));
    const actions = { j: () => focusCard(1), k: () => focusCard(-1) };
    if (entry) {
      Object.assign(actions, { a: () => decide(entry, "approve"), r: () => decide(entry, "reject"),
                               e: () => entry.textarea.focus(), v: () => toggleView(entry) });
    }
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  });

  window.crm.me.then(async () => {
    await refresh();
    const target = window.location.hash.match(/^#proposal-(\d+)$/);
    if (target && cards.has(Number(target[1]))) cards.get(Number(target[1])).node.focus();
    setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  });
})();
