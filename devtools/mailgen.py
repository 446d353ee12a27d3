"""Generate realistic, reproducible mailboxes for the demo and the benchmarks.

    python -m devtools.mailgen OUT_DIR [--threads 240] [--seed 31] [--domain demo.example] [--months 24]

Writes OUT_DIR/<teammate address>/NNNNN.eml (the emulator's --mailboxes layout): investor
conversations over several months (several people per fund, replies with In-Reply-To/References,
teammates cc'd so one conversation spans several mailboxes), decks and models as attachments,
HTML newsletters, and personal mail that must never be captured. With --months N the conversations are
spread evenly over the N months up to now (a firm's first day: years of history, a few recent threads);
without it they run on from 2026-01-01 for a few months.
"""
from __future__ import annotations

import argparse
import email.utils
import os
import random
import time
from email.message import EmailMessage

DAYS_PER_MONTH = 30.44

TEAM = [("Demo Admin", "admin"), ("Ana Silva", "ana"), ("Ben Carter", "ben"), ("Chloe Martin", "chloe"),
        ("Dev Patel", "dev")]
# (fund, people at the fund, domain) — the demo's investors live on these domains.
FUNDS = [("Northwind Ventures", ["Maya Okafor", "Leo Park"], "northwind.vc"),
         ("Fjord Capital", ["Jonas Berg", "Ida Holm"], "fjordcap.com"),
         ("Lattice Partners", ["Priya Raman", "Deals Team"], "latticepartners.com"),
         ("Solstice Fund", ["Tom Alvarez"], "solstice.fund"),
         ("Harbor Street", ["Sam Lee", "Ava Brooks"], "harborstreet.co"),
         ("Baobab Growth", ["Ngozi Eze"], "baobabgrowth.com"),
         ("Cobalt Seed", ["Luis Moreno", "Kai Fischer"], "cobaltseed.vc")]
TOPICS = ["Seed extension", "Q3 investor update", "Intro: fintech infra founders", "Term sheet questions",
          "Follow-up from the partner meeting", "Data room access", "Portfolio dinner in SF", "Model assumptions",
          "Co-invest opportunity", "LP update and fund III timing", "Diligence call next week", "Reference checks"]
LINES = ["Thanks for sending the deck over, the team read it this morning.",
         "Could you share the updated model with the churn assumptions broken out?",
         "We are leaning in but need to square the valuation with our partners on Monday.",
         "Happy to make the intro; they are raising a small seed round.",
         "Attached are the notes from our call, let me know if I missed anything.",
         "Our IC meets Thursday; I'd love a 20 minute slot with the founders before then.",
         "Great to see the revenue growth this quarter, impressive given the market.",
         "We'd want pro-rata in the next round and an information rights letter.",
         "Can we move the diligence call to Wednesday at 10 Pacific?",
         "Sharing our portfolio's benchmark data for comparison, confidential of course."]
NEWSLETTERS = [("Term Sheet Weekly", "news@termsheetweekly.com"), ("The Fintech Digest", "digest@fintechdigest.io")]
FRIENDS = [("Sara", "sara.k@gmail.com"), ("Mom", "mom.family@yahoo.com"), ("Chris", "chris.p@outlook.com")]


def _slug(name: str) -> str:
    return name.lower().split()[0].replace(".", "")


def _address(name: str, domain: str) -> str:
    return f"{_slug(name)}@{domain}" if name != "Deals Team" else f"deals@{domain}"


