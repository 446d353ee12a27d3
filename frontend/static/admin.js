/* Admin page: enrolled mailboxes, their sync state and progress, enroll / run-now / rematch. */
"use strict";

(function () {
  const { api, count, el, formatDate, relativeDate } = window.crm;
  const POLL_MS = 3000;
  const body = document.getElementById("accounts-body");
  const message = document.getElementById("admin-message");
  const errorBox = document.getElementById("admin-error");

  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  function progressCell(account) {
    const { done, total, phase } = account.progress;
    if (phase === "incremental" && account.state !== "running") return el("td", {}, "up to date");
    const percent = total ? Math.min(100, Math.round((100 * done) / total)) : 0;
    const bar = el("progress", { max: 100, value: percent, title: `${done} of ${total}` });
    return el("td", {}, bar, ` ${done} / ${total} (${phase})`);
  }

  function lastRunCell(run) {
    if (!run) return el("td", {}, "never");
    const text = `${run.kind}: ${run.status}, +${run.messages_added} ` +
      `(${relativeDate(run.finished_at || run.started_at)})`;
    const cell = el("td", { title: formatDate(run.started_at) }, text);
    if (run.error) cell.append(el("div", { className: "error" }, run.error));
    return cell;
  }

  function captureCell(account) {
    // What the targeted capture did: scope, listed / fetched / skipped, quota units per captured message,
    // the targeted backfills queued for new investors, and attachment bytes waiting behind the mail.
    const c = account.capture;
    const lines = [
      `${c.scope} scope: ${c.listed} listed, ${c.fetched} fetched, ${c.skipped} skipped`,
      c.units_per_captured === null ? `${c.units} quota units` :
        `${c.units_per_captured} units per captured message (${c.captured} captured)`,
    ];
    if (c.backfill.pending) lines.push(`${count(c.backfill.pending, "investor backfill")} queued`);
    const last = c.backfill.recent.find((b) => b.status === "done");
    if (last) lines.push(`last investor backfill: ${last.term}, ${last.found} found`);
    if (c.attachments_waiting) lines.push(`${count(c.attachments_waiting, "attachment")} waiting`);
    const cell = el("td", { className: "capture" });
    lines.forEach((line, i) => cell.append(i ? el("div", {}, line) : line));
    cell.dataset.scope = c.scope;
    return cell;
  }

  const number = (n) => Number(n).toLocaleString("en-US");

  function quotaCell(quota) {
    // Units Gmail charged this mailbox in the last minute / hour, and the pace the client keeps now.
    const cell = el("td", { className: "num" },
      `${number(quota.units_last_minute)} / min · ${number(quota.units_last_hour)} / h`,
      el("div", { className: "status" }, `pace ${number(quota.pace_units_per_min)} / min`));
    cell.dataset.quotaUnits = "";
    if (quota.rate_limited_last_hour) {
      cell.append(el("div", { className: "error" }, `${quota.rate_limited_last_hour} rate-limited in the last hour`));
    }
    return cell;
  }

  function quotaLine(quota) {
    return `Gmail quota profile ${quota.profile}: ${number(quota.user_units_per_min)} units per minute per user; ` +
      `each mailbox paced at ${number(quota.pace_units_per_min)} / min (messages.get costs ` +
      `${quota.costs["messages.get"]} units).`;
  }

  // Calendar capture's own state (issue 25): mail goes on whatever it says.
  function calendarLine(calendar) {
    if (!calendar || !calendar.enabled) return null;
    const trouble = ["not_granted", "needs_reconsent", "error"].includes(calendar.status);
    return el("div", { className: trouble ? "error calendar-status" : "calendar-status",
                       title: calendar.error || "" }, calendar.label);
  }

  function row(account) {
    const sync = el("button", { type: "button", disabled: account.state === "running" }, "Sync now");
    sync.addEventListener("click", () => act("POST", "/api/email/sync/run-now", { account_id: account.id },
                                             `Sync of ${account.email} started.`));
    const tr = el("tr", {},
      el("td", {}, account.email),
      el("td", {}, el("span", { className: `state state-${account.state}` }, account.state.replace("_", " ")),
         calendarLine(account.calendar)),
      progressCell(account), lastRunCell(account.last_run),
      el("td", { className: "num", title: `${account.counts.messages} messages in this mailbox` },
         String(account.counts.matched)),
      quotaCell(account.quota), captureCell(account),
      el("td", {}, sync));
    tr.dataset.accountId = account.id;
    if (account.last_error && account.state !== "idle") tr.append(el("td", { className: "error" }, account.last_error));
    return tr;
  }

  async function refresh() {
    try {
      const status = await api("GET", "/api/email/status");
      const scheduler = status.scheduler;
      document.getElementById("scheduler").textContent = scheduler.running
        ? `Scheduler on, every ${scheduler.interval_min} min; next ${formatDate(scheduler.next_run_at)}`
        : "Scheduler off";
      document.getElementById("quota").textContent = quotaLine(status.quota);
      body.replaceChildren(...status.accounts.map(row));
      document.getElementById("accounts").hidden = !status.accounts.length;
      document.getElementById("accounts-empty").hidden = !!status.accounts.length;
      show(errorBox, "");
    } catch (err) {
      show(errorBox, err.status === 503 ? "The Gmail integration is off (CRM_GMAIL_INTEGRATION_ENABLED)." : err.message);
    }
  }

  async function act(method, path, payload, done) {
    try {
      const reply = await api(method, path, payload);
      show(message, typeof done === "function" ? done(reply) : done);
    } catch (err) {
      show(errorBox, err.message);
    }
    refresh();
  }

  async function finishConsent() {
    // Google's redirect lands here with the code in the fragment (see routes.oauth_callback_redirect).
    const hash = window.location.hash.slice(1);
    if (!hash.startsWith("oauth")) return;
    history.replaceState(null, "", "/admin");
    const params = new URLSearchParams(hash.replace(/^oauth(-error)?&?/, ""));
    if (hash.startsWith("oauth-error")) { show(errorBox, "Google consent was not given."); return; }
    await act("POST", "/api/email/oauth/callback", { state: params.get("state"), code: params.get("code") },
              (reply) => `Gmail connected for ${reply.connected}.`);
  }

  document.getElementById("enroll-all").addEventListener("click", () => act(
    "POST", "/api/email/accounts/enroll-all", {},
    (r) => `Enrolled ${count(r.created.length, "new mailbox", "new mailboxes")}; ${r.existing.length} already enrolled.`));
  document.getElementById("run-all").addEventListener("click", () => act(
    "POST", "/api/email/sync/run-now", {}, (r) => `Started ${count(r.started.length, "sync")}.`));
  document.getElementById("rematch").addEventListener("click", () => act(
    "POST", "/api/email/rematch", {},
    (r) => `Rematched ${r.emails} emails: ${r.linked} linked, ${r.unlinked} unlinked, ${r.queued} to fetch.`));

  window.crm.me.then((user) => {
    if (user.role !== "admin") {
      show(errorBox, "The Admin page is for admins.");
      for (const button of document.querySelectorAll(".toolbar button")) button.disabled = true;
      return;
    }
    finishConsent().then(refresh);
    setInterval(() => { if (!document.hidden) refresh(); }, POLL_MS);
  });
})();
