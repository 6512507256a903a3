"""Spool mode: 250 as soon as the message is journaled; workers finish it, retrying while Odoo is down."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes

from conftest import odoo_search_read, order_email, smtp_send, wait_for

from orderd.app import App
from orderd.config import Config
from orderd.odoosim import RunningSim
from orderd.sink import RunningSink


async def test_spool_accepts_while_odoo_is_down_and_finishes_when_it_is_back(
    make_config: Callable[..., Config], odoo_sim: RunningSim, relay: RunningSink
) -> None:
    app = App(make_config(pipeline={"mode": "spool", "retry_base_delay": 0.2, "retry_max_delay": 0.5,
                                    "max_concurrent": 2}))
    await app.start()
    try:
        odoo_sim.set_faults(mode="drop")
        raws = [order_email(f"{n} x DC-1009", message_id=f"<spool-{n}@example.com>") for n in (1, 2, 3)]
        for raw in raws:
            code, text = await smtp_send(app.smtp_port, raw)
            assert code == 250 and "queued" in text, text
        # A duplicate while still queued is accepted again, and still makes one order.
        code, text = await smtp_send(app.smtp_port, raws[0])
        assert code == 250, text
        assert app.services is not None
        store = app.services.store
        assert all(e.state != "done" for e in await store.entries(limit=10, with_raw=False))

        odoo_sim.set_faults(mode=None)

        async def done() -> int:
            return sum(1 for e in await store.entries(limit=10, with_raw=False) if e.state == "done")

        for _ in range(100):
            if await done() == 3:
                break
            await wait_for(lambda: False, timeout=0.1)
        assert await done() == 3
        orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "spool-"]], ["name"])
        assert len(orders) == 3
        replies = {str(message_from_bytes(data).get("In-Reply-To")) for _env, data in relay.messages}
        assert await wait_for(lambda: len({str(message_from_bytes(d).get("In-Reply-To"))
                                          for _e, d in relay.messages}) >= 3, timeout=10), replies
        # Once done, a redelivery is told the order, as in inline mode.
        code, text = await smtp_send(app.smtp_port, raws[1])
        assert code == 250 and "already processed as S0" in text, text
    finally:
        await app.stop()


async def test_spool_gives_up_after_max_attempts_and_leaves_it_for_replay(
    make_config: Callable[..., Config], odoo_sim: RunningSim
) -> None:
    app = App(make_config(pipeline={"mode": "spool", "retry_base_delay": 0.05, "retry_max_delay": 0.1,
                                    "max_attempts": 3}))
    await app.start()
    try:
        odoo_sim.set_faults(mode="http500")
        code, _ = await smtp_send(app.smtp_port, order_email("1 x DC-1009", message_id="<spool-fail@example.com>"))
        assert code == 250
        assert app.services is not None
        store = app.services.store
        for _ in range(100):
            entries = await store.entries(limit=5, with_raw=False)
            if entries and entries[0].attempts >= 3:
                break
            await wait_for(lambda: False, timeout=0.1)
        await wait_for(lambda: False, timeout=0.5)  # a fourth attempt would come within this
        entries = await store.entries(limit=5, with_raw=False)
        print(f"spool give-up: state={entries[0].state} attempts={entries[0].attempts}")
        assert entries[0].state == "failed" and entries[0].attempts == 3
    finally:
        odoo_sim.set_faults(mode=None)
        await app.stop()
