"""The CRM's own first draft of a grid note (the fallback when no model drafts it): who, then the one or
two sentences of the new text that carry the ask, offer or commitment, amounts and dates.

No model, no network: sentences are picked, never rewritten, so nothing is invented. Greetings,
pleasantries, sign-offs and Re:/Fwd: noise are dropped; the subject line is used only when the body
has nothing to say. tests/draft_quality.py scores it on a labelled set of investor emails.
"""
from __future__ import annotations

import re

MAX_CHARS = 320  # one or two sentences; a longer pick is cut at a word
MAX_SENTENCES = 2
_SIGN_OFF = re.compile(r"^(best|all the best|best regards|kind regards|warm(est)? regards|regards|warmly|cheers|"
                       r"thanks|thank you|many thanks|thx|speak soon|talk soon|grazie|merci|danke|sincerely|"
                       r"with best regards|yours|sent from my \w+)\b[\s,.!]*(\w+)?[\s,.!]*$", re.I)
_GREETING_LINE = re.compile(r"^((hi|hello|hey|dear|good (morning|afternoon|evening))\b[^.?!]{0,40}|"
                            r"[A-Z][\w'’.-]*( [A-Z][\w'’.-]*)?)\s*[,:!—–-]?\s*$")
_GREETING_LEAD = re.compile(r"^(hi|hello|hey|dear)\s+[A-Z][\w'’.-]*( [A-Z][\w'’.-]*)?\s*[,!:—–-]\s*")
# Text planted for a model ("ignore all previous instructions and ..."): never worth a note.
_INJECTION = re.compile(r"\b(ignore|disregard|forget)\b.{0,30}\b(instructions|prompt|rules)\b", re.I)
_PLEASANTRY = re.compile(r"^((i )?hope (you|all|this|your|the)|thanks?( you)? (for|so much|again)|"
                         r"(it was )?(great|good|lovely|nice) (to|catching|seeing|speaking|meeting)|"
                         r"(quick one|just a quick (one|note))\W*$)", re.I)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9$€£\"'“(])")
_ASK = re.compile(r"\b(could you|can you|can we|would you|will you|shall (i|we)|please|let me know|let us know|"
                  r"happy to|would love|we('d| would)|we('ll| will)|we are|we're|i'd|agree[ds]?|confirm(ed)?|"
                  r"attached|send|share|commit\w*|approv\w*|term sheet|pass(ing)?|decline|interested|invest\w*|"
                  r"call|meet(ing)?|intro(duc\w+)?|follow[- ]up|next step|diligence|valuation|round|allocat\w*|"
                  r"re-?ups?|wired?|receipt|consent|questionnaire|ddq|side letter|lpa|co-?invest|reduce|"
                  r"available|decide|sell|buyer|access|references?|markdown|explain|need)\b", re.I)
_AMOUNT = re.compile(r"([$€£]\s?\d[\d,.]*(\s?(k|m|mm|bn|b|million|billion)\b)?|\b\d+(\.\d+)?\s?(%|x\b)|"
                     r"\b\d+(\.\d+)?\s?(million|billion|mm|bn)\b)", re.I)
_MONTH = (r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?|"
          r"nov(ember)?|dec(ember)?)")
_DATE = re.compile(r"\b((mon|tues?|wed(nes)?|thu(rs)?|fri|sat(ur)?|sun)(day)?\b|" + _MONTH + r"\.?\s+\d{1,2}\b|"
                   r"\d{1,2}\s+" + _MONTH + r"\b|\d{1,2}(:\d{2})?\s?(am|pm)\b|\d{1,2}/\d{1,2}\b|today|tomorrow|"
                   r"tonight|next (week|month|year|quarter)|this (week|month|morning|afternoon)|end of (the )?"
                   r"(month|year|quarter|week)|eod|eow|q[1-4]|20\d\d|thanksgiving|christmas|(january|february|march|"
                   r"april|june|july|august|september|october|november|december))\b", re.I)
_SUBJECT_NOISE = re.compile(r"^\s*((re|fwd?|fw|aw|wg|tr|sv|vs)\s*(\[\d+\])?\s*:\s*)+", re.I)


def clean_subject(subject: str) -> str:
    """The subject without any run of Re:/Fwd:/RE: RE: prefixes."""
    return _SUBJECT_NOISE.sub("", subject or "").strip()


def _first_name(person: dict | None) -> str:
    name = (person or {}).get("name") or (person or {}).get("email", "someone").split("@")[0]
    return name.split()[0] if name.split() else name


def named_investor(investor: dict) -> str:
    """'Kim Lee (Alder)'; with the email's people of the investor (issue 24, item 8), them and the investor:
    'Leo Park (Fjord Capital)', 'Leo Park and Maya Okafor (Fjord Capital)'."""
    people = [p["name"] for p in investor.get("people") or []]
    if not people:
        return investor["name"] + (f" ({investor['firm']})" if investor.get("firm") else "")
    names = people[0] if len(people) == 1 else ", ".join(people[:-1]) + " and " + people[-1]
    org = investor.get("firm") or investor["name"]
    return names if org in people else f"{names} ({org})"


def email_people(index, investor_id: int, sender: dict | None, recipients: list) -> list[dict]:
    """Whom of the investor's people an email is with (`index`: capture.matcher.InvestorIndex): its sender
    when the sender is one of them, else those among its To and Cc."""
    return index.people(investor_id, [sender]) or index.people(investor_id, recipients)


