/* The investor grid: list, filter, sort, expand a row for its notes, add notes and investors inline;
   each name opens the investor page; "Going cold" lists relationships to warm up (?stale=1). A new
   investor's row says while the team's mailboxes are searched for its mail, and fills in once they are. */
"use strict";

(function () {
  const { api, el, formatDate, relativeDate, splitList } = window.crm;
  const state = { investors: [], sort: "name", filter: "", open: new Set(), cold: false, email: false,
                  searching: new Map() }; // investor id → its search state (search_watch.js)
  const COLUMNS = 8;
  const body = document.getElementById("grid-body");
  const table = document.getElementById("grid");
  const status = document.getElementById("grid-status");

  function showStatus(text, isError) {
    status.textContent = text;
    status.classList.toggle("error", Boolean(isError));
    status.hidden = !text;
  }

  function visible() {
    const q = state.filter.toLowerCase();
    const rows = state.investors.filter((inv) => !q || inv.name.toLowerCase().includes(q)
      || (inv.firm || "").toLowerCase().includes(q) || inv.emails.some((e) => e.includes(q))
      || inv.domains.some((d) => d.includes(q)));
    const key = state.sort;
    if (state.cold && key === "name") return rows; // the server's order: strongest first
    const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });
    rows.sort(key === "last_contact_at"
      ? (a, b) => (b.last_contact_at || "").localeCompare(a.last_contact_at || "") || byName(a, b)
      : key === "strength" ? (a, b) => (b.strength ?? -1) - (a.strength ?? -1) || byName(a, b) : byName);
    return rows;
  }

  function addresses(inv) {
    const cell = el("td", { className: "addresses" });
    for (const email of inv.emails) cell.append(el("span", { className: "chip" }, email));
    for (const domain of inv.domains) cell.append(el("span", { className: "chip domain", title: "any address at this domain" }, "@" + domain));
    return cell;
  }

  function row(inv) {
    const tr = el("tr", { className: "investor" });
    tr.dataset.investorId = inv.id;
    const toggle = el("button", { type: "button", className: "expand note-count", ariaExpanded: String(state.open.has(inv.id)) },
                      inv.note_count);
    toggle.setAttribute("aria-label", `Notes of ${inv.name}`);
    toggle.addEventListener("click", () => toggleNotes(inv.id));
    tr.append(el("td", {}, el("a", { className: "investor-link", href: `/investors/${inv.id}` }, inv.name)),
              el("td", {}, inv.firm || ""), addresses(inv), el("td", { className: "num" }, toggle),
              lastContactCell(inv),
              el("td", { className: "closest", title: inv.closest ? inv.closest.email : "" }, inv.closest ? inv.closest.name : ""),
              strengthCell(inv),
              el("td", { className: "next-meeting" }, inv.next_meeting_at ? formatDate(inv.next_meeting_at) : ""));
    return tr;
  }

  function lastContactCell(inv) {
    const search = state.searching.get(inv.id);
    if (search) {
      return el("td", { className: "last-contact searching", title: "the team's mailboxes are being searched for this investor's mail" },
                window.crm.searchWatch.message(search, inv.name));
    }
    return el("td", { className: "last-contact", title: inv.last_contact_at ? formatDate(inv.last_contact_at) : "" },
              relativeDate(inv.last_contact_at));
  }

  /* Follow the search for a new investor's mail: the row says so, and the grid reloads when it is over. */
  function watchSearch(inv) {
    const finished = () => { state.searching.delete(inv.id); load(); };
    window.crm.searchWatch.watch(inv.id, {
      onProgress: (search) => { state.searching.set(inv.id, search); render(); },
      onDone: finished, onGiveUp: finished,
    });
  }

  function strengthCell(inv) {
    const cell = el("td", { className: "num strength" });
    if (inv.strength === null || inv.strength === undefined) return cell;
    const title = inv.last_two_way_at ? `last two-way contact ${formatDate(inv.last_two_way_at)}` : "never a two-way exchange";
    cell.append(el("meter", { min: 0, max: 100, value: inv.strength, title }), ` ${inv.strength}`);
    return cell;
  }

  function render() {
    const rows = visible();
    body.replaceChildren();
    for (const inv of rows) {
      body.append(row(inv));
      if (state.open.has(inv.id)) body.append(notesRow(inv));
    }
    table.hidden = state.investors.length === 0;
    if (state.cold && state.investors.length === 0) showStatus("Nothing going cold: every relationship had a two-way email or a meeting recently.");
    else if (state.investors.length === 0) showStatus("No investors yet. Add the first one above.");
    else if (rows.length === 0) showStatus("No investor matches the filter.");
    else showStatus("");
  }

  function noteItem(note) {
    return el("li", { className: "note" },
      el("div", { className: "note-meta" },
        el("span", { className: `badge ${note.source}` }, note.source === "email" ? "email" : "manual"),
        el("span", {}, note.author || "unknown"),
        el("time", { dateTime: note.created_at, title: formatDate(note.created_at) }, relativeDate(note.created_at))),
      el("p", { className: "note-body" }, note.body));
  }

  function notesRow(inv) {
    const tr = el("tr", { className: "notes-row" });
    tr.dataset.notesFor = inv.id;
    const list = el("ul", { className: "notes" }, el("li", { className: "status" }, "Loading notes…"));
    const textarea = el("textarea", { rows: 2, placeholder: "Add a note (Ctrl+Enter to save)", className: "new-note" });
    const save = el("button", { type: "submit" }, "Add note");
    const error = el("p", { className: "error", hidden: true, role: "alert" });
    const form = el("form", { className: "add-note" }, textarea, save, error);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = textarea.value.trim();
      if (!text) return;
      save.disabled = true;
      error.hidden = true;
      try {
        const note = await api("POST", `/api/investors/${inv.id}/notes`, { body: text });
        textarea.value = "";
        list.querySelector(".empty")?.remove();
        list.prepend(noteItem(note));
        inv.note_count += 1;
        body.querySelector(`tr.investor[data-investor-id="${inv.id}"] .note-count`).textContent = inv.note_count;
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      } finally {
        save.disabled = false;
      }
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    api("GET", `/api/investors/${inv.id}/notes`).then(({ notes }) => {
      list.replaceChildren(...(notes.length ? notes.map(noteItem) : [el("li", { className: "empty" }, "No notes yet.")]));
    }).catch((err) => {
      list.replaceChildren(el("li", { className: "error" }, `Could not load notes: ${err.message}`));
    });
    tr.append(el("td", { colSpan: COLUMNS }, form, list));
    return tr;
  }

  function toggleNotes(id) {
    if (state.open.has(id)) state.open.delete(id);
    else state.open.add(id);
    render();
    body.querySelector(`tr[data-notes-for="${id}"] textarea`)?.focus();
  }

  async function load() {
    showStatus("Loading investors…");
    try {
      const listed = await api("GET", state.cold ? "/api/investors?stale=1" : "/api/investors");
      state.investors = listed.investors;
      state.email = Boolean(listed.email);
      render();
    } catch (err) {
      if (err.status !== 401) showStatus(`Could not load investors: ${err.message}`, true);
    }
  }

  function setupAddInvestor() {
    const form = document.getElementById("add-investor");
    const error = document.getElementById("add-investor-error");
    document.getElementById("add-investor-toggle").addEventListener("click", () => {
      form.hidden = !form.hidden;
      if (!form.hidden) form.elements.name.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const data = new FormData(form);
      try {
        const investor = await api("POST", "/api/investors", {
          name: data.get("name"), firm: data.get("firm") || null,
          emails: splitList(data.get("emails")), domains: splitList(data.get("domains")),
        });
        state.investors.push(investor);
        form.reset();
        form.hidden = true;
        render();
        if (state.email) watchSearch(investor);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    });
  }

  document.getElementById("filter").addEventListener("input", (event) => {
    state.filter = event.target.value.trim();
    render();
  });
  const cold = document.getElementById("going-cold");
  cold.addEventListener("click", () => {
    state.cold = !state.cold;
    cold.setAttribute("aria-pressed", String(state.cold));
    state.sort = "name";
    load();
  });
  for (const button of document.querySelectorAll("button.sort")) {
    button.addEventListener("click", () => { state.sort = button.dataset.sort; render(); });
  }
  setupAddInvestor();
  window.crm.me.then(load, () => {});
})();
