"""Journal, idempotency keys and outbox: everything orderd must not lose.

The SMTP handler answers 250 only after `journal()` and `record_outcome()` have committed, so the
store is where promise 1 ("nothing is lost") and promise 2 ("exactly one order per email") live.

`Store` is the interface; `Store.open(url)` picks the implementation from the URL. SQLite is the
default (one instance behind the MX); `postgresql://…` opens `orderd.store_pg.PostgresStore` for several
instances behind one MX, with the same methods and semantics (including the lease taken by
`claim_outbox`) plus a processing claim so two instances never run the pipeline for one message at once.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from orderd.records import Message

T = TypeVar("T")

JOURNAL_STATES = ("received", "done", "failed", "quarantined")
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
    state: str  # received | done | failed | quarantined
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
    state: str  # pending | sent | failed
    last_error: str | None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    order_id: int | None = field(default=None)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Store(ABC):
    """What the SMTP handler, the pipeline, the outbox sender and the CLI need from storage."""

    @classmethod
    async def open(cls, url: str, *, busy_timeout: float | None = None) -> Store:
        """Open (creating if needed) the store named by `url`.

        `sqlite:///var/orderd.sqlite3` is relative to the working directory, `sqlite:////abs/path`
        absolute. `?busy_timeout=SECONDS` (or the keyword) bounds how long a write waits for a lock
        before StoreUnavailable; the default keeps DATA well inside the SMTP timeouts."""
        scheme = url.split(":", 1)[0]
        if scheme == "sqlite":
            return await SQLiteStore.connect(url, busy_timeout=busy_timeout)
        if scheme in ("postgresql", "postgres"):
            # Imported here: psycopg is only needed by those who run several instances (orderd[postgres]).
            try:
                from orderd.store_pg import PostgresStore
            except ImportError as exc:
                raise StoreUnavailable(f"{scheme}:// store needs psycopg 3: pip install 'orderd[postgres]'"
                                       f" ({exc})") from exc
            return await PostgresStore.connect(url, busy_timeout=busy_timeout)
        raise StoreUnavailable(f"unsupported store URL {url!r}")

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreUnavailable unless the store can be read and written."""

    # --- journal ---------------------------------------------------------------------------------

    @abstractmethod
    async def journal(self, message: Message, *, claim: bool = True) -> JournalEntry:
        """Durably record the raw bytes and envelope; if the key exists, return that entry unchanged.

        With several instances on one store (PostgreSQL), `claim` also takes the entry for this
        instance's pipeline, waiting while another instance runs it (see orderd.store_pg).
        `claim=False` only records it (spool mode answering 250 before processing). SQLite serves
        one instance, whose per-key lock does this, and ignores it."""

    @abstractmethod
    async def get(self, key: str) -> JournalEntry | None: ...

    @abstractmethod
    async def record_outcome(
        self,
        key: str,
        *,
        decision: str,
        order_id: int | None,
        order_name: str | None,
        reasons: list[str],
        timings: dict[str, float],
        outgoing: list[OutgoingMail],
        state: str = "done",
    ) -> None:
        """One transaction: the entry's final state and outcome, and the mail to send about it."""

    @abstractmethod
    async def record_failure(self, key: str, error: str) -> None:
        """State failed, attempts + 1: a redelivery or `orderd replay` retries it."""

    @abstractmethod
    async def entries(self, *, state: str | None = None, limit: int = 100,
                      with_raw: bool = True, since: datetime | None = None) -> list[JournalEntry]:
        """Newest first; `since` keeps entries received at or after it (the console's last hour)."""

    # --- outbox ----------------------------------------------------------------------------------

    @abstractmethod
    async def claim_outbox(self, limit: int = 10, *, lease: float = 300.0) -> list[OutboxItem]:
        """Pending items due now. Each is leased (its next attempt pushed `lease` seconds ahead) so a
        second sender does not take it too, and a sender that dies mid-send does not strand it."""

    @abstractmethod
    async def outbox_sent(self, item_id: int, note: str | None = None) -> None: ...

    @abstractmethod
    async def outbox_retry(self, item_id: int, error: str, next_attempt_at: datetime) -> None: ...

    @abstractmethod
    async def outbox_failed(self, item_id: int, error: str) -> None: ...

    @abstractmethod
    async def outbox_requeue(self, item_id: int) -> bool:
        """A failed (or pending) item back to pending, due now (`orderd outbox retry`)."""

    @abstractmethod
    async def outbox_items(self, *, state: str | None = None, key: str | None = None,
                           limit: int = 100) -> list[OutboxItem]: ...

    @abstractmethod
    async def outbox_depth(self) -> int: ...

    @abstractmethod
    async def outbox_next_due(self) -> datetime | None:
        """When the earliest pending item is due, so the sender can sleep until then."""

    @abstractmethod
    async def order_for_message_id(self, message_id: str) -> str | None:
        """The order a message orderd sent (by its Message-ID) was about: threading a customer's answer."""

    @abstractmethod
    async def replies_sent_to(self, address: str, since: datetime) -> int:
        """How many replies were queued to `address` since then: the per-recipient rate cap."""


