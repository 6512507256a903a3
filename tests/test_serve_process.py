"""`orderd serve` as a real process: configured by ORDERD_* variables, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
from pathlib import Path

from conftest import odoo_search_read, order_email, smtp_send, start_orderd_process

from odoosim import RunningSim
from orderd_dev.sink import RunningSink


async def test_sigterm_while_odoo_is_slow_never_answers_250_without_an_outcome(
    tmp_path: Path, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    store = tmp_path / "orderd.sqlite3"
    proc, smtp_port = await start_orderd_process(odoo_sim.url, relay.port, f"sqlite:///{store}")
    try:
        odoo_sim.set_faults(latency=0.4)  # every RPC call now takes 0.4 s: the DATA below is in flight for seconds
        send = asyncio.create_task(smtp_send(smtp_port, order_email("3 x DC-1010", message_id="<term-1@example.com>")))
        await asyncio.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        await asyncio.sleep(0.3)
        # Stop accepting: a new session is refused while the one in flight finishes.
        refused = False
        try:
            _r, w = await asyncio.open_connection("127.0.0.1", smtp_port)
            w.close()
        except OSError:
            refused = True
        code, text = await send
        exit_code = await asyncio.wait_for(proc.wait(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        odoo_sim.set_faults(latency=0.0)
    assert refused, "a stopping server must not accept new sessions"
    assert exit_code == 0
    assert code == 250, f"the DATA in flight should finish during a graceful stop: {code} {text}"
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "term-1@example.com"]], ["name"])
    assert len(orders) == 1 and orders[0]["name"] in text
    with sqlite3.connect(store) as db:
        states = db.execute("SELECT state FROM journal").fetchall()
    assert states == [("done",)]
