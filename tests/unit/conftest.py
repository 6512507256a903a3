"""The intake's flows against an in-memory Odoo (tests/unit/memory_odoo.py) and a SQLite store in a
temporary directory: no sockets, no threads beyond the reading stage's executor."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
import structlog

from orderd import config as config_mod
from orderd.catalog import Catalog
from orderd.intake.entry import intake
from orderd.intake.result import IntakeResult
from orderd.intake.services import Services
from orderd.log import configure as configure_logging
from orderd.records import Envelope, Message
from orderd.store import open_store
from orderd.understand import Reading, understand
from unit.memory_odoo import MemoryCatalog, MemoryOrderBook, with_ids

ROOT = Path(__file__).resolve().parents[2]
ORDER_ADDRESS = "orders@mycompany.test"


@pytest.fixture(scope="session")
def unit_catalog() -> Catalog:
    catalog = with_ids(Catalog.from_file(ROOT / "fixtures" / "catalog.json"))
    # The first reading builds the language pipelines (a second or two): once per session, not per test.
    understand(Message.from_bytes(email("Please send 1 x DC-1001.")), catalog, Reading())
    return catalog


@pytest.fixture(autouse=True)
def plain_logs() -> Iterator[None]:
    """JSON lines, as in production: the default console renderer draws each traceback with syntax
    highlighting, which costs a crash test a second. Restored afterwards for the other tests."""
    before = structlog.get_config()
    configure_logging("json")
    yield
    structlog.configure(**before)


@pytest.fixture
async def house(tmp_path: Path, unit_catalog: Catalog) -> AsyncIterator[House]:
    store = await open_store(f"sqlite:///{tmp_path / 'orderd.sqlite3'}")
    config = config_mod.load(None, {})
    house = House(Services(config, store, MemoryOrderBook(unit_catalog), MemoryCatalog(unit_catalog)))
    yield house
    await store.close()


class House:
    """orderd's intake with its peers in memory: send mail in, look at what Odoo and the store hold."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.odoo: MemoryOrderBook = services.orders  # type: ignore[assignment]
        self.store = services.store

    def configure(self, **sections: dict[str, Any]) -> None:
        self.services.config = config_mod.replace(self.services.config, **sections)

    async def send(self, raw: bytes, sender: str = "jane.doe@orion-electronics.com") -> IntakeResult:
        return await intake(raw, Envelope(mail_from=sender, rcpt_tos=(ORDER_ADDRESS,)), self.services)

    async def outgoing(self, result: IntakeResult, kind: str = "reply") -> list[Message]:
        """What orderd queued for the relay about this message: replies to the customer, or forwards."""
        items = await self.store.outbox_items(key=result.key)
        return [Message.from_bytes(item.mail.raw) for item in items if item.mail.kind == kind]


def email(body: str, *, sender: str = "Jane Doe <jane.doe@orion-electronics.com>", subject: str = "Order",
          message_id: str | None = None, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"From: {sender}", f"To: {ORDER_ADDRESS}", f"Subject: {subject}",
             f"Message-ID: {message_id or make_msgid(domain='example.com')}",
             f"Date: {format_datetime(datetime.now(UTC))}", "MIME-Version: 1.0",
             "Content-Type: text/plain; charset=utf-8",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode()

