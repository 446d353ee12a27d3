/* Renders one captured email: headers, text, attachments, and its HTML only in a sandboxed iframe.
   Shared by the Emails page and the Email Capture page ("View email"). */
"use strict";

(function () {
  const { api, el, formatDate } = window.crm;

  function person(p) {
    if (!p) return "";
    return p.name ? `${p.name} <${p.email}>` : p.email;
  }

  function htmlFrame(emailId, withImages) {
    // sandbox="" : no scripts, no forms, no same-origin access; the server's CSP blocks remote
    // images (read receipts) until the reader asks for them.
    const frame = el("iframe", { className: "email-html", title: "Email as sent (HTML)", referrerPolicy: "no-referrer" });
    frame.setAttribute("sandbox", "");
    frame.src = `/api/email/html?id=${emailId}${withImages ? "&images=1" : ""}`;
    return frame;
  }

  function attachmentList(detail) {
    const files = detail.attachments.filter((a) => !a.inline || a.status === "stored");
    if (!files.length) return null;
    return el("ul", { className: "attachments" }, ...files.map((a) => el("li", {},
      a.status === "stored"
        ? el("a", { href: `/api/email/attachments/${a.id}`, download: a.filename }, a.filename)
        : el("span", { title: a.status }, `${a.filename} (${a.status.replace("_", " ")})`),
      el("span", { className: "status" }, ` ${Math.max(1, Math.round(a.size / 1024))} KB`))));
  }

  function render(detail) {
    const pane = el("article", { className: "email" });
    pane.setAttribute("data-email-detail", String(detail.id));
    const meta = el("dl", { className: "email-meta" },
      el("dt", {}, "From"), el("dd", {}, person(detail.from)),
      el("dt", {}, "To"), el("dd", {}, detail.to.map(person).join(", ")),
      ...(detail.cc.length ? [el("dt", {}, "Cc"), el("dd", {}, detail.cc.map(person).join(", "))] : []),
      // Bcc reaches only the teammate who sent the message (the server leaves it out for everyone else).
      ...(detail.bcc && detail.bcc.length ? [el("dt", {}, "Bcc"), el("dd", { className: "bcc" }, detail.bcc.map(person).join(", "))] : []),
      el("dt", {}, "Date"), el("dd", {}, formatDate(detail.date)),
      el("dt", {}, "Subject"), el("dd", {}, detail.subject || (detail.visibility === "metadata" ? "(not shared)" : "(no subject)")));
    pane.append(meta);
    const limited = window.crm.privacy && window.crm.privacy.levelNote(detail.visibility);
    if (limited) { pane.append(limited); return pane; }
    const text = el("pre", { className: "email-body" }, detail.body_text || "(no text)");
    pane.append(text);
    if (detail.quoted_text) {
      const quoted = el("details", {}, el("summary", {}, "Quoted history"), el("pre", { className: "email-body quoted" }, detail.quoted_text));
      pane.append(quoted);
    }
    if (detail.body_html_available) {
      const toggle = el("button", { type: "button", className: "link" }, "Show as sent (HTML)");
      const images = el("button", { type: "button", className: "link", hidden: true }, "Load remote images");
      let frame = null;
      toggle.addEventListener("click", () => {
        if (frame) { frame.remove(); frame = null; toggle.textContent = "Show as sent (HTML)"; images.hidden = true; return; }
        frame = htmlFrame(detail.id, false);
        pane.append(frame);
        toggle.textContent = "Hide HTML";
        images.hidden = false;
      });
      images.addEventListener("click", () => {
        const next = htmlFrame(detail.id, true);
        frame.replaceWith(next);
        frame = next;
        images.hidden = true;
      });
      pane.append(el("p", {}, toggle, " ", images));
    }
    const files = attachmentList(detail);
    if (files) pane.append(files);
    return pane;
  }

  async function load(emailId) {
    return render(await api("GET", `/api/email/detail?id=${encodeURIComponent(emailId)}`));
  }

  window.crm.emailView = { load, render, person };
})();
