"""The poller: looks at the drafts awaiting a person in Odoo and learns from the ones confirmed.

Every `learning.poll_interval` seconds, two RPC calls whatever the number of drafts (their states, then
the lines of the confirmed ones): `sale` means a person confirmed it (orderd never confirms a draft it
remembered: see remember_draft), `cancel` or an order gone from Odoo teaches nothing, a draft still in
`draft`/`sent` is waited for until `learning.give_up_days`. Odoo or the store being unavailable only
delays learning to the next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from orderd.config import LearningConfig
from orderd.learning.lessons import KeptLine, lessons
from orderd.odoo import orders as odoo_orders
from orderd.odoo.client import OdooClient, OdooError, OdooUnavailable
from orderd.store import Store, StoreUnavailable, utcnow

log = structlog.get_logger("orderd.learning")

BATCH = 200  # drafts looked at per poll: two RPC calls of bounded size


@dataclass
class PollReport:
    """What one poll did, by order name."""

    learned: dict[str, list[str]] = field(default_factory=dict)  # order → "wording → code" learned from it
    dropped: list[str] = field(default_factory=list)  # cancelled, deleted or given up: nothing learned
    waiting: list[str] = field(default_factory=list)  # still a draft: a person has not decided yet


class LearningPoller:
    """An asyncio task beside the outbox sender; `poll_once()` runs one poll now (tests, an operator)."""

    def __init__(self, store: Store, odoo: OdooClient, config: LearningConfig, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.odoo = odoo
        self.config = config
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # a poll the loop runs and one a test asks for never overlap

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="orderd-learning")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_interval)
            try:
                await self.poll_once()
            except (OdooUnavailable, StoreUnavailable) as exc:
                log.warning("learning_poll_deferred", error=str(exc))
            except Exception:  # a bug here must not end learning for the life of the process
                log.exception("learning_poll_failed")

    async def poll_once(self) -> PollReport:
        async with self._lock:
            return await self._poll()

    async def _poll(self) -> PollReport:
        report = PollReport()
        readings = await self.store.draft_readings(limit=BATCH)
        if not readings:
            return report
        states = await odoo_orders.order_states(self.odoo, [r.order_id for r in readings])
        confirmed = [r.order_id for r in readings if states.get(r.order_id) == "sale"]
        try:
            lines = await odoo_orders.order_lines(self.odoo, confirmed)
        except OdooError as exc:  # Odoo refused the read: the confirmed ones wait for the next poll
            log.warning("learning_lines_unreadable", error=str(exc))
            confirmed, lines = [], {}
        give_up = self.clock() - timedelta(days=self.config.give_up_days)
        for reading in readings:
            state = states.get(reading.order_id)
            if reading.order_id in confirmed:
                kept = [KeptLine(line["product_id"], line["default_code"], line["qty"])
                        for line in lines.get(reading.order_id, [])]
                taught = lessons(reading, kept)
                await self.store.learned(reading.order_id, taught)
                report.learned[reading.order_name] = [
                    f"{a.wording} → {a.default_code}" + (f" ({a.pack} = {a.pack_size:g})" if a.pack_size else "")
                    for a in taught]
                log.info("learned", order=reading.order_name, partner=reading.partner_id,
                         aliases=report.learned[reading.order_name])
            elif state in ("draft", "sent") and (reading.created_at is None or reading.created_at > give_up):
                report.waiting.append(reading.order_name)
            else:
                # cancelled, deleted from Odoo, in a state orderd does not know, or waited for too long
                await self.store.drop_draft_reading(reading.order_id)
                report.dropped.append(reading.order_name)
                log.info("draft_reading_dropped", order=reading.order_name, state=state or "gone")
        return report
