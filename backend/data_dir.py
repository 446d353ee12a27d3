"""The data directory's permissions: it holds the database (mail, sessions, token hashes), backups,
attachments and secrets, so only the CRM's own user may read it (issue 15, item 7).

The directory is 0700 and the database with its WAL and SHM files 0600; SQLite gives the WAL
and SHM the database file's mode, so creating crm.db 0600 first is enough for new files, and
files left wider by an older version are narrowed at start with one log line. So are the other things
the directory holds (issue 22): `backups/` (copies of the database) and `email_attachments/` (mail's
files), each directory 0700 and each file in them 0600, and `.env` (secrets) 0600. Symbolic links
are left alone (chmod would follow them out of the directory).
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
PRIVATE_TREES = ("backups", "email_attachments")  # what backend.backups and the Gmail capture write here
PRIVATE_FILES = (".env",)


def _narrow(path: str, mode: int) -> str | None:
    """chmod `path` to `mode` when it grants more; a note like "crm.db 0644→0600" or None."""
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return None
    current = stat.S_IMODE(status.st_mode)
    if stat.S_ISLNK(status.st_mode) or current & ~mode == 0:
        return None
    os.chmod(path, mode)
    return f"{os.path.basename(path) or path} {current:04o}→{mode:04o}"


def _narrow_tree(top: str) -> str | None:
    """`top` and every directory under it 0700, every file 0600; one note for the lot ("backups/: 3 narrowed")."""
    if not os.path.isdir(top) or os.path.islink(top):
        return None
    count = 1 if _narrow(top, DIR_MODE) else 0
    for root, dirs, files in os.walk(top):  # os.walk does not follow links to directories
        count += sum(1 for name in dirs if _narrow(os.path.join(root, name), DIR_MODE))
        count += sum(1 for name in files if _narrow(os.path.join(root, name), FILE_MODE))
    return f"{os.path.basename(top)}/: {count} narrowed to {DIR_MODE:04o}/{FILE_MODE:04o}" if count else None


def secure_data_dir(data_dir: str) -> list[str]:
    """Create or narrow the data dir and the database files; returns what was narrowed (and logs it once)."""
    os.umask(PRIVATE_UMASK)
    os.makedirs(data_dir, mode=DIR_MODE, exist_ok=True)
    database = db_path(data_dir)
    if not os.path.exists(database):
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, FILE_MODE))  # an empty file is an empty database
    narrowed = [note for note in [_narrow(data_dir, DIR_MODE)] + [_narrow(database + s, FILE_MODE) for s in DB_SUFFIXES]
                + [_narrow(os.path.join(data_dir, name), FILE_MODE) for name in PRIVATE_FILES]
                + [_narrow_tree(os.path.join(data_dir, name)) for name in PRIVATE_TREES] if note]
    if narrowed:
        log.warning("data dir permissions narrowed: %s", ", ".join(narrowed))
    return narrowed
