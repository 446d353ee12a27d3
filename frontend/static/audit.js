/* Admin page, audit log section: GET /api/audit newest first, a page at a time, each entry said in a
   sentence with names and links ("Ana marked a conversation with Jonas Berg (Fjord Capital) private; 13
   proposed notes were withdrawn"); the raw event, target and detail stay under the row's "Details". */
"use strict";

(function () {
  const { api, count, el, formatDate } = window.crm;
  const PAGE = 50;
  const body = document.getElementById("audit-body");
  const more = document.getElementById("audit-more");
  let offset = 0;

  const list = (value) => (Array.isArray(value) ? value : value ? [value] : []);
  const SEES = { everything: "everything", subject: "subjects and who wrote, not the text", metadata: "only who wrote when" };

  function describe(detail) {
    // The raw detail, for Details: "emails: a@x → b@x"; anything else as key: value pairs.
    return Object.entries(detail || {}).map(([key, value]) => {
      if (value && typeof value === "object" && "before" in value && "after" in value) {
        const side = (v) => (Array.isArray(v) ? v.join(", ") : String(v)) || "—";
        return `${key}: ${side(value.before)} → ${side(value.after)}`;
      }
      return `${key}: ${Array.isArray(value) ? value.join(", ") : JSON.stringify(value)}`;
    }).join("; ");
  }

  function investor(target, fallback) {
    // A link to the investor's page when it still exists; its last known name otherwise.
    if (target && target.name && target.href) {
      return el("a", { href: target.href }, target.firm ? `${target.name} (${target.firm})` : target.name);
    }
    if (target && target.name) return `${target.name} (since deleted)`;
    return fallback || "an investor since deleted";
  }

  function person(target, fallback) {
    return target && target.name ? target.name : fallback || "someone no longer in the CRM";
  }

  function addressChange(detail) {
    // "addresses now kim@alder.vc (were —)" for each of emails / domains that changed.
    const words = { emails: "email addresses", domains: "domains" };
    return Object.keys(words).filter((k) => detail[k] && "after" in detail[k]).map((k) => {
      const after = list(detail[k].after).join(", ") || "none";
      const before = list(detail[k].before).join(", ") || "none";
      return `${words[k]} now ${after} (before: ${before})`;
    }).join("; ");
  }

  function sentence(entry) {
    // [parts...] of the sentence after the actor's name.
    const d = entry.detail || {};
    const t = entry.target;
    switch (entry.action) {
      case "investor.create": {
        const addresses = [...list(d.emails && d.emails.after), ...list(d.domains && d.domains.after)];
        return ["added the investor ", investor(t, d.name), addresses.length ? ` (${addresses.join(", ")})` : ""];
      }
      case "investor.update": {
        const change = addressChange(d);
        return ["edited ", investor(t), change ? `: ${change}` : ""];
      }
      case "investor.merge":
        return ["merged ", (d.merged && d.merged.name) || "another investor", " into ", investor(t),
                `: ${count(d.notes || 0, "note")} and ${count(d.emails || 0, "email address", "email addresses")} moved`];
      case "note.create":
        return [d.source === "email" ? "added a note from an email to " : "added a note to ", investor(t)];
      case "note.edit":
        return ["edited a note on ", investor(t)];
      case "note.delete":
        return [String(d.reason || "").startsWith("undo") ? "removed the note an approval had written on "
          : "deleted a note on ", investor(t)];
      case "user.invite":
        return [`invited ${person(t, d.email)}${d.email ? ` (${d.email})` : ""} as ${d.role === "admin" ? "an admin" : `a ${d.role}`}`];
      case "user.role":
        return [`made ${person(t)} ${d.role && d.role.after === "admin" ? "an admin" : `a ${d.role ? d.role.after : "member"}`}` +
                (d.role ? ` (was ${d.role.before})` : "")];
      case "user.invite_link":
        return [`made a new invitation link for ${person(t)}`];
      case "user.reset_link":
        return [`made a password reset link for ${person(t)}`];
      case "user.password_set":
        return [d.via === "invite" ? "accepted the invitation and chose a password" : "chose a new password with a reset link"];
      case "user.deactivate":
        return [`deactivated ${person(t)}'s account (signed out everywhere, tokens revoked)`];
      case "user.reactivate":
        return [`reactivated ${person(t)}'s account`];
      case "token.issue":
        return [`issued an API token${d.label ? ` “${d.label}”` : ""} for ${t && t.owner ? t.owner : "a teammate"}`];
      case "token.revoke":
        return [`revoked the API token${t && t.name ? ` “${t.name}”` : ""}${t && t.owner ? ` of ${t.owner}` : ""}`];
      case "email.proposal.undo":
        return [`undid the ${d.status === "approved" ? "approval" : "rejection"} of a proposed note for `, investor(t),
                d.note_id ? "; the note it had written was removed" : ""];
      case "email.exclusion.add":
        return d.scope === "firm" ? [`kept mail from ${d.pattern} out of every mailbox`]
          : ["kept someone's mail out of their own mailbox (whose, is theirs alone to know)"];
      case "email.exclusion.remove":
        return d.scope === "firm" ? [`stopped keeping ${d.pattern} out of the mailboxes`]
          : ["removed one of their own mailbox's exclusions"];
      case "email.thread.private":
      case "email.thread.public": {
        const marked = entry.action === "email.thread.private";
        const parts = [marked ? "marked a conversation" : "made a conversation"];
        if (t && t.investors && t.investors.length) {
          parts.push(" with ");
          t.investors.forEach((i, n) => parts.push(n ? ", " : "", investor({ ...i, href: `/investors/${i.id}` })));
        }
        if (t && t.subject) parts.push(` (“${t.subject}”)`);
        parts.push(marked ? " private" : " visible to the team again");
        const moved = list(marked ? d.withdrawn : d.restored).length;
        if (moved) {
          parts.push(marked ? `; ${count(moved, "proposed note")} ${moved === 1 ? "was" : "were"} withdrawn`
            : `; ${count(moved, "proposed note")} ${moved === 1 ? "is" : "are"} back for review`);
        }
        return parts;
      }
      case "email.account.visibility": {
        const v = d.visibility || {};
        const owner = t && t.name ? `${t.name}'s mailbox` : `the mailbox ${t && t.email ? t.email : ""}`.trim();
        return [`set what the team sees of ${owner} to ${SEES[v.after] || v.after}` +
                (v.before ? ` (before: ${SEES[v.before] || v.before})` : "")];
      }
      case "email.source.add":
        return [`added the group ${d.address || entry.target_id} to the addresses read for investor mail`];
      case "email.source.remove":
        return [`stopped reading the group ${d.address || entry.target_id} for investor mail`];
      default:
        return ["made a change (see Details)"];
    }
  }

  function row(entry) {
    const what = el("td", { className: "audit-what" }, entry.user ? entry.user.name : "The CRM", " ");
    what.append(...sentence(entry).filter((part) => part !== ""), ".");
    const raw = el("pre", {}, `${entry.action} · ${entry.target_type} ${entry.target_id || ""}\n${describe(entry.detail)}`);
    const details = el("details", { className: "figures-details" }, el("summary", {}, "Details"), raw);
    const tr = el("tr", {}, el("td", { className: "when" }, formatDate(entry.at)), what,
                  el("td", { className: "audit-detail" }, details));
    tr.dataset.auditId = entry.id;
    tr.dataset.action = entry.action;
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
      body.replaceChildren(el("tr", {}, el("td", { className: "error", colSpan: 3 }, err.message)));
    }
  }

  more.addEventListener("click", () => load(true));
  window.crm.me.then((user) => { if (user.role === "admin") load(false); });
})();
