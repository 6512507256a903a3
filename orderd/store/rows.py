"""The store's data, defined once for every backend: states, records, columns, row mapping, queries.

A backend (orderd.store.sqlite, orderd.store.postgres) brings its connection handling, its column
types and the few statements only it has (PostgreSQL's processing claims); what a row holds, how it
becomes a record and how the shared queries read are written here, in a `Dialect` of placeholders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orderd.records import JournalState

JOURNAL_STATES = tuple(JournalState)
# Journal states with a recorded outcome: nothing more happens to such a message.
FINAL_STATES = (JournalState.DONE, JournalState.QUARANTINED)
OUTBOX_STATES = ("pending", "sent", "failed")


class StoreUnavailable(Exception):
    """The store cannot record anything right now (disk full, locked, I/O error).

    The SMTP handler turns it into `451 4.3.0` so the sender's MTA keeps the message."""


@dataclass
class JournalEntry:
    key: str
    message_id: str | None
    sender: str
    rcpt_tos: list[str]
    received_at: datetime
    state: str  # one of JOURNAL_STATES
    decision: str | None
    order_id: int | None
    order_name: str | None
    reasons: list[str]
    error: str | None
    timings: dict[str, float]
    raw: bytes
    attempts: int


@dataclass
class OutgoingMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    kind: str  # reply | forward
    order_name: str | None = None


@dataclass
class OutboxItem:
    id: int
    key: str
    mail: OutgoingMail
    attempts: int
    next_attempt_at: datetime
    state: str  # one of OUTBOX_STATES
    last_error: str | None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    order_id: int | None = field(default=None)


def utcnow() -> datetime:
    return datetime.now(UTC)


def check_final_state(state: str) -> None:
    if state not in FINAL_STATES:
        raise ValueError(f"record_outcome: state must be one of {', '.join(FINAL_STATES)}, not {state!r}")


# --- tables ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | json | timestamp | id | count | blob | serial: each backend maps it to a type
    constraints: str = ""


JOURNAL_TABLE: tuple[Column, ...] = (
    Column("key", "text", "PRIMARY KEY"),  # the idempotency key
    Column("message_id", "text"),
    Column("sender", "text", "NOT NULL"),
    Column("rcpt_tos", "json", "NOT NULL"),  # list
    Column("peer", "text", "NOT NULL DEFAULT ''"),
    Column("received_at", "timestamp", "NOT NULL"),
    Column("updated_at", "timestamp", "NOT NULL"),
    Column("state", "text", "NOT NULL DEFAULT 'received'"),
    Column("decision", "text"),
    Column("order_id", "id"),
    Column("order_name", "text"),
    Column("reasons", "json", "NOT NULL DEFAULT '[]'"),
    Column("error", "text"),
    Column("timings", "json", "NOT NULL DEFAULT '{}'"),
    Column("attempts", "count", "NOT NULL DEFAULT 0"),
    Column("raw", "blob", "NOT NULL"),
)

# Every message orderd sends stays here after delivery: the archive, linked to the journal entry and
# the order it is about.
OUTBOX_TABLE: tuple[Column, ...] = (
    Column("id", "serial"),
    Column("key", "text", "NOT NULL REFERENCES journal(key)"),
    Column("kind", "text", "NOT NULL"),
    Column("order_id", "id"),
    Column("order_name", "text"),
    Column("mail_from", "text", "NOT NULL"),
    Column("rcpt_tos", "json", "NOT NULL"),  # list
    Column("to_addr", "text", "NOT NULL"),  # first recipient, lower case: the reply cap's key
    Column("raw", "blob", "NOT NULL"),
    Column("state", "text", "NOT NULL DEFAULT 'pending'"),
    Column("attempts", "count", "NOT NULL DEFAULT 0"),
    Column("next_attempt_at", "timestamp", "NOT NULL"),
    Column("last_error", "text"),
    Column("created_at", "timestamp", "NOT NULL"),
    Column("sent_at", "timestamp"),
)

