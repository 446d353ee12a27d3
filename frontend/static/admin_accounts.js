/* Admin page, People section (issue 24, item 6): users and roles, invitations and password resets as
   one-time links the admin copies and hands over, deactivation, API tokens (shown once). */
"use strict";

(function () {
  const { api, el, formatDate, relativeDate } = window.crm;
  const ROLES = ["admin", "member", "bot"];
  const body = document.getElementById("people-body");
  const tokensBody = document.getElementById("tokens-body");
  const message = document.getElementById("people-message");
  const errorBox = document.getElementById("people-error");
  const handover = document.getElementById("handover");
  let me = null;

  function say(text, isError) {
    message.hidden = isError || !text;
    errorBox.hidden = !isError;
    (isError ? errorBox : message).textContent = text || "";
  }

  /* The secret to hand over (a link or a token): shown once, in a read-only field with a Copy button. */
  function showSecret(title, value, note) {
    const field = el("input", { type: "text", readOnly: true, value, id: "handover-value" });
    field.setAttribute("aria-label", title);
    const copy = el("button", { type: "button" }, "Copy");
    copy.addEventListener("click", async () => {
      field.select();
      try { await navigator.clipboard.writeText(value); copy.textContent = "Copied"; } catch (err) { /* selected: Ctrl+C */ }
    });
    handover.replaceChildren(el("strong", {}, title), el("div", { className: "toolbar" }, field, copy),
                             el("p", { className: "status" }, note));
    handover.hidden = false;
    field.select();
  }

  function showLink(user, link) {
    const what = link.kind === "invite" ? "Invitation" : "Password reset";
    showSecret(`${what} link for ${user.name}`, window.location.origin + link.url,
      `Send it to ${user.email} yourself (chat, text). It works once, until ${formatDate(link.expires_at)}; ` +
      "making a new one voids this one.");
  }

  async function act(method, path, payload, done) {
    try {
      const reply = await api(method, path, payload);
      if (done) done(reply);
      await load();
      return reply;
    } catch (err) {
      say(err.message, true);
      return null;
    }
  }

  function stateText(user) {
    if (!user.active) return "deactivated";
    if (user.role === "bot") return "active (API tokens)";
    if (user.link) return `${user.link.kind === "invite" ? "invited" : "reset link out"}, until ${formatDate(user.link.expires_at)}`;
    return user.has_password ? "active" : "no password yet";
  }

  function roleCell(user) {
    const select = el("select", { disabled: user.id === me.id });
    select.setAttribute("aria-label", `Role of ${user.name}`);
    ROLES.forEach((role) => select.append(el("option", { value: role, selected: role === user.role }, role)));
    select.addEventListener("change", () => act("PATCH", `/api/admin/users/${user.id}`, { role: select.value },
      () => say(`${user.name} is now ${select.value}.`)));
    return el("td", {}, select);
  }

  function actions(user) {
    const cell = el("td", { className: "actions" });
    if (user.active && user.role !== "bot") {
      const label = user.has_password ? "Reset password" : "New invitation link";
      const reset = el("button", { type: "button" }, label);
      reset.addEventListener("click", () => act("POST", `/api/admin/users/${user.id}/password-link`, {},
        (reply) => showLink(user, reply.link)));
      cell.append(reset, " ");
    }
    if (user.active) {
      const token = el("button", { type: "button" }, "New API token");
      token.addEventListener("click", () => {
        const label = window.prompt(`A label for ${user.name}'s new token (what uses it):`, user.role === "bot" ? "matrix bot" : "");
        if (label === null) return;
        act("POST", `/api/admin/users/${user.id}/tokens`, { label }, (reply) => showSecret(
          `API token for ${user.name}`, reply.token, "Shown only now: copy it into the script or bot that uses it."));
      });
      cell.append(token, " ");
    }
    if (user.id !== me.id) {
      const toggle = el("button", { type: "button" }, user.active ? "Deactivate" : "Reactivate");
      toggle.addEventListener("click", () => {
        if (user.active && !window.confirm(`Deactivate ${user.name}? They are signed out at once and their API tokens stop working.`)) return;
        act("POST", `/api/admin/users/${user.id}/${user.active ? "deactivate" : "reactivate"}`, {},
          () => say(`${user.name} ${user.active ? "deactivated" : "reactivated"}.`));
      });
      cell.append(toggle);
    }
    return cell;
  }

  function userRow(user) {
    const tr = el("tr", {}, el("td", {}, user.name), el("td", {}, user.email), roleCell(user),
                  el("td", {}, stateText(user)), actions(user));
    tr.dataset.userId = user.id;
    return tr;
  }

  function tokenRow(token) {
    const cell = el("td", {});
    if (!token.revoked_at) {
      const revoke = el("button", { type: "button" }, "Revoke");
      revoke.addEventListener("click", () => {
        if (!window.confirm(`Revoke "${token.label || "unlabelled"}" of ${token.email}? What uses it stops at once.`)) return;
        act("POST", `/api/admin/tokens/${token.id}/revoke`, {}, () => say("Token revoked."));
      });
      cell.append(revoke);
    }
    const tr = el("tr", {}, el("td", {}, token.label || "(no label)"), el("td", {}, token.email),
      el("td", { title: formatDate(token.created_at) }, relativeDate(token.created_at)),
      el("td", {}, token.last_used_at ? relativeDate(token.last_used_at) : "never"),
      el("td", {}, token.revoked_at ? `revoked ${relativeDate(token.revoked_at)}` : "live"), cell);
    tr.dataset.tokenId = token.id;
    return tr;
  }

  async function load() {
    const [{ users }, { tokens }] = await Promise.all([api("GET", "/api/admin/users"), api("GET", "/api/admin/tokens")]);
    body.replaceChildren(...users.map(userRow));
    tokensBody.replaceChildren(...tokens.map(tokenRow));
    document.getElementById("tokens-empty").hidden = tokens.length > 0;
  }

  document.getElementById("invite-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const payload = { name: form.elements.name.value, email: form.elements.email.value, role: form.elements.role.value };
    const reply = await act("POST", "/api/admin/users", payload);
    if (!reply) return;
    form.reset();
    if (reply.link) showLink(reply.user, reply.link);
    else say(`${reply.user.name} added; give the bot an API token below.`);
  });

  window.crm.me.then((user) => {
    if (user.role !== "admin") return;
    me = user;
    document.getElementById("people").hidden = false;
    load().catch((err) => say(err.message, true));
  });
})();
