"""Plain records passed between the pipeline's stages.

Every stage is a function from some of these to another; none of them does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from enum import StrEnum
from typing import Literal


class Language(StrEnum):
    """The languages orderd reads and answers in (templates, CLDR number rules, spaCy pipelines)."""

    EN = "en"
    FR = "fr"
    DE = "de"
    ES = "es"


class Decision(StrEnum):
    """What the gate made of a message: the `decision` of `orderd parse`, the journal and /metrics."""

    ORDER = "order"  # confirmed
    NEEDS_REVIEW = "needs_review"  # a draft (or a forward) for a person, with reasons
    NOT_ORDER = "not_order"
    REJECTED = "rejected"  # policy


class JournalState(StrEnum):
    """Where a journaled message stands."""

    RECEIVED = "received"  # journaled, no outcome yet (in DATA, queued for the spool, or orphaned)
    DONE = "done"
    FAILED = "failed"  # a temporary failure; the sender, the spool or `orderd replay` tries again
    QUARANTINED = "quarantined"  # kept as raw bytes, never opened further (executables, MIME bombs)


class ReplyKind(StrEnum):
    """Which answer the customer gets: one template per kind and language."""

    CONFIRMED = "confirmed"
    SHORTAGE = "shortage"
    UNKNOWN_PRODUCT = "unknown_product"
    REVIEW = "review"
    RECEIVED = "received"  # a message about an existing order, acknowledged
    AMENDED = "amended"
    CANCELLED = "cancelled"


class Stage(StrEnum):
    """The timed stages of one message, in the order it meets them: the journal's `timings` keys, the
    `orderd_stage_seconds{stage=…}` label and the console's columns. Each I/O step has its own name, so
    a figure never adds up different things."""

    CLASSIFY = "classify"
    THREAD = "thread"
    EXTRACT = "extract"
    RESOLVE = "resolve"
    KEY_LOOKUP = "key_lookup"  # an order already carrying this message's key (a crashed attempt)
    ORDER_LOOKUP = "order_lookup"  # the order the message refers to ([S00042], a reply to ours)
    SENDER_COMPANY = "sender_company"  # whose company the sender writes for (may they speak about it)
    CUSTOMER = "customer"  # the partner found or created
    ALIASES = "aliases"  # the customer's learned wordings and pack sizes applied (learning)
    STOCK = "stock"  # free quantity, one read for all lines
    DECIDE = "decide"
    CREATE = "create"  # the order with all its lines, read back as Odoo priced it
    CONFIRM = "confirm"
    CANCEL = "cancel"
    REPLY = "reply"  # composing the answer and the reply policy (rate cap)
    CHATTER = "chatter"  # the email (and our answer) posted on the order
    ACTIVITY = "activity"  # the review to-do for a salesperson
    TOTAL = "total"


class Reason(str):
    """One reason not to confirm, in the salesperson's words, with a stable code for metrics and tests.

    A str, so reasons read, join and serialise as the text they are."""

    code: str

    def __new__(cls, code: str, text: str) -> Reason:
        reason = super().__new__(cls, text)
        reason.code = code
        return reason


@dataclass(frozen=True)
class Envelope:
    """What the SMTP session said, as opposed to what the headers claim."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer: str = ""
    helo: str = ""


@dataclass
class Message:
    """One received email: the raw bytes and the headers orderd relies on."""

    raw: bytes
    envelope: Envelope
    parsed: EmailMessage
    message_id: str | None
    sender_email: str
    sender_name: str
    subject: str
    date: datetime | None
    key: str  # idempotency key, see idempotency_key()

    @classmethod
    def from_bytes(cls, raw: bytes, envelope: Envelope | None = None) -> Message:
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(parsed, EmailMessage)
        message_id = _header(parsed, "Message-ID").strip() or None
        name, email_addr = _first_address(_header(parsed, "From"))
        if not email_addr and envelope is not None:
            email_addr = envelope.mail_from
        return cls(
            raw=raw,
            envelope=envelope or Envelope(mail_from=email_addr, rcpt_tos=()),
            parsed=parsed,
            message_id=message_id,
            sender_email=email_addr.lower(),
            sender_name=name,
            subject=" ".join(_header(parsed, "Subject").split()),
            date=_parse_date(_header(parsed, "Date")),
            key=idempotency_key(message_id, email_addr, raw),
        )

    def header(self, name: str) -> str:
        return _header(self.parsed, name)


def idempotency_key(message_id: str | None, sender: str, raw: bytes) -> str:
    """Message-ID with the sender's address, so one sender cannot pre-empt another's key;
    a digest of the raw bytes when there is no Message-ID."""
    if message_id:
        material = f"{message_id.strip()}\n{sender.strip().lower()}".encode()
    else:
        material = raw
    return hashlib.sha256(material).hexdigest()