class Generator:
    def __init__(self, out_dir: str, seed: int, domain: str, start_ts: float, end_ts: float | None = None):
        """`end_ts`: spread the conversations evenly from start_ts to end_ts (none later) instead of running on."""
        self.out_dir, self.rng, self.domain = out_dir, random.Random(seed), domain
        self.clock, self.start_ts, self.end_ts = start_ts, start_ts, end_ts
        self.counts: dict[str, int] = {}
        self.team = [(name, f"{local}@{domain}") for name, local in TEAM]

    def _write(self, owner: str, msg: EmailMessage) -> None:
        folder = os.path.join(self.out_dir, owner)
        os.makedirs(folder, exist_ok=True)
        self.counts[owner] = self.counts.get(owner, 0) + 1
        with open(os.path.join(folder, f"{self.counts[owner]:05d}.eml"), "wb") as handle:
            handle.write(bytes(msg))

    def _tick(self) -> str:
        self.clock += self.rng.uniform(600, 9 * 3600)
        if self.end_ts is not None:
            self.clock = min(self.clock, self.end_ts)
        return email.utils.formatdate(self.clock, localtime=False)

    def _message(self, sender, to, cc, subject, body, reply_to_ids=(), attachment=None, html=None) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = email.utils.formataddr(sender)
        msg["To"] = ", ".join(email.utils.formataddr(p) for p in to)
        if cc:
            msg["Cc"] = ", ".join(email.utils.formataddr(p) for p in cc)
        msg["Subject"] = subject
        msg["Date"] = self._tick()
        msg["Message-ID"] = f"<{self.rng.getrandbits(64):016x}@{sender[1].split('@')[1]}>"
        if reply_to_ids:
            msg["In-Reply-To"] = reply_to_ids[-1]
            msg["References"] = " ".join(reply_to_ids)
        msg.set_content(body)
        if html:
            msg.add_alternative(html, subtype="html")
        if attachment:
            name, mime, data = attachment
            maintype, subtype = mime.split("/")
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        for part in msg.walk():  # the email package draws boundaries from the global random: pin them
            if part.is_multipart():
                part.set_boundary(f"=_{self.rng.getrandbits(64):016x}")
        return msg

    def _deliver(self, msg: EmailMessage, people) -> None:
        """Into the mailbox of every teammate among sender and recipients (one copy each, like Gmail)."""
        for _, address in self.team:
            if any(address == p[1] for p in people):
                self._write(address, msg)

    def investor_thread(self) -> None:
        fund, people, domain = self.rng.choice(FUNDS)
        investor = self.rng.choice(people)
        investor_addr = (investor, _address(investor, domain))
        owner = self.rng.choice(self.team)
        cc = [self.rng.choice([t for t in self.team if t != owner])] if self.rng.random() < 0.4 else []
        subject = f"{self.rng.choice(TOPICS)} — {fund}"
        ids: list[str] = []
        speakers = [investor_addr, owner]
        for turn in range(self.rng.randint(1, 5)):
            sender = speakers[turn % 2]
            recipients = [speakers[(turn + 1) % 2]]
            body = "\n".join(self.rng.sample(LINES, 2)) + f"\n\nBest,\n{sender[0].split()[0]}\n"
            if ids:
                body += f"\nOn an earlier day, {speakers[(turn + 1) % 2][0]} wrote:\n> " + self.rng.choice(LINES) + "\n"
            attachment = None
            if self.rng.random() < 0.15:
                attachment = self.rng.choice([("deck.pdf", "application/pdf", b"%PDF-1.4\n" + self.rng.randbytes(2048)),
                                              ("model.xlsx", "application/vnd.ms-excel", self.rng.randbytes(4096))])
            msg = self._message(sender, recipients, cc, ("Re: " if ids else "") + subject, body, tuple(ids), attachment)
            ids.append(msg["Message-ID"])
            self._deliver(msg, [sender, *recipients, *cc])

    def newsletter(self) -> None:
        name, address = self.rng.choice(NEWSLETTERS)
        to = self.rng.choice(self.team)
        html = f"<html><body><h1>{name}</h1><p>{self.rng.choice(LINES)}</p><img src='https://t.example/o.gif'></body></html>"
        self._deliver(self._message((name, address), [to], [], f"{name}: this week in venture", "Read online.\n",
                                    html=html), [to])

    def personal(self) -> None:
        friend = self.rng.choice(FRIENDS)
        to = self.rng.choice(self.team)
        self._deliver(self._message(friend, [to], [], "Weekend plans?", "Private note, not for the CRM.\n"), [to])

    def run(self, threads: int) -> dict:
        for index in range(threads):
            if self.end_ts is not None:  # each conversation starts in its own slice of the span
                self.clock = self.start_ts + (index + self.rng.random()) * (self.end_ts - self.start_ts) / threads
            roll = self.rng.random()
            if roll < 0.7:
                self.investor_thread()
            elif roll < 0.85:
                self.newsletter()
            else:
                self.personal()
        return dict(self.counts)


