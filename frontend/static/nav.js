/* The shared header: page links, the signed-in user, sign out. Resolves crm.me for the page. */
"use strict";

(function () {
  const { api, el } = window.crm;
  const PAGES = [["grid", "/", "Investors"], ["capture", "/capture", "Email Capture"],
                 ["emails", "/emails", "Emails"], ["privacy", "/privacy", "Privacy"], ["admin", "/admin", "Admin"]];

  window.crm.me = api("GET", "/api/auth/me").then(({ user }) => {
    const header = document.getElementById("nav");
    const current = header.dataset.page;
    const links = el("nav", { className: "links" });
    for (const [key, href, label] of PAGES) {
      if (key === "admin" && user.role !== "admin") continue;
      const link = el("a", { href }, label);
      if (key === current) link.setAttribute("aria-current", "page");
      links.append(link);
    }
    const logout = el("button", { type: "button", className: "link", id: "logout" }, "Sign out");
    logout.addEventListener("click", async () => {
      try { await api("POST", "/api/auth/logout"); } finally { window.location.assign("/login"); }
    });
    header.append(el("span", { className: "brand" }, "Venture CRM"), links,
                  el("span", { className: "who", title: user.email }, user.name), logout);
    return user;
  });
})();
