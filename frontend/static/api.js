/* Fetch wrapper for the CRM's JSON API: same-origin cookies, JSON in and out, 401 → /login. */
"use strict";

class ApiError extends Error {
  constructor(status, message, payload) {
    super(message);
    this.status = status;
    this.payload = payload || {};
  }
}

async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (err) {
    throw new ApiError(0, "The CRM cannot be reached. Check your connection and try again.");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (err) {
    payload = null;
  }
  if (response.status === 401 && !path.startsWith("/api/auth/login")) {
    window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname + window.location.hash));
    throw new ApiError(401, "Signed out");
  }
  if (!response.ok) {
    const message = (payload && payload.error) || `Request failed (${response.status})`;
    throw new ApiError(response.status, message, payload);
  }
  return payload;
}

/* Small DOM helper: el("td", {className: "x", title: "y"}, "text", childNode) — text is never parsed as HTML. */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props || {});
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/* A date and time to the minute ("2 Dec 2026, 14:05"), from one formatter: building a formatter per call
   costs about a millisecond, which a page of thousands of dates notices. */
const DATE_TIME = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric",
                                                       hour: "numeric", minute: "2-digit" });

function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : DATE_TIME.format(date);
}

function relativeDate(iso) {
  if (!iso) return "never";
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return iso;
  const days = Math.floor((Date.now() - then) / 86400000);
  if (days <= 0) return "today";
  if (days === 1) return "yesterday";
  if (days < 31) return `${days} days ago`;
  if (days < 365) return `${count(Math.floor(days / 30), "month")} ago`;
  return `${count(Math.floor(days / 365), "year")} ago`;
}

/* "1 email", "3 emails", "2 mailboxes": a number and its noun, never "email(s)". */
function count(n, noun, plural) {
  const number = Number(n).toLocaleString("en-US");
  return `${number} ${Number(n) === 1 ? noun : plural || `${noun}s`}`;
}

/* "a@x.vc, b@x.vc; c@x.vc" → ["a@x.vc", "b@x.vc", "c@x.vc"]: how address and domain fields are typed. */
function splitList(value) {
  return String(value || "").split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

window.crm = { api, ApiError, count, el, formatDate, relativeDate, splitList };
