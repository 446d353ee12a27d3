/* Admin page, "Is every investor email in the CRM?": the completeness view of GET /api/email/status in
   sentences (per mailbox, per investor, alerts for gaps that survive two syncs), "Verify now", the covered
   sources (DocuSign, Drive, the firm's group addresses: add and remove), spam counts, unsearchable addresses. */
"use strict";

(function () {
  const { api, el, formatDate } = window.crm;
  const REFRESH_MS = 15000;
  const section = document.getElementById("completeness");
  const byId = (id) => document.getElementById(id);
  const number = (n) => Number(n).toLocaleString("en-US");
  const plural = (n, one, many) => `${number(n)} ${n === 1 ? one : many}`;

  function ago(iso) {
    if (!iso) return "never";
    const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (seconds < 90) return "just now";
    if (seconds < 5400) return `${Math.round(seconds / 60)} minutes ago`;
    if (seconds < 129600) return `${Math.round(seconds / 3600)} hours ago`;
    return `${Math.round(seconds / 86400)} days ago`;
  }

  function whose(mailbox) {
    return mailbox.owner ? `${mailbox.owner}'s mailbox` : `The mailbox ${mailbox.email}`;
  }

  function investorLink(investor) {
    return el("a", { href: `/investors/${investor.id}` }, investor.name);
  }

  function figures(rows, key) {
    const list = el("dl", { className: "figures" });
    for (const [label, value] of rows) list.append(el("dt", {}, label), el("dd", {}, number(value)));
    const details = el("details", {}, el("summary", {}, "Figures"), list);
    details.dataset.key = key;
    return details;
  }

  function keepOpen(render) {
    // A refresh rebuilds the lists: figures someone opened stay open.
    const open = new Set([...section.querySelectorAll("details[open]")].map((d) => d.dataset.key || d.id));
    render();
    for (const details of section.querySelectorAll("details")) {
      if (open.has(details.dataset.key || details.id)) details.open = true;
    }
  }

  function mailboxSentence(mailbox, c) {
    if (!c) return [`${whose(mailbox)} (${mailbox.email}) is not verified yet: its first sync verifies it.`];
    const when = el("span", { className: "when" }, ` Verified ${ago(c.verified_at)}` +
      (c.verified_by === "verify" ? " (verify now)." : " by a sync."));
    if (!c.listed && !c.via_sources) return [`${whose(mailbox)} (${mailbox.email}): Gmail lists no investor email in it.`, when];
    const inCrm = c.held + c.private;
    const parts = [`${whose(mailbox)} (${mailbox.email}): Gmail lists ${plural(c.listed, "investor email", "investor emails")}; ` +
      `${number(inCrm)} ${inCrm === 1 ? "is" : "are"} in the CRM` + (c.private ? ` (${number(c.private)} in private conversations)` : "") + "."];
    const kept = [];
    if (c.excluded) kept.push(`${number(c.excluded)} kept out by exclusions`);
    if (c.refused) kept.push(`${plural(c.refused, "lookalike", "lookalikes")} refused (Gmail's search matched a word, not the investor)`);
    if (kept.length) parts.push(` ${kept.join("; ")}.`);
    if (c.missing) parts.push(` ${number(c.missing)} ${c.missing === 1 ? "is" : "are"} missing.`);
    if (c.via_sources) parts.push(` ${plural(c.via_sources, "more came", "more came")} through the covered sources.`);
    parts.push(when);
    return parts;
  }

  function mailboxItem(mailbox, account) {
    const c = account && account.completeness;
    const item = el("li", {}, ...mailboxSentence(mailbox, c));
    item.dataset.accountId = mailbox.account_id;
    const verify = el("button", { type: "button", className: "link" }, "Verify now");
    verify.addEventListener("click", () => verifyNow(mailbox.account_id, `${whose(mailbox)} is being verified.`));
    item.append(verify);
    if (c) {
      item.append(figures([["Gmail lists", c.listed], ["In the CRM", c.held], ["In private conversations", c.private],
        ["Kept out by exclusions", c.excluded], ["Lookalikes refused", c.refused], ["Missing", c.missing],
        ["Through covered sources", c.via_sources], ["Investor-looking mail in spam", c.spam]],
      `mailbox-${mailbox.account_id}`));
    }
    return item;
  }

  function summary(view, accounts) {
    const verified = accounts.filter((a) => a.completeness);
    const node = byId("completeness-summary");
    if (!verified.length) {
      node.className = "lead";
      node.textContent = "Not verified yet: every mailbox's first sync verifies it.";
      return;
    }
    const missing = verified.reduce((n, a) => n + a.completeness.missing, 0);
    const inCrm = verified.reduce((n, a) => n + a.completeness.held + a.completeness.private, 0);
    const when = ` Last verified ${ago(view.verified_at)}.`;
    if (!missing) {
      node.className = "lead ok";
      node.textContent = `The CRM holds every investor email Gmail lists: ${number(inCrm)} in ` +
        `${plural(verified.length, "mailbox", "mailboxes")}.${when}`;
      return;
    }
    const names = view.mailboxes.filter((m) => (accounts.find((a) => a.id === m.account_id) || {}).completeness
      && accounts.find((a) => a.id === m.account_id).completeness.missing).map(whose);
    node.className = "lead gap";
    node.textContent = `${plural(missing, "investor email Gmail lists is", "investor emails Gmail lists are")} not in ` +
      `the CRM yet (${names.join(", ")}).${when}`;
  }

  function alertItem(alert, view) {
    const mailbox = view.mailboxes.find((m) => m.account_id === alert.account_id) || { email: alert.email };
    const who = alert.investors.length ? alert.investors : null;
    const item = el("li", {});
    if (who) who.forEach((investor, i) => item.append(i ? ", " : "", investorLink(investor)));
    item.append(`${who ? ": an" : "An"} email in ${whose(mailbox)} has been missing for ${alert.runs} syncs: ` +
      `${alert.reason}. `, el("span", { className: "when" }, `First seen ${formatDate(alert.since)}.`));
    return item;
  }

  function investors(view) {
    const rows = view.investors;
    const missing = rows.filter((i) => i.missing);
    const node = byId("completeness-investor-summary");
    node.replaceChildren();
    if (!rows.length) {
      node.textContent = "No investor has mail in the verified mailboxes yet.";
    } else if (!missing.length) {
      node.textContent = `${plural(rows.length, "investor has", "investors have")} mail in the verified mailboxes; ` +
        "none has mail missing.";
    } else {
      node.append(`${plural(rows.length, "investor has", "investors have")} mail in the verified mailboxes. Missing mail: `);
      missing.forEach((investor, i) => node.append(i ? ", " : "", investorLink(investor), ` (${number(investor.missing)})`));
      node.append(".");
    }
    byId("completeness-investors").hidden = !rows.length;
    byId("completeness-investors-body").replaceChildren(...rows.map((i) => el("tr", {},
      el("td", {}, investorLink(i)), ...["listed", "held", "private", "excluded", "refused", "missing"].map(
        (key) => el("td", { className: "num" }, number(key === "held" ? i.held + i.private : i[key]))))));
  }

  function sourceItem(source) {
    if (source.kind === "service") return el("li", {}, `${source.name} (${source.address})`);
    const remove = el("button", { type: "button", className: "link" }, "Remove");
    remove.addEventListener("click", () => changeSource("DELETE", source.address,
      `${source.address} is no longer read for investors.`));
    return el("li", {}, `The firm's group ${source.address}`,
      el("span", { className: "when" }, `, added ${ago(source.added_at)}.`), remove);
  }

  function spam(view, accounts) {
    const items = view.mailboxes.map((m) => [m, accounts.find((a) => a.id === m.account_id)])
      .filter(([, a]) => a && a.completeness && a.completeness.spam)
      .map(([m, a]) => el("li", {}, `${whose(m)} has ${plural(a.completeness.spam, "message", "messages")} from ` +
        "investor addresses in spam."));
    byId("spam-list").replaceChildren(...items);
    byId("spam-section").hidden = !items.length;
  }

  function unsearchable(view) {
    const items = view.unsearchable.map((t) => el("li", {},
      t.investor ? investorLink({ id: t.investor_id, name: t.investor }) : "", t.investor ? ": " : "", `${t.reason}.`));
    byId("unsearchable-list").replaceChildren(...items);
    byId("unsearchable-section").hidden = !items.length;
  }

  function say(id, text, isError) {
    const node = byId(id);
    node.textContent = text;
    node.className = isError ? "error" : "status";
    node.hidden = !text;
  }

  async function verifyNow(accountId, text) {
    try {
      const reply = await api("POST", "/api/email/completeness/verify", accountId ? { account_id: accountId } : {});
      say("verify-message", reply.started.length ? text :
        "Every mailbox is busy syncing; the sync verifies it when it finishes.");
      for (const delay of [2000, 6000, 15000]) setTimeout(refresh, delay);
    } catch (err) {
      say("verify-message", err.message, true);
    }
  }

  async function changeSource(method, address, done) {
    try {
      await api(method, "/api/email/capture-sources", { address });
      say("source-message", done);
      if (method === "POST") byId("source-address").value = "";
    } catch (err) {
      say("source-message", err.message, true);
    }
    refresh();
  }

  async function refresh() {
    let status;
    try {
      status = await api("GET", "/api/email/status");
    } catch (err) {
      section.hidden = true;
      return;
    }
    const view = status.completeness;
    if (!view || !status.accounts.length) { section.hidden = true; return; }
    section.hidden = false;
    keepOpen(() => render(view, status.accounts));
  }

  function render(view, accounts) {
    summary(view, accounts);
    const alerts = byId("completeness-alerts");
    alerts.replaceChildren(...view.alerts.map((a) => alertItem(a, view)));
    alerts.hidden = !view.alerts.length;
    byId("completeness-mailboxes").replaceChildren(...view.mailboxes.map(
      (m) => mailboxItem(m, accounts.find((a) => a.id === m.account_id))));
    investors(view);
    byId("sources-list").replaceChildren(...view.sources.map(sourceItem));
    spam(view, accounts);
    unsearchable(view);
  }

  byId("verify-all").addEventListener("click", () => verifyNow(null, "Every mailbox is being verified."));
  byId("source-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const address = byId("source-address").value.trim();
    changeSource("POST", address, `${address} is read for investors from the next sync on.`);
  });

  window.crm.me.then((user) => {
    if (user.role !== "admin") return;
    refresh();
    setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
  });
})();
