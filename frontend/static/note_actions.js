/* Edit and Delete on a timeline note (issue 24, item 5), for its author or an admin:
   crm.noteActions(note, investorId, reload) → a node with the two controls, or null. */
"use strict";

(function () {
  const { api, el } = window.crm;
  let me = null;
  window.crm.me.then((user) => { me = user; });

  function noteActions(note, investorId, reload) {
    if (!me || (me.role !== "admin" && note.author_id !== me.id)) return null;
    const path = `/api/investors/${investorId}/notes/${note.id}`;
    const edit = el("button", { type: "button", className: "link" }, "Edit");
    const remove = el("button", { type: "button", className: "link" }, "Delete");
    const box = el("span", { className: "note-actions" }, edit, " · ", remove);
    edit.addEventListener("click", () => {
      const item = box.closest("li");
      const body = item.querySelector(".note-body");
      const text = el("textarea", { rows: 3, value: note.body });
      text.setAttribute("aria-label", "Edit note");
      const save = el("button", { type: "submit" }, "Save");
      const cancel = el("button", { type: "button", className: "link" }, "Cancel");
      const error = el("p", { className: "error", hidden: true });
      const form = el("form", { className: "add-note edit-note" }, text, save, cancel, error);
      cancel.addEventListener("click", () => form.replaceWith(body));
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        try {
          await api("PATCH", path, { body: text.value.trim() });
          await reload();
        } catch (err) {
          error.textContent = err.message;
          error.hidden = false;
        }
      });
      body.replaceWith(form);
      text.focus();
    });
    remove.addEventListener("click", async () => {
      const ok = await window.crm.confirmDialog({
        title: "Delete this note?", ok: "Delete note",
        text: [note.body.length > 140 ? note.body.slice(0, 139) + "…" : note.body,
               "It is gone for everyone; the audit log records who deleted it."],
      });
      if (!ok) return;
      try {
        await api("DELETE", path);
        await reload();
      } catch (err) {
        box.replaceChildren(el("span", { className: "error" }, err.message));
      }
    });
    return box;
  }

  window.crm.noteActions = noteActions;
})();
