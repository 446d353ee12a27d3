"""The background sync: every CRM_GMAIL_SYNC_INTERVAL_MIN, on demand (run-now, verify now), and a history
poll per account every CRM_GMAIL_POLL_SEC (15: new investor mail reaches /capture within about 30 s).
With CRM_CALENDAR=on, a calendar sync per account every CRM_CALENDAR_POLL_SEC (300), on threads of its own:
a calendar that fails (scope refused, Google down, a crash) is recorded on its mailbox and never stops mail.

One run per account at a time; accounts run in parallel (Gmail's quotas are per user); a stop
(SIGTERM → interpreter exit, or stop()) lets running syncs finish their page and save their checkpoint.
"""
from __future__ import annotations

import atexit
import datetime
import logging
import threading
import time

from backend.db import db_path
from email_integration.capture.service import CaptureService, data_dir_from_env

from .calendar.sync import CalendarService
from .capture import db_accounts
from .config import CONFIG
from .review.meeting_cards import propose_ended_meetings

log = logging.getLogger(__name__)
STOP_JOIN_SEC = 20.0


class SyncScheduler:
    def __init__(self, service: CaptureService, interval_min: float, clock=time.time, poll_sec: float | None = None,
                 calendar: CalendarService | None = None):
        self.service, self.interval_sec = service, max(1.0, interval_min * 60.0)
        self.calendar = calendar if calendar is not None else \
            CalendarService(service, service.config) if service.config.calendar_enabled else None
        self.calendar_sec = max(1.0, service.config.calendar_poll_sec)
        self.next_calendar_at: float | None = None
        self._calendar_running: dict[int, threading.Thread] = {}
        self.poll_sec = max(1.0, poll_sec if poll_sec is not None else service.config.poll_sec)
        self.next_poll_at: float | None = None
        self.clock = clock
        self.stop_event = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[int, threading.Thread] = {}
        self._queued: set[int] = set()  # accounts whose full run waits for the poll they are busy with
        self._loop: threading.Thread | None = None
        self.next_run_at: float | None = None

    # -- control ------------------------------------------------------------------------------
    def start(self) -> "SyncScheduler":
        conn = self.service.connect()
        try:
            interrupted = db_accounts.reset_interrupted(conn)
        finally:
            conn.close()
        if interrupted:
            log.info("%d sync run(s) were interrupted by the last stop; their accounts resume", interrupted)
        self.next_run_at = self.clock()
        self.next_poll_at = self.clock() + self.poll_sec
        self.next_calendar_at = self.clock() if self.calendar else None
        self._loop = threading.Thread(target=self._run_loop, name="gmail-sync-scheduler", daemon=True)
        self._loop.start()
        return self

    @property
    def running(self) -> bool:
        return self._loop is not None and self._loop.is_alive() and not self.stop_event.is_set()

    def run_now(self, account_id: int | None = None, poll: bool = False, verify: bool = False) -> list[int]:
        """Start a run (or a poll, or a verification: the investor search alone) for one or every enabled
        account; the ids started. A full run for an account busy with another run follows it; a poll or a
        verification of a busy account is not started. A full run starts the calendar sync too (CRM_CALENDAR=on)."""
        conn = self.service.connect()
        try:
            accounts = [a for a in db_accounts.list_accounts(conn)
                        if a["state"] != "disabled" and (account_id is None or a["id"] == account_id)]
        finally:
            conn.close()
        started = [a["id"] for a in accounts if self._start_account(a["id"], poll, verify)]
        if self.calendar is not None and not (poll or verify):
            try:  # a full run ("Sync now", a new mailbox) brings the calendar too, not 5 minutes later
                self.run_calendar_now(account_id)
            except Exception:  # noqa: BLE001 - never in mail's way
                log.exception("calendar sync could not start")
        return started

    def run_calendar_now(self, account_id: int | None = None) -> list[int]:
        """Start a calendar sync for one or every enabled account (none when calendar capture is off); the ids
        started. An account whose calendar sync is under way is skipped."""
        if self.calendar is None:
            return []
        conn = self.service.connect()
        try:
            accounts = [a["id"] for a in db_accounts.list_accounts(conn)
                        if a["state"] != "disabled" and (account_id is None or a["id"] == account_id)]
        finally:
            conn.close()
        started = []
        with self._lock:
            for account in accounts:
                current = self._calendar_running.get(account)
                if self.stop_event.is_set() or (current is not None and current.is_alive()):
                    continue
                thread = threading.Thread(target=self._calendar_one, args=(account,), name=f"calendar-sync-{account}",
                                          daemon=True)
                self._calendar_running[account] = thread
                thread.start()
                started.append(account)
        return started

    def _calendar_one(self, account_id: int) -> None:
        try:
            self.calendar.sync_account(account_id, self.stop_event)
        except Exception:  # noqa: BLE001 - the calendar never takes mail (or the scheduler) down
            log.exception("calendar sync of account %s crashed", account_id)

    def is_running(self, account_id: int) -> bool:
        with self._lock:
            thread = self._running.get(account_id)
            return thread is not None and thread.is_alive()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no account run is in flight (tools and tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                threads = [t for t in [*self._running.values(), *self._calendar_running.values()] if t.is_alive()]
            if not threads:
                return True
            threads[0].join(min(0.2, max(0.0, deadline - time.monotonic())))
        return False

    def stop(self, timeout: float = STOP_JOIN_SEC) -> None:
        self.stop_event.set()
        self._wake.set()
        self.wait_idle(timeout)

    # -- internals ----------------------------------------------------------------------------
    def _start_account(self, account_id: int, poll: bool = False, verify: bool = False) -> bool:
        with self._lock:
            current = self._running.get(account_id)
            if self.stop_event.is_set():
                return False
            if current is not None and current.is_alive():
                if poll or verify:
                    return False  # the run under way reads history (and verifies) itself
                # A full run asked for while a poll (every CRM_GMAIL_POLL_SEC) or a verification holds the
                # mailbox: it follows at once, rather than being dropped.
                self._queued.add(account_id)
                return True
            thread = threading.Thread(target=self._sync_one, args=(account_id, poll, verify),
                                      name=f"gmail-sync-{account_id}", daemon=True)
            self._running[account_id] = thread
            thread.start()
            return True

    def _sync_one(self, account_id: int, poll: bool = False, verify: bool = False) -> None:
        while True:
            try:
                if verify:
                    self.service.verify_account(account_id, self.stop_event)
                else:
                    self.service.sync_account(account_id, self.stop_event, poll=poll)
            except Exception:  # noqa: BLE001 - a crashed run must not take the scheduler down
                log.exception("sync of account %s crashed", account_id)
            with self._lock:
                if account_id not in self._queued or self.stop_event.is_set():
                    return
                self._queued.discard(account_id)
            poll = verify = False  # the full run asked for meanwhile

    def _meeting_cards(self) -> None:
        """Every tick (at most 5 s apart): cards for the meetings with investors that ended since."""
        try:
            conn = self.service.connect()
            try:
                propose_ended_meetings(conn, datetime.datetime.now(datetime.timezone.utc))
            finally:
                conn.close()
        except Exception:  # noqa: BLE001 - a failed look must not take the scheduler down; the next tick retries
            log.exception("meeting cards")

    def _run_loop(self) -> None:
        while not self.stop_event.is_set():
            if self.clock() >= (self.next_run_at or 0):
                self.run_now()
                self.next_run_at = self.clock() + self.interval_sec
                self.next_poll_at = self.clock() + self.poll_sec
            elif self.clock() >= (self.next_poll_at or 0):
                self.run_now(poll=True)  # accounts busy with a run are skipped: that run reads history too
                self.next_poll_at = self.clock() + self.poll_sec
            if self.next_calendar_at is not None and self.clock() >= self.next_calendar_at:
                try:
                    self.run_calendar_now()
                except Exception:  # noqa: BLE001 - e.g. the database busy: the mail loop goes on
                    log.exception("calendar poll could not start")
                self.next_calendar_at = self.clock() + self.calendar_sec
            self._meeting_cards()
            due = min(self.next_run_at or 0, self.next_poll_at or 0,
                      self.next_calendar_at if self.next_calendar_at is not None else float("inf"))
            self._wake.wait(timeout=min(5.0, max(0.1, due - self.clock())))
            self._wake.clear()


_scheduler: SyncScheduler | None = None
_scheduler_lock = threading.Lock()


def get_scheduler(db_file: str | None = None, data_dir: str | None = None, start: bool = False) -> SyncScheduler:
    """The process's scheduler (made on first use; routes use it for run-now even if the loop is off)."""
    global _scheduler
    with _scheduler_lock:
        if _scheduler is None:
            data_dir = data_dir or data_dir_from_env()
            service = CaptureService(db_file or db_path(data_dir), data_dir, CONFIG)
            _scheduler = SyncScheduler(service, CONFIG.sync_interval_min)
            atexit.register(_scheduler.stop)
        if start and _scheduler._loop is None:
            _scheduler.start()
        return _scheduler


def current_scheduler() -> SyncScheduler | None:
    return _scheduler


def start_sync_scheduler(db_file: str | None = None, data_dir: str | None = None) -> SyncScheduler:
    """The seed's Patch 2 entry point: start the background sync for $CRM_DATA_DIR/crm.db."""
    scheduler = get_scheduler(db_file, data_dir, start=True)
    log.info("Gmail sync scheduler started: every %g min", CONFIG.sync_interval_min)
    return scheduler