INDEXES: tuple[tuple[str, str, str], ...] = (
    ("journal_state", "journal", "state, received_at"),
    ("journal_order", "journal", "order_name"),
    ("outbox_due", "outbox", "state, next_attempt_at"),
    ("outbox_key", "outbox", "key"),
    ("outbox_to", "outbox", "to_addr, created_at"),
)


def create_table(name: str, columns: tuple[Column, ...], types: dict[str, str],
                 extra: tuple[str, ...] = ()) -> str:
    """CREATE TABLE for one backend: `types` maps each column kind to that backend's SQL type."""
    lines = [" ".join(filter(None, (column.name, types[column.kind], column.constraints))) for column in columns]
    return f"CREATE TABLE IF NOT EXISTS {name} (\n    " + ",\n    ".join([*lines, *extra]) + "\n)"


def create_indexes() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {name} ON {table}({columns})" for name, table, columns in INDEXES]


# Read back in this order by every SELECT of entries and items (raw comes last, and only when asked).
ENTRY_COLUMNS = ("key, message_id, sender, rcpt_tos, received_at, state, decision, order_id, order_name,"
                 " reasons, error, timings, attempts")
OUTBOX_COLUMNS = ("id, key, kind, order_id, order_name, mail_from, rcpt_tos, raw, state, attempts,"
                  " next_attempt_at, last_error, created_at, sent_at")
ENTRY_WIDTH = 13


# --- rows → records -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decode:
    """How a backend's driver hands back JSON and timestamps (text in SQLite, native in PostgreSQL)."""

    json: Callable[[Any], Any]
    timestamp: Callable[[Any], datetime | None]


def entry_from_row(row: tuple[Any, ...], raw: bytes, decode: Decode) -> JournalEntry:
    (key, message_id, sender, rcpt_tos, received_at, state, decision, order_id, order_name,
     reasons, error, timings, attempts) = row[:ENTRY_WIDTH]
    received = decode.timestamp(received_at)
    assert received is not None
    return JournalEntry(
        key=key, message_id=message_id, sender=sender, rcpt_tos=list(decode.json(rcpt_tos)),
        received_at=received, state=state, decision=decision, order_id=order_id, order_name=order_name,
        reasons=list(decode.json(reasons)), error=error, timings=dict(decode.json(timings)), raw=raw,
        attempts=attempts,
    )


def item_from_row(row: tuple[Any, ...], decode: Decode) -> OutboxItem:
    (id_, key, kind, order_id, order_name, mail_from, rcpt_tos, raw, state, attempts,
     next_attempt_at, last_error, created_at, sent_at) = row
    next_at = decode.timestamp(next_attempt_at)
    assert next_at is not None
    return OutboxItem(
        id=id_, key=key,
        mail=OutgoingMail(mail_from=mail_from, rcpt_tos=list(decode.json(rcpt_tos)), raw=bytes(raw), kind=kind,
                          order_name=order_name),
        attempts=attempts, next_attempt_at=next_at, state=state, last_error=last_error,
        created_at=decode.timestamp(created_at), sent_at=decode.timestamp(sent_at), order_id=order_id,
    )


def outbox_values(mail: OutgoingMail, order_name: str | None) -> tuple[str, str | None, str, list[str], str, bytes]:
    """(kind, order_name, mail_from, rcpt_tos, to_addr, raw): what every backend stores for one outgoing
    mail; to_addr (lower case) is what the per-recipient reply cap counts."""
    to_addr = (mail.rcpt_tos[0] if mail.rcpt_tos else "").lower()
    return mail.kind, mail.order_name or order_name, mail.mail_from, mail.rcpt_tos, to_addr, mail.raw


