"""Helpers to prove migrations idempotent: snapshot a database's schema and rows, compare."""
import shutil
import sqlite3


def copy_live(data_dir: str, dest: str) -> str:
    """A copy of a running CRM's crm.db (with its WAL, so nothing committed is missing); returns dest."""
    shutil.copyfile(f"{data_dir}/crm.db", dest)
    for suffix in ("-wal", "-shm"):
        try:
            shutil.copyfile(f"{data_dir}/crm.db{suffix}", dest + suffix)
        except FileNotFoundError:
            pass
    return dest


def snapshot(path: str) -> dict:
    """{"schema": sorted sqlite_master rows, "rows": {table: sorted rows}} for every user table."""
    conn = sqlite3.connect(path)
    try:
        schema = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                     "WHERE name NOT LIKE 'sqlite_%'").fetchall(), key=repr)
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
        rows = {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        conn.close()
    return {"schema": schema, "rows": rows}
