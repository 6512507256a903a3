"""The peers one message needs, and the concurrency state shared by every message of the process.

The flows reach Odoo only through an `OrderBook`: the odoorpc-backed one in production
(`orderd.odoo.orders.OdooOrderBook`), an in-memory one in the flows' unit tests.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from orderd.catalog import Catalog
from orderd.config import Config
from orderd.odoo.client import OdooClient
from orderd.odoo.orders import Partner, PlacedOrder
from orderd.store import Store


class OrderBook(Protocol):
    """What the flows do in Odoo; each method is one or a few RPC calls (see orderd.odoo.orders)."""

    async def find_order_by_key(self, key: str) -> PlacedOrder | None: ...

    async def find_order_by_name(self, name: str) -> PlacedOrder | None: ...

    async def find_or_create_partner(self, email: str, name: str, lang: str | None) -> Partner: ...

    async def commercial_partner_of(self, email: str) -> int | None: ...

    async def free_qty(self, product_ids: list[int], warehouse_id: int = 0) -> dict[int, float]: ...

    async def create_order(self, *, partner_id: int, lines: list[tuple[int, float]], key: str,
                           message_id: str | None, client_order_ref: str | None, commitment_date: date | None,
                           note: str | None = None) -> PlacedOrder: ...

    async def confirm_order(self, order_id: int) -> None: ...

    async def cancel_order(self, order_id: int) -> None: ...

    async def post_email(self, order_id: int, *, body_text: str, subject: str, raw_eml: bytes,
                         attachments: list[tuple[str, bytes, str]], reply_text: str | None = None,
                         reply_eml: bytes | None = None) -> int: ...

    async def schedule_review(self, order_id: int, summary: str, note: str) -> int: ...


class CatalogSource(Protocol):
    """The product catalog, cached (orderd.odoo.catalog.CatalogCache)."""

    async def get(self) -> Catalog: ...

    async def refresh(self) -> Catalog: ...

    async def close(self) -> None: ...


class Waker(Protocol):
    """Something that works a durable queue (the outbox sender, the spool) and is told there is work."""

    def wake(self) -> None: ...


class Outbox(Waker, Protocol):
    async def stop(self) -> None: ...


@dataclass
class Services:
    """The peers one message needs; built once by the app (or by a test, with doubles)."""

    config: Config
    store: Store
    orders: OrderBook
    catalog: CatalogSource
    outbox: Outbox | None = None  # told when replies were queued; None: the running server's sender sends them
    executor: Executor | None = None  # for CPU-heavy extraction; None: the loop's default executor
    spool: Waker | None = None  # told when a message is journaled for later processing (spool mode)
    odoo: OdooClient | None = None  # the connection behind `orders`, for readiness and shutdown only
    _in_flight: dict[str, tuple[asyncio.Lock, list[int]]] = field(default_factory=dict)
    _pipelines: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        """One pipeline per key in this process: a duplicate waits, then sees the first outcome."""
        lock, waiters = self._in_flight.setdefault(key, (asyncio.Lock(), [0]))
        waiters[0] += 1
        try:
            async with lock:
                yield
        finally:
            waiters[0] -= 1
            if not waiters[0]:
                del self._in_flight[key]

    def busy(self, key: str) -> bool:
        return key in self._in_flight

    @property
    def pipelines(self) -> asyncio.Semaphore:
        if self._pipelines is None:
            self._pipelines = asyncio.Semaphore(self.config.pipeline.max_concurrent)
        return self._pipelines