# --- queries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """What differs in the shared statements: the parameter marker, how a JSON parameter is written,
    and the column that orders rows inserted in the same instant."""

    param: str  # "?" or "%s"
    json_param: str  # "?" or "%s::jsonb"
    insertion_order: str  # "rowid" or "seq"


FINAL_STATES_SQL = "(" + ", ".join(f"'{state}'" for state in FINAL_STATES) + ")"
Query = tuple[str, list[Any]]


def select_entries(d: Dialect, *, state: str | None, since: Any, limit: int, with_raw: bool) -> Query:
    """Newest first; `since` is already in the backend's timestamp form."""
    clauses: list[str] = []
    params: list[Any] = []
    if state is not None:
        clauses.append(f"state = {d.param}")
        params.append(state)
    if since is not None:
        clauses.append(f"received_at >= {d.param}")
        params.append(since)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    columns = ENTRY_COLUMNS + (", raw" if with_raw else "")
    return (f"SELECT {columns} FROM journal{where} ORDER BY received_at DESC, {d.insertion_order} DESC"
            f" LIMIT {d.param}", [*params, limit])


def select_outbox(d: Dialect, *, state: str | None, key: str | None, limit: int) -> Query:
    clauses: list[str] = []
    params: list[Any] = []
    if state is not None:
        clauses.append(f"state = {d.param}")
        params.append(state)
    if key is not None:
        clauses.append(f"key = {d.param}")
        params.append(key)
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT {OUTBOX_COLUMNS} FROM outbox{where} ORDER BY id DESC LIMIT {d.param}", [*params, limit]


def select_due(d: Dialect, now: Any, limit: int) -> Query:
    return (f"SELECT {OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= {d.param}"
            f" ORDER BY next_attempt_at, id LIMIT {d.param}", [now, limit])


def set_outcome(d: Dialect) -> str:
    """Parameters: state, decision, order_id, order_name, reasons, timings, updated_at, key."""
    return (f"UPDATE journal SET state = {d.param}, decision = {d.param}, order_id = {d.param},"
            f" order_name = {d.param}, reasons = {d.json_param}, timings = {d.json_param}, error = NULL,"
            f" updated_at = {d.param}")  # the backend adds its own columns, then the WHERE


def insert_outbox(d: Dialect) -> str:
    """Parameters: key, kind, order_id, order_name, mail_from, rcpt_tos, to_addr, raw, next_attempt_at,
    created_at."""
    p = d.param
    return ("INSERT INTO outbox (key, kind, order_id, order_name, mail_from, rcpt_tos, to_addr, raw,"
            f" next_attempt_at, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {d.json_param}, {p}, {p}, {p}, {p})")


def outbox_sent(d: Dialect) -> str:
    """Parameters: sent_at, note, id."""
    return (f"UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = {d.param},"
            f" last_error = {d.param} WHERE id = {d.param}")


def outbox_retry(d: Dialect) -> str:
    """Parameters: error, next_attempt_at, id."""
    return (f"UPDATE outbox SET attempts = attempts + 1, last_error = {d.param}, next_attempt_at = {d.param}"
            f" WHERE id = {d.param} AND state = 'pending'")


def outbox_failed(d: Dialect) -> str:
    """Parameters: error, id."""
    return (f"UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = {d.param}"
            f" WHERE id = {d.param}")


def outbox_requeue(d: Dialect) -> str:
    """Parameters: next_attempt_at, id."""
    return (f"UPDATE outbox SET state = 'pending', next_attempt_at = {d.param} WHERE id = {d.param}"
            " AND state != 'sent'")


OUTBOX_DEPTH = "SELECT count(*) FROM outbox WHERE state = 'pending'"
OUTBOX_NEXT_DUE = "SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'"


def replies_sent_to(d: Dialect) -> str:
    """Parameters: to_addr (lower case), since."""
    return (f"SELECT count(*) FROM outbox WHERE kind = 'reply' AND to_addr = {d.param}"
            f" AND created_at >= {d.param}")


# --- learning from the salesperson ------------------------------------------------------------------
# What orderd read for a draft it left to a person, and what it learned once the person confirmed it
# (orderd.learning). New tables only: a store with them still opens in an orderd that predates them, so
# adding them needs no schema version of its own.


