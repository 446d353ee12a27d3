#!/usr/bin/env node
// reviewer.mjs: drive one or more Matrix reviewers with matrix-js-sdk (the SDK Element Web is built on).
//
// Development/test tool. Only dependency: matrix-js-sdk (tested with 37.5.0 on Node 20).
//
//   node reviewer.mjs            # reads JSON commands, one per line, on stdin
//
// Protocol (newline-delimited JSON both ways):
//   stdin:  {"id": 1, "cmd": "login", "as": "ann", "homeserver": "http://127.0.0.1:8008", "user": "ann",
//            "password": "pw", "timeout": 30}
//   stdout: {"id": 1, "ok": true, "user_id": "@ann:spark.test", ...}  or  {"id": 1, "ok": false, "error": "..."}
// The first stdout line is {"ready": true, ...}, sent before any command is read. Nothing else ever goes to
// stdout: the SDK's logging (console.*) is sent to stderr, filtered by REVIEWER_LOG (silent|error|warn|info|debug,
// default warn).
// Commands for one reviewer ("as") run one after another, in the order they were read; commands for different
// reviewers run concurrently. Every command has a timeout ("timeout", seconds, default 30); a command that timed out,
// or that {"cmd": "cancel", "target": id} gave up on, sends nothing afterwards.
// The process exits (after stopping every client) on stdin EOF, on {"cmd": "quit"}, or on SIGTERM/SIGINT.
// devtools/js_reviewers.py is the Python side (tests); README.md in this folder lists the commands and shapes.

import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";

// ---- logging: keep stdout for the protocol --------------------------------------------------------------
const LEVELS = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };
const logLevel = LEVELS[(process.env.REVIEWER_LOG || "warn").toLowerCase()] ?? LEVELS.warn;
const toStderr = (level) => (...args) => {
    if (LEVELS[level] <= logLevel) process.stderr.write(`[${level}] ${args.map(fmt).join(" ")}\n`);
};
function fmt(arg) {
    if (typeof arg === "string") return arg;
    if (arg instanceof Error) return arg.stack || String(arg);
    try { return JSON.stringify(arg); } catch { return String(arg); }
}
// The SDK's logger (loglevel) calls console[method] at call time, so replacing these catches all of its output.
console.log = toStderr("info");
console.info = toStderr("info");
console.debug = toStderr("debug");
console.trace = toStderr("debug");
console.warn = toStderr("warn");
console.error = toStderr("error");

const importStart = performance.now();
const sdk = await import("matrix-js-sdk");
const { logger: sdkLogger } = await import("matrix-js-sdk/lib/logger.js");  // not re-exported by the index
const importMs = performance.now() - importStart;
const { ClientEvent, EventType, MsgType, RelationType, RoomEvent, THREAD_RELATION_TYPE, ThreadEvent,
        PendingEventOrdering } = sdk;
// Child loggers are created at DEBUG whatever the root says, hence the console filter above as well.
sdkLogger.setLevel(logLevel >= LEVELS.debug ? "debug" : "warn", false);

const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

// ---- helpers ---------------------------------------------------------------------------------------------
class CommandError extends Error {}

function withTimeout(promise, seconds, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new CommandError(`timeout after ${seconds}s: ${what}`)), seconds * 1000);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Before anything a command sends: a command that timed out (or was cancelled) must never send afterwards,
 *  into a later test. */
function live(ctx) {
    if (ctx?.cancelled) throw new CommandError("cancelled: the command timed out before it sent anything");
}

function need(args, ...names) {
    for (const name of names) {
        if (args[name] === undefined || args[name] === null) throw new CommandError(`missing "${name}"`);
    }
}

// The wire form of an event as the server sent it (for unencrypted rooms: exactly the sync JSON).
const raw = (ev) => ev.event;

/** Does a raw event match a filter {event_id, type, sender, body, body_contains, rel_type, relates_to,
 *  in_reply_to, thread, key, redacts, not_sender, txn_id}? */
function matches(e, m) {
    const content = e.content || {};
    const rel = content["m.relates_to"] || {};
    if (m.event_id && e.event_id !== m.event_id) return false;
    if (m.type && e.type !== m.type) return false;
    if (m.sender && e.sender !== m.sender) return false;
    if (m.not_sender && e.sender === m.not_sender) return false;
    if (m.body !== undefined && content.body !== m.body) return false;
    if (m.body_contains !== undefined && !(typeof content.body === "string" && content.body.includes(m.body_contains)))
        return false;
    if (m.rel_type && rel.rel_type !== m.rel_type) return false;
    if (m.relates_to && rel.event_id !== m.relates_to) return false;
    if (m.thread && !(rel.rel_type === "m.thread" && rel.event_id === m.thread)) return false;
    if (m.in_reply_to && rel["m.in_reply_to"]?.event_id !== m.in_reply_to) return false;
    if (m.key && rel.key !== m.key) return false;
    if (m.redacts && (e.redacts ?? content.redacts) !== m.redacts) return false;
    return true;
}

