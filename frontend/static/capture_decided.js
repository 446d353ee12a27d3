/* Email Capture, the "Decided" view (issue 24, item 5): the most recent approvals and rejections the user may
   see, each with Undo while its window lasts (CRM_UNDO_WINDOW_MIN; the note an approve wrote goes with it). */
"use strict";

(function () {
  const { api, el, formatDate, relativeDate } = window.crm;
  const REFRESH_MS = 5000; // while open: new decisions appear, closed windows lose their button
  const box = document.getElementById("decided");
  const list = document.getElementById("decided-list");
  const status = document.getElementById("decided-status");
  const empty = document.getElementById("decided-empty");
  let timer = null;

  function line(p) {
    const d = p.decision;
    const verb = d.status === "approved" ? "Approved" : "Rejected";
    const item = el("li", { className: "decided" },
      el("strong", {}, verb), ` by ${d.by || "someone"}${d.via === "matrix" ? " in the review room" : ""} `,
      el("span", { title: formatDate(d.at) }, relativeDate(d.at) === "today" ? `at ${formatDate(d.at)}` : relativeDate(d.at)),
      ": ", el("a", { href: `/investors/${p.investor.id}` }, p.investor.name), ` · ${window.crm.cardSubject(p)}`);
    item.dataset.proposalId = p.id;
    if (d.can_undo) {
      const undo = el("button", { type: "button", className: "undo", title: `Possible until ${formatDate(d.undo_until)}` }, "Undo");
      undo.setAttribute("aria-label", `Undo: ${verb.toLowerCase()} ${window.crm.cardSubject(p)}`);
      undo.addEventListener("click", async () => {
        undo.disabled = true;
        try {
          await api("POST", `/api/email/proposals/${p.id}/undo`, {});
          status.textContent = d.status === "approved"
            ? `Undone: the card for "${window.crm.cardSubject(p)}" is back to review and its note is removed.`
            : `Undone: the card for "${window.crm.cardSubject(p)}" is back to review.`;
          document.dispatchEvent(new CustomEvent("crm:proposals-changed", { detail: { undone: window.crm.cardSubject(p) } }));
        } catch (err) {
          status.textContent = err.message;
        }
        load();
      });
      item.append(" ", undo);
    }
    return item;
  }

  async function load() {
    try {
      const reply = await api("GET", "/api/email/proposals?status=decided&limit=50");
      list.replaceChildren(...reply.proposals.map(line));
      empty.hidden = reply.proposals.length > 0; // plain text, not a bullet
      list.hidden = !reply.proposals.length;
      box.querySelector("summary").textContent = `Decided recently (undo within ${reply.undo_window_min} minutes)`;
    } catch (err) {
      list.replaceChildren(el("li", { className: "error" }, err.message));
      list.hidden = false;
      empty.hidden = true;
    }
  }

  box.addEventListener("toggle", () => {
    clearInterval(timer);
    if (!box.open) return;
    load();
    timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  });
  document.addEventListener("crm:decided", () => { if (box.open) load(); });
})();