@dataclass
class ReadLine:
    """One line as orderd read it for a draft awaiting a person."""

    wording: str  # the product words as written, normalised (case, accents, plural): what an alias matches
    qty: float | None  # the quantity in units as read; None when it could not be taken as written
    pack: str | None = None  # "carton" when the customer counted packs
    pack_count: float | None = None  # how many packs
    product_id: int | None = None  # the product orderd was sure of; None: not sure (or not found)
    default_code: str | None = None
    candidates: list[str] = field(default_factory=list)  # codes of the products it might have been

    def as_json(self) -> dict[str, Any]:
        return {"wording": self.wording, "qty": self.qty, "pack": self.pack, "pack_count": self.pack_count,
                "product_id": self.product_id, "default_code": self.default_code,
                "candidates": list(self.candidates)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReadLine:
        return cls(wording=data["wording"], qty=data.get("qty"), pack=data.get("pack"),
                   pack_count=data.get("pack_count"), product_id=data.get("product_id"),
                   default_code=data.get("default_code"), candidates=list(data.get("candidates") or []))


@dataclass
class DraftReading:
    """A review draft orderd created, and what it read for it: compared with what the person kept."""

    order_id: int
    order_name: str
    partner_id: int  # the commercial partner: aliases belong to the customer's company
    customer_email: str
    key: str  # the message's idempotency key
    lines: list[ReadLine]
    created_at: datetime | None = None


@dataclass
class Alias:
    """What one customer's wording means: a product, and optionally how many units one of its packs holds."""

    partner_id: int
    wording: str
    product_id: int
    default_code: str
    pack: str | None = None
    pack_size: float | None = None
    order_id: int | None = None  # learned from this order (its salesperson's corrections)
    order_name: str | None = None
    id: int | None = None  # None until stored
    learned_at: datetime | None = None
    times_used: int = 0
    last_used_at: datetime | None = None


DRAFT_READINGS_TABLE: tuple[Column, ...] = (
    Column("order_id", "id", "PRIMARY KEY"),
    Column("order_name", "text", "NOT NULL"),
    Column("partner_id", "id", "NOT NULL"),
    Column("customer_email", "text", "NOT NULL"),
    Column("key", "text", "NOT NULL"),
    Column("lines", "json", "NOT NULL"),  # list of ReadLine.as_json()
    Column("created_at", "timestamp", "NOT NULL"),
)

ALIASES_TABLE: tuple[Column, ...] = (
    Column("id", "serial"),
    Column("partner_id", "id", "NOT NULL"),
    Column("wording", "text", "NOT NULL"),
    Column("product_id", "id", "NOT NULL"),
    Column("default_code", "text", "NOT NULL"),
    Column("pack", "text"),
    Column("pack_size", "real"),
    Column("order_id", "id"),
    Column("order_name", "text"),
    Column("learned_at", "timestamp", "NOT NULL"),
    Column("times_used", "count", "NOT NULL DEFAULT 0"),
    Column("last_used_at", "timestamp"),
)
ALIASES_UNIQUE = "UNIQUE (partner_id, wording)"  # one meaning per wording and customer: the latest lesson

LEARNING_INDEXES: tuple[tuple[str, str, str], ...] = (
    ("draft_readings_created", "draft_readings", "created_at"),
)

READING_COLUMNS = "order_id, order_name, partner_id, customer_email, key, lines, created_at"
ALIAS_COLUMNS = ("id, partner_id, wording, product_id, default_code, pack, pack_size, order_id, order_name,"
                 " learned_at, times_used, last_used_at")


def create_learning_indexes() -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS {name} ON {table}({columns})" for name, table, columns in LEARNING_INDEXES]


def reading_values(reading: DraftReading) -> tuple[int, str, int, str, str, list[dict[str, Any]]]:
    """(order_id, order_name, partner_id, customer_email, key, lines): the JSON lines still to be encoded."""
    return (reading.order_id, reading.order_name, reading.partner_id, reading.customer_email, reading.key,
            [line.as_json() for line in reading.lines])


def reading_from_row(row: tuple[Any, ...], decode: Decode) -> DraftReading:
    order_id, order_name, partner_id, customer_email, key, lines, created_at = row
    return DraftReading(order_id=order_id, order_name=order_name, partner_id=partner_id,
                        customer_email=customer_email, key=key,
                        lines=[ReadLine.from_json(line) for line in decode.json(lines)],
                        created_at=decode.timestamp(created_at))


def alias_from_row(row: tuple[Any, ...], decode: Decode) -> Alias:
    (id_, partner_id, wording, product_id, default_code, pack, pack_size, order_id, order_name, learned_at,
     times_used, last_used_at) = row
    return Alias(partner_id=partner_id, wording=wording, product_id=product_id, default_code=default_code,
                 pack=pack, pack_size=float(pack_size) if pack_size is not None else None, order_id=order_id,
                 order_name=order_name, id=id_, learned_at=decode.timestamp(learned_at), times_used=times_used,
                 last_used_at=decode.timestamp(last_used_at))


def save_reading(d: Dialect) -> str:
    """Parameters: order_id, order_name, partner_id, customer_email, key, lines, created_at. A draft read
    again (a redelivery resuming its order) replaces what was read before."""
    p = d.param
    return (f"INSERT INTO draft_readings ({READING_COLUMNS}) VALUES ({p}, {p}, {p}, {p}, {p}, {d.json_param}, {p})"
            " ON CONFLICT (order_id) DO UPDATE SET order_name = excluded.order_name,"
            " partner_id = excluded.partner_id, customer_email = excluded.customer_email, key = excluded.key,"
            " lines = excluded.lines")


def select_readings(d: Dialect) -> str:
    """Parameter: limit. Oldest first: the poller looks at every pending draft in turn."""
    return f"SELECT {READING_COLUMNS} FROM draft_readings ORDER BY created_at, order_id LIMIT {d.param}"


def drop_reading(d: Dialect) -> str:
    """Parameter: order_id."""
    return f"DELETE FROM draft_readings WHERE order_id = {d.param}"


def upsert_alias(d: Dialect) -> str:
    """Parameters: partner_id, wording, product_id, default_code, pack, pack_size, order_id, order_name,
    learned_at. The same wording learned again takes the newer meaning; a pack size learned before for the
    same product is kept when the newer lesson says nothing about packs."""
    p = d.param
    keep_pack = "excluded.pack IS NULL AND aliases.product_id = excluded.product_id"
    return ("INSERT INTO aliases (partner_id, wording, product_id, default_code, pack, pack_size, order_id,"
            f" order_name, learned_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})"
            " ON CONFLICT (partner_id, wording) DO UPDATE SET"
            f" pack = CASE WHEN {keep_pack} THEN aliases.pack ELSE excluded.pack END,"
            f" pack_size = CASE WHEN {keep_pack} THEN aliases.pack_size ELSE excluded.pack_size END,"
            " product_id = excluded.product_id, default_code = excluded.default_code,"
            " order_id = excluded.order_id, order_name = excluded.order_name, learned_at = excluded.learned_at")


def select_aliases(d: Dialect, *, partner_id: int | None) -> Query:
    if partner_id is None:
        return f"SELECT {ALIAS_COLUMNS} FROM aliases ORDER BY partner_id, wording", []
    return (f"SELECT {ALIAS_COLUMNS} FROM aliases WHERE partner_id = {d.param} ORDER BY wording", [partner_id])


def forget_alias(d: Dialect) -> str:
    """Parameter: id."""
    return f"DELETE FROM aliases WHERE id = {d.param}"


def alias_used(d: Dialect) -> str:
    """Parameters: last_used_at, id."""
    return f"UPDATE aliases SET times_used = times_used + 1, last_used_at = {d.param} WHERE id = {d.param}"
