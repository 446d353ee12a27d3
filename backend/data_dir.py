"""The data directory's permissions: it holds the database (mail, sessions, token hashes), backups,
attachments and secrets, so only the CRM's own user may read it (issue 15, item 7).

The directory is 0700 and the database with its WAL and SHM files 0600; SQLite gives the WAL
and SHM the database file's mode, so creating crm.db 0600 first is enough for new files, and
files left wider by an older version are narrowed at start with one log line.
"""
from __future__ import annotations

import logging
import os
import stat

from .db import db_path

log = logging.getLogger("crm")
PRIVATE_UMASK = 0o077  # files the CRM creates later (backups, attachments) are private too
DIR_MODE, FILE_MODE = 0o700, 0o600
DB_SUFFIXES = ("", "-wal", "-shm")


def _narrow(path: str, mode: int) -> str | None:
    """chmod `path` to `mode` when it grants more; a note like "crm.db 0644→0600" or None."""
    try:
        current = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None
    if current & ~mode == 0:
        return None
    os.chmod(path, mode)
    return f"{os.path.basename(path) or path} {current:04o}→{mode:04o}"


def secure_data_dir(data_dir: str) -> list[str]:
    """Create or narrow the data dir and the database files; returns what was narrowed (and logs it once)."""
    os.umask(PRIVATE_UMASK)
    os.makedirs(data_dir, mode=DIR_MODE, exist_ok=True)
    database = db_path(data_dir)
    if not os.path.exists(database):
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, FILE_MODE))  # an empty file is an empty database
    narrowed = [note for note in [_narrow(data_dir, DIR_MODE)] + [_narrow(database + s, FILE_MODE) for s in DB_SUFFIXES]
                if note]
    if narrowed:
        log.warning("data dir permissions narrowed: %s", ", ".join(narrowed))
    return narrowed
