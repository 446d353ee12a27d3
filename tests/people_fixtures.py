"""A fund with several people over the Gmail emulator (issue 24, item 8): Maya Okafor's investor row holds
Leo Park's address too (as before people); `fjord_site` captures member@'s mail with Fjord, with the
people added first (`people=True`) or left for a test to add."""
from __future__ import annotations

import contextlib

from capture_fixtures import start_capture_crm, sync_all
from emulator_fixtures import add_message, make_message

MEMBER = "member@firm.test"
FJORD = {"name": "Maya Okafor", "firm": "Fjord Capital", "emails": ["maya@fjord.example", "leo@fjord.example"],
         "domains": ["fjord.example"]}
MAIL = [
    make_message(sender=f"Chloe Durand <{MEMBER}>", to="Leo Park <leo@fjord.example>", subject="Q3 numbers",
                 body="Leo, could you send the Q3 numbers by Friday?\n", message_id="<q3@firm.test>",
                 date="Mon, 23 Nov 2026 10:00:00 +0000"),
    make_message(sender="Maya Okafor <maya@fjord.example>", to=f"Chloe Durand <{MEMBER}>", subject="Fund IV",
                 body="We would love to commit $2m to Fund IV before December 15.\n", message_id="<f4@fjord.example>",
                 date="Tue, 24 Nov 2026 10:00:00 +0000"),
    # an address nobody assigned, at the fund's domain, whose display name is Leo's
    make_message(sender="Leo Park <l.park@fjord.example>", to=f"Chloe Durand <{MEMBER}>", subject="Site visit",
                 body="Can we meet at your office on Thursday at 3pm?\n", message_id="<visit@fjord.example>",
                 date="Wed, 25 Nov 2026 10:00:00 +0000"),
    make_message(sender="Front Desk <desk@fjord.example>", to=f"Chloe Durand <{MEMBER}>", subject="Parking",
                 body="Please send the plate number for the garage by Monday.\n", message_id="<desk@fjord.example>",
                 date="Thu, 26 Nov 2026 10:00:00 +0000"),
]


@contextlib.contextmanager
def fjord_site(tmp_path_factory, keys, people: bool = True):
    """A CRM (server.fjord: the investor's id; server.maya / server.leo: the people, when added) and its
    emulator, synced once; both stopped afterwards."""
    from devtools.gmail_emulator.server import start_emulator
    emulator = start_emulator(service_account_key=keys[1])
    try:
        for raw in MAIL:
            add_message(emulator.url, MEMBER, raw)
        server = start_capture_crm(tmp_path_factory.mktemp("crm"), emulator, keys, (FJORD,), sync=False)
        try:
            server.fjord = server.member.get("/api/investors").json["investors"][0]["id"]
            if people:
                path = f"/api/investors/{server.fjord}/people"
                server.maya = server.member.post(path, {"name": "Maya Okafor", "title": "Partner",
                                                        "emails": ["maya@fjord.example"]}).json
                server.leo = server.member.post(path, {"name": "Leo Park", "emails": ["leo@fjord.example"]}).json
            sync_all(server)
            yield server
        finally:
            server.stop()
    finally:
        emulator.stop()
