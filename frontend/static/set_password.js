/* The page an invitation or reset link opens (/invite/<token>, /reset/<token>): set a password once, signed in. */
"use strict";

(function () {
  const { api, formatDate } = window.crm;
  const token = window.location.pathname.split("/").pop();
  const lead = document.getElementById("link-lead");
  const form = document.getElementById("password-form");
  const error = document.getElementById("password-error");
  const MIN = 10;

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  api("GET", `/api/auth/links/${encodeURIComponent(token)}`).then((link) => {
    document.getElementById("link-title").textContent =
      link.kind === "invite" ? `Welcome, ${link.user.name}` : `New password for ${link.user.name}`;
    lead.textContent = `Choose a password for ${link.user.email}. This link works once, until ${formatDate(link.expires_at)}.`;
    form.hidden = false;
    form.elements.password.focus();
  }).catch((err) => {
    lead.textContent = err.message;
    lead.className = "error";
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const password = form.elements.password.value;
    if (password.length < MIN) return fail(`Use at least ${MIN} characters.`);
    if (password !== form.elements.repeat.value) return fail("The two passwords differ.");
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await api("POST", `/api/auth/links/${encodeURIComponent(token)}`, { password });
      window.location.assign("/");
    } catch (err) {
      fail(err.message);
    } finally {
      button.disabled = false;
    }
  });
})();
