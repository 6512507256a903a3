"""PostgreSQL store: what several orderd instances sharing one database rely on.

The store contract itself (journal, idempotency, outcome + outbox, leases, locks, schema version) runs
against PostgreSQL too, in test_store.py through the `backend` fixture. Here: two `PostgresStore`
objects on one schema stand for two instances, over real connections — racing journals, claims
that wait, lapse or are released, racing outcomes, outbox claims with SKIP LOCKED, concurrent schema
creation, and a PostgreSQL that drops connections or is not there.
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg
import pytest
from test_store import make_message, reply_for

from orderd.records import Envelope, Message
from orderd.store import StoreUnavailable, open_store
from orderd.store.postgres import PostgresStore

if TYPE_CHECKING:
    from store_backends import PgDatabase

# The `backend` and `pg_database` fixtures (a fresh SQLite file or PostgreSQL schema per test);
# a plugin rather than an import so pytest rewrites its asserts and no fixture name is shadowed.
pytest_plugins = ["store_backends"]


def with_params(url: str, **params: object) -> str:
    extra = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


async def open_pg(url: str, **params: object) -> PostgresStore:
    store = await open_store(with_params(url, **params) if params else url)
    assert isinstance(store, PostgresStore)
    return store


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_server_is_unavailable() -> None:
    port = _free_port()  # nothing listens there
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1"):
        await open_store(f"postgresql://root@127.0.0.1:{port}/orderd?connect_timeout=2")


async def test_missing_database_is_unavailable(pg_database: PgDatabase) -> None:
    base = pg_database.url.rsplit("/", 1)[0]
    with pytest.raises(StoreUnavailable, match="does not exist"):
        await open_store(f"{base}/orderd_no_such_database_here")


async def test_bad_parameter_is_named(pg_database: PgDatabase) -> None:
    with pytest.raises(StoreUnavailable, match="claim_wait"):
        await open_store(with_params(pg_database.url, claim_wait="soon"))


async def test_password_is_not_in_error_messages() -> None:
    port = _free_port()
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(f"postgresql://root:s3cret-pw@127.0.0.1:{port}/orderd?connect_timeout=2")
    assert "s3cret-pw" not in str(caught.value)


async def test_schema_created_by_several_instances_at_once(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    stores = await asyncio.gather(*(open_pg(url) for _ in range(4)))
    await stores[0].journal(make_message())
    counts = [len(await s.entries()) for s in stores]
    print(f"4 instances created one schema concurrently; each sees {counts} entries")
    assert counts == [1, 1, 1, 1]
    for store in stores:
        await store.close()


async def test_same_message_journaled_by_two_instances_at_once(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    a, b = await open_pg(url, claim_wait=0.3), await open_pg(url, claim_wait=0.3)
    messages = [make_message(n) for n in range(40)]
    # For every message both instances journal at once: exactly one gets to process it now, the
    # other waits out claim_wait and answers 451 (StoreUnavailable): never two pipelines for one key.
    results = await asyncio.gather(*(s.journal(m) for m in messages for s in (a, b)), return_exceptions=True)
    claimed = [r for r in results if not isinstance(r, BaseException)]
    waited = [r for r in results if isinstance(r, StoreUnavailable)]
    print(f"40 messages journaled by 2 instances at once: {len(claimed)} claimed, {len(waited)} told to retry")
    assert len(claimed) == 40 and len(waited) == 40
    assert len({e.key for e in claimed}) == 40
    assert len(await a.entries(limit=1000)) == 40
    await a.close()
    await b.close()


async def test_second_instance_waits_for_the_outcome(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    a, b = await open_pg(url), await open_pg(url, claim_wait=10)
    message = make_message()
    assert (await a.journal(message)).state == "received"
    waiting = asyncio.create_task(b.journal(message))
    await asyncio.sleep(0.3)
    assert not waiting.done(), "b must wait while a runs the pipeline"
    await a.record_outcome(message.key, decision="order", order_id=5, order_name="S00005", reasons=[],
                           timings={}, outgoing=[reply_for(message)])
    entry = await asyncio.wait_for(waiting, 5)
    assert (entry.state, entry.order_name) == ("done", "S00005")
    assert len(await b.outbox_items()) == 1
    await a.close()
    await b.close()


async def test_recorded_failure_releases_the_claim(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    a, b = await open_pg(url), await open_pg(url, claim_wait=0.2)
    message = make_message()
    await a.journal(message)
    with pytest.raises(StoreUnavailable, match="another orderd instance"):
        await b.journal(message)
    await a.record_failure(message.key, "odoo: connection refused")
    entry = await b.journal(message)  # the redelivery to b retries it
    assert (entry.state, entry.attempts) == ("failed", 1)
    # b holds it now; a late failure from a (its claim long gone) must not release b's claim.
    await a.record_failure(message.key, "odoo: late")
    c = await open_pg(url, claim_wait=0.1)
    with pytest.raises(StoreUnavailable):
        await c.journal(message)
    for store in (a, b, c):
        await store.close()


async def test_claim_of_a_dead_instance_lapses(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    a = await open_pg(url, claim_lease=0.5)
    message = make_message()
    await a.journal(message)
    await a.close()  # a dies mid-pipeline: no outcome, no failure recorded
    b = await open_pg(url, claim_wait=5)
    started = asyncio.get_running_loop().time()
    entry = await b.journal(message)
    waited = asyncio.get_running_loop().time() - started
    print(f"claim of a dead instance lapsed; the other took over after {waited:.2f}s")
    assert entry.state == "received" and waited < 2.0
    await b.close()


async def test_same_instance_takes_its_own_leftover_claim(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    a = await open_pg(url, claim_wait=0.1)
    message = make_message()
    await a.journal(message)
    # The pipeline returned without recording (store error mid-way): the next delivery to the same
    # instance, already serialised by its per-key lock, goes ahead instead of waiting for the lease.
    assert (await a.journal(message)).state == "received"
    await a.close()


async def test_racing_outcomes_queue_one_reply(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    a, b = await open_pg(url), await open_pg(url)
    messages = [make_message(n) for n in range(20)]
    for message in messages:
        await a.journal(message)
    await asyncio.gather(*(
        s.record_outcome(m.key, decision="order", order_id=i, order_name=f"S{i:05d}-{name}", reasons=[],
                         timings={}, outgoing=[reply_for(m)])
        for i, m in enumerate(messages) for name, s in (("a", a), ("b", b))
    ))
    items = await a.outbox_items(limit=1000)
    print(f"20 outcomes recorded twice at once: {len(items)} replies queued")
    assert len(items) == 20 and len({i.key for i in items}) == 20
    await a.close()
    await b.close()


async def test_outbox_claimed_once_across_instances(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    stores = [await open_pg(url) for _ in range(3)]
    for n in range(60):
        message = make_message(n)
        await stores[0].journal(message)
        await stores[0].record_outcome(message.key, decision="order", order_id=n, order_name=f"S{n:05d}",
                                       reasons=[], timings={}, outgoing=[reply_for(message)])

    async def drain(store: PostgresStore) -> list[int]:
        taken: list[int] = []
        while batch := await store.claim_outbox(4):
            taken += [item.id for item in batch]
            await asyncio.sleep(0)  # let the others claim in between
        return taken

    taken = await asyncio.gather(*(drain(s) for s in stores))
    all_ids = [i for t in taken for i in t]
    print(f"60 replies claimed by 3 instances: {[len(t) for t in taken]} each, {len(set(all_ids))} distinct")
    assert len(all_ids) == 60 and len(set(all_ids)) == 60
    for store in stores:
        await store.close()


async def test_dropped_connections_cost_at_most_one_failure(pg_database: PgDatabase) -> None:
    url = pg_database.new_schema()
    store = await open_pg(with_params(url, application_name="orderd-drop-test"))
    await store.journal(make_message(1))
    with psycopg.connect(pg_database.url, autocommit=True) as admin:
        killed = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                               " WHERE application_name = 'orderd-drop-test'").fetchone()
    failures = 0
    for n in range(2, 6):
        try:
            await store.journal(make_message(n))
        except StoreUnavailable:
            failures += 1
    print(f"terminated {killed[0] if killed else 0} connection(s): {failures} call(s) failed, then recovered")
    assert failures <= 1
    assert len(await store.entries()) == 5 - failures
    await store.close()


async def test_nul_in_header_values_is_stored(pg_database: PgDatabase) -> None:
    store = await open_pg(pg_database.new_schema())
    raw = b"From: a@b.test\r\nMessage-ID: <x\x00y@b.test>\r\nSubject: x\r\n\r\nbody\r\n"
    message = Message.from_bytes(raw, Envelope(mail_from="a@b.test", rcpt_tos=("orders@mycompany.test",)))
    entry = await store.journal(message)
    await store.record_failure(message.key, "bad \x00 byte")
    again = await store.get(message.key)
    assert again is not None and again.raw == raw and entry.key == again.key
    await store.close()


async def test_journal_without_claim_only_records(pg_database: PgDatabase) -> None:
    # Spool mode: answer 250 once journaled, without waiting for whoever is processing the message.
    url = pg_database.new_schema()
    a, b = await open_pg(url), await open_pg(url, claim_wait=0.2)
    first, second = make_message(1), make_message(2)
    await a.journal(first)  # a runs the pipeline for it
    assert (await b.journal(first, claim=False)).state == "received"  # recorded, no wait
    await b.journal(second, claim=False)
    assert (await a.journal(second)).state == "received"  # unclaimed: a takes it at once
    with pytest.raises(StoreUnavailable):
        await b.journal(second)
    await a.close()
    await b.close()


async def test_version_1_schema_loses_the_outbox_message_id(pg_database: PgDatabase) -> None:
    """Version 1 kept each sent mail's Message-ID (and an index on it); nothing read it, version 2 drops it."""
    url = pg_database.new_schema()
    store = await open_pg(url)
    await store.close()
    schema = url.rsplit("%3D", 1)[1]
    with pg_database.connect(schema) as conn:
        conn.execute("ALTER TABLE outbox ADD COLUMN message_id TEXT")
        conn.execute("CREATE INDEX outbox_message_id ON outbox(message_id)")
        conn.execute("UPDATE orderd_schema SET version = 1")
    store = await open_pg(url)
    await store.close()
    with pg_database.connect(schema) as conn:
        assert conn.execute("SELECT version FROM orderd_schema").fetchone()[0] == 2
        columns = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'outbox'"
                               " AND table_schema = %s", (schema,)).fetchall()
        assert "message_id" not in {row[0] for row in columns}
        assert conn.execute("SELECT count(*) FROM pg_indexes WHERE indexname = 'outbox_message_id'"
                            " AND schemaname = %s", (schema,)).fetchone()[0] == 0
