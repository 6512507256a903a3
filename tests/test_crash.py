"""SIGKILL at each point of a message's life; the restarted process finishes it exactly once.

The simulator holds one chosen RPC call (fault mode "timeout" filtered by method, so the held call never
executes), which pins orderd at a known point; the test kills it there with SIGKILL, clears the fault,
starts a new orderd on the same store and counts orders in Odoo and replies at the relay.
"""

from __future__ import annotations

import asyncio
import sqlite3
from email import message_from_bytes
from pathlib import Path

import pytest
from conftest import odoo_search_read, order_email, smtp_send, start_orderd_process, wait_for

from odoosim import RunningSim
from orderd_dev.sink import RunningSink


def _journal_states(store: Path) -> list[str]:
    if not store.exists():
        return []
    with sqlite3.connect(store) as db:
        return [row[0] for row in db.execute("SELECT state FROM journal")]


def _replies(relay: RunningSink, message_id: str) -> int:
    return sum(1 for _env, data in relay.messages
               if str(message_from_bytes(data).get("In-Reply-To", "")).strip() == message_id)


async def _orders(sim: RunningSim, message_id: str) -> list[dict]:
    return await odoo_search_read(sim.url, "sale.order", [["origin", "ilike", message_id.strip("<>")]],
                                  ["name", "state"])


@pytest.mark.parametrize(
    ("point", "held_call"),
    [
        ("after the journal commit", "sale.order.search_read"),  # the idempotency lookup, first Odoo call
        ("after the order create, before action_confirm", "action_confirm"),
        ("after the confirmation, before the reply is recorded", "message_post"),
    ],
)
async def test_sigkill_then_restart_finishes_the_message_exactly_once(
    tmp_path: Path, odoo_sim: RunningSim, relay: RunningSink, point: str, held_call: str
) -> None:
    store = tmp_path / "orderd.sqlite3"
    message_id = f"<crash-{held_call.replace('.', '-')}@example.com>"
    raw = order_email("Please send 4 x DC-1005 and 2 x DC-1011.", message_id=message_id)
    odoo_sim.set_faults(mode="timeout", methods=[held_call], hold=120)
    proc, port = await start_orderd_process(odoo_sim.url, relay.port, f"sqlite:///{store}")
    send = asyncio.create_task(smtp_send(port, raw))
    try:
        if held_call == "sale.order.search_read":
            reached = await wait_for(lambda: _journal_states(store) == ["received"], timeout=20)
            await asyncio.sleep(0.5)
        elif held_call == "action_confirm":
            reached = await _wait_orders(odoo_sim, message_id, "draft")
        else:
            reached = await _wait_orders(odoo_sim, message_id, "sale")
        assert reached, f"orderd never reached the point {point!r}"
        proc.kill()
        await proc.wait()
        code, _text = await send
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert code != 250, "a killed process must not have answered 250"
    assert _journal_states(store) == ["received"]

    odoo_sim.set_faults(mode=None)
    restarted, port = await start_orderd_process(odoo_sim.url, relay.port, f"sqlite:///{store}")
    try:
        assert await wait_for(lambda: _journal_states(store) == ["done"], timeout=30), "recovery did not finish"
        assert await wait_for(lambda: _replies(relay, message_id) >= 1, timeout=15)
        # The sender's MTA retries too: it must be told the existing order, and nothing new happens.
        code, text = await smtp_send(port, raw)
        await asyncio.sleep(0.5)
    finally:
        restarted.terminate()
        await restarted.wait()
    orders = await _orders(odoo_sim, message_id)
    print(f"{point}: orders={len(orders)} replies={_replies(relay, message_id)} redelivery={code} {text}")
    assert len(orders) == 1
    assert orders[0]["state"] == "sale"
    assert _replies(relay, message_id) == 1
    assert code == 250 and f"already processed as {orders[0]['name']}" in text


async def _wait_orders(sim: RunningSim, message_id: str, state: str, timeout: float = 20) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        orders = await _orders(sim, message_id)
        if orders and orders[0]["state"] == state:
            await asyncio.sleep(0.3)
            return True
        await asyncio.sleep(0.1)
    return False