def generate(out_dir: str, threads: int = 240, seed: int = 31, domain: str = "demo.example",
             start_ts: float = 1_767_225_600.0, months: float | None = None, end_ts: float | None = None) -> dict:
    """Write the mailboxes; returns {address: message count}. start_ts: 2026-01-01 UTC; with `months`,
    the conversations are spread over that many months up to `end_ts` (default: now) instead."""
    if months is not None:
        end_ts = time.time() if end_ts is None else end_ts
        start_ts = end_ts - months * DAYS_PER_MONTH * 86400
    return Generator(out_dir, seed, domain, start_ts, end_ts if months is not None else None).run(threads)


# Recent investor mail with real asks (the demo's cards to review): (days ago, investor, investor address,
# teammate local part, cc'd teammate or None, subject, body, html or None). One is HTML, for the sandboxed viewer.
RECENT_ASKS = [
    (1, "Maya Okafor", "maya@northwind.vc", "ana", "ben", "Seed extension: cap table before Thursday",
     "Hi Ana,\n\nOur partners meet Thursday to discuss the seed extension. Could you send the current cap table "
     "and the pro-forma with the extension by Wednesday noon?\n\nBest,\nMaya\n", None),
    (2, "Leo Park", "leo@northwind.vc", "ben", None, "Reference call with your CFO",
     "Ben,\n\nWe'd like a 30-minute reference call with your CFO next week. Tuesday or Wednesday afternoon "
     "works for us; who should I send the invite to?\n\nLeo\n", None),
    (1, "Jonas Berg", "jonas@fjordcap.com", "chloe", None, "Fjord Capital: our questions on the Q3 model",
     "Chloe,\n\nThanks for the updated model. Three questions before our IC on the 12th:\n"
     "1. Churn: why does it drop from 4% to 2% in Q1?\n2. Hiring: is the sales team in the plan funded by this round?\n"
     "3. Could you break out revenue by region?\n\nJonas\n",
     "<html><body style='font-family:Georgia,serif'><h2 style='color:#1d3557'>Fjord Capital</h2>"
     "<p>Chloe,</p><p>Thanks for the updated model. Three questions before our IC on the 12th:</p>"
     "<table style='border-collapse:collapse' border='1' cellpadding='6'>"
     "<tr><th>#</th><th>Question</th><th>Needed by</th></tr>"
     "<tr><td>1</td><td>Churn: why does it drop from 4% to 2% in Q1?</td><td>Mon</td></tr>"
     "<tr><td>2</td><td>Hiring: is the sales team in the plan funded by this round?</td><td>Mon</td></tr>"
     "<tr><td>3</td><td>Could you break out revenue by region?</td><td>Wed</td></tr></table>"
     "<p><b>Jonas Berg</b><br>Partner, Fjord Capital</p>"
     "<img src='https://track.fjordcap.com/open.gif' width='1' height='1' alt=''></body></html>"),
    (3, "Priya Raman", "priya@latticepartners.com", "dev", "admin", "Term sheet: pro-rata and board seat",
     "Dev,\n\nWe are ready to send a term sheet. Two points first: we would want 2x pro-rata in the next round, "
     "and an observer seat rather than a board seat. Can we talk Monday at 10?\n\nPriya\n", None),
    (2, "Tom Alvarez", "tom@solstice.fund", "admin", None, "Solstice Fund III closes early",
     "Hello,\n\nFund III is closing six weeks early. If you still want to be considered, please send the "
     "latest metrics deck by Friday.\n\nTom\n", None),
    (4, "Elena Rossi", "elena.rossi@gmail.com", "ana", None, "Angel cheque for the extension",
     "Ana,\n\nI can put in $50k if the round closes by the end of the month. Could you send the SAFE and "
     "the wire details?\n\nElena\n", None),
    (2, "Sam Lee", "sam@harborstreet.co", "ben", "chloe", "Data room access for Ava",
     "Ben,\n\nCould you give our associate Ava Brooks access to the data room? She is running the "
     "customer diligence this week.\n\nThanks,\nSam\n", None),
    (5, "Ngozi Eze", "ngozi@baobabgrowth.com", "chloe", None, "Co-invest: $1.5M of the extension",
     "Chloe,\n\nBaobab would take $1.5M of the extension alongside the lead. We need the latest board deck "
     "and the use of funds before our Tuesday call.\n\nNgozi\n", None),
    (3, "Luis Moreno", "luis@cobaltseed.vc", "dev", None, "Three customers for reference checks",
     "Dev,\n\nFor our reference checks, could you name three customers we can call, ideally one who "
     "churned?\n\nLuis\n", None),
    (6, "Kai Fischer", "kai@cobaltseed.vc", "admin", None, "Portfolio dinner in SF on the 18th",
     "Hi,\n\nWe are hosting a small portfolio dinner in SF on the 18th. Would two of your partners like "
     "to join? Please confirm names by Friday.\n\nKai\n", None),
]