// ---- one reviewer = one MatrixClient ---------------------------------------------------------------------
class Reviewer {
    constructor(name) {
        this.name = name;
        this.client = null;
        this.seen = [];             // raw events from sync, oldest first (bounded)
        this.seenIds = new Set();
        this.waiters = new Set();   // () => void, re-checked on every new event / sync
        this.syncState = null;
        this.generation = 0;
    }

    notify() {
        for (const check of [...this.waiters]) check();
    }

    /** Resolve with predicate()'s first truthy value, re-checking on every event and sync state change. */
    until(predicate, seconds, what) {
        const first = predicate();
        if (first) return Promise.resolve(first);
        let check;
        const done = new Promise((resolve, reject) => {
            check = () => {
                try {
                    const value = predicate();
                    if (value) resolve(value);
                } catch (err) { reject(err); }
            };
            this.waiters.add(check);
        });
        return withTimeout(done, seconds, what).finally(() => this.waiters.delete(check));
    }

    async login(args) {
        need(args, "homeserver");
        const generation = ++this.generation;  // a login that timed out must not start a client afterwards
        const t0 = performance.now();
        let creds;
        if (args.access_token) {
            need(args, "user_id");
            creds = { user_id: args.user_id, access_token: args.access_token, device_id: args.device_id };
        } else {
            need(args, "user", "password");
            const bare = sdk.createClient({ baseUrl: args.homeserver });
            creds = await bare.loginRequest({
                type: "m.login.password",
                identifier: { type: "m.id.user", user: args.user },
                password: args.password,
                device_id: args.device_id,
                initial_device_display_name: args.device_name ?? `reviewer.mjs ${this.name}`,
            });
        }
        const loggedIn = performance.now();
        if (generation !== this.generation) throw new CommandError("login abandoned (timed out)");
        this.client = sdk.createClient({
            baseUrl: args.homeserver,
            userId: creds.user_id,
            accessToken: creds.access_token,
            deviceId: creds.device_id,
            timelineSupport: true,
        });
        const client = this.client;
        client.on(ClientEvent.Event, (ev) => {
            const e = raw(ev);
            if (!e.event_id || this.seenIds.has(e.event_id)) return;
            this.seenIds.add(e.event_id);
            this.seen.push(e);
            if (this.seen.length > 20000) this.seenIds.delete(this.seen.shift().event_id);
            this.notify();
        });
        client.on(ClientEvent.Sync, (state, _prev, data) => {
            this.syncState = state;
            if (state === "ERROR") console.warn(`${this.name}: sync error`, data?.error?.message);
            this.notify();
        });
        await client.startClient({
            initialSyncLimit: args.initial_sync_limit ?? 5,
            threadSupport: true,                                  // as Element does
            pendingEventOrdering: PendingEventOrdering.Detached,  // as Element does
            lazyLoadMembers: args.lazy_load_members ?? true,
            pollTimeout: args.poll_timeout_ms ?? 30000,
        });
        // PREPARED: the first /sync has been processed (rooms and their latest events are in the store).
        await this.until(() => this.syncState === "PREPARED" || this.syncState === "SYNCING",
            args.timeout ?? 30, "first sync (PREPARED)");
        const synced = performance.now();
        return {
            user_id: creds.user_id, device_id: creds.device_id, access_token: creds.access_token,
            timings_ms: { login: round(loggedIn - t0), first_sync: round(synced - loggedIn), total: round(synced - t0) },
        };
    }

    get c() {
        if (!this.client) throw new CommandError(`reviewer "${this.name}" is not logged in`);
        return this.client;
    }

    async join(args) {
        need(args, "room");
        await this.c.joinRoom(args.room);
        // joinRoom returns a placeholder Room at once; wait for the real one to come down /sync.
        const room = await this.until(() => {
            const r = this.c.getRoom(args.room);
            return r?.getMyMembership() === "join" ? r : null;
        }, args.timeout ?? 30, `join ${args.room} to sync`);
        return { room_id: room.roomId };
    }