def _header(parsed: EmailMessage, name: str) -> str:
    # Malformed headers must never crash a session: the defect is kept, the text is what we can read.
    try:
        value = parsed.get(name)
    except Exception:
        return ""
    return str(value) if value is not None else ""


def _first_address(value: str) -> tuple[str, str]:
    try:
        pairs = getaddresses([value])
    except Exception:
        return "", ""
    for name, addr in pairs:
        if "@" in addr:
            return name.strip(), addr.strip()
    return "", ""


def _parse_date(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None


# --- catalog ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    default_code: str
    name: str
    barcode: str | None = None
    list_price: float = 0.0
    uom: str = "Units"
    id: int | None = None  # Odoo's product.product id, when the catalog came from Odoo
    names: tuple[tuple[str, str], ...] = ()  # (language, name) in every other active language
    packaging: tuple[tuple[str, float], ...] = ()  # (name, units per pack): Odoo's product.packaging


@dataclass(frozen=True)
class Customer:
    name: str
    email: str | None
    is_company: bool = False
    parent: str | None = None  # name of the company a contact belongs to
    category: str | None = None
    lang: str = "en_US"
    id: int | None = None
    commercial_id: int | None = None  # the company orders are placed on (itself for a company)


# --- stages' outputs --------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """Whether a message may be an order, and if not, what it is."""

    kind: Literal["candidate", "auto_reply", "bounce", "list", "loop", "quarantine"]
    reason: str = ""
    authenticated: bool | None = None  # None: no verdict available
    # Auto-Submitted: auto-generated: an ERP, a portal or an EDI system sent it. It may well be an order,
    # but no automatic answer goes back to a machine (RFC 3834).
    machine_made: bool = False

    @property
    def answerable(self) -> bool:
        """Only mail from people may be answered automatically (RFC 3834)."""
        return self.kind == "candidate" and not self.machine_made


@dataclass(frozen=True)
class ThreadRef:
    """An existing order this message is about, and commands it carries."""

    order_ref: str | None = None
    commands: tuple[str, ...] = ()


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes
    flagged: str | None = None  # why it must not be opened (executable, archive…)


@dataclass
class LineMention:
    """One order line as written by the customer, before it is matched to a product."""

    text: str  # the words it came from
    product_text: str  # the part that names the product
    qty: float | None
    uom: str | None = None
    confidence: float = 1.0  # how sure we are this is an order line with this quantity
    source: str = "body"  # "body" or "attachment:<filename>"
    # Why the quantity cannot be taken as written: "range", "vague", "pack_unknown", "multiplied".
    doubt: str | None = None
    unit_price: float | None = None  # a unit price the customer wrote on this line
    packs: float | None = None  # how many packs were counted ("3 cartons") when their size is not known
    line_amount: float | None = None  # the line's amount in a document (quantity × unit price)


@dataclass
class Extraction:
    language: str
    body_text: str  # the new text: quotes, signature and disclaimers cut
    lines: list[LineMention] = field(default_factory=list)
    client_order_ref: str | None = None
    commitment_date: date | None = None
    customer_email: str | None = None  # set when the order is forwarded: the original sender
    customer_name: str | None = None
    findings: list[str] = field(default_factory=list)  # things a salesperson should know
    attachments: list[Attachment] = field(default_factory=list)
    is_question: bool = False  # mail from a person that asks rather than orders
    # What the new text asks for (extract.intent.INTENTS) and the words that said so. A hand-made
    # Extraction is an order; the engine always sets these.
    intent: str = "order"
    intent_evidence: str = ""
    ordering: bool = True  # positive evidence of ordering intent (words, or an order document)
    date_doubt: str | None = None  # why the delivery date cannot be taken as read
    trust: list[Reason] = field(default_factory=list)  # doubts about the sender (lookalike domain, new bank…)
    unread: list[str] = field(default_factory=list)  # item lines whose number or product was not read
    doubts: list[Reason] = field(default_factory=list)  # what reading found contradictory (body vs attachment)
    full_text: str = ""  # the whole body as text, signature and quotes included (who the sender claims to be)


@dataclass
class OrderLine:
    """A line matched (or not) to a catalog product."""

    mention: LineMention
    product: Product | None
    confidence: float
    candidates: tuple[str, ...] = ()  # default codes of close candidates when unresolved


@dataclass(frozen=True)
class Shortage:
    default_code: str
    requested: float
    available: float


@dataclass
class Verdict:
    decision: Decision
    reasons: list[str] = field(default_factory=list)
    shortages: list[Shortage] = field(default_factory=list)
