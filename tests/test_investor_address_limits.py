"""Investor addresses against a real CRM over HTTP (issue 21; also issue 22 item 13): every address is
searched in every mailbox on every sync, so they are capped per investor and in total, and the whole
investor search must fit its quota; an address Gmail's search cannot express is refused with the reason;
Unicode addresses and internationalised domains are accepted and captured."""
import email.policy
from email.message import EmailMessage

import pytest

from backend.address_policy import MAX_ADDRESSES_TOTAL, MAX_DOMAINS_PER_INVESTOR, MAX_EMAILS_PER_INVESTOR
from capture_fixtures import KIM, start_capture_crm, sync_all
from email_integration.gmail.search_query import MAX_SEARCH_QUERIES
from emulator_fixtures import add_message, start_emulator

MEMBER = "member@firm.test"


@pytest.fixture(scope="module")
def site(tmp_path_factory, keys):
    emulator = start_emulator(service_account_key=keys[1], quota_profile="2026", quota_units_per_min=0)
    server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, investors=(KIM,),
                               CRM_GMAIL_CAPTURE_SCOPE="investors", CRM_GMAIL_QUOTA_PROFILE="2026")
    server.emulator = emulator
    yield server
    server.stop()
    emulator.stop()


def post(site, name, emails=(), domains=()):
    return site.member.post("/api/investors", {"name": name, "emails": list(emails), "domains": list(domains)})


def test_addresses_and_domains_per_investor_are_capped(site):
    too_many = post(site, "Many Addresses", [f"p{i}@many.vc" for i in range(MAX_EMAILS_PER_INVESTOR + 1)])
    assert too_many.status == 400 and f"at most {MAX_EMAILS_PER_INVESTOR} email addresses" in too_many.json["error"]
    domains = post(site, "Many Domains", domains=[f"d{i}.vc" for i in range(MAX_DOMAINS_PER_INVESTOR + 1)])
    assert domains.status == 400 and f"at most {MAX_DOMAINS_PER_INVESTOR} domains" in domains.json["error"]
    fits = post(site, "Just Enough", [f"p{i}@enough.vc" for i in range(MAX_EMAILS_PER_INVESTOR)])
    assert fits.status == 201
    patched = site.member.patch(f"/api/investors/{fits.json['id']}",
                                {"emails": fits.json["emails"] + ["one.more@enough.vc"]})
    assert patched.status == 400 and "at most" in patched.json["error"]
    assert site.member.get(f"/api/investors/{fits.json['id']}").json["emails"] == fits.json["emails"]  # nothing lost
    assert site.member.request("DELETE", "/api/investors/0").status in (404, 405)


def test_the_total_is_capped_and_so_is_the_search_it_makes(site):
    held = sum(len(i["emails"]) + len(i["domains"]) for i in site.member.get("/api/investors").json["investors"])
    created = []
    while held + MAX_EMAILS_PER_INVESTOR <= MAX_ADDRESSES_TOTAL:
        reply = post(site, f"Bulk {len(created)}", [f"a{k}@b{len(created)}.vc" for k in range(MAX_EMAILS_PER_INVESTOR)])
        assert reply.status == 201, reply.json
        created.append(reply.json["id"])
        held += MAX_EMAILS_PER_INVESTOR
    over = post(site, "One Too Many", [f"x{k}@over.vc" for k in range(MAX_ADDRESSES_TOTAL - held + 1)])
    assert over.status == 400 and f"at most {MAX_ADDRESSES_TOTAL} investor addresses" in over.json["error"]
    for investor_id in created:  # make room again: the cap counts what is held now
        assert site.member.patch(f"/api/investors/{investor_id}", {"emails": []}).status == 200
    # long addresses: few fit in a query, so the investor search would outgrow MAX_SEARCH_QUERIES queries
    long_ones = [f"{'partner' * 30}{k}@fund-{k}.example" for k in range(MAX_EMAILS_PER_INVESTOR)]
    accepted, refused = [], None
    for n in range(MAX_SEARCH_QUERIES):  # well under the count cap: only the search's size can refuse them
        reply = post(site, f"Long {n}", [f"{n}{a}" for a in long_ones])
        if reply.status != 201:
            refused = reply
            break
        accepted.append(reply.json["id"])
    assert accepted and refused is not None and refused.status == 400
    assert f"at most {MAX_SEARCH_QUERIES}" in refused.json["error"] and "Gmail searches" in refused.json["error"]
    for investor_id in accepted:
        assert site.member.patch(f"/api/investors/{investor_id}", {"emails": []}).status == 200


@pytest.mark.parametrize("address", ["kim{x}@alder.vc", "(kim)@alder.vc", "kim:co@alder.vc", "kim!@alder.vc",
                                     "-kim@alder.vc", "a|b@alder.vc"])
def test_an_address_gmail_search_cannot_express_is_refused_with_the_reason(site, address):
    reply = post(site, "Odd Address LP", [address])
    assert reply.status == 400 and "cannot be searched in Gmail" in reply.json["error"], reply.json


def _utf8_mail(sender: str, subject: str, message_id: str) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTPUTF8)  # RFC 6532: UTF-8 in the headers themselves
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = sender, MEMBER, subject, message_id
    msg["Date"] = "Mon, 02 Nov 2026 10:00:00 +0000"
    msg.set_content("Guten Tag, anbei die Unterlagen.\n")
    return bytes(msg)


def test_unicode_addresses_and_internationalised_domains_are_searched_and_captured(site):
    jurgen = post(site, "Jürgen Wolf", ["Jürgen@Fonds.de"])
    assert jurgen.status == 201 and jurgen.json["emails"] == ["jürgen@fonds.de"]
    munich = post(site, "München Capital", domains=["münchen-capital.de"])
    assert munich.status == 201 and munich.json["domains"] == ["münchen-capital.de"]
    special = post(site, "Kim and Co", ["kim&co@alder-partners.vc", "o'brien@oak.vc"])
    assert special.status == 201
    url = site.emulator.url
    add_message(url, MEMBER, _utf8_mail("Jürgen Wolf <jürgen@fonds.de>", "Unterlagen", "<u1@fonds.de>"))
    add_message(url, MEMBER, _utf8_mail("Lena <lena@münchen-capital.de>", "Fonds II", "<u2@muenchen.test>"))
    add_message(url, MEMBER, _utf8_mail("Max <max@xn--mnchen-capital-gsb.de>", "Fonds II ASCII", "<u3@muenchen.test>"))
    add_message(url, MEMBER, _utf8_mail("Kim <kim&co@alder-partners.vc>", "Ampersand", "<u4@alder.test>"))
    add_message(url, MEMBER, _utf8_mail("Pat O'Brien <o'brien@oak.vc>", "Apostrophe", "<u5@oak.test>"))
    sync_all(site)
    threads = site.member.get("/api/email/threads?limit=50").json["threads"]
    by_subject = {t["subject"]: sorted(i["name"] for i in t["investors"]) for t in threads}
    assert by_subject["Unterlagen"] == ["Jürgen Wolf"]
    assert by_subject["Fonds II"] == ["München Capital"] and by_subject["Fonds II ASCII"] == ["München Capital"]
    assert by_subject["Ampersand"] == ["Kim and Co"] and by_subject["Apostrophe"] == ["Kim and Co"]
    status = site.admin.get("/api/email/status").json
    assert status["completeness"]["unsearchable"] == []