# --- SQLite -------------------------------------------------------------------------------------

_SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS journal (
    key          TEXT PRIMARY KEY,
    message_id   TEXT,
    sender       TEXT NOT NULL,
    rcpt_tos     TEXT NOT NULL,              -- JSON list
    peer         TEXT NOT NULL DEFAULT '',
    received_at  TEXT NOT NULL,              -- ISO 8601 UTC, fixed width (sortable)
    updated_at   TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'received',
    decision     TEXT,
    order_id     INTEGER,
    order_name   TEXT,
    reasons      TEXT NOT NULL DEFAULT '[]', -- JSON list
    error        TEXT,
    timings      TEXT NOT NULL DEFAULT '{}', -- JSON object
    attempts     INTEGER NOT NULL DEFAULT 0,
    raw          BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_state ON journal(state, received_at);
CREATE INDEX IF NOT EXISTS journal_order ON journal(order_name);

-- Every message orderd sends stays here after delivery: the archive, linked to the journal entry
-- and the order it is about.
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL REFERENCES journal(key),
    kind            TEXT NOT NULL,
    order_id        INTEGER,
    order_name      TEXT,
    mail_from       TEXT NOT NULL,
    rcpt_tos        TEXT NOT NULL,           -- JSON list
    to_addr         TEXT NOT NULL,           -- first recipient, lower case: the rate cap's key
    raw             BLOB NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox(state, next_attempt_at);
CREATE INDEX IF NOT EXISTS outbox_key ON outbox(key);
CREATE INDEX IF NOT EXISTS outbox_to ON outbox(to_addr, created_at);
"""

# Changes to a store created by an older orderd, applied in order: (version reached, statements).
_MIGRATIONS: list[tuple[int, list[str]]] = [
    # v2: the Message-ID of each message sent, so a customer's In-Reply-To finds its order.
    (2, ["ALTER TABLE outbox ADD COLUMN message_id TEXT",
         "CREATE INDEX IF NOT EXISTS outbox_message_id ON outbox(message_id)"]),
]

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def _ts(value: datetime) -> str:
    # One fixed-width format so string comparison in SQL is time comparison.
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(_TS_FORMAT)


def _parse_ts(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.strptime(value, _TS_FORMAT).replace(tzinfo=UTC)


# Journal states with a recorded outcome: nothing more happens to such a message.
FINAL_STATES = ("done", "quarantined")


def check_final_state(state: str) -> None:
    if state not in FINAL_STATES:
        raise ValueError(f"record_outcome: state must be one of {', '.join(FINAL_STATES)}, not {state!r}")


def outbox_values(mail: OutgoingMail, order_name: str | None) -> tuple[str, str | None, str, list[str], str,
                                                                         bytes, str | None]:
    """(kind, order_name, mail_from, rcpt_tos, to_addr, raw, message_id): what every backend stores for
    one outgoing mail; to_addr (lower case) is what the per-recipient reply cap counts."""
    to_addr = (mail.rcpt_tos[0] if mail.rcpt_tos else "").lower()
    return (mail.kind, mail.order_name or order_name, mail.mail_from, mail.rcpt_tos, to_addr, mail.raw,
            _message_id_of(mail.raw))


def _message_id_of(raw: bytes) -> str | None:
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    value = headers.get("Message-ID")
    return (" ".join(str(value).split()) or None) if value else None


def _sqlite_path(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    if parts.scheme != "sqlite" or not parts.path.startswith("/"):
        raise StoreUnavailable(f"not a SQLite URL: {url!r} (expected sqlite:///PATH)")
    # sqlite:///rel/path → "rel/path" (relative to cwd); sqlite:////abs/path → "/abs/path".
    path = parts.path[1:]
    if not path:
        raise StoreUnavailable(f"no path in store URL {url!r}")
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return path, query


class SQLiteStore(Store):
    """SQLite in WAL mode with synchronous=FULL: a commit is on disk when it returns.

    All SQLite work runs in one dedicated thread, so the event loop never blocks on disk and writes
    are serialised without Python-level locks. The connection lives in that thread only."""

    def __init__(self, path: str, busy_timeout: float) -> None:
        self.path = path
        self._busy_timeout = busy_timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="orderd-store")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    async def connect(cls, url: str, *, busy_timeout: float | None = None) -> SQLiteStore:
        path, query = _sqlite_path(url)
        if busy_timeout is None:
            try:
                busy_timeout = float(query.get("busy_timeout", "5"))
            except ValueError as exc:
                raise StoreUnavailable(f"busy_timeout in {url!r} is not a number") from exc
        store = cls(path, busy_timeout)
        try:
            await store._run(store._open_sync)
        except BaseException:
            store._executor.shutdown(wait=False)
            raise
        return store

    # --- plumbing --------------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StoreUnavailable("store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.IntegrityError:
            raise  # a bug in orderd, not an unavailable store: let it surface as such
        except (sqlite3.OperationalError, sqlite3.DatabaseError) as exc:
            raise StoreUnavailable(f"{self.path}: {exc}") from exc
        except OSError as exc:
            raise StoreUnavailable(f"{self.path}: {exc}") from exc

    def _open_sync(self) -> None:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves, so a write transaction takes the
        # write lock up front instead of failing half-way on a lock upgrade.
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise sqlite3.OperationalError(
                    f"schema version {version} is newer than this orderd understands ({_SCHEMA_VERSION})")
            # Not executescript(): it commits on its own; the schema goes in as one transaction.
            conn.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for reached, statements in _MIGRATIONS:
                if version < reached:
                    for statement in statements:
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.OperationalError("store is not open")
        return self._conn

    def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn inside one write transaction (committed durably, or rolled back entirely)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = fn(db)
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        return result

    async def close(self) -> None:
        if self._closed:
            return

        def _close() -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        try:
            await self._run(_close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=True)

    async def ping(self) -> None:
        def _ping() -> None:
            self._db.execute("SELECT count(*) FROM journal WHERE key = ''").fetchone()

        await self._run(_ping)

    # --- journal ---------------------------------------------------------------------------------

    async def journal(self, message: Message, *, claim: bool = True) -> JournalEntry:
        now = _ts(utcnow())
        row = (
            message.key,
            message.message_id,
            message.envelope.mail_from or message.sender_email,
            json.dumps(list(message.envelope.rcpt_tos)),
            message.envelope.peer,
            now,
            now,
            message.raw,
        )

        def _journal(db: sqlite3.Connection) -> JournalEntry:
            # ON CONFLICT DO NOTHING: a redelivery must not overwrite the first copy or its state.
            cur = db.execute(
                "INSERT INTO journal (key, message_id, sender, rcpt_tos, peer, received_at, updated_at, raw)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
                row,
            )
            # New entry: build it from what we have instead of reading a large blob straight back.
            entry = self._get_sync(db, message.key, with_raw=cur.rowcount == 0)
            assert entry is not None
            if cur.rowcount == 1:
                entry.raw = message.raw
            return entry

        return await self._run(self._write, _journal)

    _ENTRY_COLUMNS = ("key, message_id, sender, rcpt_tos, received_at, state, decision, order_id, order_name,"
                      " reasons, error, timings, attempts")

    @staticmethod
    def _entry(row: tuple[Any, ...], raw: bytes) -> JournalEntry:
        (key, message_id, sender, rcpt_tos, received_at, state, decision, order_id, order_name,
         reasons, error, timings, attempts) = row
        received = _parse_ts(received_at)
        assert received is not None
        return JournalEntry(
            key=key, message_id=message_id, sender=sender, rcpt_tos=json.loads(rcpt_tos),
            received_at=received, state=state, decision=decision, order_id=order_id,
            order_name=order_name, reasons=json.loads(reasons), error=error,
            timings=json.loads(timings), raw=raw, attempts=attempts,
        )

    def _get_sync(self, db: sqlite3.Connection, key: str, *, with_raw: bool) -> JournalEntry | None:
        columns = self._ENTRY_COLUMNS + (", raw" if with_raw else "")
        row = db.execute(f"SELECT {columns} FROM journal WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return self._entry(row[:13], bytes(row[13]) if with_raw else b"")

    async def get(self, key: str) -> JournalEntry | None:
        return await self._run(lambda: self._get_sync(self._db, key, with_raw=True))

    async def record_outcome(
        self,
        key: str,
        *,
        decision: str,
        order_id: int | None,
        order_name: str | None,
        reasons: list[str],
        timings: dict[str, float],
        outgoing: list[OutgoingMail],
        state: str = "done",
    ) -> None:
        check_final_state(state)
        now = _ts(utcnow())

        def _record(db: sqlite3.Connection) -> None:
            current = db.execute("SELECT state FROM journal WHERE key = ?", (key,)).fetchone()
            if current is None:
                raise KeyError(f"record_outcome: no journal entry {key}")
            if current[0] in FINAL_STATES:
                # Two deliveries of one message racing through the pipeline: the first outcome stands
                # and its replies are already queued; queueing again would answer the customer twice.
                return
            db.execute(
                "UPDATE journal SET state = ?, decision = ?, order_id = ?, order_name = ?, reasons = ?,"
                " timings = ?, error = NULL, updated_at = ? WHERE key = ?",
                (state, decision, order_id, order_name, json.dumps(reasons), json.dumps(timings), now, key),
            )
            for mail in outgoing:
                kind, name, mail_from, rcpt_tos, to_addr, raw, message_id = outbox_values(mail, order_name)
                db.execute(
                    "INSERT INTO outbox (key, kind, order_id, order_name, mail_from, rcpt_tos, to_addr, raw,"
                    " message_id, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, kind, order_id, name, mail_from, json.dumps(rcpt_tos), to_addr, raw, message_id, now, now),
                )

        await self._run(self._write, _record)

    async def record_failure(self, key: str, error: str) -> None:
        now = _ts(utcnow())

        def _fail(db: sqlite3.Connection) -> None:
            # A message already done stays done: a late failure of a duplicate must not undo it.
            db.execute(
                "UPDATE journal SET state = 'failed', error = ?, attempts = attempts + 1, updated_at = ?"
                " WHERE key = ? AND state NOT IN ('done', 'quarantined')",
                (error, now, key),
            )

        await self._run(self._write, _fail)

    async def entries(self, *, state: str | None = None, limit: int = 100,
                      with_raw: bool = True, since: datetime | None = None) -> list[JournalEntry]:
        columns = self._ENTRY_COLUMNS + (", raw" if with_raw else "")
        clauses: list[str] = []
        params: list[Any] = []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if since is not None:
            clauses.append("received_at >= ?")  # fixed-width ISO text: compares as time
            params.append(_ts(since))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {columns} FROM journal{where} ORDER BY received_at DESC, rowid DESC LIMIT ?"
        params.append(limit)

        def _entries() -> list[JournalEntry]:
            rows = self._db.execute(sql, params).fetchall()
            return [self._entry(r[:13], bytes(r[13]) if with_raw else b"") for r in rows]

        return await self._run(_entries)

    # --- outbox ----------------------------------------------------------------------------------

    _OUTBOX_COLUMNS = ("id, key, kind, order_id, order_name, mail_from, rcpt_tos, raw, state, attempts,"
                       " next_attempt_at, last_error, created_at, sent_at")

    @staticmethod
    def _item(row: tuple[Any, ...]) -> OutboxItem:
        (id_, key, kind, order_id, order_name, mail_from, rcpt_tos, raw, state, attempts,
         next_attempt_at, last_error, created_at, sent_at) = row
        next_at = _parse_ts(next_attempt_at)
        assert next_at is not None
        return OutboxItem(
            id=id_, key=key,
            mail=OutgoingMail(mail_from=mail_from, rcpt_tos=json.loads(rcpt_tos), raw=bytes(raw),
                              kind=kind, order_name=order_name),
            attempts=attempts, next_attempt_at=next_at, state=state, last_error=last_error,
            created_at=_parse_ts(created_at), sent_at=_parse_ts(sent_at), order_id=order_id,
        )

    async def claim_outbox(self, limit: int = 10, *, lease: float = 300.0) -> list[OutboxItem]:
        now = utcnow()

        def _claim(db: sqlite3.Connection) -> list[OutboxItem]:
            rows = db.execute(
                f"SELECT {self._OUTBOX_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (_ts(now), limit),
            ).fetchall()
            items = [self._item(r) for r in rows]
            leased = _ts(now + timedelta(seconds=lease))
            db.executemany("UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                           [(leased, item.id) for item in items])
            return items

        return await self._run(self._write, _claim)

    async def _update_item(self, sql: str, params: tuple[Any, ...]) -> None:
        def _update(db: sqlite3.Connection) -> None:
            db.execute(sql, params)

        await self._run(self._write, _update)

    async def outbox_sent(self, item_id: int, note: str | None = None) -> None:
        await self._update_item(
            "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = ?, last_error = ?"
            " WHERE id = ?",
            (_ts(utcnow()), note, item_id),
        )

    async def outbox_retry(self, item_id: int, error: str, next_attempt_at: datetime) -> None:
        await self._update_item(
            "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
            " WHERE id = ? AND state = 'pending'",
            (error, _ts(next_attempt_at), item_id),
        )

    async def outbox_failed(self, item_id: int, error: str) -> None:
        await self._update_item(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ?",
            (error, item_id),
        )

    async def outbox_requeue(self, item_id: int) -> bool:
        now = _ts(utcnow())

        def _requeue(db: sqlite3.Connection) -> bool:
            cur = db.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ? WHERE id = ? AND state != 'sent'",
                (now, item_id),
            )
            return cur.rowcount > 0

        return await self._run(self._write, _requeue)

    async def outbox_items(self, *, state: str | None = None, key: str | None = None,
                           limit: int = 100) -> list[OutboxItem]:
        clauses, params = [], []
        if state is not None:
            clauses.append("state = ?")
            params.append(state)
        if key is not None:
            clauses.append("key = ?")
            params.append(key)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {self._OUTBOX_COLUMNS} FROM outbox{where} ORDER BY id DESC LIMIT ?"

        def _items() -> list[OutboxItem]:
            return [self._item(r) for r in self._db.execute(sql, [*params, limit]).fetchall()]

        return await self._run(_items)

    async def outbox_depth(self) -> int:
        def _depth() -> int:
            return int(self._db.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()[0])

        return await self._run(_depth)

    async def outbox_next_due(self) -> datetime | None:
        def _next() -> datetime | None:
            row = self._db.execute("SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending'").fetchone()
            return _parse_ts(row[0])

        return await self._run(_next)

    async def order_for_message_id(self, message_id: str) -> str | None:
        def _lookup() -> str | None:
            row = self._db.execute(
                "SELECT order_name FROM outbox WHERE message_id = ? AND order_name IS NOT NULL LIMIT 1",
                (message_id.strip(),),
            ).fetchone()
            return row[0] if row else None

        return await self._run(_lookup)

    async def replies_sent_to(self, address: str, since: datetime) -> int:
        def _count() -> int:
            row = self._db.execute(
                "SELECT count(*) FROM outbox WHERE kind = 'reply' AND to_addr = ? AND created_at >= ?",
                (address.lower(), _ts(since)),
            ).fetchone()
            return int(row[0])

        return await self._run(_count)
