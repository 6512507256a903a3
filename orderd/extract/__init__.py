"""The extraction engine: one email in, what the customer asked for out.

    extract(message, catalog) -> Extraction

Stages: MIME to text (mime), forwarded originals and quoted history and signatures (text), language
(language), order lines (lines, with the catalog index of nlp), dates (dates), customer reference
(refs), attachments (attachments). Everything is a pure function of the message and the catalog.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from email.message import Message as EmailPart
from email.utils import getaddresses

from orderd.catalog import Catalog
from orderd.extract.attachments import read_attachment
from orderd.extract.dates import delivery_date, parse_date_in
from orderd.extract.intent import ordering_words, read_intent
from orderd.extract.language import SUPPORTED, detect
from orderd.extract.lines import count_packs, text_mentions, unwrap
from orderd.extract.mime import Body, read_body
from orderd.extract.nlp import code_key, index_for
from orderd.extract.numbers import fold, normalize_typography
from orderd.extract.quantities import read_quantity_context
from orderd.extract.refs import find_reference, subject_reference
from orderd.extract.roles import unread_numbers
from orderd.extract.text import clean_body, split_inline_forward
from orderd.records import Attachment, Extraction, LineMention, Message, Reason

__all__ = ["extract", "warm"]

_QUESTION = re.compile(
    r"\?|\b(do you have|could you (?:tell|let me know|send (?:us|me) (?:a )?(?:quote|price|catalog))|"
    r"price list|quotation for|quote for|avez-vous|pourriez-vous|haben sie|könnten sie|tienen|podrían)\b",
    re.I,
)


def extract(message: Message, catalog: Catalog, internal_domains: tuple[str, ...] | None = None) -> Extraction:
    """internal_domains: the company's own mail domains (config); None: the catalog's company domain."""
    index = index_for(catalog)
    body = read_body(message.parsed)
    findings: list[str] = []
    doubts: list[Reason] = []
    customer_email = customer_name = None
    text = body.text
    attachments = list(body.attachments)
    domains = internal_domains if internal_domains is not None else (catalog.email_domain,)
    if is_internal(message.sender_email, domains):
        original = _forwarded_original(body)
        if original is not None:
            customer_name, customer_email, text, extra = original
            attachments += extra
            findings.append(f"forwarded by {message.sender_email}; order placed by {customer_email}")
    cleaned = clean_body(text)
    subject = normalize_typography(_strip_subject_prefixes(message.subject))
    known = catalog.customer_by_email(customer_email or message.sender_email)
    hint = known.lang.split("_")[0] if known else None
    lang = detect(f"{subject}\n{cleaned}", hint)
    rules_lang = lang if lang in SUPPORTED else (hint if hint in SUPPORTED else "en")
    prose = unwrap(cleaned)  # wrapped sentences as one line each: item and quantity stay together
    lines, asked = text_mentions(prose, index, rules_lang, "body", ordering_words(cleaned, subject))
    att_texts: list[str] = []
    att_lines: list[LineMention] = []
    document_intent: str | None = None  # what a structured order document says it is
    for att in attachments:
        reading = read_attachment(att, index, rules_lang)
        att_lines += reading.lines
        att_texts.append(reading.text)
        findings += reading.findings
        document_intent = document_intent or reading.intent
    if not is_internal(message.sender_email, domains):
        # A customer forwarding their own colleague's request ("please process the order below"): the
        # forwarded text is the order (inline it is read with the new text; attached, it is read here),
        # and the customer is still the sender. Their words above it may change it ("but without …").
        note, forwarded = _own_forward(message.subject, body)
        if forwarded is not None and not any(m.qty for m in lines):
            lines, asked = text_mentions(unwrap(clean_body(forwarded)), index, rules_lang, "body", True)
        if forwarded is not None and any(m.qty for m in lines) and _qualifies(clean_body(note)):
            doubts.append(Reason("forwarded_order", "the order was read from the mail the customer forwarded, "
                                                    f"and their words above it may change it: '{note.strip()[:120]}'"))
    lines = lines + att_lines  # the same lines in both are one order: reconciled once products are known
    resent = _RESENT.search(fold(cleaned))
    if resent and lines:
        doubts.append(Reason("possible_duplicate", "the customer says this order was sent before "
                                                   f"('{resent.group(0)}'): it may be in Odoo already"))
    if not lines and subject:
        lines, _ = text_mentions(subject, index, rules_lang, "subject", False)
    for mention in lines:
        read_quantity_context(mention, rules_lang)

    base = message.date
    row_dates = sorted({d for m in lines if (d := _date_on(m.text, rules_lang, base)) is not None})
    when, date_doubt = delivery_date([*prose.split("\n"), subject, *"\n".join(att_texts).split("\n")],
                                     rules_lang, base)
    if len(row_dates) > 1 and not date_doubt:
        # a date per line, and not the same one: Odoo's order has one commitment date
        date_doubt = "different delivery dates on the lines: " + ", ".join(d.isoformat() for d in row_dates)
    elif row_dates and when is None:
        when = row_dates[0]

    def is_product(ref: str) -> bool:  # "order DC-1001", "réf. DC-1007" name a product, not a PO
        return code_key(ref) in index.code_by_key or ref in index.barcodes

    # the new text first: in a reply the subject still carries the earlier order's number
    ref = find_reference([cleaned, *att_texts, subject], is_product) or subject_reference(subject)
    if ref and is_product(ref):
        ref = None
    for i, line in enumerate(lines, 1):
        if line.qty == 0:
            findings.append(f"quantity 0 on line {i}")
    is_question = not any(line.qty for line in lines) and bool(asked or _QUESTION.search(prose))
    if asked and not lines:
        findings.append("asks about products without ordering them")
    intent = read_intent(cleaned, subject, has_lines=any(m.qty for m in lines),
                         lines_only=_lines_only(prose, lines), order_document=bool(att_lines),
                         calendar=_has_calendar(body, attachments), document_intent=document_intent)
    if asked and (intent.kind == "rfq" or intent.ordering) and intent.kind not in ("change", "cancel"):
        # "Could you quote 200 x DC-1007?", "could you send 12 …?": the items asked about are the lines
        asked_lines, _ = text_mentions(prose, index, rules_lang, "body", True, keep_questions=True)
        known = {(m.product_text, m.qty) for m in lines}
        added = [m for m in asked_lines if m.qty is not None and (m.product_text, m.qty) not in known]
        for mention in added:
            read_quantity_context(mention, rules_lang)
        lines += added
        is_question = False
    return Extraction(
        language=lang,
        body_text=cleaned,
        lines=lines,
        client_order_ref=ref,
        commitment_date=when,
        customer_email=customer_email,
        customer_name=customer_name,
        findings=findings,
        attachments=attachments,
        is_question=is_question,
        unread=unread_numbers(count_packs(prose), [m for m in lines if m.source == "body"], index, rules_lang),
        intent=intent.kind,
        intent_evidence=intent.evidence,
        ordering=intent.ordering,
        date_doubt=date_doubt,
        full_text=body.text[:20_000],
        doubts=doubts,
    )


def _date_on(text: str, lang: str, base: datetime | None) -> date | None:
    """A date written on an item line (a table's delivery date column), or None."""
    if "|" not in text and "\t" not in text:
        return None  # prose items carry their dates on cue lines, read by delivery_date
    found, guessed = parse_date_in(text, lang, (base or datetime.now()).date())
    return None if guessed else found


def is_internal(sender: str, domains: tuple[str, ...]) -> bool:
    """The sender writes from one of the company's own domains (or a subdomain of one)."""
    if "@" not in sender:
        return False
    host = sender.rsplit("@", 1)[1].lower()
    return any(d and (host == d.lower() or host.endswith("." + d.lower())) for d in domains)


# Lines of the new text that are courtesy, not content: greetings, thanks, a name.
_COURTESY = re.compile(r"^\W*(hi|hello|dear|good (morning|afternoon)|bonjour|madame|monsieur|hallo|guten tag|"
                       r"sehr geehrte|hola|buenos d[ií]as|estimad[oa]s?|thanks?|thank you|merci|danke|gracias|"
                       r"regards|cordialement|gr[üu](ß|ss)e|saludos|please|bitte|svp|por favor)\b", re.I)


def _lines_only(prose: str, lines: list[LineMention]) -> bool:
    """The new text is essentially the item list: at most one line of other words beside it."""
    item_text = {m.text.strip() for m in lines}
    other = [ln for ln in prose.split("\n") if ln.strip() and ln.strip() not in item_text
             and not any(ln.strip() in t or t in ln.strip() for t in item_text)
             and not _COURTESY.match(ln) and len(ln.split()) > 2]
    return len(other) <= 1


# The order was sent before: a chaser for its acknowledgement, or the same PO sent again. Confirming it
# could make the same order twice.
_RESENT = re.compile(
    r"\b(?:already sent|sent (?:it )?(?:to you )?(?:on|last)\b|resend\w*|re-send\w*|resubmit\w*|"
    r"(?:not|never) (?:yet )?received (?:your|an|the|any) (?:acknowledg\w*|order confirmation|confirmation)|"
    r"deja (?:envoye|transmis|passe)\w*|envoyee? le \d|renvoy\w*|toujours pas (?:recu|eu) (?:votre|d'|l')|"
    r"bereits (?:gesendet|geschickt|ubermittelt|bestellt)|"
    r"vermissen (?:noch )?(?:ihre|die) (?:auftragsbestatigung|ab)\b|"
    r"noch keine (?:auftragsbestatigung|ab)\b|ya (?:os |le |les )?(?:enviad|mandad)\w*|reenvi\w*|"
    r"(?:todavia|aun) no (?:hemos )?recibido (?:la|su|vuestra) confirmaci\w*)"
)


def _has_calendar(body: Body, attachments: list[Attachment]) -> bool:
    return body.calendar or any(a.content_type == "text/calendar" or a.filename.lower().endswith(".ics")
                                for a in attachments)


def _strip_subject_prefixes(subject: str) -> str:
    return re.sub(r"^\s*((re|fw|fwd|tr|wg|aw|rv|res|sv)\s*:\s*)+", "", subject, flags=re.I)


def _forwarded_original(body: Body) -> tuple[str, str, str, list] | None:
    """(name, email, text, attachments) of the original a colleague forwarded, if any."""
    if body.forwarded:
        inner = body.forwarded[0]
        name, email = _from_header(inner)
        inner_body = read_body(inner)
        return name, email, inner_body.text, inner_body.attachments
    fwd = split_inline_forward(body.text) or split_inline_forward(body.text, header_blocks=True)
    if fwd is not None and fwd.sender_email:
        return fwd.sender_name, fwd.sender_email, fwd.body, []
    return None


_CHANGES_WORDS = re.compile(r"\d|\b(?:except|but|instead|without|only|sauf|except[ée]?|mais|au lieu|sans|seulement|"
                            r"au[sß]er|aber|statt|ohne|nur|excepto|pero|en vez|en lugar|sin|solo|menos)\b", re.I)


def _qualifies(note: str) -> bool:
    """The sender's words above a forwarded order say more than "please process it" (a number, an
    exception, a replacement)."""
    return bool(_CHANGES_WORDS.search(note))


FORWARD_SUBJECT = re.compile(r"^\s*(?:fwd?|tr|wg|rv|enc|fs|doorst)\s*:", re.I)


def _own_forward(subject: str, body: Body) -> tuple[str, str | None]:
    """(the sender's note, the text they forwarded) when the mail forwards another (attached as a
    message, or inline under a forward marker or, with a forward subject, an Outlook header block);
    (the whole text, None) otherwise."""
    if body.forwarded:
        return body.text, read_body(body.forwarded[0]).text
    fwd = split_inline_forward(body.text) or (
        split_inline_forward(body.text, header_blocks=True) if FORWARD_SUBJECT.match(subject) else None)
    return (fwd.note, fwd.body) if fwd is not None else (body.text, None)


def _from_header(part: EmailPart) -> tuple[str, str]:
    try:
        pairs = getaddresses([str(part.get("From", ""))])
    except Exception:
        return "", ""
    for name, addr in pairs:
        if "@" in addr:
            return name.strip(), addr.strip().lower()
    return "", ""


def warm(catalog: Catalog) -> None:
    """Build the catalog index, the four spaCy pipelines and the language model now (about a second),
    so the first message of a session does not pay for it inside SMTP DATA."""
    index = index_for(catalog)
    for lang in SUPPORTED:
        index.name_spans("warm up", lang)
    detect("warm up the language identifier with a sentence")
