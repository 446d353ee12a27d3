/* The investor page's header: name, firm, addresses and domains, editable (PATCH /api/investors/{id}). */
"use strict";

(function () {
  const { api, el, splitList } = window.crm;
  const form = document.getElementById("edit-investor");
  const error = document.getElementById("edit-error");

  function show(investor) {
    document.title = `${investor.name} · Venture CRM`;
    document.getElementById("investor-name").textContent = investor.name;
    document.getElementById("investor-firm").textContent = investor.firm || "";
    const chips = [...investor.emails.map((e) => el("span", { className: "chip" }, e)),
                   ...investor.domains.map((d) => el("span", { className: "chip domain", title: "any address at this domain" }, "@" + d))];
    document.getElementById("investor-addresses").replaceChildren(...chips);
    form.elements.name.value = investor.name;
    form.elements.firm.value = investor.firm || "";
    form.elements.emails.value = investor.emails.join(", ");
    form.elements.domains.value = investor.domains.join(", ");
  }

  /* `onSaved(investor)`: after a save (the page then follows the search for a new address's mail). */
  function setup(investor, onSaved) {
    show(investor);
    document.getElementById("profile").hidden = false;
    document.getElementById("edit-toggle").addEventListener("click", () => {
      form.hidden = !form.hidden;
      if (!form.hidden) form.elements.name.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      try {
        const saved = await api("PATCH", `/api/investors/${investor.id}`, {
          name: form.elements.name.value, firm: form.elements.firm.value || null,
          emails: splitList(form.elements.emails.value), domains: splitList(form.elements.domains.value),
        });
        show(saved);
        document.dispatchEvent(new CustomEvent("investor-saved", { detail: saved })); // People shows it too
        form.hidden = true;
        if (onSaved) onSaved(saved);
      } catch (err) {
        error.textContent = err.message;
        error.hidden = false;
      }
    });
  }

  window.crm.investorProfile = { setup, show };
})();