    /** Wait for an event matching args.match (checked first against every event already seen). */
    async wait(args) {
        need(args, "match");
        const m = { ...args.match };
        if (args.room) m.room_id = args.room;
        const find = () => this.seen.find((e) => (!m.room_id || e.room_id === m.room_id) && matches(e, m));
        const event = await this.until(find, args.timeout ?? 30, `event ${JSON.stringify(args.match)}`);
        return { event };
    }

    /** An event, as this client knows it (MatrixEvent) - from the store or, failing that, fetched. */
    async event(roomId, eventId, seconds = 30) {
        const room = await this.until(() => this.c.getRoom(roomId), seconds, `room ${roomId}`);
        let ev = room.findEventById(eventId);
        if (!ev) {
            // Not in any loaded timeline (older than initialSyncLimit, or not synced yet): wait briefly for it
            // to come down sync, then fetch it.
            await this.until(() => this.seenIds.has(eventId), Math.min(seconds, 5), "")
                .catch(() => undefined);
            ev = room.findEventById(eventId);
        }
        if (!ev) {
            const fetched = await this.c.fetchRoomEvent(roomId, eventId);
            ev = new sdk.MatrixEvent(fetched);
        }
        return ev;
    }

    /** m.room.message `content` sent (in thread `threadId`, or null) unless the command was given up on meanwhile. */
    async post(args, ctx, threadId, content) {
        live(ctx);
        const res = await this.accepted(args, (txnId) => this.c.sendMessage(args.room, threadId, content, txnId));
        return this.sent(args, res, content);
    }

    /** `send(txnId)`'s answer. matrix-js-sdk 37.5.0 races its local echo against /sync: when a thread event's remote
     *  echo is synced before the /send answer, updatePendingEvent throws "…not a local echo" although the server
     *  accepted the event (Element shows it sent). Then the answer is the remote echo carrying our transaction id. */
    async accepted(args, send) {
        const txnId = this.c.makeTxnId();
        try {
            return await send(txnId);
        } catch (err) {
            if (!String(err?.message).includes("not a local echo")) throw err;
            const echo = await this.until(() => this.seen.find((e) => e.unsigned?.transaction_id === txnId),
                args.timeout ?? 30, `remote echo of transaction ${txnId}`);
            return { event_id: echo.event_id };
        }
    }

    /** After a send: wait for the remote echo (the event coming back down /sync), unless echo is false. */
    async sent(args, response, content) {
        const result = { event_id: response.event_id, content };
        if (args.echo !== false) {
            const echo = await this.until(() => this.seen.find((e) => e.event_id === response.event_id),
                args.timeout ?? 30, `remote echo of ${response.event_id}`);
            result.echo = echo;
        }
        return result;
    }

    // -- what Element's composers send ---------------------------------------------------------------------

    /** A new message in the room's main timeline (Element's main composer); `hold`: seconds spent typing first
     *  (a slow client: how tests show that a command given up on sends nothing afterwards). */
    async send(args, ctx) {
        need(args, "room", "body");
        const content = textContent(args, this.c.getSafeUserId(), undefined);
        if (args.hold) await new Promise((resolve) => setTimeout(resolve, args.hold * 1000));
        return this.post(args, ctx, null, content);
    }

    /** A message in a thread (Element's thread composer, no Reply pressed). */
    async thread(args, ctx) {
        need(args, "room", "root", "body");
        const content = textContent(args, this.c.getSafeUserId(), undefined);
        attachRelation(content, await this.threadRelation(args.room, args.root, args.timeout ?? 30));
        return this.post(args, ctx, args.root, content);
    }

    /** "Reply" pressed on an event, then a message typed. In the main timeline, or, when the event is in a thread
     *  (or "thread" is given), in that thread's composer, as Element does. `unthreaded`: a client without thread
     *  support (a plain rich reply, whatever the target is in); `legacy_fallback`: the quoted fallback
     *  (`> <@sender> …` in body, `<mx-reply>` in formatted_body) that clients sent before MSC2781. */
    async reply(args, ctx) {
        need(args, "room", "to", "body");
        const target = await this.event(args.room, args.to, args.timeout ?? 30);
        const targetRel = target.getWireContent()["m.relates_to"];
        const threadId = args.unthreaded ? null
            : args.thread ?? (targetRel?.rel_type === THREAD_RELATION_TYPE.name ? targetRel.event_id : null);
        const content = textContent(args, this.c.getSafeUserId(), target);
        // the in-thread Reply's m.in_reply_to is the replied-to event: no need to wait for the thread's newest one
        if (threadId) attachRelation(content, threadOf(threadId, threadId));
        addReplyToMessageContent(content, target, !args.unthreaded);
        if (args.legacy_fallback) addLegacyFallback(content, target, args.room);
        return this.post(args, ctx, threadId, content);
    }

