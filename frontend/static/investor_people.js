/* The investor page's People (issue 24, item 8): a fund or a family office has several people, each with a
   name, a title and some of the investor's addresses. Add, edit and remove them here (POST/PATCH/DELETE
   /api/investors/{id}/people); the timeline and "Who knows them" then say which person each email was with.
   A change fires "investor-people-changed" on document (investor.js reloads the timeline and connections). */
"use strict";

(function () {
  const { api, el, relativeDate, splitList } = window.crm;
  const investorId = Number(window.location.pathname.split("/").pop());
  const section = document.getElementById("people");
  const list = document.getElementById("people-list");
  const status = document.getElementById("people-status");
  const form = document.getElementById("person-form");
  const choices = document.getElementById("person-address-choices");
  const error = document.getElementById("person-error");
  const addButton = document.getElementById("person-add");
  let investor = null;
  let editing = null; // the person being edited, or null when adding

  function personLabel(p) {
    return p.title ? `${p.name} · ${p.title}` : p.name;
  }

  function personItem(p) {
    const edit = el("button", { type: "button", className: "link" }, "Edit");
    edit.setAttribute("aria-label", `Edit ${p.name}`);
    edit.addEventListener("click", () => openForm(p));
    const remove = el("button", { type: "button", className: "link danger" }, "Remove");
    remove.setAttribute("aria-label", `Remove ${p.name}`);
    remove.addEventListener("click", () => removePerson(p));
    const node = el("li", { className: "person" },
      el("span", { className: "person-name" }, p.name),
      p.title ? el("span", { className: "status" }, p.title) : null,
      el("span", { className: "person-emails" }, ...(p.emails.length ? p.emails.map((e) => el("span", { className: "chip" }, e))
        : [el("span", { className: "status" }, "no address yet")])),
      el("span", { className: "person-actions" }, edit, remove));
    node.dataset.personId = String(p.id);
    return node;
  }

  function render(found) {
    investor = found;
    list.replaceChildren(...investor.people.map(personItem));
    status.hidden = investor.people.length > 0;
    section.hidden = false;
  }

  function addressChoices(person) {
    const taken = new Map();
    for (const p of investor.people) for (const e of p.emails) taken.set(e, p);
    const boxes = investor.emails.filter((e) => !taken.has(e) || (person && taken.get(e).id === person.id)).map((e) => {
      const box = el("input", { type: "checkbox", name: "assigned", value: e, checked: Boolean(person && person.emails.includes(e)) });
      return el("label", {}, box, e);
    });
    choices.replaceChildren(el("legend", {}, "The investor's addresses that are this person's"), ...boxes);
    choices.hidden = !boxes.length;
  }

  function openForm(person) {
    editing = person || null;
    error.hidden = true;
    form.elements.name.value = person ? person.name : "";
    form.elements.title.value = person ? person.title || "" : "";
    form.elements.emails.value = "";
    addressChoices(person);
    document.getElementById("person-save").textContent = person ? `Save ${person.name}` : "Add person";
    form.hidden = false;
    form.elements.name.focus();
  }

  async function changed() {
    const found = await api("GET", `/api/investors/${investorId}`);
    render(found);
    window.crm.investorProfile.show(found); // an added address shows among the investor's
    document.dispatchEvent(new CustomEvent("investor-people-changed"));
  }

  async function save(event) {
    event.preventDefault();
    error.hidden = true;
    const assigned = [...form.querySelectorAll('input[name="assigned"]:checked')].map((b) => b.value);
    const body = { name: form.elements.name.value, title: form.elements.title.value || null,
                   emails: [...assigned, ...splitList(form.elements.emails.value)] };
    try {
      if (editing) await api("PATCH", `/api/investors/${investorId}/people/${editing.id}`, body);
      else await api("POST", `/api/investors/${investorId}/people`, body);
      form.hidden = true;
      await changed();
      addButton.focus();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  }

  async function removePerson(p) {
    const ok = await window.crm.confirmDialog({
      title: `Remove ${p.name}?`,
      text: [`${p.name}'s addresses stay with ${investor.name}; their mail is then the investor's, as before people.`],
      ok: "Remove",
    });
    if (!ok) return;
    try {
      await api("DELETE", `/api/investors/${investorId}/people/${p.id}`);
      await changed();
    } catch (err) {
      status.textContent = `Not removed: ${err.message}`;
      status.hidden = false;
    }
  }

  function setup(found) {
    render(found);
    addButton.addEventListener("click", () => openForm(null));
    document.getElementById("person-cancel").addEventListener("click", () => { form.hidden = true; addButton.focus(); });
    form.addEventListener("submit", save);
    // the header's Edit may drop an address a person had: show the people as saved
    document.addEventListener("investor-saved", (event) => render(event.detail));
  }

  /* "with Leo Park": whom of the investor's people a timeline email or card was with (null: nobody known). */
  function withWhom(people) {
    if (!people || !people.length) return null;
    return el("span", { className: "chip with-whom" }, `with ${people.map((p) => p.name).join(", ")}`);
  }

  /* Who on the team knows each person (GET …/connections `people`), strongest first, under the table. */
  function showConnections(people) {
    const pane = document.getElementById("person-connections");
    pane.replaceChildren(...(people || []).map(({ person, connections }) => {
      const rows = connections.map((c) => el("li", {}, el("strong", {}, c.user.name),
        ` · strength ${c.strength}` + (c.last_received || c.last_sent
          ? ` · last ${relativeDate([c.last_received, c.last_sent].filter(Boolean).sort().pop())}` : "")));
      const block = el("section", { className: "person-known" }, el("h3", {}, personLabel(person)),
        rows.length ? el("ul", {}, ...rows) : el("p", { className: "status" }, "No one on the team has emailed them yet."));
      block.dataset.personId = String(person.id);
      return block;
    }));
  }

  window.crm.investorPeople = { setup, withWhom, showConnections };
})();
