/* The sign-in form. */
"use strict";

(function () {
  /* Where to go after signing in: `next` only when the browser resolves it to this origin, and
     then exactly the URL that was checked. A prefix check is not enough: "/\\host" and "/<TAB>/host"
     resolve to another site. Nor is navigating to the checked URL's path: "/.//host" (or "/..//",
     "/%2e//", "/./\\host") resolves on this origin to the path "//host", which as a link of its
     own is another site. So the path must start with exactly one "/", and the page goes to the
     absolute URL it resolved, never to a string the browser would resolve a second time. */
  function sameOriginTarget(next) {
    if (!next) return "/";
    let url;
    try { url = new URL(next, window.location.origin); } catch (err) { return "/"; }
    if (url.origin !== window.location.origin) return "/";
    if (!url.pathname.startsWith("/") || url.pathname.startsWith("//") || url.pathname.startsWith("/\\")) return "/";
    return url.href;
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
      window.location.assign(sameOriginTarget(new URLSearchParams(window.location.search).get("next")));
    } catch (err) {
      error.textContent = err.status === 429 ? "Too many attempts. Wait a few minutes and try again."
        : err.status === 401 ? "Wrong email or password." : err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
})();
