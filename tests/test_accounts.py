"""Account lifecycle against a real CRM (issue 15, items 5–7): the login throttle under parallel
guesses, token revocation, deactivation, set-password ending sessions, private data files."""
import os
import sqlite3
import stat
import threading

from conftest import PASSWORD, manage


def test_parallel_guesses_cannot_outrun_the_login_throttle(crm_factory):
    server = crm_factory({"CRM_LOGIN_MAX_FAILURES": "5"})
    server.create_user("a@firm.test", "member")
    statuses = []
    gate = threading.Barrier(30)

    def guess(i):
        client = server.client()
        gate.wait(timeout=30)
        statuses.append(client.login("a@firm.test", f"guess-{i}").status)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [401] * 5 + [429] * 25  # only five were ever checked
    assert server.client().login("a@firm.test", PASSWORD).status == 429


def test_revoke_token_and_list_tokens(crm_factory):
    server = crm_factory()
    server.create_user("bot@firm.test", "bot", password=None)
    first, second = server.issue_token("bot@firm.test"), server.issue_token("bot@firm.test")
    listed = manage(server.data_dir, "list-tokens").stdout.splitlines()
    assert len(listed) == 2 and all(line.endswith("\tlive") for line in listed)
    assert first not in "".join(listed) and second not in "".join(listed)  # never shown again
    token_id = listed[0].split("\t")[0]
    assert server.client(first).get("/api/intake/email-proposals").status != 401
    assert manage(server.data_dir, "revoke-token", "--id", token_id).stdout.strip() == f"token {token_id} revoked"
    assert server.client(first).get("/api/auth/me").status == 401  # at once
    assert server.client(second).get("/api/auth/me").status == 200
    assert "revoked" in manage(server.data_dir, "list-tokens", "--email", "bot@firm.test").stdout.splitlines()[0]
    again = manage(server.data_dir, "revoke-token", "--id", token_id, check=False)
    assert again.returncode == 2 and "no live token" in again.stderr
    assert "1 token(s) revoked" in manage(server.data_dir, "revoke-token", "--email", "bot@firm.test").stdout
    assert server.client(second).get("/api/auth/me").status == 401
    neither = manage(server.data_dir, "revoke-token", check=False)
    assert neither.returncode == 2 and "--id" in neither.stderr


def test_deactivate_stops_sessions_and_tokens_at_once(crm_factory):
    server = crm_factory()
    server.create_user("m@firm.test", "member")
    browser = server.logged_in("m@firm.test")
    script = server.client(server.issue_token("m@firm.test"))
    assert browser.get("/api/investors").status == 200 and script.get("/api/investors").status == 200
    manage(server.data_dir, "deactivate-user", "--email", "m@firm.test")
    assert browser.get("/api/investors").status == 401
    assert script.get("/api/investors").status == 401
    assert server.client().login("m@firm.test", PASSWORD).status == 401
    manage(server.data_dir, "reactivate-user", "--email", "m@firm.test")
    assert browser.get("/api/investors").status == 401  # old credentials stay dead
    assert script.get("/api/investors").status == 401
    assert server.logged_in("m@firm.test").get("/api/investors").status == 200


def test_set_password_ends_the_users_sessions(crm_factory):
    server = crm_factory()
    server.create_user("m@firm.test", "member")
    server.create_user("o@firm.test", "member")
    stolen, other = server.logged_in("m@firm.test"), server.logged_in("o@firm.test")
    out = manage(server.data_dir, "set-password", "--email", "m@firm.test", "--password", "new secret words")
    assert "1 session(s) ended" in out.stdout
    assert stolen.get("/api/auth/me").status == 401
    assert other.get("/api/auth/me").status == 200
    assert server.logged_in("m@firm.test", "new secret words").get("/api/auth/me").status == 200


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_data_dir_and_database_are_private(tmp_path):
    data = str(tmp_path / "fresh")
    manage(data, "create-user", "--email", "a@firm.test", "--name", "A", "--role", "admin", "--password", "pw")
    assert mode(data) == 0o700
    assert mode(f"{data}/crm.db") == 0o600


