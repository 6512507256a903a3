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
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email import message_from_bytes
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import odoo_search_read, order_email, smtp_send
from psycopg import sql

from orderd.odoosim import RunningSim
from orderd.sink import RunningSink

if TYPE_CHECKING:
    from store_backends import PgDatabase

# The session's throwaway PostgreSQL database (`pg_database`), one schema per test.
pytest_plugins = ["store_backends"]

N_MESSAGES = 30
CUSTOMERS = ["customer1@example.com", "customer2@example.com", "purchasing@northwind-tools.co.uk"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _wait_port(port: int, proc: asyncio.subprocess.Process, log: Path, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if proc.returncode is not None:
            raise AssertionError(f"orderd exited with {proc.returncode} before listening:\n{log.read_text()[-3000:]}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


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
            smtp_port = _free_port()
            env = dict(os.environ,
                       ORDERD_SMTP_LISTEN=f"127.0.0.1:{smtp_port}", ORDERD_HTTP_LISTEN=f"127.0.0.1:{_free_port()}",
                       ORDERD_SMTP_HOSTNAME=f"mx-{name}.mycompany.test",
                       ORDERD_ODOO_URL=odoo_sim.url, ORDERD_RELAY_PORT=str(relay.port),
                       ORDERD_STORE_URL=store_url, ORDERD_LOG_FORMAT="json",
                       # The test sends many orders from few customers within the hour.
                       ORDERD_POLICY_MAX_REPLIES_PER_HOUR="0")
            log = tmp_path / f"orderd-{name}.log"
            with log.open("wb") as out:  # a file, not a pipe: nobody has to drain it
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "orderd.cli", "serve", env=env, cwd=tmp_path,
                    stdout=out, stderr=asyncio.subprocess.STDOUT)
            instances.append(Instance(name, smtp_port, proc, log))
        for inst in instances:
            await _wait_port(inst.smtp_port, inst.proc, inst.log)
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
