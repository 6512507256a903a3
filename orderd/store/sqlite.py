"""SQLite store: the default, for one orderd instance behind the MX.

WAL mode with synchronous=FULL (a commit is on disk when it returns); all SQLite work runs in one
dedicated thread. What a row holds and the shared statements come from orderd.store.rows.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import orderd.store.rows as rows
from orderd.records import JournalState, Message
from orderd.store.base import Store
from orderd.store.rows import (
    ALIASES_TABLE,
    ALIASES_UNIQUE,
    DRAFT_READINGS_TABLE,
    FINAL_STATES,
    FINAL_STATES_SQL,
    JOURNAL_TABLE,
    OUTBOX_TABLE,
    Alias,
    Decode,
    Dialect,
    DraftReading,
    JournalEntry,
    OutboxItem,
    OutgoingMail,
    StoreUnavailable,
    alias_from_row,
    check_final_state,
    entry_from_row,
    item_from_row,
    outbox_values,
    reading_from_row,
    reading_values,
    utcnow,
)

T = TypeVar("T")

# v3: the outbox no longer keeps each sent mail's Message-ID (nothing looked it up: orderd's own
# Message-IDs name their order).
_SCHEMA_VERSION = 3

_TYPES = {"text": "TEXT", "json": "TEXT", "timestamp": "TEXT", "id": "INTEGER", "count": "INTEGER",
          "real": "REAL", "blob": "BLOB", "serial": "INTEGER PRIMARY KEY AUTOINCREMENT"}

# Timestamps are fixed-width ISO 8601 UTC text (sortable); JSON is text.
_SCHEMA = [rows.create_table("journal", JOURNAL_TABLE, _TYPES),
           rows.create_table("outbox", OUTBOX_TABLE, _TYPES),
           rows.create_table("draft_readings", DRAFT_READINGS_TABLE, _TYPES),
           rows.create_table("aliases", ALIASES_TABLE, _TYPES, extra=(ALIASES_UNIQUE,)),
           *rows.create_indexes(), *rows.create_learning_indexes()]


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Bring a store made by an older orderd (0 < version < _SCHEMA_VERSION) up to date."""
    if version < 3:
        conn.execute("DROP INDEX IF EXISTS outbox_message_id")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
        if "message_id" in columns:  # added by v2
            conn.execute("ALTER TABLE outbox DROP COLUMN message_id")


_DIALECT = Dialect(param="?", json_param="?", insertion_order="rowid")

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


