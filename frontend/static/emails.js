/* Emails page: captured conversations (search, filter by investor, paging) and a detail pane. */
"use strict";

(function () {
  const { api, count, el, formatDate } = window.crm;
  const PAGE = 50;
  const list = document.getElementById("threads");
  const status = document.getElementById("threads-status");
  const pane = document.getElementById("thread-pane");
  const more = document.getElementById("more");
  let offset = 0;

  function query() {
    const params = new URLSearchParams({ limit: PAGE, offset });
    const q = document.getElementById("q").value.trim();
    const investor = document.getElementById("investor").value;
    if (q) params.set("q", q);
    if (investor) params.set("investor_id", investor);
    return params.toString();
  }

  function item(thread) {
    const li = el("li", { className: "thread", tabIndex: 0 },
      el("div", { className: "thread-subject" }, thread.subject || "(no subject)"),
      el("div", { className: "thread-meta" },
        `${thread.investors.map((i) => i.name).join(", ")} · ${count(thread.email_count, "email")} · ${formatDate(thread.last_date)}` +
        (thread.private ? " · private" : "")));
    li.dataset.threadId = thread.id;
    const open = () => openThread(thread.id, li);
    li.addEventListener("click", open);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    return li;
  }

  async function loadThreads(append) {
    if (!append) offset = 0;
    status.textContent = "Loading…";
    try {
      const { threads, total } = await api("GET", `/api/email/threads?${query()}`);
      if (!append) list.replaceChildren();
      list.append(...threads.map(item));
      offset += threads.length;
      status.textContent = total ? count(total, "conversation") : "No captured conversations match.";
      more.hidden = offset >= total;
    } catch (err) {
      status.textContent = err.status === 503 ? "The Gmail integration is off." : err.message;
    }
  }

  async function openThread(threadId, li) {
    for (const other of list.querySelectorAll("[aria-current]")) other.removeAttribute("aria-current");
    li.setAttribute("aria-current", "true");
    pane.replaceChildren(el("p", { className: "status" }, "Loading…"));
    try {
      const thread = await api("GET", `/api/email/threads/${threadId}`);
      const head = el("h2", {}, thread.subject || "(no subject)");
      const emails = el("ol", { className: "thread-emails" });
      for (const email of thread.emails) {
        const entry = el("li", {}, el("button", { type: "button", className: "link" },
          `${window.crm.emailView.person(email.from)} · ${formatDate(email.date)}`),
          el("div", { className: "status" }, email.snippet || LIMITED[email.visibility] || ""));
        const holder = el("div");
        entry.append(holder);
        entry.querySelector("button").addEventListener("click", async () => {
          if (holder.firstChild) { holder.replaceChildren(); return; }
          try { holder.replaceChildren(await window.crm.emailView.load(email.id)); }
          catch (err) { holder.replaceChildren(el("p", { className: "error" }, err.message)); }
        });
        emails.append(entry);
      }
      pane.replaceChildren(head, el("p", { className: "status" }, thread.investors.map((i) => i.name).join(", ")),
        privacyLine(thread, li), emails);
      const last = emails.lastElementChild;
      if (last) last.querySelector("button").click();
    } catch (err) {
      pane.replaceChildren(el("p", { className: "error" }, err.message));
    }
  }

  const LIMITED = { subject: "(its owner shares the subject only)", metadata: "(its owner shares who and when only)" };

  function privacyLine(thread, li) {
    const line = el("p", { className: "status privacy-line" },
      thread.private ? "Private: only teammates whose own mailbox holds this conversation see it. " : "");
    if (thread.holder) {
      line.append(window.crm.privacy.toggle(thread.id, thread.private, () => openThread(thread.id, li)));
    }
    return line;
  }

  async function loadInvestors() {
    try {
      const { investors } = await api("GET", "/api/investors");
      const select = document.getElementById("investor");
      for (const investor of investors) select.append(el("option", { value: investor.id }, investor.name));
    } catch (err) { /* the filter is optional */ }
  }

  let timer = null;
  document.getElementById("q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => loadThreads(false), 250); });
  document.getElementById("search").addEventListener("submit", (e) => { e.preventDefault(); loadThreads(false); });
  document.getElementById("investor").addEventListener("change", () => loadThreads(false));
  more.addEventListener("click", () => loadThreads(true));
  window.crm.me.then(() => Promise.all([loadInvestors(), loadThreads(false)]));
})();
