"""Two `orderd serve` processes behind one MX, sharing one PostgreSQL store.

Real processes and sockets only: two orderd subprocesses (configured by ORDERD_* variables) on one
PostgreSQL schema, one Odoo simulator, one relay sink. Every message is delivered to both instances
at the same moment, as two MX hosts would receive it from a sender that retried on a timeout. The
promise: exactly one order in Odoo and exactly one reply at the relay per message, whichever instance
wins each race.
"""

from __future__ import annotations

import asyncio
import collections
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import odoo_search_read, order_email, smtp_send, start_orderd_process
from psycopg import sql

from odoosim import RunningSim
from orderd_dev.sink import RunningSink

if TYPE_CHECKING:
    from store_backends import PgDatabase

# The session's throwaway PostgreSQL database (`pg_database`), one schema per test.
pytest_plugins = ["store_backends"]

N_MESSAGES = 30
CUSTOMERS = ["customer1@example.com", "customer2@example.com", "purchasing@northwind-tools.co.uk"]


@dataclass
class Instance:
    name: str
    smtp_port: int
    proc: asyncio.subprocess.Process
    log: Path


@pytest.fixture
async def two_instances(tmp_path: Path, pg_database: PgDatabase, odoo_sim: RunningSim,
                        relay: RunningSink) -> AsyncIterator[tuple[list[Instance], str]]:
    store_url = pg_database.new_schema("two")
    instances: list[Instance] = []
    try:
        for name in ("a", "b"):
            log = tmp_path / f"orderd-{name}.log"
            # The test sends many orders from few customers within the hour: no reply cap.
            proc, smtp_port = await start_orderd_process(odoo_sim.url, relay.port, store_url, log=log,
                                                         smtp_hostname=f"mx-{name}.mycompany.test",
                                                         policy_max_replies_per_hour="0")
            instances.append(Instance(name, smtp_port, proc, log))
        yield instances, store_url
    finally:
        for inst in instances:
            if inst.proc.returncode is None:
                inst.proc.terminate()
        for inst in instances:
            try:
                await asyncio.wait_for(inst.proc.wait(), 30)
            except TimeoutError:
                inst.proc.kill()
                await inst.proc.wait()


async def test_same_messages_to_both_instances_at_once(
    two_instances: tuple[list[Instance], str], odoo_sim: RunningSim, relay: RunningSink, pg_database: PgDatabase
) -> None:
    (a, b), store_url = two_instances
    tag = f"two-{os.getpid()}"
    messages = [
        (f"<{tag}-{n}@example.com>", CUSTOMERS[n % len(CUSTOMERS)],
         order_email(f"Hello,\n\nplease send {1 + n % 3} x DC-10{n % 9 + 1:02d}.\n\nThanks",
                     sender=CUSTOMERS[n % len(CUSTOMERS)], message_id=f"<{tag}-{n}@example.com>"))
        for n in range(N_MESSAGES)
    ]

    # Every message to both instances at the same moment; all messages concurrently.
    results = await asyncio.gather(*(
        smtp_send(inst.smtp_port, raw, sender=sender)
        for _mid, sender, raw in messages for inst in (a, b)
    ))
    codes = collections.Counter(code for code, _text in results)
    accepted = sum(1 for code, text in results if code == 250 and "accepted as" in text)
    already = sum(1 for code, text in results if code == 250 and "already processed" in text)
    retry = sum(1 for code, _text in results if 400 <= code < 500)
    print(f"\n{N_MESSAGES} messages x 2 instances at once: SMTP replies {dict(codes)};"
          f" {accepted} processed, {already} 'already processed', {retry} told to retry")
    failures = [(code, text) for code, text in results if code != 250 and not 400 <= code < 500]
    assert not failures, failures

    # A redelivery of each message to the instance that did not process it: answered from the journal.
    redelivered = await asyncio.gather(*(smtp_send(b.smtp_port, raw, sender=sender) for _m, sender, raw in messages))
    assert all(code == 250 and "already processed" in text for code, text in redelivered), redelivered

    # Exactly one order per message in Odoo.
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", tag]], ["name", "origin"])
    per_message = collections.Counter(mid for o in orders for mid, _s, _r in messages if mid in (o["origin"] or ""))

    # Exactly one reply per message at the relay (the outbox sends asynchronously: wait, then linger
    # a little so a second copy from the other instance would have time to arrive).
    def replies() -> collections.Counter[str]:
        seen: collections.Counter[str] = collections.Counter()
        for _env, raw in relay.messages:
            seen[str(message_from_bytes(raw).get("In-Reply-To", "")).strip()] += 1
        return seen

    deadline = asyncio.get_running_loop().time() + 30
    while sum(replies()[mid] > 0 for mid, _s, _r in messages) < N_MESSAGES:
        if asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)
    reply_counts = replies()

    schema = store_url.rsplit("%3D", 1)[1]
    with pg_database.connect(schema) as conn:
        journal = dict(conn.execute(sql.SQL("SELECT state, count(*) FROM journal GROUP BY state")).fetchall())
        outbox = dict(conn.execute(sql.SQL("SELECT state, count(*) FROM outbox GROUP BY state")).fetchall())
        sends = conn.execute("SELECT max(attempts) FROM outbox").fetchone()

    processed_by = {inst.name: inst.log.read_text().count('"event": "done"') for inst in (a, b)}
    print(f"Odoo orders: {len(orders)} for {len(per_message)} messages (max per message"
          f" {max(per_message.values(), default=0)}); replies at relay: {sum(reply_counts.values())} for"
          f" {sum(1 for mid, _s, _r in messages if reply_counts[mid])} messages (max per message"
          f" {max((reply_counts[mid] for mid, _s, _r in messages), default=0)}); journal {journal}; outbox {outbox};"
          f" pipelines run per instance {processed_by}")

    assert len(orders) == N_MESSAGES
    assert all(per_message[mid] == 1 for mid, _s, _r in messages), per_message
    assert all(reply_counts[mid] == 1 for mid, _s, _r in messages), reply_counts
    assert journal == {"done": N_MESSAGES}
    assert outbox == {"sent": N_MESSAGES} and sends == (1,)
    # Both instances did real work: the races went both ways, not all to one process.
    assert all(count > 0 for count in processed_by.values()), processed_by
    # No 451 is needed for this: the loser of each race waits for the winner's outcome.
    assert retry == 0
