"""Message body text: HTML → readable plain text, and a reply split from its quoted history and signature."""
from __future__ import annotations

import re
from html.parser import HTMLParser

# Content of these elements is never shown to the reader of a mail.
_DROP = frozenset({"script", "style", "head", "title", "noscript", "template", "xml", "object"})
# Elements that start a new line when they open or close (HTML's block-level rendering).
_BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
                    "table", "blockquote", "pre", "hr", "section", "article", "header", "footer",
                    "dl", "dt", "dd", "address", "center", "form", "fieldset", "figure"})
_VOID = frozenset({"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed",
                   "param", "source", "track", "wbr"})
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")
# html.parser rescans to the end of input for every tag it cannot finish (quadratic on hostile mail),
# so the markup is normalised first, in linear time: comments removed, a "<" that does not open a
# complete tag escaped, and unbalanced quotes inside a tag dropped so that every tag ends at its ">".
_UNCLOSED = re.compile(r"<(?=[^<>]*(?:<|\Z))")
_TAG = re.compile(r"<[^<>]*>")


def _balance_quotes(match: re.Match) -> str:
    tag = match.group(0)
    for quote in "\"'":
        if tag.count(quote) % 2:
            tag = tag.replace(quote, "")
    return tag


def _sanitize(markup: str) -> str:
    kept, position = [], 0
    while True:
        start = markup.find("<!--", position)
        if start < 0:
            kept.append(markup[position:])
            break
        kept.append(markup[position:start])
        end = markup.find("-->", start + 4)
        if end < 0:
            break  # an unterminated comment hides the rest, as in browsers
        position = end + 3
    return _TAG.sub(_balance_quotes, _UNCLOSED.sub("&lt;", "".join(kept)))