    /** A reaction (Element's reaction picker / quick reaction). */
    async react(args, ctx) {
        need(args, "room", "to", "key");
        const content = { "m.relates_to": { rel_type: RelationType.Annotation, event_id: args.to, key: args.key } };
        live(ctx);
        const res = await this.accepted(args, (txnId) => this.c.sendEvent(args.room, EventType.Reaction, content, txnId));
        return this.sent(args, res, content);
    }

    /** An edit of one's own message (Element's EditMessageComposer.createEditContent). */
    async edit(args, ctx) {
        need(args, "room", "to", "body");
        const original = await this.event(args.room, args.to, args.timeout ?? 30);
        const replyToId = original.replyEventId;
        const replyTo = replyToId ? await this.event(args.room, replyToId, args.timeout ?? 30).catch(() => undefined)
            : undefined;
        const newContent = { msgtype: MsgType.Text, body: args.body };
        const content = { msgtype: MsgType.Text, body: `* ${args.body}`, "m.new_content": newContent };
        attachMentions(original.getSender(), content, args.mentions, replyTo, original.getContent());
        attachRelation(content, { rel_type: RelationType.Replace, event_id: original.getId() });
        return this.post(args, ctx, original.threadRootId || null, content);
    }

    /** Remove (redact) an event (Element's "Remove"). */
    async redact(args, ctx) {
        need(args, "room", "to");
        live(ctx);
        const res = await this.c.redactEvent(args.room, args.to, undefined, args.reason ? { reason: args.reason } : {});
        return this.sent(args, res, args.reason ? { reason: args.reason } : {});
    }

    /** Raw SDK call, to see what the SDK adds by itself: client.sendMessage(room, thread, content). */
    async sdk_send(args, ctx) {
        need(args, "room", "content");
        const content = structuredClone(args.content);
        return this.post(args, ctx, args.thread ?? null, content);  // content as the SDK left it (it is mutated in place)
    }

    /** Element's ThreadView.threadRelation: the thread, with a fallback reply to its latest event, once the client
     *  knows it. matrix-js-sdk initialises a Thread in the background (resetLiveTimeline, then
     *  paginateEventTimeline); until then lastReply() reads an empty timeline and the fallback would be the root,
     *  which no Element user who has the thread open would send. So this waits (within `seconds`) until the thread's
     *  first events are fetched and its last reply is the newest thread event this client has seen, re-checking on
     *  ThreadEvent.Update / NewReply and RoomEvent.TimelineReset / Timeline. A thread with no reply seen: the root
     *  (Element's composer on a new thread). */
    async threadRelation(roomId, rootId, seconds) {
        const room = await this.until(() => this.c.getRoom(roomId), seconds, `room ${roomId}`);
        const settled = () => {
            const newest = this.newestInThread(roomId, rootId);
            if (!newest) return rootId;
            const thread = room.getThread(rootId);
            if (!thread?.initialEventsFetched) return null;
            const last = thread.lastReply((ev) => ev.isRelation(THREAD_RELATION_TYPE.name) && !ev.status);
            return last?.getId() === newest ? newest : null;
        };
        const wake = () => this.notify();
        const signals = [ThreadEvent.Update, ThreadEvent.NewReply, RoomEvent.TimelineReset, RoomEvent.Timeline];
        for (const signal of signals) room.on(signal, wake);
        try {
            return threadOf(rootId, await this.until(settled, seconds, `thread ${rootId} known to the client`));
        } finally {
            for (const signal of signals) room.off(signal, wake);
        }
    }

    /** The newest event of a thread this client has synced (by origin_server_ts: pagination may add older ones
     *  after newer ones), or null. */
    newestInThread(roomId, rootId) {
        let newest = null;
        for (const e of this.seen) {
            const rel = e.content?.["m.relates_to"];
            if (e.room_id === roomId && rel?.rel_type === THREAD_RELATION_TYPE.name && rel.event_id === rootId &&
                (!newest || e.origin_server_ts >= newest.origin_server_ts)) newest = e;
        }
        return newest?.event_id ?? null;
    }

    async stop() {
        if (!this.client) return;
        this.client.stopClient();
        this.client.removeAllListeners();
        this.client = null;
    }
}

