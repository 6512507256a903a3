"""`orderd check`: reach each peer the configuration names and say which one fails.

It changes nothing: the store is opened read-only (a SQLite file that does not exist yet is reported as
"will be created", not created), Odoo is only logged in to, the relay only greeted.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

from orderd import config as config_mod
from orderd.config import Config
from orderd.odoo.client import OdooClient, OdooUnavailable
from orderd.outbox import RelayUnusable, probe_relay
from orderd.reply import check_templates
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


async def _relay(config: Config) -> str:
    try:
        await probe_relay(config.relay, timeout=min(config.relay.timeout, 10.0))
    except RelayUnusable as exc:
        raise CheckFailed(str(exc)) from exc
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


def check(config_file: str | None) -> int:
    """`orderd check`: the configuration, the templates, then each peer; 0 when all are usable."""
    unknown = config_mod.unknown_variables()
    for name in unknown:
        print(f"config: FAILED: {name} is not a configuration variable (ORDERD_<SECTION>_<KEY>, see README)",
              file=sys.stderr)
    try:
        cfg = config_mod.load(config_file)
    except config_mod.ConfigError as exc:
        for problem in exc.problems:
            print(f"config: FAILED: {problem}", file=sys.stderr)
        return 1
    if not unknown:
        print(f"config: ok ({config_file or 'defaults and ORDERD_* variables'})")
    errors = check_templates(cfg.templates.directory, cfg.profiles)
    for error in errors:
        print(f"templates: FAILED: {error}")
    if not errors:
        print(f"templates: ok ({cfg.templates.directory or 'packaged'}, {len(cfg.profiles)} profile(s))")
    peers = asyncio.run(run_checks(cfg))
    return 1 if errors or unknown else peers
