"""All SQL for users, sessions and API tokens."""
from __future__ import annotations

from .db import atomic, now_iso

ROLES = ("admin", "member", "bot")
_USER_COLUMNS = "id, email, name, role, active, created_at"


def _user(row) -> dict | None:
    return None if row is None else {k: row[k] for k in ("id", "email", "name", "role")} | {"active": bool(row["active"])}


def create_user(conn, email: str, name: str, role: str, password_hash: str | None) -> int:
    with atomic(conn):
        cur = conn.execute(
            "INSERT INTO users (email, name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)",
            (email, name, role, password_hash, now_iso()))
        return cur.lastrowid


def get_user(conn, user_id: int) -> dict | None:
    return _user(conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE id = ?", (user_id,)).fetchone())


def get_user_by_email(conn, email: str) -> dict | None:
    return _user(conn.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE email = ?", (email,)).fetchone())


def password_hash_for(conn, email: str) -> tuple[dict | None, str | None]:
    row = conn.execute(f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE email = ?", (email,)).fetchone()
    return (_user(row), row["password_hash"] if row else None)


def list_users(conn) -> list[dict]:
    return [_user(r) for r in conn.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY id")]


def set_role(conn, email: str, role: str) -> bool:
    with atomic(conn):
        return conn.execute("UPDATE users SET role = ? WHERE email = ?", (role, email)).rowcount == 1


def set_password_hash(conn, email: str, password_hash: str) -> bool:
    with atomic(conn):
        return conn.execute("UPDATE users SET password_hash = ? WHERE email = ?", (password_hash, email)).rowcount == 1


def create_session(conn, token_hash: str, user_id: int, expires_at: str) -> None:
    with atomic(conn):
        conn.execute("DELETE FROM sessions WHERE expires_at < ?", (now_iso(),))
        conn.execute("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                     (token_hash, user_id, now_iso(), expires_at))


def user_for_session(conn, token_hash: str) -> tuple[dict | None, int | None]:
    """(user, session id) for a live session of an active user."""
    row = conn.execute(
        "SELECT s.id AS session_id, u.id, u.email, u.name, u.role, u.active, u.created_at "
        "FROM sessions s JOIN users u ON u.id = s.user_id "
        "WHERE s.token_hash = ? AND s.expires_at > ? AND u.active = 1",
        (token_hash, now_iso())).fetchone()
    return (_user(row), row["session_id"]) if row else (None, None)


def delete_session(conn, token_hash: str) -> None:
    with atomic(conn):
        conn.execute("DELETE FROM sessions WHERE token_hash = ?", (token_hash,))


def create_api_token(conn, token_hash: str, user_id: int, label: str | None) -> int:
    with atomic(conn):
        return conn.execute("INSERT INTO api_tokens (token_hash, user_id, label, created_at) VALUES (?, ?, ?, ?)",
                            (token_hash, user_id, label, now_iso())).lastrowid


def user_for_api_token(conn, token_hash: str) -> dict | None:
    row = conn.execute(
        "SELECT t.id AS token_id, t.last_used_at, u.id, u.email, u.name, u.role, u.active "
        "FROM api_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND t.revoked_at IS NULL AND u.active = 1", (token_hash,)).fetchone()
    if row is None:
        return None
    now = now_iso()
    if (row["last_used_at"] or "")[:16] != now[:16]:  # at most one write a minute per token
        conn.execute("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (now, row["token_id"]))
    return _user(row)


# -- account lifecycle (issue 15, item 6): every check above joins users.active = 1 and
# api_tokens.revoked_at IS NULL, so these take effect on the very next request.
def set_active(conn, user_id: int, active: bool) -> None:
    """Deactivating also ends the user's sessions and revokes their tokens: reactivation revives neither."""
    with atomic(conn):
        conn.execute("UPDATE users SET active = ? WHERE id = ?", (1 if active else 0, user_id))
        if not active:
            end_sessions(conn, user_id)
            revoke_tokens(conn, user_id)
            void_links(conn, user_id)


def end_sessions(conn, user_id: int, keep_token_hash: str | None = None) -> int:
    """Delete the user's browser sessions (all, or all but `keep_token_hash`); returns how many."""
    with atomic(conn):
        return conn.execute("DELETE FROM sessions WHERE user_id = ? AND token_hash IS NOT ?",
                            (user_id, keep_token_hash)).rowcount


def revoke_tokens(conn, user_id: int) -> int:
    with atomic(conn):
        return conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                            (now_iso(), user_id)).rowcount


def revoke_token(conn, token_id: int) -> bool:
    """True when a live token was revoked (False: no such token, or already revoked)."""
    with atomic(conn):
        return conn.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                            (now_iso(), token_id)).rowcount == 1


def list_tokens(conn, user_id: int | None = None) -> list[dict]:
    """Tokens (never their hashes), oldest first, with their owner's email."""
    rows = conn.execute(
        "SELECT t.id, u.email, t.label, t.created_at, t.last_used_at, t.revoked_at "
        "FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE ? IS NULL OR t.user_id = ? ORDER BY t.id",
        (user_id, user_id))
    return [dict(row) for row in rows]


# -- one-time links (issue 24, item 6): invitations and password resets an admin hands over.
def set_role_by_id(conn, user_id: int, role: str) -> None:
    with atomic(conn):
        conn.execute("UPDATE users SET role = ? WHERE id = ?", (role, user_id))


def has_password(conn, user_id: int) -> bool:
    row = conn.execute("SELECT password_hash FROM users WHERE id = ?", (user_id,)).fetchone()
    return bool(row and row[0])


def create_link(conn, token_hash: str, user_id: int, kind: str, created_by: int | None, expires_at: str) -> int:
    """A new link; every older unused link of the user is voided (only the newest one handed over works)."""
    with atomic(conn):
        now = now_iso()
        conn.execute("UPDATE account_links SET used_at = ? WHERE user_id = ? AND used_at IS NULL", (now, user_id))
        return conn.execute("INSERT INTO account_links (token_hash, user_id, kind, created_by, created_at, expires_at) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (token_hash, user_id, kind, created_by, now, expires_at)).lastrowid


def link_for(conn, token_hash: str) -> dict | None:
    """{id, kind, expires_at, used_at, expired, user} for a link of an active user, whatever its state."""
    row = conn.execute(
        "SELECT l.id AS link_id, l.kind, l.expires_at, l.used_at, u.id, u.email, u.name, u.role, u.active "
        "FROM account_links l JOIN users u ON u.id = l.user_id WHERE l.token_hash = ? AND u.active = 1",
        (token_hash,)).fetchone()
    if row is None:
        return None
    return {"id": row["link_id"], "kind": row["kind"], "expires_at": row["expires_at"], "used_at": row["used_at"],
            "expired": row["expires_at"] <= now_iso(), "user": _user(row)}


def use_link(conn, link_id: int, user_id: int, password_hash: str) -> bool:
    """Spend the link and set the password in one transaction; False when it was spent or expired meanwhile.
    Every session of the user ends: whoever held the old password is signed out."""
    with atomic(conn):
        now = now_iso()
        spent = conn.execute("UPDATE account_links SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
                             (now, link_id, now)).rowcount
        if not spent:
            return False
        conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
        end_sessions(conn, user_id)
        return True


def void_links(conn, user_id: int) -> int:
    with atomic(conn):
        return conn.execute("UPDATE account_links SET used_at = ? WHERE user_id = ? AND used_at IS NULL",
                            (now_iso(), user_id)).rowcount


def account_states(conn) -> dict[int, dict]:
    """Per user id: {has_password, link: {kind, expires_at} | None (the live unused link)}: what Admin shows."""
    states = {row[0]: {"has_password": bool(row[1]), "link": None}
              for row in conn.execute("SELECT id, password_hash IS NOT NULL AND password_hash != '' FROM users")}
    for row in conn.execute("SELECT user_id, kind, expires_at FROM account_links WHERE used_at IS NULL "
                            "AND expires_at > ? ORDER BY id", (now_iso(),)):
        if row[0] in states:
            states[row[0]]["link"] = {"kind": row[1], "expires_at": row[2]}
    return states
