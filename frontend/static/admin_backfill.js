/* Admin page, "Older mail": widen the proposal horizon once, for one investor or all, from a date
   (POST /api/email/proposals/backfill); the new cards then wait on the Email Capture page. */
"use strict";

(function () {
  const { api, count, el } = window.crm;
  const form = document.getElementById("backfill-form");
  const investor = document.getElementById("backfill-investor");
  const since = document.getElementById("backfill-since");
  const result = document.getElementById("backfill-result");

  function say(text, isError) {
    result.textContent = text;
    result.className = isError ? "error" : "status";
    result.hidden = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { since: since.value };
    if (investor.value) body.investor_id = Number(investor.value);
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const reply = await api("POST", "/api/email/proposals/backfill", body);
      say(`Drafted ${count(reply.proposals, "proposed note")} from ${count(reply.emails, "older email")}; ` +
          "they are on the Email Capture page.");
    } catch (err) {
      say(`Nothing drafted: ${err.message}`, true);
    } finally {
      button.disabled = false;
    }
  });

  window.crm.me.then(async (user) => {
    if (user.role !== "admin") { form.hidden = true; return; }
    const { investors } = await api("GET", "/api/investors");
    investors.sort((a, b) => a.name.localeCompare(b.name));
    investor.append(...investors.map((i) => el("option", { value: String(i.id) }, i.firm ? `${i.name} (${i.firm})` : i.name)));
  });
})();