def _who(parsed: dict, investor: dict, own_domain: str) -> str:
    """The people: 'Kim Lee (Alder)', 'Ann to Kim Lee (Alder)', or 'Julia Chen for David Park (Pinecrest)'."""
    named = named_investor(investor)
    sender = parsed.get("from") or {}
    if own_domain and sender.get("email", "").lower().endswith("@" + own_domain.lower()):
        return f"{_first_name(sender)} to {named}"
    sender_words = set((sender.get("name") or "").lower().split())
    their_words = set(" ".join([investor["name"], *(p["name"] for p in investor.get("people") or [])]).lower().split())
    if sender_words and not sender_words & their_words:
        return f"{sender['name'].strip()} for {named}"  # an assistant or colleague writing for the investor
    return named


def _paragraphs(text: str) -> list[str]:
    """The new text's paragraphs, up to the sign-off, without greeting lines."""
    kept, current = [], []
    for raw in text.replace("\r", "").split("\n"):
        line = raw.strip()
        if _SIGN_OFF.match(line):
            break
        if not line or _GREETING_LINE.match(line):
            if current:
                kept.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        kept.append(" ".join(current))
    return kept


def _without_address(sentence: str, names: set[str]) -> str:
    """'Hi Ann, thanks…', 'Greg, as discussed…', 'Dev - could you…' lose the words addressed to the reader."""
    sentence = _GREETING_LEAD.sub("", sentence)
    first = re.match(r"^([A-Z][\w'’-]*)\s*(,|\s[—–-])\s+", sentence)
    return sentence[first.end():] if first and first.group(1).lower() in names else sentence


def _sentences(text: str, names: set[str]) -> list[str]:
    found = []
    for paragraph in _paragraphs(text[:4000]):
        for sentence in _SENTENCE.split(paragraph):
            sentence = _without_address(sentence.strip(), names).strip()
            if (sentence and not _PLEASANTRY.match(sentence) and not _INJECTION.search(sentence)
                    and (len(sentence) > 12 or _AMOUNT.search(sentence))):
                found.append(sentence[0].upper() + sentence[1:])
    return found


def _weight(sentence: str, position: int) -> float:
    """What makes a sentence worth keeping: an ask or commitment, amounts, dates; the opening a little."""
    return (3 * bool(_ASK.search(sentence)) + 2 * bool(_AMOUNT.search(sentence)) + 2 * bool(_DATE.search(sentence))
            + min(len(_AMOUNT.findall(sentence)) + len(_DATE.findall(sentence)), 4) * 0.25
            + (1 if position == 0 else 0))


def key_sentences(text: str, names: set[str] = frozenset()) -> list[str]:
    """The one or two sentences that carry the message, in their original order (`names`: the readers'
    first names, lower-case, so 'Greg, as discussed' loses its vocative)."""
    sentences = _sentences(text, names)
    ranked = sorted(range(len(sentences)), key=lambda i: (-_weight(sentences[i], i), i))
    chosen = sorted(i for i in ranked[:MAX_SENTENCES] if _weight(sentences[i], i) > 0)
    if len(chosen) == 2 and len(sentences[chosen[0]]) + len(sentences[chosen[1]]) > MAX_CHARS:
        chosen = [ranked[0]]  # two long sentences: the stronger one alone
    return [sentences[i] for i in chosen]


def _cap(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    return text[:MAX_CHARS - 1].rsplit(" ", 1)[0].rstrip(",;:—–-") + "…"


def draft_note(parsed: dict, investor: dict, own_domain: str = "") -> str:
    """One or two plain sentences: who, then what was asked, offered or agreed, with amounts and dates."""
    who = _who(parsed, investor, own_domain)
    readers = {_first_name(p).lower() for p in (parsed.get("to") or []) + (parsed.get("cc") or []) if p}
    picked = key_sentences(parsed.get("body_text") or "", readers)
    if picked:
        return _cap(f"{who}: {' '.join(picked)}")
    topic = clean_subject(parsed.get("subject") or "")
    return _cap(f"{who}: {topic}." if topic else f"{who} emailed.")


def _names(names: list[str]) -> str:
    """'Ana', 'Ana and Ben', 'Ana, Ben and Cat'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _day(stamp: str, now_year: int) -> str:
    """'3 Dec' this year, '3 Dec 2025' another (from a stored UTC stamp)."""
    year, month, day = int(stamp[:4]), int(stamp[5:7]), int(stamp[8:10])
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{day} {months[month - 1]}" + ("" if year == now_year else f" {year}")


def _without_named(title: str, investors: list[dict]) -> str:
    """The title without a trailing ' with <investor>( (<firm>))?' the note already says ('Diligence follow-up
    with Sam Lee (Harbor Street)' → 'Diligence follow-up'); a title that is nothing else stays whole."""
    for investor in investors:
        firm = investor.get("firm")
        for tail in ([f" with {investor['name']} ({firm})"] if firm else []) + [f" with {investor['name']}"]:
            if title.lower().endswith(tail.lower()) and len(title) > len(tail):
                return title[:-len(tail)].rstrip(" -–—:,")
    return title


def draft_meeting_note(meeting: dict, investors: list[dict], teammates: list[str], now_year: int,
                       with_title: bool = True) -> str:
    """The note for a meeting that ended: 'Ana met Jonas Berg (Fjord Capital) on 3 Dec: Fund II update'.
    `investors`: the investors it was with, the card's first; `teammates`: who attended (did not decline);
    `with_title`: False for an event Google marks private (its title is its holders' alone)."""
    who = _names(teammates) if teammates else "The team"
    named = _names([i["name"] + (f" ({i['firm']})" if i.get("firm") else "") for i in investors])
    note = f"{who} met {named} on {_day(meeting['start_at'], now_year)}"
    title = " ".join((meeting.get("title") or "").split()) if with_title else ""
    title = _without_named(title, investors)
    if title:
        note += f": {title}"
    return note if len(note) <= MAX_CHARS else note[:MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"
