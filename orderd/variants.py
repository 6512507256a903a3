"""Variants of a corpus email that must read the same: a signature and a disclaimer added, an older order
quoted below, HTML only, Outlook's plain-text table, windows-1252 quoted-printable, base64, non-breaking
spaces and typographic dashes, item lines reordered, forwarded by a colleague.

Each variant keeps the original's attachments and headers; only the body's shape changes. `make
accuracy` judges every variant and counts how often it is judged exactly like its original.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from orderd.extract.mime import read_body

SIGNATURE = ("\n\n--\nJane Roe | Purchasing\nTel. +44 20 7946 0958 | Fax +44 20 7946 0959\n"
             "VAT GB 123 4567 89 - Company No. 08812345\n\nThis e-mail and any attachments are confidential "
             "and intended solely for the addressee. If you received it in error, delete it. Ref 2024/77.")
OLD_ORDER = ("\n\nOn Mon, 2 Nov 2026 at 09:12, Orders <orders@mycompany.test> wrote:\n"
             "> Thank you, we confirm your order S00007 (PO OLD-1180):\n> 99 x DC-1003 Magnesium steering wheel "
             "core\n> 7 x DC-1015\n> Delivery 2026-11-09")
CODE = re.compile(r"\b([A-Z]{2})-(\d{4})\b")


def _rebuild(original: EmailMessage, body: str, *, subtype: str = "plain", charset: str = "utf-8",
             cte: str | None = None) -> EmailMessage:
    """The original's headers and attachments around a new body."""
    msg = EmailMessage(policy=policy.default)
    for name, value in original.items():
        if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            msg[name] = value
    msg.set_content(body, subtype=subtype, charset=charset, cte=cte)
    attachments = list(original.iter_attachments())
    # parts beside the text that are not attachments either (a text/calendar invitation in the
    # alternative, an inline logo) are part of what the mail is
    others = [part for part in original.walk() if not part.is_multipart() and part not in attachments
              and part.get_content_type() not in ("text/plain", "text/html")]
    for part in [*attachments, *others]:
        msg.make_mixed()
        msg.attach(part)
    return msg


def _as_html(text: str) -> str:
    """As a mail client would write it: a paragraph per block, a line break per line, tables as tables."""
    out = []
    rows: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines = block.split("\n")
        if all("|" in line for line in lines):
            for line in lines:
                cells = "".join(f"<td class=MsoNormal>{html.escape(c.strip())}</td>"
                                for c in line.strip("|").split("|"))
                rows.append(f"<tr>{cells}</tr>")
            out.append("<table border=1>" + "".join(rows) + "</table>")
            rows = []
            continue
        out.append(f"<p class=MsoNormal>{'<br>'.join(html.escape(line) for line in lines)}<o:p></o:p></p>")
    return "<html><body>" + "\n".join(out) + "</body></html>"


def _outlook_table(text: str) -> str:
    """Outlook's plain text of a table: one row per line, its cells apart by tabs."""
    return "\n".join("\t".join(cell.strip() for cell in line.strip().strip("|").split("|")) if "|" in line else line
                     for line in text.split("\n"))


def _reorder(text: str) -> str:
    """Consecutive item lines (those naming a code) in reverse order."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and CODE.search(lines[j]) and not lines[j].lstrip().startswith(">"):
            j += 1
        if j - i > 1:
            lines[i:j] = reversed(lines[i:j])
        i = max(j, i + 1)
    return "\n".join(lines)


def _forwarded(original: EmailMessage, text: str) -> EmailMessage:
    header = (f"Paul, internal sales here: please book this one.\n\n---------- Forwarded message ---------\n"
              f"From: {original.get('From', '')}\nDate: {original.get('Date', '')}\n"
              f"Subject: {original.get('Subject', '')}\nTo: Paul <paul@mycompany.test>\n\n")
    msg = _rebuild(original, header + text)
    del msg["From"]
    msg["From"] = "Paul Colleague <paul@mycompany.test>"
    del msg["Subject"]
    msg["Subject"] = f"Fwd: {original.get('Subject', '')}"
    return msg


VARIANTS: dict[str, Callable[[EmailMessage, str], EmailMessage]] = {
    "signature": lambda m, t: _rebuild(m, t + SIGNATURE),
    "quoted_old_order": lambda m, t: _rebuild(m, t + OLD_ORDER),
    "html_only": lambda m, t: _rebuild(m, _as_html(t), subtype="html"),
    "outlook_table": lambda m, t: _rebuild(m, _outlook_table(t)),
    "cp1252_qp": lambda m, t: _rebuild(m, t, charset="cp1252", cte="quoted-printable")
    if _encodable(t, "cp1252") else _rebuild(m, t, cte="quoted-printable"),
    "base64": lambda m, t: _rebuild(m, t, cte="base64"),
    "typography": lambda m, t: _rebuild(m, CODE.sub("\\1\u2013\\2", re.sub(r"(\d) (x|pcs|Stk|uds)\b", "\\1\u00a0\\2",
                                                                         t))),
    "reordered": lambda m, t: _rebuild(m, _reorder(t)),
    "forwarded": _forwarded,
}


def _encodable(text: str, charset: str) -> bool:
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return False
    return True


def variants_of(raw: bytes, *, forwardable: bool = True) -> dict[str, bytes]:
    """Every variant of one email, by name; none for a mail without a text body (nothing to reshape).
    forwardable: a colleague forwarding it keeps its meaning (not so for a bounce or a colleague's own
    forward)."""
    original = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(original, EmailMessage)
    text = read_body(original).text
    if not text.strip():
        return {}
    out = {}
    for name, make in VARIANTS.items():
        if name == "forwarded" and not forwardable:
            continue
        try:
            out[name] = bytes(make(original, text))
        except (ValueError, TypeError, LookupError):
            continue  # a header the library will not copy: that variant is skipped, not guessed
    return out
