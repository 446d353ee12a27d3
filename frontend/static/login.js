/* The sign-in form. */
"use strict";

(function () {
  /* Where to go after signing in: `next` only when the browser resolves it to this origin.
     A prefix check is not enough: "/\\host" and "/<TAB>/host" resolve to another site. */
  function sameOriginPath(next) {
    if (!next) return "/";
    let url;
    try { url = new URL(next, window.location.origin); } catch (err) { return "/"; }
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : "/";
  }

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
      window.location.assign(sameOriginPath(new URLSearchParams(window.location.search).get("next")));
    } catch (err) {
      error.textContent = err.status === 429 ? "Too many attempts. Wait a few minutes and try again."
        : err.status === 401 ? "Wrong email or password." : err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