class _TextExtractor(HTMLParser):
    """Collects visible text; blockquote depth becomes "> " prefixes so quote splitting still works."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.drop_depth = 0
        self.pre_depth = 0
        self.quote_depth = 0
        self.line_quote = 0

    def _newline(self, hard: bool = False) -> None:
        """End the current line; a block boundary (soft) adds no empty line, a <br> (hard) does."""
        text = "".join(self.current)
        text = text if self.pre_depth else _SPACE.sub(" ", text).strip()
        if not (text or hard):
            self.current, self.line_quote = [], self.quote_depth
            return
        self.lines.append(("> " * self.line_quote) + text if (text or self.line_quote) else text)
        self.current = []
        self.line_quote = self.quote_depth

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.drop_depth = 0  # a <head> (or <title>) never closed must not hide the body
        if tag in _DROP:
            if tag not in _VOID:
                self.drop_depth += 1
            return
        if self.drop_depth:
            return
        if tag in _BLOCK:
            self._newline(hard=tag == "br")
        if tag == "blockquote":
            self.quote_depth += 1
            self.line_quote = self.quote_depth
        elif tag == "pre":
            self.pre_depth += 1
        elif tag in ("td", "th"):
            self.current.append(" ")
        elif tag == "li":
            self.current.append("- ")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag in _DROP:
            self.drop_depth = max(0, self.drop_depth - 1)
            return
        if self.drop_depth or tag in _VOID:
            return
        if tag in _BLOCK:
            self._newline()
        if tag == "blockquote" and self.quote_depth:
            self.quote_depth -= 1
            self.line_quote = self.quote_depth
        elif tag == "pre" and self.pre_depth:
            self.pre_depth -= 1

    def handle_data(self, data):
        if self.drop_depth:
            return
        if self.pre_depth:
            for index, piece in enumerate(data.split("\n")):
                if index:
                    self._newline()
                self.current.append(piece)
        else:
            self.current.append(data)


def html_to_text(markup: str) -> str:
    """Visible text of `markup`: blocks on their own lines, entities decoded, blank runs collapsed."""
    if not isinstance(markup, str) or not markup:
        return ""
    parser = _TextExtractor()
    try:
        parser.feed(_sanitize(markup))
        parser.close()
    except Exception:  # noqa: BLE001 - malformed markup: keep what was extracted so far
        pass
    try:
        parser._newline()
    except Exception:  # noqa: BLE001
        pass
    lines = [line.rstrip() for line in parser.lines]
    # A quoted line made only of "> " prefixes is a blank line inside the quote.
    lines = [line if line.strip(">  ") else "" for line in lines]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip("\n")


# Reply-splitting heuristics. None of this is standardised beyond RFC 3676's "-- " delimiter and the
# RFC 5322-era ">" quoting convention; the patterns are the attribution lines real clients write.
_ATTRIBUTION_START = re.compile(r"^\s*(On|Le|Am|El|Il|Op|Em|Den)\s", re.I)
_ATTRIBUTION_END = re.compile(r"(wrote|[ée]crit|schrieb|escribi[óo]|scritto|schreef|escreveu|skrev)\s*:\s*$", re.I)
_ORIGINAL = re.compile(r"^\s*(-{2,}\s*(Original Message|Forwarded message|Urspr[üu]ngliche Nachricht|"
                       r"Message d'origine)\s*-{2,}|Begin forwarded message:)\s*$", re.I)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De)\s*:\*?\s+\S", re.I)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Envoy[ée]|To|Subject)\s*:", re.I)
_RULE = re.compile(r"^\s*_{5,}\s*$")


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _history_start(lines: list[str]) -> tuple[int, int, bool] | None:
    """(first line, line after the attribution, whether replies may be interleaved) of quoted history."""
    for i, line in enumerate(lines):
        if _is_quote(line):
            continue
        if _ORIGINAL.match(line):
            return i, i + 1, False
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_NEXT.match(nxt) for nxt in lines[i + 1:i + 4]):
            start = i - 1 if i and _RULE.match(lines[i - 1]) else i
            return start, i + 1, False
        if _ATTRIBUTION_START.match(line):  # "On <date>, <who> wrote:" may wrap over up to 3 lines
            for j in range(i, min(i + 3, len(lines))):
                if _ATTRIBUTION_END.search(lines[j]):
                    return i, j + 1, True
                if j > i and (_is_quote(lines[j]) or not lines[j].strip()):
                    break
    return None


def _interleaved(tail: list[str], quotes: list[bool]) -> bool:
    """True when the writer answered between quoted lines (new text after a quote, before a signature)."""
    seen_quote = False
    for line, quote in zip(tail, quotes):
        if quote:
            seen_quote = True
        elif line.rstrip("\r") in ("-- ", "--"):
            return False
        elif line.strip() and seen_quote:
            return True
    return False


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    if "\n\n\n" in text:  # the regex scans every position; most texts need no collapsing
        text = _BLANKS.sub("\n\n", text)
    return text.strip("\n")


def split_reply(text: str) -> tuple[str, str, str]:
    """(new text, quoted history, signature) of a plain-text body; never raises."""
    if not isinstance(text, str) or not text:
        return "", "", ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    is_quote = [line.lstrip().startswith(">") for line in lines]  # once per line: long quotes are common
    quoted = list(is_quote)
    found = _history_start(lines)
    if found:
        start, after, may_interleave = found
        interleaved = may_interleave and _interleaved(lines[after:], is_quote[after:])
        for index in range(start, len(lines)):
            quoted[index] = index < after or not interleaved or is_quote[index]
    body = [line for line, q in zip(lines, quoted) if not q]
    # RFC 3676 4.3: the signature follows a "-- " line; many clients strip the trailing space.
    delimiters = [i for i, line in enumerate(body) if line in ("-- ", "--")]
    signature = []
    if delimiters:
        body, signature = body[:delimiters[-1]], body[delimiters[-1] + 1:]
    return _tidy(body), _tidy([line for line, q in zip(lines, quoted) if q]), _tidy(signature)
