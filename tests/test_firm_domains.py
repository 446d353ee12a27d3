"""The firm's alias domains (CRM_FIRM_DOMAINS) and the public-mail list are refused as investor addresses
(issue 22 items 5 and 6): over HTTP on a real server, at start (a bad setting), and at capture against the Gmail
emulator (an investor address stored before its domain was known as the firm's is never matched)."""
import pytest

from backend import address_policy, free_mail
from backend.settings import SettingsError, load_settings
from capture_fixtures import capture_env, sync_all
from conftest import start_crm, with_people
from emulator_fixtures import add_message, make_message

ALIASES = "demo-alias.example, @Second-Alias.Example., bücher-firm.example"


@pytest.fixture(scope="module")
def crm(tmp_path_factory):
    server = with_people(start_crm(tmp_path_factory.mktemp("crm"), {"CRM_FIRM_DOMAINS": ALIASES}))
    yield server
    server.stop()


def investor(server, **fields):
    return server.member.post("/api/investors", {"name": "Probe", "emails": [], "domains": []} | fields)


# -- item 5: the firm's alias domains ---------------------------------------------------------------
@pytest.mark.parametrize("fields", [
    {"emails": ["ana@demo-alias.example"]},                 # a teammate's alias address
    {"emails": ["Ana@Demo-Alias.Example"]},                 # any case
    {"emails": ["ceo@eu.demo-alias.example"]},              # a subdomain
    {"emails": ["x@second-alias.example"]},                 # the second one ('@' and the trailing dot dropped)
    {"emails": ["x@xn--bcher-firm-9db.example"]},           # an IDN alias in its punycode form
    {"domains": ["demo-alias.example"]},
    {"domains": ["mail.demo-alias.example"]},
    {"domains": ["bücher-firm.example"]},
])
def test_alias_domains_are_refused_like_the_workspace_domain(crm, fields):
    reply = investor(crm, **fields)
    assert reply.status == 400 and "firm's own domain" in reply.json["error"], reply.json


def test_alias_domains_are_refused_on_edit_and_nothing_changes(crm):
    created = investor(crm, name="Alias edit", emails=["kim@alder-alias.vc"]).json
    assert crm.member.patch(f"/api/investors/{created['id']}", {"emails": ["ana@demo-alias.example"]}).status == 400
    assert crm.member.get(f"/api/investors/{created['id']}").json["emails"] == ["kim@alder-alias.vc"]


def test_a_lookalike_of_an_alias_domain_is_not_the_firms(crm):
    assert investor(crm, name="Lookalike", emails=["kim@demo-alias.example.vc"],
                    domains=["notdemo-alias.example"]).status == 201


@pytest.mark.parametrize("value,why", [("not a domain", "not a domain: 'not a domain'"), ("firm.example,,x", "'x'"),
                                       ("gmail.com", "public mail provider"), ("@", "not a domain")])
def test_a_bad_setting_stops_the_start_with_one_line(tmp_path, value, why):
    code, stderr = start_crm(tmp_path, {"CRM_FIRM_DOMAINS": value}, expect_failure=True)
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "CRM_FIRM_DOMAINS" in lines[0] and why in lines[0], stderr


def test_setting_units():
    assert load_settings({"CRM_FIRM_DOMAINS": " A.example , b.example., @c.example,a.example"}).firm_domains == \
        ("a.example", "b.example", "c.example")
    assert load_settings({"CRM_FIRM_DOMAINS": ""}).firm_domains == ()
    with pytest.raises(SettingsError, match="CRM_FIRM_DOMAINS"):
        load_settings({"CRM_FIRM_DOMAINS": "a..example"})


def test_stored_alias_addresses_are_not_matched_at_capture(tmp_path, keys):
    """Ana's personal mail to her alias: saved as an investor address before CRM_FIRM_DOMAINS named the alias,
    it is neither searched for nor matched once it does (in both capture scopes)."""
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1], quota_profile="legacy")
    try:
        personal = make_message(sender="Clinic <frontdesk@clinic.example>", to="ana@demo-alias.example",
                                subject="Your appointment", message_id="<appt@clinic.example>",
                                body="ALIASBODY see you Tuesday\n", headers={"Delivered-To": "member@firm.test"})
        from_alias = make_message(sender="Ana <ana@demo-alias.example>", to="landlord@rent.example",
                                  subject="About the flat", message_id="<flat@demo-alias.example>", body="FLATBODY\n")
        add_message(emulator.url, "member@firm.test", personal, "INBOX")
        add_message(emulator.url, "member@firm.test", from_alias, "SENT")
        env = capture_env(emulator, keys[0], CRM_GMAIL_CAPTURE_SCOPE="investors")
        server = with_people(start_crm(tmp_path / "crm", env))
        try:  # before the setting: the alias is an ordinary address, and the member saves it as an investor's
            assert investor(server, name="Ana (alias)", emails=["ana@demo-alias.example"]).status == 201
        finally:
            server.stop()
        for scope in ("investors", "all"):
            server = start_crm(tmp_path / "crm", {**env, "CRM_GMAIL_CAPTURE_SCOPE": scope,
                                                  "CRM_FIRM_DOMAINS": "demo-alias.example"})
            try:
                server.admin, server.member = server.logged_in("admin@firm.test"), server.logged_in("member@firm.test")
                assert server.admin.post("/api/email/accounts/enroll-all", {}).status == 200
                sync_all(server)
                threads = server.member.get("/api/email/threads?limit=100").json["threads"]
                assert not any(t["subject"] in ("Your appointment", "About the flat") and t.get("investors")
                               for t in threads), threads
                ana = next(i for i in server.member.get("/api/investors").json["investors"] if i["name"] == "Ana (alias)")
                assert server.admin.get(f"/api/email/threads?investor_id={ana['id']}").json["threads"] == []
                assert server.admin.get(f"/api/email/proposals").json["proposals"] == []
            finally:
                server.stop()
    finally:
        emulator.stop()


