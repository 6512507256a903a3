"""`orderd check`: reach each peer the configuration names and say which one fails."""

from __future__ import annotations

import asyncio

from orderd.app import probe_relay
from orderd.config import Config
from orderd.odoo.client import OdooClient
from orderd.store import open_store


async def _odoo(config: Config) -> str:
    client = OdooClient(config.odoo)
    await client.start()
    try:
        version = await client.ping()
        await client.call("res.users", "context_get")  # proves the login, not just the server
        return f"{config.odoo.url} database {config.odoo.db} as {config.odoo.user}, server {version}"
    finally:
        await client.close()


async def _relay(config: Config) -> str:
    await probe_relay(config.relay)
    return f"{config.relay.host}:{config.relay.port} ({config.relay.tls})"


async def _store(config: Config) -> str:
    store = await open_store(config.store.url)
    try:
        await store.ping()
    finally:
        await store.close()
    return config.store.url


async def run_checks(config: Config) -> int:
    failures = 0
    for name, probe in (("odoo", _odoo), ("relay", _relay), ("store", _store)):
        try:
            detail = await asyncio.wait_for(probe(config), timeout=max(config.odoo.timeout, 10.0))
        except Exception as exc:
            failures += 1
            print(f"{name}: FAILED: {type(exc).__name__}: {exc}")
        else:
            print(f"{name}: ok ({detail})")
    return 1 if failures else 0
