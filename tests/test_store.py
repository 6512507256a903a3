"""The store keeps what it said it kept: journal, idempotency, outcome + outbox in one transaction.

Every contract test runs against both implementations (the `backend` fixture: a fresh SQLite file, or
a fresh schema in a throwaway PostgreSQL database); tests about one implementation's own mechanics say
so in their name. PostgreSQL-only behaviour (several instances) is in test_store_pg.py."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from orderd.records import Envelope, Message
from orderd.store import OutgoingMail, StoreUnavailable, open_store, utcnow

if TYPE_CHECKING:
    from store_backends import Backend

# The `backend` and `pg_database` fixtures (a fresh SQLite file or PostgreSQL schema per test);
# a plugin rather than an import so pytest rewrites its asserts and no fixture name is shadowed.
pytest_plugins = ["store_backends"]


def make_message(n: int = 1, sender: str = "buyer@customer.test", body: str = "2 x DC-1001") -> Message:
    raw = (
        f"From: Buyer <{sender}>\r\nTo: orders@mycompany.test\r\nSubject: Order {n}\r\n"
        f"Message-ID: <order-{n}@customer.test>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()
    return Message.from_bytes(raw, Envelope(mail_from=sender, rcpt_tos=("orders@mycompany.test",), peer="127.0.0.1"))


def reply_for(message: Message, to: str | None = None, order_name: str | None = None) -> OutgoingMail:
    return OutgoingMail(mail_from="orders@mycompany.test", rcpt_tos=[to or message.sender_email],
                        raw=b"Subject: Re: x\r\n\r\nthanks\r\n", kind="reply", order_name=order_name)


def url(path: Path) -> str:
    return f"sqlite:///{path}"


async def test_journal_survives_reopen(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    entry = await store.journal(message)
    assert entry.state == "received" and entry.attempts == 0
    await store.close()

    reopened = await open_store(backend.url)
    again = await reopened.get(message.key)
    assert again is not None
    assert again.raw == message.raw
    assert again.message_id == "<order-1@customer.test>"
    assert again.sender == "buyer@customer.test"
    assert again.rcpt_tos == ["orders@mycompany.test"]
    assert again.state == "received"
    await reopened.close()


async def test_sqlite_parent_directory_is_created(tmp_path: Path) -> None:
    db = tmp_path / "var" / "orderd.sqlite3"
    store = await open_store(url(db))
    await store.close()
    assert db.exists()


async def test_sqlite_wal_and_full_sync(tmp_path: Path) -> None:
    db = tmp_path / "o.sqlite3"
    store = await open_store(url(db))
    await store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_sqlite_relative_url_is_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = await open_store("sqlite:///var/orderd.sqlite3")
    await store.ping()
    await store.close()
    assert (tmp_path / "var" / "orderd.sqlite3").exists()


async def test_duplicate_key_returns_first_entry(backend: Backend) -> None:
    store = await open_store(backend.url)
    first = make_message(body="2 x DC-1001")
    await store.journal(first)
    await store.record_outcome(first.key, decision="order", order_id=7, order_name="S00007", reasons=[],
                               timings={"total": 0.1}, outgoing=[])
    # Same Message-ID and sender, different bytes (a relay re-wrapped it): still the first entry.
    duplicate = make_message(body="2 x DC-1001\r\n-- \r\nresent")
    assert duplicate.key == first.key
    entry = await store.journal(duplicate)
    assert entry.state == "done" and entry.order_name == "S00007"
    assert entry.raw == first.raw
    assert len(await store.entries()) == 1
    await store.close()


async def test_same_message_id_other_sender_is_another_key(backend: Backend) -> None:
    store = await open_store(backend.url)
    a = make_message(sender="a@one.test")
    b = make_message(sender="b@two.test")
    await store.journal(a)
    entry = await store.journal(b)
    assert entry.sender == "b@two.test" and entry.state == "received"
    assert len(await store.entries()) == 2
    await store.close()


async def test_record_outcome_with_outbox_in_one_transaction(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    await store.journal(message)
    await store.record_outcome(message.key, decision="order", order_id=42, order_name="S00042",
                               reasons=["confident"], timings={"extract": 0.01, "write": 0.2},
                               outgoing=[reply_for(message)])
    await store.close()

    store = await open_store(backend.url)
    entry = await store.get(message.key)
    assert entry is not None
    assert (entry.state, entry.decision, entry.order_id, entry.order_name) == ("done", "order", 42, "S00042")
    assert entry.reasons == ["confident"] and entry.timings == {"extract": 0.01, "write": 0.2}
    items = await store.outbox_items(key=message.key)
    assert len(items) == 1 and items[0].state == "pending" and items[0].mail.order_name == "S00042"
    assert await store.outbox_depth() == 1
    await store.close()


async def test_record_outcome_rolls_back_entirely(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    await store.journal(message)
    bad = OutgoingMail(mail_from=None, rcpt_tos=["x@y.test"], raw=b"Subject: x\r\n\r\n",  # type: ignore[arg-type]
                       kind="reply")
    # The second outbox row violates NOT NULL: neither the outcome nor the first row may remain.
    with pytest.raises(backend.integrity_error):
        await store.record_outcome(message.key, decision="order", order_id=1, order_name="S00001", reasons=[],
                                   timings={}, outgoing=[reply_for(message), bad])
    entry = await store.get(message.key)
    assert entry is not None and entry.state == "received" and entry.order_name is None
    assert await store.outbox_items() == []
    await store.close()


async def test_second_outcome_does_not_queue_a_second_reply(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    await store.journal(message)
    for order_name in ("S00001", "S00002"):
        await store.record_outcome(message.key, decision="order", order_id=1, order_name=order_name,
                                   reasons=[], timings={}, outgoing=[reply_for(message)])
    entry = await store.get(message.key)
    assert entry is not None and entry.order_name == "S00001"
    assert len(await store.outbox_items()) == 1
    await store.close()


async def test_record_failure_counts_attempts(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    await store.journal(message)
    await store.record_failure(message.key, "odoo: connection refused")
    await store.record_failure(message.key, "odoo: timeout")
    entry = await store.get(message.key)
    assert entry is not None
    assert (entry.state, entry.attempts, entry.error) == ("failed", 2, "odoo: timeout")
    failed = await store.entries(state="failed")
    assert [e.key for e in failed] == [message.key]
    # Redelivery after recovery: the entry is retried and ends done.
    await store.record_outcome(message.key, decision="order", order_id=3, order_name="S00003", reasons=[],
                               timings={}, outgoing=[])
    entry = await store.get(message.key)
    assert entry is not None and entry.state == "done" and entry.error is None
    assert await store.entries(state="failed") == []
    await store.close()


async def test_quarantined_outcome(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    await store.journal(message)
    await store.record_outcome(message.key, decision="rejected", order_id=None, order_name=None,
                               reasons=["executable attachment"], timings={}, outgoing=[], state="quarantined")
    listed = await store.entries(state="quarantined", with_raw=False)
    assert len(listed) == 1 and listed[0].raw == b"" and listed[0].reasons == ["executable attachment"]
    await store.close()


async def test_claim_leases_items_and_retry_reschedules(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    await store.journal(message)
    await store.record_outcome(message.key, decision="order", order_id=1, order_name="S00001", reasons=[],
                               timings={}, outgoing=[reply_for(message)])
    [item] = await store.claim_outbox()
    assert await store.claim_outbox() == []  # leased: a second sender does not take it
    await store.outbox_retry(item.id, "451 try later", utcnow() - timedelta(seconds=1))
    [again] = await store.claim_outbox()
    assert again.id == item.id and again.attempts == 1 and again.last_error == "451 try later"
    await store.outbox_failed(item.id, "550 no such user")
    assert await store.outbox_depth() == 0
    assert await store.outbox_requeue(item.id)
    [requeued] = await store.claim_outbox()
    await store.outbox_sent(requeued.id)
    [sent] = await store.outbox_items(state="sent")
    assert sent.sent_at is not None and sent.attempts == 3
    assert not await store.outbox_requeue(item.id)  # sent stays sent
    assert await store.outbox_next_due() is None
    await store.close()


async def test_replies_sent_to_for_rate_cap(backend: Backend) -> None:
    store = await open_store(backend.url)
    for n in range(3):
        message = make_message(n)
        await store.journal(message)
        await store.record_outcome(message.key, decision="order", order_id=n, order_name=f"S0000{n}",
                                   reasons=[], timings={}, outgoing=[reply_for(message, "Robot@Customer.test")])
    since = utcnow() - timedelta(hours=1)
    assert await store.replies_sent_to("robot@customer.test", since) == 3
    assert await store.replies_sent_to("someone@else.test", since) == 0
    await store.close()


async def test_sqlite_unwritable_path_is_unavailable_on_open(tmp_path: Path) -> None:
    # A regular file where the directory should be: fails even for root, unlike chmod.
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable):
        await open_store(url(blocker / "orderd.sqlite3"))
    with pytest.raises(StoreUnavailable):
        await open_store(url(tmp_path))  # a directory is not a database


async def test_sqlite_not_a_database_is_unavailable(tmp_path: Path) -> None:
    db = tmp_path / "garbage.sqlite3"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreUnavailable):
        await open_store(url(db))


async def test_locked_database_makes_journal_unavailable(backend: Backend) -> None:
    sep = "&" if "?" in backend.url else "?"
    store = await open_store(f"{backend.url}{sep}busy_timeout=0.2")
    await store.ping()
    with backend.locked(), pytest.raises(StoreUnavailable, match="locked"):  # another writer holds the lock
        await store.journal(make_message())
    entry = await store.journal(make_message())  # lock gone: works again
    assert entry.state == "received"
    await store.close()


async def test_closed_store_is_unavailable(backend: Backend) -> None:
    store = await open_store(backend.url)
    await store.close()
    with pytest.raises(StoreUnavailable):
        await store.ping()


async def test_url_scheme_chooses_the_implementation(backend: Backend) -> None:
    store = await open_store(backend.url)
    assert type(store).__name__ == {"sqlite": "SQLiteStore", "postgres": "PostgresStore"}[backend.name]
    await store.close()
    with pytest.raises(StoreUnavailable, match="unsupported"):
        await open_store("mysql://localhost/orderd")


@pytest.mark.parametrize("version", [1, 2])
async def test_sqlite_store_of_an_older_orderd_is_migrated(tmp_path: Path, version: int) -> None:
    """Version 1 had no outbox Message-ID, version 2 added it (and an index); version 3 has none again."""
    db = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE journal (key TEXT PRIMARY KEY, message_id TEXT, sender TEXT NOT NULL, rcpt_tos TEXT NOT NULL,"
        " peer TEXT NOT NULL DEFAULT '', received_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " state TEXT NOT NULL DEFAULT 'received', decision TEXT, order_id INTEGER, order_name TEXT,"
        " reasons TEXT NOT NULL DEFAULT '[]', error TEXT, timings TEXT NOT NULL DEFAULT '{}',"
        " attempts INTEGER NOT NULL DEFAULT 0, raw BLOB NOT NULL);"
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL REFERENCES journal(key),"
        " kind TEXT NOT NULL, order_id INTEGER, order_name TEXT, mail_from TEXT NOT NULL, rcpt_tos TEXT NOT NULL,"
        " to_addr TEXT NOT NULL, raw BLOB NOT NULL, state TEXT NOT NULL DEFAULT 'pending',"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, last_error TEXT,"
        " created_at TEXT NOT NULL, sent_at TEXT);"
        + ("ALTER TABLE outbox ADD COLUMN message_id TEXT;"
           "CREATE INDEX outbox_message_id ON outbox(message_id);" if version == 2 else "")
        + f"PRAGMA user_version={version};"
    )
    conn.close()
    store = await open_store(url(db))
    message = make_message()
    await store.journal(message)
    await store.record_outcome(message.key, decision="order", order_id=42, order_name="S00042", reasons=[],
                               timings={}, outgoing=[OutgoingMail("orders@mycompany.test", ["b@c.test"],
                                                                  b"Subject: x\r\n\r\nthanks\r\n", "reply")])
    assert [item.mail.order_name for item in await store.outbox_items()] == ["S00042"]
    await store.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    assert "message_id" not in {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'outbox_message_id'").fetchone()[0] == 0
    conn.close()


async def test_newer_schema_is_refused(backend: Backend) -> None:
    backend.set_schema_version(99)
    with pytest.raises(StoreUnavailable, match="newer"):
        await open_store(backend.url)


async def test_journal_without_claim_is_a_journal(backend: Backend) -> None:
    store = await open_store(backend.url)
    message = make_message()
    entry = await store.journal(message, claim=False)
    assert entry.state == "received" and entry.raw == message.raw
    assert (await store.journal(message)).key == message.key  # then claimed for processing
    await store.close()


async def test_entries_since_a_time_newest_first(backend: Backend) -> None:
    store = await open_store(backend.url)
    old = await store.journal(make_message(1))
    await asyncio.sleep(0.01)  # received_at must differ between the two
    new = await store.journal(make_message(2))
    await store.record_outcome(new.key, decision="order", order_id=1, order_name="S00001", reasons=[],
                               timings={"total": 0.1}, outgoing=[])
    assert [e.key for e in await store.entries(since=new.received_at, with_raw=False)] == [new.key]
    assert [e.key for e in await store.entries(since=old.received_at)] == [new.key, old.key]
    assert [e.key for e in await store.entries(state="done", since=old.received_at)] == [new.key]
    assert await store.entries(since=utcnow() + timedelta(minutes=1)) == []
    await store.close()
