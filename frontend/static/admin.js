/* Admin page: enrolled mailboxes, their sync in words (whose mailbox, what it is doing, what the last sync
   brought), the raw figures one click away under "Details"; enroll / run-now / rematch.

   Progress is honest (issue 24, item 7): a bar with a value only while the mailbox is read page by page and
   Gmail's total is known and not reached; otherwise an indeterminate bar and a count so far, never a full
   bar while running. Rows are kept and updated in place on every poll (no rebuilt table, no flicker, open
   Details stay open), and when a mailbox's sync finishes its summary is announced above the table. */
"use strict";

(function () {
  const { api, count, el, formatDate, relativeDate } = window.crm;
  const POLL_MS = 3000;
  const body = document.getElementById("accounts-body");
  const message = document.getElementById("admin-message");
  const errorBox = document.getElementById("admin-error");
  const summaries = document.getElementById("sync-summaries");
  const rows = new Map(); // account id → {tr, cells, keys}
  const wasRunning = new Map(); // account id → {running, runId} at the last poll
  const number = (n) => Number(n).toLocaleString("en-US");

  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  function whose(account) {
    return account.owner ? `${account.owner}'s mailbox` : `The mailbox ${account.email}`;
  }

  function running(account) {
    return account.state === "running" || (account.last_run && account.last_run.status === "running");
  }

  // -- the sync column: what the mailbox is doing now --------------------------------------------
  function progressState(account) {
    // {determinate, done, total, text}: a value only when the total is known and not yet reached.
    const { done, total, phase } = account.progress;
    const stored = account.counts.matched;
    const storedText = stored ? `; ${count(stored, "investor email")} stored so far` : "";
    if (!running(account)) return null;
    const listing = phase === "backfill" || phase === "full_resync";
    if (listing && total > 0 && done < total) {
      return { determinate: true, done, total,
               text: `Reading ${whose(account)}: ${number(done)} of about ${count(total, "message")}${storedText}.` };
    }
    if (listing && total > 0 && done >= total) {  // every id listed: what is left is fetching the investor mail
      return { determinate: false, text: `Fetching investor mail from ${whose(account)}… ` +
               `${count(done, "message")} read${storedText}.` };
    }
    if (phase === "incremental") {
      return { determinate: false, text: `Looking for new mail in ${whose(account)}…${stored ? ` ${count(stored, "investor email")} stored.` : ""}` };
    }
    return { determinate: false, text: `Reading ${whose(account)}… ${count(done, "message")} so far${storedText}.` };
  }

  const STATE_WORDS = { idle: "Up to date", running: "Syncing", error: "Sync failed",
                        needs_reconsent: "Needs Google consent again", disabled: "Paused" };

  function syncCell(cell, account) {
    // The <progress> element stays the same node across polls: only its value (or its absence) changes.
    const state = progressState(account);
    let bar = cell.querySelector("progress");
    let label = cell.querySelector(".sync-text");
    if (!label) {
      label = el("div", { className: "sync-text" });
      cell.replaceChildren(label);
    }
    if (!state) {
      if (bar) bar.remove();
      const words = account.state === "idle" && account.last_run && account.last_run.status !== "ok"
        ? "Needs attention" : STATE_WORDS[account.state] || account.state;
      label.className = "sync-text";
      label.replaceChildren(el("span", { className: `state state-${account.state}` }, words));
      if (account.last_error && account.state !== "idle") {
        label.append(el("div", { className: "error" }, account.last_error));
      }
      return;
    }
    if (!bar) {
      bar = el("progress", {});
      cell.prepend(bar);
    }
    if (state.determinate) {
      bar.max = state.total;
      bar.value = state.done;
      bar.setAttribute("aria-valuetext", `${number(state.done)} of ${number(state.total)}`);
    } else {
      bar.removeAttribute("value"); // indeterminate: Chromium draws it moving, with no fill level
      bar.removeAttribute("aria-valuetext");
    }
    bar.dataset.state = state.determinate ? "determinate" : "indeterminate";
    bar.setAttribute("aria-label", state.text);
    label.className = "sync-text";
    label.textContent = state.text;
  }

  // -- the last sync, in a sentence ----------------------------------------------------------------
  function runSentence(account) {
    const run = account.last_run;
    if (!run) return "Not synced yet.";
    if (run.status === "running") return `Started ${formatDate(run.started_at)}.`;
    const when = relativeDate(run.finished_at || run.started_at);
    const first = run.kind === "backfill";
    let text = first ? `First sync ${when}: ` : `${when[0].toUpperCase()}${when.slice(1)}: `;
    text += run.messages_added ? `${count(run.messages_added, first ? "email" : "new email")} captured`
      : first ? "no investor email found" : "no new email";
    if (run.status === "partial") text += ", some could not be read yet (the next sync retries them)";
    if (run.status === "error") text = `${first ? "First sync" : "Sync"} ${when} stopped: ${run.error || "an error"}`;
    return `${text}.`;
  }

  function completionSentence(account) {
    // "Ana's mailbox: 312 emails with 41 investors captured, 3 cards to review."
    const run = account.last_run;
    if (run.status === "error") return `${whose(account)}: the sync stopped (${run.error || "an error"}).`;
    const added = run.messages_added;
    let text = `${whose(account)}: ${count(added, run.kind === "backfill" ? "email" : "new email")}`;
    if (added && account.counts.investors) text += ` with ${count(account.counts.investors, "investor")}`;
    text += " captured";
    if (account.cards_pending !== null && account.cards_pending !== undefined) {
      text += `, ${count(account.cards_pending, "card")} to review`;
    }
    return `${text}.`;
  }

  function announce(account) {
    const item = el("li", {}, completionSentence(account));
    if (account.cards_pending) item.append(" ", el("a", { href: "/capture" }, "Review them"));
    item.dataset.accountId = account.id;
    const old = summaries.querySelector(`li[data-account-id="${account.id}"]`);
    if (old) old.replaceWith(item); else summaries.append(item);
    summaries.hidden = false;
  }

  // -- the raw figures, one click away ---------------------------------------------------------
  function figureRows(account) {
    const c = account.capture;
    const q = account.quota;
    const run = account.last_run;
    const list = [
      ["Messages in the CRM from this mailbox", account.counts.messages],
      ["Linked to an investor", account.counts.matched],
      ["Investors", account.counts.investors],
      ["Capture scope", c.scope],
      ["Listed", c.listed], ["Fetched", c.fetched], ["Skipped", c.skipped], ["Captured", c.captured],
      ["Gmail quota units used", c.units],
      ["Quota units per captured message", c.units_per_captured === null ? "—" : c.units_per_captured],
      ["Quota units, last minute", q.units_last_minute], ["Quota units, last hour", q.units_last_hour],
      ["Pace kept (units per minute)", q.pace_units_per_min],
      ["Rate-limited answers, last hour", q.rate_limited_last_hour],
      ["Waiting to be fetched", account.queued], ["Given up after retries", account.given_up],
      ["Attachments waiting", c.attachments_waiting], ["Investor backfills queued", c.backfill.pending],
      ["Progress (done / total)", `${number(account.progress.done)} / ${number(account.progress.total)}`],
      ["Phase", account.progress.phase],
    ];
    const last = c.backfill.recent.find((b) => b.status === "done");
    if (last) list.push(["Last investor backfill", `${last.term}: ${number(last.found)} found`]);
    if (run) {
      list.push(["Last run", `${run.kind}, ${run.status}`], ["Started", formatDate(run.started_at)]);
      if (run.finished_at) list.push(["Finished", formatDate(run.finished_at)]);
      list.push(["Added / updated / deleted / failed",
                 `${run.messages_added} / ${run.messages_updated ?? 0} / ${run.messages_deleted ?? 0} / ${run.messages_failed ?? 0}`]);
    }
    return list;
  }

  function detailsCell(cell, account) {
    let details = cell.querySelector("details");
    if (!details) {
      details = el("details", { className: "figures-details" }, el("summary", {}, "Details"), el("dl", { className: "figures" }));
      cell.replaceChildren(details);
    }
    const list = details.querySelector("dl");
    list.replaceChildren(...figureRows(account).flatMap(([label, value]) => [
      el("dt", {}, label), el("dd", {}, typeof value === "number" ? number(value) : String(value))]));
    details.dataset.quotaUnits = "";
  }

  // -- rows, kept and updated in place -------------------------------------------------------------
  function makeRow(account) {
    const sync = el("button", { type: "button" }, "Sync now");
    sync.addEventListener("click", () => act("POST", "/api/email/sync/run-now", { account_id: account.id },
                                             `Sync of ${whose(account)} started.`));
    const cells = { mailbox: el("td", { className: "mailbox" }), sync: el("td", { className: "sync" }),
                    last: el("td", { className: "last-run" }), mail: el("td", { className: "mail" }),
                    details: el("td", { className: "capture" }), action: el("td", {}, sync) };
    const tr = el("tr", {}, ...Object.values(cells));
    tr.dataset.accountId = account.id;
    return { tr, cells, button: sync, keys: {} };
  }

  function update(row, key, value, render) {
    // Re-render a cell only when what it shows changed.
    const text = JSON.stringify(value);
    if (row.keys[key] === text) return;
    row.keys[key] = text;
    render();
  }

  function updateRow(row, account) {
    const { cells } = row;
    update(row, "mailbox", [account.owner, account.email, account.calendar], () => cells.mailbox.replaceChildren(
      account.owner || account.email, account.owner ? el("div", { className: "status" }, account.email) : "",
      calendarLine(account.calendar)));
    update(row, "sync", [account.state, account.progress, account.counts.matched, account.last_error,
                         account.last_run && account.last_run.status], () => syncCell(cells.sync, account));
    update(row, "last", [account.last_run, relativeDate(account.last_run && account.last_run.finished_at)], () => {
      cells.last.replaceChildren(runSentence(account));
      cells.last.title = account.last_run ? formatDate(account.last_run.started_at) : "";
    });
    update(row, "mail", [account.counts, account.cards_pending], () => {
      const c = account.counts;
      cells.mail.replaceChildren(c.matched ? `${count(c.matched, "email")} with ${count(c.investors, "investor")}`
        : "No investor email yet");
      if (account.cards_pending) {
        cells.mail.append(el("div", {}, el("a", { href: "/capture" }, `${count(account.cards_pending, "card")} to review`)));
      }
    });
    detailsCell(cells.details, account);
    row.button.disabled = running(account);
  }

  function render(accounts) {
    const seen = new Set();
    for (const account of accounts) {
      seen.add(account.id);
      let row = rows.get(account.id);
      if (!row) {
        row = makeRow(account);
        rows.set(account.id, row);
        body.append(row.tr);
      }
      updateRow(row, account);
      // A sync this page saw running, or one that started and finished between two polls, is announced.
      const now = running(account);
      const runId = account.last_run ? account.last_run.id : null;
      const seenBefore = wasRunning.has(account.id);
      const finished = !now && account.last_run && seenBefore &&
        (wasRunning.get(account.id).running || wasRunning.get(account.id).runId !== runId);
      if (finished) announce(account);
      wasRunning.set(account.id, { running: now, runId });
    }
    for (const [id, row] of rows) {
      if (!seen.has(id)) { row.tr.remove(); rows.delete(id); }
    }
  }

  function quotaFigures(quota) {
    return `Gmail quota profile ${quota.profile}: ${number(quota.user_units_per_min)} units per minute per user; ` +
      `each mailbox paced at ${number(quota.pace_units_per_min)} / min (messages.get costs ` +
      `${quota.costs["messages.get"]} units).`;
  }

  // Calendar capture's own state (issue 25): mail goes on whatever it says.
  function calendarLine(calendar) {
    if (!calendar || !calendar.enabled) return "";
    const trouble = ["not_granted", "needs_reconsent", "error"].includes(calendar.status);
    return el("div", { className: trouble ? "error calendar-status" : "status calendar-status",
                       title: calendar.error || "" }, calendar.label);
  }

  function schedulerSentence(scheduler) {
    if (!scheduler.running) return "Automatic syncing is off: mail is synced only when you ask.";
    const next = scheduler.next_run_at ? `; the next one at ${formatDate(scheduler.next_run_at)}` : "";
    const minutes = scheduler.interval_min;
    const every = minutes % 60 === 0 ? count(minutes / 60, "hour") : count(minutes, "minute");
    return `Every mailbox is synced every ${every.replace(/^1 /, "")}${next}.`;
  }

  async function refresh() {
    try {
      const status = await api("GET", "/api/email/status");
      document.getElementById("scheduler").textContent = schedulerSentence(status.scheduler);
      document.getElementById("quota").textContent = quotaFigures(status.quota);
      document.getElementById("gmail-figures").hidden = false;
      const horizon = document.getElementById("horizon-days");
      if (horizon && status.propose_since_days !== undefined) horizon.textContent = count(status.propose_since_days, "day");
      render(status.accounts);
      document.getElementById("accounts").hidden = !status.accounts.length;
      document.getElementById("accounts-empty").hidden = !!status.accounts.length;
      show(errorBox, "");
    } catch (err) {
      show(errorBox, err.status === 503 ? "Gmail capture is switched off on this server: ask whoever runs it to turn it on."
        : err.message);
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
    (r) => `Matched stored email again: ${count(r.linked, "email")} linked to an investor, ${r.unlinked} unlinked, ` +
      `${count(r.queued, "email")} to fetch.`));

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
