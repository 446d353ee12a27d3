/* The sign-in form. */
"use strict";

(function () {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      await window.crm.api("POST", "/api/auth/login", { email: data.get("email"), password: data.get("password") });
      const next = new URLSearchParams(window.location.search).get("next");
      window.location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (err) {
      error.textContent = err.status === 429 ? "Too many attempts. Wait a few minutes and try again."
        : err.status === 401 ? "Wrong email or password." : err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
