/* A real confirmation for destructive actions (issue 24, item 5): a modal <dialog> that says what will
   happen, with the safe choice focused. crm.confirmDialog({title, text, ok}) → Promise<boolean>. */
"use strict";

(function () {
  const { el } = window.crm;

  function confirmDialog({ title, text, ok, extra }) {
    return new Promise((resolve) => {
      const cancel = el("button", { type: "button", className: "cancel" }, "Cancel");
      const confirm = el("button", { type: "button", className: "confirm danger" }, ok || "Continue");
      const dialog = el("dialog", { className: "confirm-dialog" }, el("h2", {}, title),
        ...[].concat(text).map((line) => el("p", {}, line)), extra || null, el("div", { className: "toolbar" }, cancel, confirm));
      dialog.setAttribute("aria-label", title);
      let answer = false;
      cancel.addEventListener("click", () => dialog.close());
      confirm.addEventListener("click", () => { answer = true; dialog.close(); });
      dialog.addEventListener("close", () => { dialog.remove(); resolve(answer); });
      document.body.append(dialog);
      dialog.showModal();
      cancel.focus();
    });
  }

  window.crm.confirmDialog = confirmDialog;
})();
