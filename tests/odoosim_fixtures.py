"""Shared pytest fixtures for the Odoo simulator (import them from conftest.py).

- ``odoosim_catalog``: the Catalog from fixtures/catalog.json
- ``odoosim_factory``: ``start(sim=None, **options) -> ThreadedSim``; everything started is closed
- ``odoosim``: a freshly seeded simulator in a background thread (``.url``, ``.port``, ``.sim``,
  ``.set_faults(...)``), usable from sync and async tests alike since it has its own loop
- ``odoo_rpc``: an odoorpc.ODOO logged in to ``odoosim`` as admin (timeout 10 s)
- ``odoosim_async``: a RunningSim served on the test's own event loop (async tests only; do not
  call blocking odoorpc on that loop)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import odoorpc
import pytest
import pytest_asyncio

from odoosim import OdooSim, RunningSim, start
from odoosim.threaded import ThreadedSim, connect
from orderd.catalog import Catalog

CATALOG_PATH = Path(__file__).resolve().parents[1] / "fixtures" / "catalog.json"

SimFactory = Callable[..., ThreadedSim]


@pytest.fixture
def odoosim_catalog() -> Catalog:
    return Catalog.from_file(CATALOG_PATH)


@pytest.fixture
def odoosim_factory(odoosim_catalog: Catalog) -> Iterator[SimFactory]:
    started: list[ThreadedSim] = []

    def factory(sim: OdooSim | None = None, **options: Any) -> ThreadedSim:
        threaded = ThreadedSim(sim or OdooSim.from_catalog(odoosim_catalog), **options)
        started.append(threaded)
        return threaded

    yield factory
    for threaded in started:
        threaded.close()


@pytest.fixture
def odoosim(odoosim_factory: SimFactory) -> ThreadedSim:
    return odoosim_factory()


@pytest.fixture
def odoo_rpc(odoosim: ThreadedSim) -> odoorpc.ODOO:
    return connect(odoosim)


@pytest_asyncio.fixture
async def odoosim_async(odoosim_catalog: Catalog) -> AsyncIterator[RunningSim]:
    running = await start(OdooSim.from_catalog(odoosim_catalog), "127.0.0.1", 0)
    try:
        yield running
    finally:
        await running.close()