def test_wide_existing_files_are_narrowed_at_start_with_one_line(crm_factory, tmp_path):
    server = crm_factory(name="d")
    server.create_user("a@firm.test", "admin")
    server.logged_in("a@firm.test")
    assert "permissions narrowed: d 0755→0700" in server.stop()  # conftest made the dir with umask 022
    database = f"{server.data_dir}/crm.db"
    os.chmod(database, 0o644)
    os.chmod(server.data_dir, 0o755)
    holder = sqlite3.connect(database)  # as an older version left them: WAL and SHM beside crm.db, 0644
    holder.execute("PRAGMA journal_mode = WAL")
    holder.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    try:
        assert mode(database + "-wal") == mode(database + "-shm") == 0o644
        again = crm_factory(name="d")
        again.logged_in("a@firm.test")
        assert mode(again.data_dir) == 0o700
        for suffix in ("", "-wal", "-shm"):
            assert mode(database + suffix) == 0o600, suffix
    finally:
        holder.close()
    lines = [line for line in again.stop().splitlines() if "permissions narrowed" in line]
    assert len(lines) == 1, lines
    assert all(note in lines[0] for note in ("d 0755→0700", "crm.db 0644→0600", "crm.db-wal 0644→0600",
                                             "crm.db-shm 0644→0600")), lines


def test_admin_api_for_the_lifecycle(crm_factory):
    from conftest import with_people
    server = with_people(crm_factory())
    users = {u["email"]: u for u in server.admin.get("/api/admin/users").json["users"]}
    member_id, bot_id = users["member@firm.test"]["id"], users["bot@firm.test"]["id"]
    for client, status in ((server.client(), 401), (server.member, 403), (server.bot, 403)):
        assert client.get("/api/admin/users").status == status
        assert client.post(f"/api/admin/users/{member_id}/deactivate", {}).status == status
    tokens = server.admin.get(f"/api/admin/tokens?user_id={bot_id}").json["tokens"]
    assert len(tokens) == 1 and "token_hash" not in tokens[0] and tokens[0]["revoked_at"] is None
    assert server.admin.post(f"/api/admin/tokens/{tokens[0]['id']}/revoke", {}).json == {"revoked": tokens[0]["id"]}
    assert server.bot.get("/api/auth/me").status == 401
    assert server.admin.post(f"/api/admin/tokens/{tokens[0]['id']}/revoke", {}).status == 404
    reply = server.admin.post(f"/api/admin/users/{member_id}/deactivate", {})
    assert reply.status == 200 and reply.json["user"]["active"] is False
    assert server.member.get("/api/investors").status == 401
    admin_id = users["admin@firm.test"]["id"]
    assert server.admin.post(f"/api/admin/users/{admin_id}/deactivate", {}).status == 409
    assert server.admin.post("/api/admin/users/999999/deactivate", {}).status == 404
    assert server.admin.get("/api/admin/tokens?user_id=abc").status == 400
    assert server.admin.post(f"/api/admin/users/{member_id}/reactivate", {}).json["user"]["active"] is True
    assert server.logged_in("member@firm.test").get("/api/investors").status == 200


def test_backups_attachments_and_env_are_narrowed_like_the_database(crm_factory):
    """Issue 22: backups are copies of the database, attachments are mail, .env holds secrets: at start
    each directory is 0700 and each file 0600, whatever an older version or a copy left; links untouched."""
    server = crm_factory(name="modes")
    data = server.data_dir
    server.stop()
    outside = os.path.join(os.path.dirname(data), "outside.txt")
    with open(outside, "w") as handle:
        handle.write("not ours")
    os.chmod(outside, 0o644)
    os.makedirs(f"{data}/backups", exist_ok=True)
    os.makedirs(f"{data}/email_attachments/ab", exist_ok=True)
    for path in (f"{data}/backups/crm-20261101.db", f"{data}/email_attachments/ab/abcdef", f"{data}/.env"):
        with open(path, "w") as handle:
            handle.write("CRM_SESSION_DAYS=14\n" if path.endswith(".env") else "x")
        os.chmod(path, 0o644)
    for path in (f"{data}/backups", f"{data}/email_attachments", f"{data}/email_attachments/ab"):
        os.chmod(path, 0o755)
    os.symlink(outside, f"{data}/email_attachments/link")
    again = crm_factory(name="modes")
    assert mode(f"{data}/.env") == 0o600
    for path in ("backups", "email_attachments", "email_attachments/ab"):
        assert mode(f"{data}/{path}") == 0o700, path
    for path in ("backups/crm-20261101.db", "email_attachments/ab/abcdef"):
        assert mode(f"{data}/{path}") == 0o600, path
    assert mode(outside) == 0o644  # the link's target is not the CRM's to narrow
    (line,) = [line for line in again.stop().splitlines() if "permissions narrowed" in line]
    assert all(note in line for note in (".env 0644→0600", "backups/: 2 narrowed", "email_attachments/: 3 narrowed")), line
