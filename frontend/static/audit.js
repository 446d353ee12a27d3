/* Admin page, audit log section: GET /api/audit newest first, a page at a time. */
"use strict";

(function () {
  const { api, el, formatDate } = window.crm;
  const PAGE = 50;
  const body = document.getElementById("audit-body");
  const more = document.getElementById("audit-more");
  let offset = 0;

  function describe(detail) {
    // Address changes read "emails: a@x → b@x"; anything else as compact key: value pairs.
    return Object.entries(detail || {}).map(([key, value]) => {
      if (value && typeof value === "object" && "before" in value && "after" in value) {
        const side = (v) => (Array.isArray(v) ? v.join(", ") : String(v)) || "—";
        return `${key}: ${side(value.before)} → ${side(value.after)}`;
      }
      return `${key}: ${Array.isArray(value) ? value.join(", ") : JSON.stringify(value)}`;
    }).join("; ");
  }

  function row(entry) {
    const tr = el("tr", {}, el("td", {}, formatDate(entry.at)),
      el("td", {}, entry.user ? entry.user.name : "(system)"), el("td", {}, entry.action),
      el("td", {}, `${entry.target_type} ${entry.target_id || ""}`), el("td", { className: "audit-detail" }, describe(entry.detail)));
    tr.dataset.auditId = entry.id;
    return tr;
  }

  async function load(append) {
    if (!append) offset = 0;
    try {
      const { entries, total } = await api("GET", `/api/audit?limit=${PAGE}&offset=${offset}`);
      if (!append) body.replaceChildren();
      body.append(...entries.map(row));
      offset += entries.length;
      more.hidden = offset >= total;
    } catch (err) {
      body.replaceChildren(el("tr", {}, el("td", { className: "error", colSpan: 5 }, err.message)));
    }
  }

  more.addEventListener("click", () => load(true));
  window.crm.me.then((user) => { if (user.role === "admin") load(false); });
})();
