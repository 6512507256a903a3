"""`orderd check`: reach each peer the configuration names and say which one fails.

It changes nothing: the store is opened read-only (a SQLite file that does not exist yet is reported as
"will be created", not created), Odoo is only logged in to, the relay only greeted.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib

from orderd.config import Config, RelayConfig
from orderd.odoo.client import OdooClient, OdooUnavailable
from orderd.store import StoreUnavailable


class CheckFailed(Exception):
    """A peer is not usable; the message says why in the operator's terms."""


async def _odoo(config: Config) -> str:
    client = OdooClient(config.odoo)
    await client.start()
    try:
        version = await client.ping()
        await client.call("res.users", "context_get")  # proves the login, not just the server
        return f"{config.odoo.url} database {config.odoo.db} as {config.odoo.user}, server {version}"
    except OdooUnavailable as exc:
        raise CheckFailed(str(exc)) from exc
    finally:
        await client.close()


async def probe_relay(relay: RelayConfig, timeout: float | None = None) -> None:
    """Connect to the relay and greet it, as the outbox would; CheckFailed says what is wrong."""
    timeout = relay.timeout if timeout is None else timeout
    where = f"relay {relay.host}:{relay.port}"
    # A bare TCP connection first: aiosmtplib reports "cannot connect" and "connected, but no greeting"
    # alike, and they call for different fixes.
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(relay.host, relay.port), timeout)
    except TimeoutError as exc:
        raise CheckFailed(f"{where}: no answer within {timeout:g} s (relay.host, relay.port)") from exc
    except OSError as exc:
        raise CheckFailed(f"{where}: cannot connect ({exc.strerror or exc}) (relay.host, relay.port)") from exc
    writer.close()
    client = aiosmtplib.SMTP(hostname=relay.host, port=relay.port, timeout=timeout,
                             use_tls=relay.tls == "implicit", start_tls=relay.tls == "starttls")
    try:
        await client.connect()
    except (aiosmtplib.SMTPConnectTimeoutError, aiosmtplib.SMTPTimeoutError) as exc:
        # A socket that accepts but never greets: an HTTP server, a database, anything but SMTP.
        raise CheckFailed(f"{where}: accepted the connection but sent no SMTP greeting within {timeout:g} s;"
                          " is it an SMTP server? (relay.host, relay.port)") from exc
    except aiosmtplib.SMTPConnectError as exc:
        raise CheckFailed(f"{where}: cannot connect ({exc.message or exc})") from exc
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPServerDisconnected) as exc:
        raise CheckFailed(f"{where}: answered, but not as an SMTP server ({exc}); (relay.host, relay.port,"
                          " relay.tls)") from exc
    try:
        await client.ehlo()
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()


async def _relay(config: Config) -> str:
    await probe_relay(config.relay, timeout=min(config.relay.timeout, 10.0))
    return f"{config.relay.host}:{config.relay.port} ({config.relay.tls})"


def _sqlite_probe(url: str) -> str:
    parts = urlsplit(url)
    path = Path(parts.path[1:])
    if not path.exists():
        # Nothing is created here: serve creates the file (and its directory) on first start.
        parent = next((p for p in [path.parent, *path.parent.parents] if p.exists()), Path("."))
        if not os.access(parent, os.W_OK | os.X_OK):
            raise CheckFailed(f"{path} does not exist and {parent} is not writable (store.url)")
        return f"{url} (does not exist yet: `orderd serve` creates it)"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise CheckFailed(f"{path}: {exc} (store.url)") from exc
    if not os.access(path, os.W_OK):
        raise CheckFailed(f"{path} is not writable (store.url)")
    return f"{url} (schema version {version})"


async def _postgres_probe(url: str) -> str:
    import psycopg

    from orderd.store.postgres import split_url

    conninfo, _own, name = split_url(url)
    try:
        conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    except psycopg.Error as exc:
        raise CheckFailed(f"{name}: {exc}".strip()) from exc
    try:
        await conn.execute("SELECT 1")
    finally:
        await conn.close()
    return name


async def _store(config: Config) -> str:
    url = config.store.url
    try:
        if url.startswith("sqlite:"):
            return await asyncio.to_thread(_sqlite_probe, url)
        return await _postgres_probe(url)
    except (StoreUnavailable, ImportError) as exc:
        raise CheckFailed(str(exc)) from exc


async def run_checks(config: Config) -> int:
    failures = 0
    for name, probe in (("odoo", _odoo), ("relay", _relay), ("store", _store)):
        limit = max(config.odoo.timeout, 10.0) + 5
        try:
            detail = await asyncio.wait_for(probe(config), timeout=limit)
        except CheckFailed as exc:
            failures += 1
            print(f"{name}: FAILED: {exc}")
        except TimeoutError:
            failures += 1
            print(f"{name}: FAILED: no answer within {limit:g} s")
        except Exception as exc:
            failures += 1
            print(f"{name}: FAILED: {type(exc).__name__}: {exc}")
        else:
            print(f"{name}: ok ({detail})")
    return 1 if failures else 0
