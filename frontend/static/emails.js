/* Emails page: captured conversations (search with why each matched, filter by investor or teammate, paging)
   and a detail pane that is always in view: sticky beside the list on a wide screen, in place of the list
   (with Back) on a phone. Keys: j/k move, Enter/o open, Escape/u back, / search; never while typing. */
"use strict";

(function () {
  const { api, count, el, formatDate } = window.crm;
  const PAGE = 50;
  const main = document.getElementById("emails-main");
  const list = document.getElementById("threads");
  const status = document.getElementById("threads-status");
  const pane = document.getElementById("thread-pane");
  const more = document.getElementById("more");
  const search = document.getElementById("q");
  const phone = window.matchMedia("(max-width: 600px)");
  const FIELDS = { subject: "Subject", body: "Text", participant: "Person", investor: "Investor" };
  const LIMITED = { subject: "(its owner shares the subject only)", metadata: "(its owner shares who and when only)" };
  let offset = 0;
  let opening = 0; // the latest thread asked for: an older answer arriving late is dropped
  let listScroll = 0;

  function query() {
    const params = new URLSearchParams({ limit: PAGE, offset });
    const q = search.value.trim();
    const investor = document.getElementById("investor").value;
    const mailbox = document.getElementById("mailbox").value;
    if (q) params.set("q", q);
    if (investor) params.set("investor_id", investor);
    if (mailbox) params.set("mailbox", mailbox);
    return params.toString();
  }

  function investorLink(investor, ...content) {
    const link = el("a", { className: "investor-link", href: `/investors/${investor.id}` }, ...(content.length ? content : [investor.name]));
    link.addEventListener("click", (event) => event.stopPropagation()); // the link, not the row's "open"
    return link;
  }

  function investorLinks(investors) {
    const nodes = [];
    investors.forEach((investor, i) => nodes.push(...(i ? [", "] : []), investorLink(investor)));
    return nodes;
  }

  /* The matched text with the searched words in <mark>: text nodes only, never HTML (the text is the mail's).
     The server counts characters as code points; Array.from does too. */
  function highlighted(entry) {
    const chars = Array.from(entry.text);
    const span = el("span", { className: "why-text" });
    let at = 0;
    for (const [start, end] of entry.marks) {
      if (start < at) continue;
      span.append(chars.slice(at, start).join(""), el("mark", {}, chars.slice(start, end).join("")));
      at = end;
    }
    span.append(chars.slice(at).join(""));
    return span;
  }

  function why(thread) {
    if (!thread.matched || !thread.matched.length) return null;
    return el("div", { className: "thread-why" }, ...thread.matched.map((entry) => {
      const text = highlighted(entry);
      return el("div", { className: `why why-${entry.field}` }, el("span", { className: "why-field" }, `${FIELDS[entry.field]}: `),
                entry.field === "investor" ? investorLink({ id: entry.investor_id }, text) : text);
    }));
  }

  function item(thread) {
    const li = el("li", { className: "thread", tabIndex: 0 },
      el("div", { className: "thread-subject" }, thread.subject || "(no subject)"),
      el("div", { className: "thread-meta" }, ...investorLinks(thread.investors),
         `${thread.investors.length ? " · " : ""}${count(thread.email_count, "email")} · ${formatDate(thread.last_date)}` +
         (thread.private ? " · private" : "")),
      why(thread));
    li.dataset.threadId = thread.id;
    li.addEventListener("click", () => openThread(thread.id, li));
    li.addEventListener("focus", () => setCursor(li));
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

  function setCursor(li) {
    for (const other of list.querySelectorAll(".thread.cursor")) if (other !== li) other.classList.remove("cursor");
    li.classList.add("cursor");
  }

  function reading() {
    return main.classList.contains("reading");
  }

  async function openThread(threadId, li) {
    const ticket = ++opening;
    for (const other of list.querySelectorAll("[aria-current]")) other.removeAttribute("aria-current");
    li.setAttribute("aria-current", "true");
    setCursor(li);
    if (!reading()) listScroll = window.scrollY;
    main.classList.add("reading");
    pane.replaceChildren(backButton(), el("p", { className: "status" }, "Loading…"));
    showPane();
    try {
      const thread = await api("GET", `/api/email/threads/${threadId}`);
      if (ticket !== opening) return;
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
      const investors = thread.investors.length
        ? el("p", { className: "status thread-investors" }, ...investorLinks(thread.investors)) : null;
      pane.replaceChildren(backButton(), head, ...(investors ? [investors] : []), privacyLine(thread, li), emails);
      showPane();
      const last = emails.lastElementChild;
      if (last) last.querySelector("button").click();
    } catch (err) {
      if (ticket === opening) pane.replaceChildren(backButton(), el("p", { className: "error" }, err.message));
    }
  }

  /* The detail in view: on a phone the pane replaces the list and the page starts at its top; on a wide
     screen the pane is sticky (app.css), so it only needs its own scroll reset and, should the page sit
     below or above it, bringing into view. */
  function showPane() {
    pane.scrollTop = 0;
    if (phone.matches) {
      window.scrollTo(0, 0);
      return;
    }
    const box = pane.getBoundingClientRect();
    if (box.top < 0 || box.top > window.innerHeight - 40) pane.scrollIntoView({ block: "start" });
  }

  function backButton() {
    const button = el("button", { type: "button", className: "back" }, "← Conversations");
    button.addEventListener("click", back);
    return button;
  }

  /* Back to the list: on a phone the list returns where it was; everywhere the opened row takes the focus. */
  function back() {
    const current = list.querySelector(".thread[aria-current]") || list.querySelector(".thread.cursor");
    if (reading() && phone.matches) {
      main.classList.remove("reading");
      window.scrollTo(0, listScroll);
      if (current) current.focus({ preventScroll: true });
      return;
    }
    main.classList.remove("reading");
    if (current) current.focus({ preventScroll: false });
  }

  function move(step) {
    const items = [...list.querySelectorAll(".thread")];
    if (!items.length) return;
    const current = list.querySelector(".thread.cursor") || list.querySelector(".thread[aria-current]");
    const index = current ? items.indexOf(current) : -1;
    const next = items[Math.min(items.length - 1, Math.max(0, index < 0 ? 0 : index + step))];
    if (reading() && phone.matches) {
      if (next !== current) openThread(Number(next.dataset.threadId), next); // the list is hidden: open the next one
      return;
    }
    next.focus({ preventScroll: true });
    next.scrollIntoView({ block: "nearest" });
  }

  function openCursor() {
    const current = list.querySelector(".thread.cursor");
    if (current) openThread(Number(current.dataset.threadId), current);
  }

  function privacyLine(thread, li) {
    const line = el("p", { className: "status privacy-line" },
      thread.private ? "Private: only teammates whose own mailbox holds this conversation see it. " : "");
    if (thread.holder) {
      line.append(window.crm.privacy.toggle(thread.id, thread.private, () => openThread(thread.id, li)));
    }
    return line;
  }

  async function loadFilters() {
    try {
      const { investors } = await api("GET", "/api/investors");
      const select = document.getElementById("investor");
      for (const investor of investors) select.append(el("option", { value: investor.id }, investor.name));
    } catch (err) { /* the filter is optional */ }
    try {
      const { accounts } = await api("GET", "/api/email/accounts");
      const select = document.getElementById("mailbox");
      for (const account of accounts) select.append(el("option", { value: account.id, title: account.email }, account.owner || account.email));
    } catch (err) { /* the filter is optional */ }
  }

  function typing(target) {
    return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement || Boolean(target && target.isContentEditable);
  }

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const onRow = event.target instanceof Element && event.target.classList.contains("thread");
    const actions = { j: () => move(1), k: () => move(-1), o: openCursor, u: back, Escape: back,
                      "/": () => search.focus() };
    if (onRow) actions.Enter = openCursor; // Enter on a link or a button keeps its own meaning
    if (actions[event.key]) {
      event.preventDefault();
      actions[event.key]();
    }
  });

  let timer = null;
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => loadThreads(false), 250); });
  document.getElementById("search").addEventListener("submit", (e) => { e.preventDefault(); loadThreads(false); });
  document.getElementById("investor").addEventListener("change", () => loadThreads(false));
  document.getElementById("mailbox").addEventListener("change", () => loadThreads(false));
  more.addEventListener("click", () => loadThreads(true));
  window.crm.me.then(() => Promise.all([loadFilters(), loadThreads(false)]));
})();
