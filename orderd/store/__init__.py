"""Journal, idempotency keys and outbox: everything orderd must not lose.

`base` is the interface, `rows` the data every backend shares (states, records, columns, queries),
`sqlite` the default backend (one instance behind the MX) and `postgres` the one for several instances
behind one MX, with the same methods and semantics plus a processing claim so two instances never
run the pipeline for one message at once. `open_store(url)` picks the backend from the URL.
"""

from __future__ import annotations

from orderd.store.base import Store
from orderd.store.rows import (
    FINAL_STATES,
    JOURNAL_STATES,
    OUTBOX_STATES,
    Alias,
    DraftReading,
    JournalEntry,
    OutboxItem,
    OutgoingMail,
    ReadLine,
    StoreUnavailable,
    utcnow,
)
from orderd.store.sqlite import SQLiteStore

__all__ = [
    "FINAL_STATES",
    "JOURNAL_STATES",
    "OUTBOX_STATES",
    "Alias",
    "DraftReading",
    "JournalEntry",
    "OutboxItem",
    "OutgoingMail",
    "ReadLine",
    "Store",
    "StoreUnavailable",
    "open_store",
    "utcnow",
]


async def open_store(url: str, *, busy_timeout: float | None = None) -> Store:
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
            from orderd.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreUnavailable(f"{scheme}:// store needs psycopg 3: pip install 'orderd[postgres]'"
                                   f" ({exc})") from exc
        return await PostgresStore.connect(url, busy_timeout=busy_timeout)
    raise StoreUnavailable(f"unsupported store URL {url!r}")