// ---- Element's content builders (element-web SendMessageComposer.tsx, EditMessageComposer.tsx, Reply.ts) --

/** What Element's composer sends for `args.body`; `args.pills` ([{user_id, name}]) are mention pills typed
 *  before the text (body "Name: text", a matrix.to link in formatted_body, the user in m.mentions). */
function textContent(args, sender, replyTo) {
    const pills = args.pills ?? [];
    const content = { msgtype: MsgType.Text, body: args.body };
    if (pills.length) {
        content.body = pills.map((p) => p.name).join(" ") + ": " + args.body;
        content.format = "org.matrix.custom.html";
        content.formatted_body = pills.map((p) => `<a href="https://matrix.to/#/${escapeHtml(p.user_id)}">` +
            `${escapeHtml(p.name)}</a>`).join(" ") + ": " + escapeHtml(args.body);
    }
    attachMentions(sender, content, [...(args.mentions ?? []), ...pills.map((p) => p.user_id)], replyTo);
    return content;
}

function escapeHtml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** attachMentions: m.mentions is always set; a reply adds the replied-to sender; the sender is never listed.
 *  `mentioned`: user ids that would be pills in the composer. (Pills' HTML is not produced here.) */
function attachMentions(sender, content, mentioned, replyTo, editedContent = null) {
    const mentions = (content["m.mentions"] = {});
    const users = new Set();
    if (replyTo) users.add(replyTo.getSender());
    for (const userId of mentioned ?? []) users.add(userId);
    users.delete(sender);
    if (editedContent) {
        const newMentions = (content["m.new_content"]["m.mentions"] = {});
        if (users.size) newMentions.user_ids = [...users];
        for (const userId of editedContent["m.mentions"]?.user_ids ?? []) users.delete(userId);
    }
    if (users.size) mentions.user_ids = [...users];
}

/** A thread message's relation: in thread `rootId`, the fallback reply pointing at `latestId`. */
function threadOf(rootId, latestId) {
    return { rel_type: THREAD_RELATION_TYPE.name, event_id: rootId, is_falling_back: true,
             "m.in_reply_to": { event_id: latestId } };
}

function attachRelation(content, relation) {
    if (relation) content["m.relates_to"] = { ...(content["m.relates_to"] || {}), ...relation };
}

/** Reply.ts makeReplyMixIn + addReplyToMessageContent (no legacy fallback text since MSC2781). A client that
 *  knows threads marks a reply to a thread event (or to a thread root) `is_falling_back: false`. */
function addReplyToMessageContent(content, replyTo, threadAware = true) {
    const mixin = { "m.in_reply_to": { event_id: replyTo.getId() } };
    if (threadAware && replyTo.threadRootId) mixin.is_falling_back = false;
    content["m.relates_to"] = { ...(content["m.relates_to"] || {}), ...mixin };
}

/** The quoted reply fallback older clients sent (matrix-react-sdk's ReplyChain/getNestedReplyText before
 *  MSC2781): "> <@sender> first line" quoted in body, the replied-to HTML inside <mx-reply> in formatted_body. */
function addLegacyFallback(content, replyTo, roomId) {
    const quotedBody = String(replyTo.getContent().body ?? "").split("\n");
    const sender = replyTo.getSender();
    const quoted = [`> <${sender}> ${quotedBody[0]}`, ...quotedBody.slice(1).map((line) => `> ${line}`)].join("\n");
    const quotedHtml = replyTo.getContent().formatted_body ?? escapeHtml(replyTo.getContent().body ?? "");
    const html = content.formatted_body ?? escapeHtml(content.body);
    content.body = `${quoted}\n\n${content.body}`;
    content.format = "org.matrix.custom.html";
    content.formatted_body = `<mx-reply><blockquote><a href="https://matrix.to/#/${escapeHtml(roomId)}/` +
        `${escapeHtml(replyTo.getId())}">In reply to</a> <a href="https://matrix.to/#/${escapeHtml(sender)}">` +
        `${escapeHtml(sender)}</a><br>${quotedHtml}</blockquote></mx-reply>${html}`;
}

const round = (ms) => Math.round(ms * 10) / 10;

// ---- the command loop ------------------------------------------------------------------------------------
const reviewers = new Map();
const queues = new Map();  // name -> tail promise (per-reviewer FIFO)
const inflight = new Set();
const contexts = new Map();  // command id -> {cancelled}: a timed-out or cancelled command sends nothing more
const working = new Set();   // commands' work still running (a timed-out one may still be waiting for something)
const COMMANDS = ["login", "join", "wait", "send", "thread", "reply", "react", "edit", "redact", "sdk_send"];

async function run(msg, ctx) {
    const { id, cmd } = msg;
    const seconds = msg.timeout ?? 30;
    live(ctx);  // cancelled while it waited behind its reviewer's earlier commands
    if (cmd === "ping") {
        return { pong: true, uptime_ms: round(performance.now()), rss_mb: round(process.memoryUsage().rss / 2 ** 20),
                 reviewers: [...reviewers.keys()], running: working.size };
    }
    if (cmd === "stop") {
        need(msg, "as");
        await reviewers.get(msg.as)?.stop();
        reviewers.delete(msg.as);
        return {};
    }
    if (!COMMANDS.includes(cmd)) throw new CommandError(`unknown command ${JSON.stringify(cmd)}`);
    need(msg, "as");
    let reviewer = reviewers.get(msg.as);
    if (!reviewer) {
        if (cmd !== "login") throw new CommandError(`reviewer "${msg.as}" is not logged in`);
        reviewer = new Reviewer(msg.as);
        reviewers.set(msg.as, reviewer);
    } else if (cmd === "login" && reviewer.client) {
        throw new CommandError(`reviewer "${msg.as}" is already logged in`);
    }
    // The outer timeout is a backstop: the commands' own waits (same "timeout") fail first, with a clearer message.
    const work = reviewer[cmd](msg, ctx);
    working.add(work);
    work.then(() => working.delete(work), () => working.delete(work));
    try {
        return await withTimeout(work, seconds + 1, `${cmd} (id ${id})`);
    } catch (err) {
        ctx.cancelled = true;  // whatever it still awaits, it sends nothing after its answer
        if (cmd === "login") {  // do not leave a half-started client syncing in the background
            reviewer.generation++;
            await reviewer.stop();
        }
        throw err;
    }
}

function dispatch(line) {
    if (!line.trim()) return;
    let msg;
    try {
        msg = JSON.parse(line);
    } catch (err) {
        out({ id: null, ok: false, error: `bad JSON: ${err.message}` });
        return;
    }
    if (msg.cmd === "quit") {
        shutdown(0, msg.id);
        return;
    }
    if (msg.cmd === "cancel") {  // the caller gave up on command `target`: it must not send anything later
        const ctx = contexts.get(msg.target);
        if (ctx) ctx.cancelled = true;
        out({ id: msg.id ?? null, ok: true, cancelled: Boolean(ctx) });
        return;
    }
    const key = msg.as ?? "";
    const previous = queues.get(key) ?? Promise.resolve();
    const started = performance.now();
    const ctx = { cancelled: false };
    if (msg.id !== undefined && msg.id !== null) contexts.set(msg.id, ctx);
    const task = previous.then(() => run(msg, ctx)).then(
        (result) => out({ id: msg.id ?? null, ok: true, ms: round(performance.now() - started), ...result }),
        (err) => out({ id: msg.id ?? null, ok: false, ms: round(performance.now() - started),
                       error: err?.message || String(err), ...(err?.errcode ? { errcode: err.errcode } : {}) }),
    );
    queues.set(key, task);
    inflight.add(task);
    task.finally(() => {
        inflight.delete(task);
        contexts.delete(msg.id);
    });
}

let stopping = false;
async function shutdown(code, id) {
    if (stopping) return;
    stopping = true;
    // Commands already read get up to 5 s to finish; then every client is stopped and the process exits
    // (commands still running then get no reply).
    let grace;
    await Promise.race([Promise.allSettled([...inflight]), new Promise((r) => { grace = setTimeout(r, 5000); })]);
    clearTimeout(grace);
    await Promise.allSettled([...reviewers.values()].map((r) => r.stop()));
    if (id !== undefined) out({ id, ok: true, quit: true });
    // Give stdout a chance to drain, then leave even if some SDK timer or socket is still pending.
    process.stdout.write("", () => process.exit(code));
}

process.on("SIGTERM", () => shutdown(0));
process.on("SIGINT", () => shutdown(130));
process.on("unhandledRejection", (err) => console.error("unhandled rejection:", err));

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on("line", (line) => { if (!stopping) dispatch(line); });
rl.on("close", () => shutdown(0));

out({ ready: true, sdk: "matrix-js-sdk", node: process.version, import_ms: round(importMs),
      boot_ms: round(performance.now()) });
