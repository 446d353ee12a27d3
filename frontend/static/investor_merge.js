/* The investor page's "Merge another investor into this one" (issue 24, item 5): pick the duplicate, confirm
   in a dialog that says what moves, POST /api/investors/{id}/merge {from_id}; the duplicate is deleted. */
"use strict";

(function () {
  const { api, el } = window.crm;
  const form = document.getElementById("merge-investor");
  const select = document.getElementById("merge-from");
  const error = document.getElementById("merge-error");
  const investorId = Number(window.location.pathname.split("/").pop());

  function label(i) {
    return `${i.name}${i.firm ? ` (${i.firm})` : ""} · ${[...i.emails, ...i.domains.map((d) => "@" + d)].join(", ") || "no address"}`;
  }

  async function setup() {
    const { investors } = await api("GET", "/api/investors");
    const others = investors.filter((i) => i.id !== investorId);
    const me = investors.find((i) => i.id === investorId);
    if (!others.length || !me) return;
    select.append(...others.map((i) => el("option", { value: i.id }, label(i))));
    document.getElementById("edit-toggle").addEventListener("click", () => { form.hidden = !form.hidden; });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const other = others.find((i) => String(i.id) === select.value);
      if (!other) return;
      const ok = await window.crm.confirmDialog({
        title: `Merge ${other.name} into ${me.name}?`,
        text: [`${other.name}'s ${other.note_count} note${other.note_count === 1 ? "" : "s"}, addresses, captured email ` +
               `and proposed notes move to ${me.name}; ${other.name} is then deleted.`,
               "This cannot be undone from the browser (the audit log records it)."],
        ok: "Merge",
      });
      if (!ok) return;
      try {
        await api("POST", `/api/investors/${investorId}/merge`, { from_id: other.id });
        window.location.reload();
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    });
  }

  window.crm.me.then(() => setup().catch(() => {}));
})();
