"""MIME to text: pick the body that keeps the order's structure, convert HTML, collect attachments.

Everything here is defensive: a malformed part yields less text, never an exception, because the
caller is an SMTP session waiting for an answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from orderd.records import Attachment

# Parts whose content must never be opened (executables, scripts, archives that may hide them).
_FLAGGED_EXT = {
    "exe": "executable", "com": "executable", "bat": "executable", "cmd": "executable",
    "scr": "executable", "msi": "executable", "dll": "executable", "js": "script", "vbs": "script",
    "ps1": "script", "jar": "executable", "sh": "script", "zip": "archive", "rar": "archive",
    "7z": "archive", "gz": "archive", "tgz": "archive", "tar": "archive", "iso": "archive",
    "docm": "macro document", "xlsm": "macro document",
}
_FLAGGED_TYPES = ("application/x-msdownload", "application/x-dosexec", "application/zip",
                  "application/x-rar", "application/x-7z", "application/java-archive")


@dataclass
class Body:
    """The readable content of one message (or of a forwarded original inside it)."""

    text: str
    html: bool = False  # the text came from HTML (tables were turned into `|` rows)
    attachments: list[Attachment] = field(default_factory=list)
    forwarded: list[EmailMessage] = field(default_factory=list)  # message/rfc822 parts
    calendar: bool = False  # a text/calendar part (an invitation), wherever it sits


def decode_part(part: Message) -> str:
    """The part's text in its declared charset, falling back to the likely ones, never failing."""
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    charsets = [part.get_content_charset() or "", "utf-8", "cp1252", "latin-1"]
    for charset in charsets:
        if not charset:
            continue
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("utf-8", errors="replace")


def unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next (with delsp=yes, that
    space was added and goes), so a phrase or code split by the sender's client reads whole again."""
    out: list[str] = []
    carry = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" ") and line.strip() != "--":
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def flag_for(filename: str, content_type: str) -> str | None:
    ext = filename.lower().rsplit(".", 1)[-1] if "." in filename else ""
    if ext in _FLAGGED_EXT:
        return _FLAGGED_EXT[ext]
    if content_type.lower().startswith(_FLAGGED_TYPES):
        return "executable or archive"
    return None


def read_body(msg: Message) -> Body:
    """Walk the MIME tree once: the best text body, attachments, forwarded originals."""
    body = Body(text="")
    texts: list[tuple[str, bool]] = []
    _walk(msg, body, texts)
    body.text = "\n\n".join(t for t, _ in texts).strip()
    body.html = any(is_html for _, is_html in texts)
    return body


def _walk(part: Message, body: Body, texts: list[tuple[str, bool]]) -> None:
    ctype = part.get_content_type()
    filename = part.get_filename() or ""
    disposition = (part.get_content_disposition() or "").lower()
    if ctype == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            inner = inner[0]
        if isinstance(inner, Message):
            body.forwarded.append(inner)  # type: ignore[arg-type]
        return
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        if ctype == "multipart/alternative":
            body.calendar = body.calendar or any(c.get_content_type() == "text/calendar" for c in children)
            best = _pick_alternative(children)
            if best is not None:
                _walk(best, body, texts)
            return
        for child in children:
            _walk(child, body, texts)
        return
    body.calendar = body.calendar or ctype == "text/calendar"
    is_attachment = disposition == "attachment" or (filename and ctype not in ("text/plain", "text/html"))
    if is_attachment or (filename and disposition != "inline"):
        data = _payload_bytes(part)
        body.attachments.append(
            Attachment(filename=filename or "unnamed", content_type=ctype, data=data,
                       flagged=flag_for(filename, ctype))
        )
        return
    if ctype == "text/plain":
        text = decode_part(part)
        params = {k.lower(): v.lower() for k, v in part.get_params() or [] if isinstance(v, str)}
        if params.get("format") == "flowed":
            text = unflow(text, params.get("delsp") == "yes")
        texts.append((text, False))
    elif ctype == "text/html":
        texts.append((html_to_text(decode_part(part)), True))


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    return data if isinstance(data, bytes) else b""


def _pick_alternative(children: list[Message]) -> Message | None:
    """Prefer the HTML part when it holds a table or list the plain part flattened; else plain.

    Mail clients often render an HTML table as run-together words in the text/plain alternative,
    so the HTML keeps the rows; but plain text is the safer read when both are prose.
    """
    plain = next((c for c in children if c.get_content_type() == "text/plain"), None)
    html = next((c for c in children if c.get_content_type() == "text/html"), None)
    nested = next((c for c in children if c.is_multipart()), None)
    if html is not None and re.search(r"<(table|li)\b", decode_part(html), re.I):
        return html
    return plain or html or nested or (children[-1] if children else None)


# --- HTML -------------------------------------------------------------------------------------

_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
          "section", "article", "header", "footer", "pre", "hr", "dt", "dd"}
_SKIP = {"script", "style", "head", "title"}


class _HtmlText(HTMLParser):
    """HTML to text keeping what extraction needs: rows as lines, cells separated by ` | `,
    list items as `- ` bullets, and quoted history (blockquote, gmail_quote) as `> ` lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0
        self.cells_in_row = 0
        self.quote_stack: list[bool] = []
        self.in_cell = 0  # inside <td>/<th>: paragraphs there stay on the row's line

    def _newline(self) -> None:
        self.out.append(" " if self.in_cell else "\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
            return
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id")).lower()
        if tag in ("div", "blockquote"):
            quoting = tag == "blockquote" or "gmail_quote" in classes or "divrplyfwdmsg" in classes \
                or "moz-cite-prefix" in classes or "yahoo_quoted" in classes
            self.quote_stack.append(quoting)
            if quoting:
                self.quote += 1
        if tag == "tr":
            self.cells_in_row = 0
            self.in_cell = 0
            self._newline()
        elif tag in ("td", "th"):
            if self.cells_in_row:
                self.out.append(" | ")
            self.cells_in_row += 1
            self.in_cell += 1
        elif tag == "li":
            self._newline()
            self.out.append("- ")
        elif tag in _BLOCK:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
            return
        if tag in ("div", "blockquote") and self.quote_stack and self.quote_stack.pop():
            self.quote = max(0, self.quote - 1)
        if tag in ("td", "th"):
            self.in_cell = max(0, self.in_cell - 1)
            return
        if tag == "table":
            self.in_cell = 0
        if tag in _BLOCK and tag not in ("br", "li", "tr"):  # a row's start already broke the line
            self._newline()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "hr"):
            self._newline()

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        text = re.sub(r"\s+", " ", data)
        if not text.strip() and not self.out:
            return
        if self.quote:
            # every physical line of quoted history carries the marker, so stripping finds it
            text = text.replace("\n", "\n> ")
            if not self.out or self.out[-1].endswith("\n"):
                text = "> " + text.lstrip()
        self.out.append(text)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # a broken document still yields what was read so far
        pass
    raw = "".join(parser.out).replace("\xa0", " ")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in raw.split("\n")]
    out: list[str] = []
    for line in lines:
        if line in ("", ">") and out and out[-1] == "":
            continue
        out.append("" if line == ">" else line)
    return "\n".join(out).strip()
