"""Investor addresses can't capture the team (issue 16): each refusal over HTTP, the audit log of
address changes (GET /api/audit), and the policy's units on a real database."""
import pytest

from backend import address_policy, db
from backend.server import init_db
from email_integration.capture import db_accounts as email_db


def investor(server, **fields):
    return server.member.post("/api/investors", {"name": "Probe", "emails": [], "domains": []} | fields)


@pytest.mark.parametrize("fields,reason", [
    ({"emails": ["member@firm.test"]}, "teammate"),                 # a CRM user's address
    ({"emails": ["BOT@firm.test"]}, "teammate"),                    # any user, any case
    ({"emails": ["lawyer@firm.test"]}, "firm's own domain"),        # anyone at the firm's domain
    ({"emails": ["ceo@eu.firm.test"]}, "firm's own domain"),        # and its subdomains
    ({"domains": ["firm.test"]}, "firm's own domain"),
    ({"domains": ["eu.firm.test"]}, "firm's own domain"),
    ({"domains": ["test"]}, None),                                  # not a domain (needs a dot): plain 400
    ({"domains": ["gmail.com"]}, "public mail provider"),
    ({"domains": ["proton.me"]}, "public mail provider"),
    ({"domains": ["@Outlook.com"]}, "public mail provider"),
])
def test_refused_on_create_with_the_reason(crm, fields, reason):
    reply = investor(crm, **fields)
    assert reply.status == 400
    if reason:
        assert reason in reply.json["error"]


def test_refused_on_edit_and_nothing_changes(crm):
    created = investor(crm, name="Edit probe", emails=["ed@edits.vc"], domains=["edits.vc"]).json
    for change in ({"emails": ["ed@edits.vc", "admin@firm.test"]}, {"domains": ["gmail.com"]},
                   {"emails": ["x@firm.test"], "name": "Renamed"}):
        assert crm.member.patch(f"/api/investors/{created['id']}", change).status == 400
    now = crm.member.get(f"/api/investors/{created['id']}").json
    assert (now["name"], now["emails"], now["domains"]) == ("Edit probe", ["ed@edits.vc"], ["edits.vc"])


def test_public_mail_addresses_themselves_are_fine(crm):
    assert investor(crm, name="Angel", emails=["angel.investor@gmail.com"]).status == 201


def test_every_address_change_is_audited_with_before_and_after(crm):
    created = investor(crm, name="Audited", emails=["a@audited.vc"]).json
    assert crm.member.patch(f"/api/investors/{created['id']}",
                            {"emails": ["b@audited.vc"], "domains": ["audited.vc"]}).status == 200
    assert crm.member.patch(f"/api/investors/{created['id']}", {"name": "Audited 2"}).status == 200
    entries = crm.admin.get("/api/audit?limit=100").json["entries"]
    mine = [e for e in entries if e["target_type"] == "investor" and e["target_id"] == str(created["id"])]
    rename, change, create = mine[:3]  # newest first
    assert create["action"] == "investor.create" and create["user"]["email"] == "member@firm.test"
    assert create["detail"]["emails"] == {"before": [], "after": ["a@audited.vc"]} and create["at"]
    assert change["detail"]["emails"] == {"before": ["a@audited.vc"], "after": ["b@audited.vc"]}
    assert change["detail"]["domains"] == {"before": [], "after": ["audited.vc"]}
    assert "emails" not in rename["detail"] and rename["detail"]["fields"] == ["name"]


def test_audit_paging_and_roles(crm):
    first = crm.admin.get("/api/audit?limit=1&offset=0").json
    second = crm.admin.get("/api/audit?limit=1&offset=1").json
    assert first["total"] >= 2 and len(first["entries"]) == 1 and first["entries"][0]["id"] > second["entries"][0]["id"]
    assert crm.member.get("/api/audit").status == 403
    assert crm.bot.get("/api/audit").status == 403
    assert crm.client().get("/api/audit").status == 401
    for bad in ("limit=0", "limit=x", "offset=-1", "limit=501"):
        assert crm.admin.get(f"/api/audit?{bad}").status == 400


def people_db(tmp_path):
    """A real database with Ann (ours.vc), Pat (public mail) and a bot (robots.io)."""
    path = str(tmp_path / "crm.db")
    init_db(path)
    conn = db.connect(path)
    conn.execute("INSERT INTO users (email, name, role, created_at) VALUES ('ann@ours.vc', 'Ann', 'member', 'x'), "
                 "('pat@gmail.com', 'Pat', 'member', 'x'), ('bot@robots.io', 'Bot', 'bot', 'x')")
    return conn


def test_policy_units(tmp_path):
    conn = people_db(tmp_path)
    email_db.enroll_account(conn, "shared-inbox@elsewhere.io", None, "dwd")
    refusal = address_policy.refusal
    assert address_policy.firm_domains(conn, "Corp.Example") == {"corp.example", "ours.vc"}  # not gmail, not the bot's
    assert "teammate" in refusal(conn, ["shared-inbox@elsewhere.io"], [])  # an enrolled mailbox (registered source)
    assert "teammate" in refusal(conn, ["pat@gmail.com"], [])
    assert refusal(conn, ["kim@gmail.com", "x@robots.io"], ["robots.io"]) is None
    assert "firm's own domain corp.example" in refusal(conn, ["a@corp.example"], [], "corp.example")
    assert "covers the firm's own domain" in refusal(conn, [], ["vc"])  # a parent of ours.vc
    conn.close()


def test_team_only_units(tmp_path):
    """What an internal reply is (the investors scope shows only those with an investor conversation)."""
    conn = people_db(tmp_path)
    team_only = address_policy.team_only
    assert team_only(conn, ["ann@ours.vc", "Bob@EU.ours.vc", "pat@gmail.com"])  # teammates, the firm's domains
    assert not team_only(conn, ["ann@ours.vc", "lee@law.example"])  # an outsider
    assert not team_only(conn, ["ann@ours.vc", "sam@gmail.com"])  # public mail is not the firm's
    assert not team_only(conn, ["ann@ours.vc", "x@ours.vc.evil.example"])
    assert team_only(conn, ["a@corp.example"], "corp.example") and not team_only(conn, [])
    conn.close()


@pytest.mark.parametrize("address", ["pat.lee+bank@gmail.com", "PatLee@googlemail.com", "p.a.t.l.e.e@gmail.com",
                                     "sam+news@outlook.com"])
def test_a_teammates_public_mail_address_in_disguise_is_refused(crm, address):
    """Mail to pat.lee+bank@gmail.com (or patlee@…, p.a.t.l.e.e@…, @googlemail.com) lands in Pat's
    Gmail: as an investor address it would capture Pat's mail from whoever writes to it."""
    for email in ("pat.lee@gmail.com", "sam@outlook.com"):
        if not any(u["email"] == email for u in crm.admin.get("/api/admin/users").json["users"]):
            crm.create_user(email, "member")
    reply = investor(crm, name="Disguise", emails=[address])
    assert reply.status == 400 and "teammate" in reply.json["error"]


def test_plus_and_dots_elsewhere_stay_distinct(crm):
    """Dots are Gmail's alone: at another provider they name another person."""
    assert investor(crm, name="Other Sam", emails=["s.am@outlook.com"]).status == 201


def test_mailbox_of_units():
    mailbox_of = address_policy.mailbox_of
    assert mailbox_of("Pat.Lee+Bank@GoogleMail.com.") == "patlee@gmail.com"
    assert mailbox_of("s.am+x@outlook.com") == "s.am@outlook.com"  # dots are Gmail's alone
    assert mailbox_of("+only@x.example") == "+only@x.example"  # no name before the tag: left as is