def recent_asks(out_dir: str, domain: str = "demo.example", now: float | None = None, seed: int = 7) -> int:
    """Add RECENT_ASKS to the mailboxes under out_dir (after generate()'s files, never over them), dated the
    given days before `now`: each a new conversation with an investor asking for something. Returns how many."""
    now = time.time() if now is None else now
    generator = Generator(out_dir, seed, domain, now)
    for _name, local in TEAM:
        folder = os.path.join(out_dir, f"{local}@{domain}")
        if os.path.isdir(folder):
            generator.counts[f"{local}@{domain}"] = sum(1 for n in os.listdir(folder) if n.endswith(".eml"))
    team = dict((local, (name, f"{local}@{domain}")) for name, local in TEAM)
    for days, name, address, local, cc_local, subject, body, html in RECENT_ASKS:
        generator.clock = now - days * 86400 - 9 * 3600  # _tick adds at most 9 hours: still `days` ago
        cc = [team[cc_local]] if cc_local else []
        msg = generator._message((name, address), [team[local]], cc, subject, body, html=html)
        generator._deliver(msg, [team[local], *cc])
    return len(RECENT_ASKS)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--threads", type=int, default=240)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--domain", default="demo.example")
    parser.add_argument("--months", type=float, default=None,
                        help="spread the conversations over this many months up to now (e.g. 24)")
    args = parser.parse_args(argv)
    if args.months is not None and not 0 < args.months <= 600:
        parser.error("--months must be between 0 and 600")
    counts = generate(args.out_dir, args.threads, args.seed, args.domain, months=args.months)
    print(f"{sum(counts.values())} messages in {len(counts)} mailboxes under {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


def sized_message(rng: random.Random, index: int, size: int, domain: str = "demo.example") -> bytes:
    """One message of about `size` bytes for benchmarks: 70% investor mail (text + HTML, a quoted
    history filling the size, now and then an attachment), the rest newsletters and personal mail."""
    roll = rng.random()
    teammate = f"{TEAM[index % len(TEAM)][1]}@{domain}"
    if roll < 0.7:
        fund, people, fund_domain = FUNDS[index % len(FUNDS)]
        person = people[index % len(people)]
        sender = (person, _address(person, fund_domain))
        subject = f"Re: {rng.choice(TOPICS)} — {fund}"
    elif roll < 0.85:
        sender, subject = NEWSLETTERS[index % len(NEWSLETTERS)], "This week in venture"
    else:
        sender, subject = FRIENDS[index % len(FRIENDS)], "Weekend plans?"
    new_text = "\n".join(rng.sample(LINES, 3)) + f"\n\nBest,\n{sender[0].split()[0]}\n"
    quoted = []
    while len(new_text) + sum(len(q) for q in quoted) < size * 0.45:
        quoted.append("> " + rng.choice(LINES) + "\n")
    body = new_text + "\nOn Mon, 2 Nov 2026 at 10:00, Ann wrote:\n" + "".join(quoted)
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr(sender)
    msg["To"] = teammate
    msg["Subject"] = subject
    msg["Date"] = email.utils.formatdate(1_767_225_600 + index * 60, localtime=False)
    msg["Message-ID"] = f"<b{index}.{rng.getrandbits(32):08x}@{sender[1].split('@')[1]}>"
    if index % 3:
        msg["In-Reply-To"] = msg["References"] = f"<b{index - 1}@{sender[1].split('@')[1]}>"
    msg.set_content(body)
    html_body = "".join(f"<p>{line}</p>" for line in body.splitlines())
    msg.add_alternative(f"<html><head><style>p{{margin:0}}</style></head><body>{html_body}</body></html>",
                        subtype="html")
    if rng.random() < 0.1:
        msg.add_attachment(rng.randbytes(2048), maintype="application", subtype="pdf", filename="deck.pdf")
    return bytes(msg)