def test_policy_units_with_configured_domains(tmp_path):
    from backend import db
    from backend.server import init_db
    init_db(str(tmp_path / "crm.db"))
    conn = db.connect(str(tmp_path / "crm.db"))
    try:
        address_policy.set_firm_domains(["demo-alias.example", "bücher-firm.example"])
        assert {"demo-alias.example", "bücher-firm.example", "xn--bcher-firm-9db.example"} <= \
            address_policy.firm_domains(conn)
        assert address_policy.team_only(conn, ["ana@demo-alias.example", "b@eu.demo-alias.example"])
        assert address_policy.capturable(conn, [(1, "email", "ana@demo-alias.example"), (2, "domain", "alder.vc"),
                                                (3, "domain", "@Demo-Alias.Example.")]) == [(2, "domain", "alder.vc")]
    finally:
        address_policy.set_firm_domains(())
        conn.close()


# -- item 6: the public-mail list -----------------------------------------------------------------
@pytest.mark.parametrize("domain", ["hotmail.fr", "yahoo.fr", "mail.ru", "comcast.net", "t-online.de", "orange.fr",
                                    "Orange.FR.", "hey.com", "gmail.com"])
def test_public_mail_domains_are_refused(crm, domain):
    reply = investor(crm, name="Free mail", domains=[domain])
    assert reply.status == 400 and "public mail provider" in reply.json["error"], reply.json


@pytest.mark.parametrize("domain", ["co.uk", "ne.jp", "com.br"])
def test_a_registry_level_covering_providers_is_refused(crm, domain):
    reply = investor(crm, name="Registry", domains=[domain])
    assert reply.status == 400 and "covers public mail providers" in reply.json["error"], reply.json


def test_an_ordinary_company_domain_and_a_free_mail_address_are_accepted(crm):
    assert investor(crm, name="Northwind", domains=["northwind-capital.com", "google.com"]).status == 201
    assert investor(crm, name="Angel FR", emails=["angel.investisseur@hotmail.fr", "v@orange.fr"]).status == 201


def test_the_vendored_list_loads_with_its_header():
    with open(free_mail.PATH, encoding="utf-8") as handle:
        header = [line for line in handle.read(4000).splitlines() if line.startswith("#")]
    assert any("free-email-domains" in line for line in header) and any("MIT" in line for line in header)
    domains = free_mail.load()
    assert len(domains) > 10_000 and not any(d.startswith("#") or d != d.strip().lower() for d in domains)
    assert {"hotmail.fr", "yahoo.fr", "mail.ru", "comcast.net", "t-online.de", "orange.fr"} <= domains
    assert not free_mail.is_free_mail("alder.vc") and free_mail.is_free_mail("GMAIL.com.")
    assert free_mail.covers_free_mail("co.uk") and not free_mail.covers_free_mail("google.com")
    assert free_mail.registry_parents(["a.b.co.uk", "x.google.com", "y.ne.jp"]) == {"co.uk", "ne.jp"}


def test_a_free_mail_login_domain_is_not_the_firms(tmp_path):
    """A teammate who signs in with a hotmail.fr address does not make hotmail.fr the firm's domain."""
    from backend import db
    from backend.server import init_db
    init_db(str(tmp_path / "crm.db"))
    conn = db.connect(str(tmp_path / "crm.db"))
    try:
        conn.execute("INSERT INTO users (email, name, role, created_at) VALUES ('lea@hotmail.fr', 'Lea', 'member', 'x')")
        assert "hotmail.fr" not in address_policy.firm_domains(conn)
    finally:
        conn.close()


def test_the_refresh_tool_writes_the_list_with_source_version_and_licence(tmp_path):
    """devtools/refresh_free_mail.py on a tarball shaped like `npm pack free-email-domains` (no network)."""
    import io
    import json
    import tarfile

    from devtools import refresh_free_mail
    tarball = tmp_path / "free-email-domains-9.9.9.tgz"
    files = {"package/package.json": json.dumps({"name": "free-email-domains", "version": "9.9.9", "license": "MIT",
                                                 "homepage": "https://github.com/Kikobeats/free-email-domains"}),
             "package/domains.json": json.dumps(["Yahoo.FR", "mail.ru.", "mail.ru", " orange.fr "]),
             "package/LICENSE.md": "The MIT License (MIT)\n\nCopyright (c) 2017 Kiko Beats\n"}
    with tarfile.open(tarball, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    meta, domains, licence = refresh_free_mail.read_tarball(str(tarball))
    text = refresh_free_mail.render(meta, domains, licence, "2026-12-02")
    path = tmp_path / "list.txt"
    path.write_text(text, encoding="utf-8")
    assert free_mail.load(str(path)) == {"yahoo.fr", "mail.ru", "orange.fr"}
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("free-email-domains 9.9.9" in line for line in header)
    assert any("Licence: MIT" in line for line in header) and "# Copyright (c) 2017 Kiko Beats" in header
