/* While the team's mailboxes are searched for a new investor's (or a new address's) mail — the targeted
   backfill, GET /api/email/investors/{id}/search — say so, and poll at a bounded interval: onProgress when a
   mailbox finishes (the page fills in what has arrived), onDone when every mailbox has searched, onGiveUp
   after MAX_POLLS. Used by the investor page and the grid. */
"use strict";

(function () {
  const { api, count } = window.crm;
  const INTERVAL_MS = 1500;
  const MAX_POLLS = 200; // five minutes: past that the page says to look again later

  function watch(investorId, { onProgress, onDone, onGiveUp }) {
    let polls = 0;
    let stopped = false;
    let seen = null; // the last "searching" state shown
    let settle;
    const first = new Promise((resolve) => { settle = resolve; });

    async function tick() {
      if (stopped) return settle(null);
      let state = null;
      try {
        state = await api("GET", `/api/email/investors/${investorId}/search`);
      } catch (err) {
        state = null; // 404 (merged away) or capture switched off: nothing to wait for any more
      }
      if (stopped) return settle(null);
      if (state && state.state === "searching") {
        if (!seen || seen.searched !== state.searched) onProgress(state);
        seen = state;
        settle(state);
        if (++polls >= MAX_POLLS) {
          stopped = true;
          if (onGiveUp) onGiveUp(state);
          return undefined;
        }
        setTimeout(tick, INTERVAL_MS);
        return undefined;
      }
      stopped = true;
      settle(null);
      if (seen) onDone(state);
      return undefined;
    }

    tick();
    return { first, stop() { stopped = true; } };
  }

  /* "Searching 5 mailboxes for Kim Lee's mail… (2 done)" */
  function message(state, name) {
    return `Searching ${count(state.mailboxes, "mailbox", "mailboxes")} for ${name}'s mail…` +
      (state.searched ? ` (${state.searched} done)` : "");
  }

  window.crm.searchWatch = { watch, message };
})();
