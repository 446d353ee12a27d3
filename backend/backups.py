"""Consistent online backups of the CRM database (sqlite3's backup API), retention, and restore."""
from __future__ import annotations

import datetime as _dt
import logging
import os
import re

import sqlite3
import threading

log = logging.getLogger("crm.backups")
BACKUP_NAME = re.compile(r"\Acrm-\d{8}T\d{6}(?:\d{6})?Z\.db\Z")


class BackupError(Exception):
    """A backup could not be made or restored; str() says why in one line."""


def list_backups(backup_dir: str) -> list[str]:
    """Backup file paths, oldest first."""
    try:
        names = sorted(n for n in os.listdir(backup_dir) if BACKUP_NAME.match(n))
    except FileNotFoundError:
        return []
    return [os.path.join(backup_dir, n) for n in names]


def _copy(source_path: str, target_path: str) -> None:
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)  # page-by-page copy of a consistent snapshot, safe while the CRM writes
    finally:
        target.close()
        source.close()


def backup_now(db_path: str, backup_dir: str, keep: int) -> str:
    """Write a consistent copy to backup_dir/crm-<UTC time>.db, keep the newest `keep`; returns its path."""
    if not os.path.exists(db_path):
        raise BackupError(f"no database at {db_path}")
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    final = os.path.join(backup_dir, f"crm-{stamp}.db")
    temp = final + ".tmp"
    try:
        _copy(db_path, temp)
        os.chmod(temp, 0o600)
        os.replace(temp, final)  # readers never see a half-written backup
    except (sqlite3.Error, OSError) as exc:
        if os.path.exists(temp):
            os.remove(temp)
        raise BackupError(f"backup failed: {exc}") from None
    for old in list_backups(backup_dir)[:-keep]:
        os.remove(old)
    return final


def restore_backup(db_path: str, backup_path: str) -> str:
    """Replace the live database with `backup_path` after checking it; returns where the old one was kept."""
    if not os.path.isfile(backup_path):
        raise BackupError(f"no such backup: {backup_path}")
    try:
        check = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        try:
            verdict = check.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            check.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{backup_path} is not a usable SQLite database: {exc}") from None
    if verdict != "ok":
        raise BackupError(f"{backup_path} failed its integrity check: {verdict}")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    kept = f"{db_path}.before-restore-{stamp}"
    if os.path.exists(db_path):
        _copy(db_path, kept)
    source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
    target = sqlite3.connect(db_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    return kept


class BackupScheduler(threading.Thread):
    """A daemon thread taking a backup every `interval_min` minutes until stop() is called."""

    def __init__(self, db_path: str, backup_dir: str, interval_min: float, keep: int):
        super().__init__(name="crm-backups", daemon=True)
        self.db_path, self.backup_dir, self.interval, self.keep = db_path, backup_dir, interval_min * 60, keep
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                path = backup_now(self.db_path, self.backup_dir, self.keep)
                log.info("backup written: %s", os.path.basename(path))
            except BackupError as exc:
                log.error("%s", exc)

    def stop(self) -> None:
        self.stopped.set()


def start_backup_scheduler(db_path: str, backup_dir: str, interval_min: float, keep: int) -> BackupScheduler:
    scheduler = BackupScheduler(db_path, backup_dir, interval_min, keep)
    scheduler.start()
    return scheduler


