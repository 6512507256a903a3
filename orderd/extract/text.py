"""Cleaning the body: forwarded blocks, quoted history, signatures and disclaimers.

What is cut here can never become an order line, which is how quantities in quoted history, phone
numbers and VAT numbers in signatures, and disclaimers stay out of orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import getaddresses

from orderd.extract.numbers import normalize_typography

# "On Tue, 3 Mar 2026, Ann <a@b> wrote:" and its sisters; may wrap over two lines in plain text.
_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,200}\bwrote\s*:|le\b.{0,200}\ba\s+[ée]crit\s*:|am\b.{0,200}\bschrieb\b.{0,200}:"
    r"|el\b.{0,200}\bescribi[oó]\s*:|.{0,120}\b(wrote|a [ée]crit|schrieb|escribi[oó])\s*:)\s*$",
    re.I,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine|mensaje original"
    r"|original nachricht)\s*-{2,}\s*$",
    re.I,
)
_FORWARD = re.compile(
    r"^\s*(-{2,}\s*(forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]|mensaje reenviado"
    r"|forwarded|original message)\s*-{2,}|begin forwarded message\s*:|d[ée]but du message r[ée]exp[ée]di[ée]\s*:"
    r"|anfang der weitergeleiteten nachricht\s*:|inicio del mensaje reenviado\s*:)\s*$",
    re.I,
)
_HDR_FROM = re.compile(r"^\s*\*?(from|von|de|expéditeur|remitente)\s*:\*?\s*(.+)$", re.I)
_HDR_OTHER = re.compile(
    r"^\s*\*?(sent|date|gesendet|datum|envoy[ée]( le)?|enviado|fecha|to|an|à|para|pour|subject|betreff|objet"
    r"|sujet|asunto|cc|reply-to|r[ée]pondre [àa])\s*:", re.I,
)
_SIGN_OFF = re.compile(
    r"^\s*(best|kind|warm|many thanks|thanks|thank you|regards|cheers|sincerely|yours|br|"
    r"cordialement|bien cordialement|bien à vous|salutations|merci|meilleures salutations|"
    r"mit freundlichen grüßen|mit freundlichen gruessen|freundliche grüße|viele grüße|beste grüße|"
    r"gruß|grüße|mfg|lg|danke|vielen dank|saludos|un saludo|atentamente|cordiales saludos|gracias|"
    r"muchas gracias|best regards|kind regards)\b[\w ,.!]{0,30}$",
    re.I,
)
_SIG_DASHES = re.compile(r"^(--|__+|—)\s*$")
_DISCLAIMER = re.compile(
    r"^\s*(this (e-?mail|message)( and any attachments?)? (is|are|may be|contains?)|confidentiality notice"
    r"|disclaimer|ce message (et|est)|ce courriel|diese (e-?mail|nachricht) (ist|enthält|kann)"
    r"|este (mensaje|correo)|sent from my |envoyé de mon |von meinem .* gesendet|enviado desde mi )",
    re.I,
)


@dataclass
class Forward:
    """A forwarded original found inline in the text."""

    sender_name: str
    sender_email: str
    body: str  # the original's text (below its header block)
    note: str  # what the forwarding person wrote above it


def split_inline_forward(text: str, header_blocks: bool = False) -> Forward | None:
    """Find an inline forwarded block and its original sender. header_blocks: an Outlook header block
    with no marker above it ("Von: … / Gesendet: … / An: …") also starts one, as when a colleague
    forwards with Outlook."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not (_FORWARD.match(line) or (header_blocks and _is_outlook_header(lines, i))):
            continue
        name, email = "", ""
        j = i + 1 if _FORWARD.match(line) else i
        while j < len(lines) and j < i + 12:
            cur = lines[j].strip().lstrip(">").strip()
            m = _HDR_FROM.match(cur)
            if m and not email:
                pairs = getaddresses([m.group(2).replace("[mailto:", "<").replace("]", ">")])
                for n, a in pairs:
                    if "@" in a:
                        name, email = n.strip().strip('"'), a.strip().lower()
            elif not cur and email:
                j += 1
                break
            elif not (_HDR_OTHER.match(cur) or m or not cur):
                break
            j += 1
        body = "\n".join(lines[j:])
        return Forward(name, email, body, "\n".join(lines[:i]))
    return None


def strip_quoted(text: str) -> str:
    """Drop quoted history: `>` lines and everything below an attribution or original-message line."""
    lines = text.split("\n")
    kept: list[str] = []
    skip_to = 0
    for i, line in enumerate(lines):
        if i < skip_to:
            continue
        if _ATTRIBUTION.match(line) and _bottom_posted(lines, i):
            # "On …, Marc wrote:" / "> offer …" / then the reply below it: only the quote is history
            skip_to = _quote_end(lines, i + 1)
            continue
        if _ORIGINAL.match(line) or _ATTRIBUTION.match(line) or _is_outlook_header(lines, i):
            break
        # two-line Gmail attribution: "On Tue, ... Ann <a@b>" / "wrote:"
        if i + 1 < len(lines) and re.match(r"^\s*(wrote|a [ée]crit|schrieb|escribi[oó])\s*:\s*$",
                                           lines[i + 1], re.I) and re.match(r"^\s*(on|le|am|el)\b", line,
                                                                            re.I):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).rstrip()


def _quote_end(lines: list[str], start: int) -> int:
    """The first line after a run of `>` lines (and blank lines) starting at start."""
    j = start
    while j < len(lines) and (lines[j].lstrip().startswith(">") or not lines[j].strip()):
        j += 1
    return j


def _bottom_posted(lines: list[str], i: int) -> bool:
    """An attribution followed by `>`-quoted lines and then the sender's own text."""
    j = _quote_end(lines, i + 1)
    quoted = any(ln.lstrip().startswith(">") for ln in lines[i + 1:j])
    return quoted and j < len(lines) and not _ATTRIBUTION.match(lines[j])


def _is_outlook_header(lines: list[str], i: int) -> bool:
    """Outlook quotes with a "From: … / Sent: … / To: … / Subject: …" block and no markers."""
    if not _HDR_FROM.match(lines[i].strip().strip("*")):
        return False
    following = [ln.strip().strip("*") for ln in lines[i + 1:i + 5] if ln.strip()]
    return sum(1 for ln in following if _HDR_OTHER.match(ln)) >= 2


def strip_signature(text: str) -> str:
    """Cut at the signature separator, a sign-off line, or a disclaimer, whichever comes first.

    A sign-off only counts in the second half of a message of several lines, so "Thanks for the
    quick quote, please send 5 x DC-1001" at the top is kept.
    """
    lines = text.split("\n")
    n = len(lines)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _SIG_DASHES.match(stripped) or _DISCLAIMER.match(stripped):
            return "\n".join(lines[:i]).rstrip()
        if i > 0 and _SIGN_OFF.match(stripped) and len(stripped) < 45 and not re.search(r"\d", stripped):
            rest = [ln for ln in lines[i + 1:] if ln.strip()]
            # a sign-off followed by more order text is a polite opening, not the end
            if not any(_looks_like_order_text(ln) for ln in rest[:3]) or i >= n // 2:
                return "\n".join(lines[:i]).rstrip()
    return text


def _looks_like_order_text(line: str) -> bool:
    return bool(re.search(r"\d+\s*(x|×|pcs|pieces|units|stück|stk|pièces|unidades)\b", line, re.I))


def clean_body(text: str) -> str:
    text = normalize_typography(text.replace("\r\n", "\n").replace("\r", "\n"))
    return strip_signature(strip_quoted(text))
