"""Spool mode: 250 as soon as the message is journaled; workers finish it, retrying while Odoo is down."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from email import message_from_bytes

from conftest import ROOT, odoo_search_read, order_email, smtp_send, wait_for

from odoosim import RunningSim
from orderd.app import App
from orderd.config import Config
from orderd_dev.sink import RunningSink


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


async def test_replay_in_spool_mode_makes_the_order_of_a_message_the_spool_gave_up_on(
    make_config: Callable[..., Config], odoo_sim: RunningSim, relay: RunningSink
) -> None:
    """`orderd replay ID` and `--failed`, run beside a spool-mode server, process the journaled entries
    themselves (not queue them again for a spool that skips them) through to the order in Odoo."""
    config = make_config(pipeline={"mode": "spool", "retry_base_delay": 0.05, "retry_max_delay": 0.1,
                                   "max_attempts": 2})
    app = App(config)
    await app.start()
    try:
        odoo_sim.set_faults(mode="http500")
        for name in ("by-id", "by-failed"):
            raw = order_email("2 x DC-1009", message_id=f"<spool-replay-{name}@example.com>")
            code, text = await smtp_send(app.smtp_port, raw)
            assert code == 250 and "queued" in text, text
        assert app.services is not None
        store = app.services.store

        async def given_up() -> bool:
            entries = await store.entries(limit=5, with_raw=False)
            return len(entries) == 2 and all(e.state == "failed" and e.attempts >= 2 for e in entries)

        for _ in range(100):
            if await given_up():
                break
            await wait_for(lambda: False, timeout=0.1)
        assert await given_up()
        odoo_sim.set_faults(mode=None)
        await wait_for(lambda: False, timeout=0.5)
        assert await _orders(odoo_sim, "spool-replay-") == []  # the spool left them alone

        env = {**os.environ, "ORDERD_ODOO_URL": odoo_sim.url, "ORDERD_RELAY_PORT": str(relay.port),
               "ORDERD_STORE_URL": config.store.url, "ORDERD_PIPELINE_MODE": "spool"}
        by_id = next(e for e in await store.entries(limit=5, with_raw=False) if "by-id" in (e.message_id or ""))
        first = await asyncio.to_thread(_orderd, env, "replay", by_id.key[:12])
        print(first.stdout, first.stderr[-2000:])
        assert first.returncode == 0
        assert f"{by_id.key[:12]} <spool-replay-by-id@example.com>: done as S0" in first.stdout
        assert "queued" not in first.stdout
        assert len(await _orders(odoo_sim, "spool-replay-by-id")) == 1
        assert await _orders(odoo_sim, "spool-replay-by-failed") == []

        rest = await asyncio.to_thread(_orderd, env, "replay", "--failed")
        print(rest.stdout, rest.stderr[-2000:])
        assert rest.returncode == 0 and "<spool-replay-by-failed@example.com>: done as S0" in rest.stdout
        assert len(await _orders(odoo_sim, "spool-replay-by-failed")) == 1
        assert len(await _orders(odoo_sim, "spool-replay-by-id")) == 1
        entries = await store.entries(limit=5, with_raw=False)
        assert [e.state for e in entries] == ["done", "done"]
        assert all(e.order_name and e.order_name.startswith("S0") for e in entries)
        # The running server's outbox sends the replies replay recorded.
        assert await wait_for(lambda: len(relay.messages) >= 2, timeout=30), relay.messages
    finally:
        odoo_sim.set_faults(mode=None)
        await app.stop()


async def _orders(sim: RunningSim, origin_part: str) -> list[dict]:
    return await odoo_search_read(sim.url, "sale.order", [["origin", "ilike", origin_part]], ["name"])


def _orderd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orderd.cli", *args], capture_output=True, text=True,
                          timeout=120, env=env, cwd=ROOT)
