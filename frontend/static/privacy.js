/* Privacy page: your mailbox's visibility to teammates, and your (and the firm's) exclusion list. */
"use strict";

(function () {
  const { api, count, el, formatDate } = window.crm;
  const errorBox = document.getElementById("privacy-error");
  const message = document.getElementById("privacy-message");
  const LEVELS = [["everything", "Everything"], ["subject", "Subject"], ["metadata", "Who and when"]];
  let me = null;

  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  async function act(method, path, payload, done) {
    show(errorBox, "");
    try {
      const reply = await api(method, path, payload);
      show(message, done(reply));
      return reply;
    } catch (err) {
      show(errorBox, err.status === 503 ? "The Gmail integration is off." : err.message);
      return null;
    }
  }

  function mailboxRow(account) {
    const select = el("select");
    select.setAttribute("aria-label", `Visibility of ${account.email}`);
    for (const [value, label] of LEVELS) select.append(el("option", { value, selected: value === account.visibility }, label));
    select.addEventListener("change", () => act("PATCH", `/api/email/accounts/${account.id}`, { visibility: select.value },
      (r) => `Teammates now see ${select.selectedOptions[0].textContent.toLowerCase()} of ${r.account.email}.`));
    const row = el("p", { className: "mailbox" }, el("strong", {}, account.email), " ", select);
    row.dataset.accountId = account.id;
    return row;
  }

  async function loadMailboxes() {
    const box = document.getElementById("mailboxes");
    try {
      const { accounts } = await api("GET", "/api/email/accounts");
      const mine = accounts.filter((a) => a.user_id === me.id);
      box.replaceChildren(...(mine.length ? mine.map(mailboxRow)
        : [el("p", { className: "status" }, "Your mailbox is not enrolled: nothing of yours is captured.")]));
    } catch (err) {
      box.replaceChildren(el("p", { className: "error" }, err.status === 503 ? "The Gmail integration is off." : err.message));
    }
  }

  function exclusionRow(exclusion) {
    const mayRemove = exclusion.scope === "mine" || me.role === "admin";
    const remove = el("button", { type: "button", className: "link" }, "Remove");
    remove.addEventListener("click", async () => {
      const reply = await act("DELETE", "/api/email/exclusions", { pattern: exclusion.pattern, scope: exclusion.scope },
        () => `${exclusion.pattern} is captured again from new mail (older mail returns with the next full resync).`);
      if (reply) loadExclusions();
    });
    const tr = el("tr", {}, el("td", {}, exclusion.pattern),
      el("td", {}, exclusion.scope === "firm" ? "everyone's mailbox" : "my mailbox"),
      el("td", { title: exclusion.created_by || "" }, formatDate(exclusion.created_at)),
      el("td", {}, mayRemove ? remove : ""));
    tr.dataset.pattern = exclusion.pattern;
    return tr;
  }

  async function loadExclusions() {
    try {
      const { exclusions } = await api("GET", "/api/email/exclusions");
      document.getElementById("exclusions-body").replaceChildren(...exclusions.map(exclusionRow));
    } catch (err) {
      show(errorBox, err.status === 503 ? "The Gmail integration is off." : err.message);
    }
  }

  document.getElementById("exclusion-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("exclusion-pattern");
    const scope = document.getElementById("exclusion-scope").value;
    const pattern = input.value.trim();
    // Say what saving would purge before it happens (a dry run), and ask when it removes anything.
    const preview = await act("POST", "/api/email/exclusions/preview", { pattern, scope }, () => "");
    if (!preview) return;
    if (preview.messages && !(await window.crm.confirmDialog({
      title: `Keep ${preview.pattern} out?`,
      text: [`This removes ${count(preview.messages, "captured message")} from ${count(preview.conversations, "conversation")} ` +
             (scope === "firm" ? `in ${count(preview.mailboxes, "mailbox", "mailboxes")} of the firm.` : "in your mailbox."),
             "They cannot be brought back except by removing the exclusion and waiting for the next full resync."],
      ok: `Remove ${count(preview.messages, "message")}`,
    }))) { show(message, "Nothing changed."); return; }
    const reply = await act("POST", "/api/email/exclusions", { pattern, scope },
      (r) => `${r.exclusion.pattern} kept out; ${count(r.purged, "captured message")} removed.`);
    if (reply) { input.value = ""; loadExclusions(); }
  });

  window.crm.me.then((user) => {
    me = user;
    document.getElementById("most-open").textContent = window.crm.privacy.MOST_OPEN;
    document.querySelector("#exclusion-scope option[value=firm]").hidden = user.role !== "admin";
    loadMailboxes();
    loadExclusions();
  });
})();