_DECODE = Decode(json=json.loads, timestamp=_parse_ts)


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
            for statement in _SCHEMA:
                conn.execute(statement)
            if 0 < version < _SCHEMA_VERSION:
                _migrate(conn, version)
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

    def _get_sync(self, db: sqlite3.Connection, key: str, *, with_raw: bool) -> JournalEntry | None:
        columns = rows.ENTRY_COLUMNS + (", raw" if with_raw else "")
        row = db.execute(f"SELECT {columns} FROM journal WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return entry_from_row(row, bytes(row[rows.ENTRY_WIDTH]) if with_raw else b"", _DECODE)

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
        state: JournalState = JournalState.DONE,
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
            db.execute(rows.set_outcome(_DIALECT) + " WHERE key = ?",
                       (state, decision, order_id, order_name, json.dumps(reasons), json.dumps(timings), now, key))
            for mail in outgoing:
                kind, name, mail_from, rcpt_tos, to_addr, raw = outbox_values(mail, order_name)
                db.execute(rows.insert_outbox(_DIALECT),
                           (key, kind, order_id, name, mail_from, json.dumps(rcpt_tos), to_addr, raw, now, now))

        await self._run(self._write, _record)

    async def record_failure(self, key: str, error: str) -> None:
        now = _ts(utcnow())

        def _fail(db: sqlite3.Connection) -> None:
            # A message already done stays done: a late failure of a duplicate must not undo it.
            db.execute(
                f"UPDATE journal SET state = '{JournalState.FAILED}', error = ?, attempts = attempts + 1,"
                " updated_at = ?"
                f" WHERE key = ? AND state NOT IN {FINAL_STATES_SQL}",
                (error, now, key),
            )

        await self._run(self._write, _fail)

    async def entries(self, *, state: str | None = None, limit: int = 100,
                      with_raw: bool = True, since: datetime | None = None) -> list[JournalEntry]:
        # Fixed-width ISO text compares as time.
        sql, params = rows.select_entries(_DIALECT, state=state, since=_ts(since) if since else None, limit=limit,
                                          with_raw=with_raw)

        def _entries() -> list[JournalEntry]:
            found = self._db.execute(sql, params).fetchall()
            return [entry_from_row(r, bytes(r[rows.ENTRY_WIDTH]) if with_raw else b"", _DECODE) for r in found]

        return await self._run(_entries)

    # --- outbox ----------------------------------------------------------------------------------

    async def claim_outbox(self, limit: int = 10, *, lease: float = 300.0) -> list[OutboxItem]:
        now = utcnow()
        sql, params = rows.select_due(_DIALECT, _ts(now), limit)

        def _claim(db: sqlite3.Connection) -> list[OutboxItem]:
            items = [item_from_row(r, _DECODE) for r in db.execute(sql, params).fetchall()]
            leased = _ts(now + timedelta(seconds=lease))
            db.executemany("UPDATE outbox SET next_attempt_at = ? WHERE id = ?",
                           [(leased, item.id) for item in items])
            return items

        return await self._run(self._write, _claim)

    async def _update(self, sql: str, params: tuple[Any, ...]) -> int:
        def _do(db: sqlite3.Connection) -> int:
            return db.execute(sql, params).rowcount

        return await self._run(self._write, _do)

    async def outbox_sent(self, item_id: int, note: str | None = None) -> None:
        await self._update(rows.outbox_sent(_DIALECT), (_ts(utcnow()), note, item_id))

    async def outbox_retry(self, item_id: int, error: str, next_attempt_at: datetime) -> None:
        await self._update(rows.outbox_retry(_DIALECT), (error, _ts(next_attempt_at), item_id))

    async def outbox_failed(self, item_id: int, error: str) -> None:
        await self._update(rows.outbox_failed(_DIALECT), (error, item_id))

    async def outbox_requeue(self, item_id: int) -> bool:
        return await self._update(rows.outbox_requeue(_DIALECT), (_ts(utcnow()), item_id)) > 0

    async def outbox_items(self, *, state: str | None = None, key: str | None = None,
                           limit: int = 100) -> list[OutboxItem]:
        sql, params = rows.select_outbox(_DIALECT, state=state, key=key, limit=limit)

        def _items() -> list[OutboxItem]:
            return [item_from_row(r, _DECODE) for r in self._db.execute(sql, params).fetchall()]

        return await self._run(_items)

    async def _scalar(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        def _one() -> Any:
            row = self._db.execute(sql, params).fetchone()
            return row[0] if row else None

        return await self._run(_one)

    async def outbox_depth(self) -> int:
        return int(await self._scalar(rows.OUTBOX_DEPTH))

    async def outbox_next_due(self) -> datetime | None:
        return _parse_ts(await self._scalar(rows.OUTBOX_NEXT_DUE))

    async def replies_sent_to(self, address: str, since: datetime) -> int:
        return int(await self._scalar(rows.replies_sent_to(_DIALECT), (address.lower(), _ts(since))))

    # --- learning from the salesperson -----------------------------------------------------------

    async def save_draft_reading(self, reading: DraftReading) -> None:
        order_id, order_name, partner_id, email, key, lines = reading_values(reading)
        await self._update(rows.save_reading(_DIALECT),
                           (order_id, order_name, partner_id, email, key, json.dumps(lines), _ts(utcnow())))

    async def draft_readings(self, limit: int = 100) -> list[DraftReading]:
        def _readings() -> list[DraftReading]:
            found = self._db.execute(rows.select_readings(_DIALECT), (limit,)).fetchall()
            return [reading_from_row(r, _DECODE) for r in found]

        return await self._run(_readings)

    async def drop_draft_reading(self, order_id: int) -> None:
        await self._update(rows.drop_reading(_DIALECT), (order_id,))

    async def learned(self, order_id: int, aliases: list[Alias]) -> None:
        now = _ts(utcnow())

        def _learn(db: sqlite3.Connection) -> None:
            for a in aliases:
                db.execute(rows.upsert_alias(_DIALECT), (a.partner_id, a.wording, a.product_id, a.default_code, a.pack,
                                                         a.pack_size, a.order_id, a.order_name, now))
            db.execute(rows.drop_reading(_DIALECT), (order_id,))

        await self._run(self._write, _learn)

    async def aliases(self, partner_id: int | None = None) -> list[Alias]:
        sql, params = rows.select_aliases(_DIALECT, partner_id=partner_id)

        def _aliases() -> list[Alias]:
            return [alias_from_row(r, _DECODE) for r in self._db.execute(sql, params).fetchall()]

        return await self._run(_aliases)

    async def forget_alias(self, alias_id: int) -> bool:
        return await self._update(rows.forget_alias(_DIALECT), (alias_id,)) > 0

    async def aliases_used(self, alias_ids: list[int]) -> None:
        now = _ts(utcnow())

        def _used(db: sqlite3.Connection) -> None:
            db.executemany(rows.alias_used(_DIALECT), [(now, alias_id) for alias_id in alias_ids])

        if alias_ids:
            await self._run(self._write, _used)
