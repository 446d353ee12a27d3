/* Privacy bits shared by the Emails and Email Capture pages: the "Mark private" button of a
   conversation (only its holders get one) and the lines that say who sees what. */
"use strict";

(function () {
  const { api, el } = window.crm;
  const LEVEL_NOTES = {
    subject: "Its owner shares only who, when and the subject with teammates.",
    metadata: "Its owner shares only who and when with teammates.",
  };
  const MOST_OPEN = "Where a message sits in several teammates' mailboxes, the most open setting among them applies.";

  /* A button that marks the conversation private (or visible again); onChange(reply) after it worked. */
  function toggle(threadId, isPrivate, onChange) {
    const button = el("button", { type: "button", className: "link private-toggle" },
      isPrivate ? "Make visible to teammates" : "Mark conversation private");
    button.title = isPrivate ? "Teammates see it again as their visibility settings allow"
      : "Only teammates whose own mailbox holds it will see it; pending proposed notes are withdrawn";
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const reply = await api("POST", `/api/email/threads/${threadId}/private`, { private: !isPrivate });
        onChange(reply);
      } catch (err) {
        button.replaceWith(el("span", { className: "error" }, `Not changed: ${err.message}`));
      }
    });
    return button;
  }

  /* A line explaining a limited view of an email (null when the viewer sees everything). */
  function levelNote(visibility) {
    const text = LEVEL_NOTES[visibility];
    return text ? el("p", { className: "status visibility-note" }, `${text} ${MOST_OPEN}`) : null;
  }

  window.crm.privacy = { toggle, levelNote, MOST_OPEN };
})();
