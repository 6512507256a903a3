"""Shared fixtures: real peers on loopback sockets (Odoo simulator, relay sink, orderd itself)."""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import odoorpc
import pytest

import odoosim
from orderd import config as config_mod
from orderd.app import App
from orderd.catalog import Catalog
from orderd.config import Config
from orderd_dev.sink import RunningSink, start_sink

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "fixtures" / "catalog.json"
ORDER_ADDRESS = "orders@mycompany.test"


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.from_file(CATALOG)


@pytest.fixture
async def odoo_sim(catalog: Catalog) -> AsyncIterator[odoosim.RunningSim]:
    running = await odoosim.start(odoosim.OdooSim.from_catalog(catalog), "127.0.0.1", 0)
    yield running
    await running.close()


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[RunningSink]:
    sink = await start_sink(tmp_path / "relay", "127.0.0.1", 0)
    yield sink
    await sink.close()


@pytest.fixture
def make_config(tmp_path: Path, odoo_sim: odoosim.RunningSim, relay: RunningSink) -> Callable[..., Config]:
    def build(**sections: dict[str, Any]) -> Config:
        base = config_mod.replace(
            config_mod.load(None, {}),
            smtp={"listen": "127.0.0.1:0", "data_timeout": 20.0},
            http={"listen": "127.0.0.1:0"},
            odoo={"url": odoo_sim.url, "timeout": 5.0},
            relay={"host": "127.0.0.1", "port": relay.port},
            store={"url": f"sqlite:///{tmp_path / 'orderd.sqlite3'}"},
        )
        return config_mod.replace(base, **sections) if sections else base

    return build


@pytest.fixture
async def orderd(make_config: Callable[..., Config]) -> AsyncIterator[App]:
    app = App(make_config())
    await app.start()
    yield app
    await app.stop()


_counter = itertools.count(1)


def _free_port_pair(count: int = 1) -> list[int]:
    """Ports nobody listens on right now (bound together so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def order_email(body: str, *, sender: str = "Claire Martin <customer2@example.com>",
                subject: str = "Order", message_id: str | None = None, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ORDER_ADDRESS
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 11, 20, 9, 30).astimezone())
    msg["Message-ID"] = message_id or make_msgid(f"t{next(_counter)}", domain="example.com")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


async def smtp_send(port: int, raw: bytes, *, sender: str = "customer2@example.com",
                    recipients: tuple[str, ...] = (ORDER_ADDRESS,), mail_options: tuple[str, ...] = ()
                    ) -> tuple[int, str]:
    """Send over a real SMTP session; return the final reply (code, text) whatever it is (0: none)."""
    try:
        _refused, text = await aiosmtplib.send(raw, sender=sender, recipients=list(recipients),
                                               mail_options=list(mail_options), hostname="127.0.0.1", port=port,
                                               timeout=60)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        first = exc.recipients[0]
        return first.code, first.message
    except aiosmtplib.SMTPResponseException as exc:
        return exc.code, exc.message
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError) as exc:
        return 0, f"no reply: {exc}"  # the connection went away: the sender would retry later
    return 250, text


def odoo_connect(url: str) -> odoorpc.ODOO:
    """A logged-in odoorpc session, as a person inspecting Odoo would open one."""
    host, port = url.removeprefix("http://").split(":")
    odoo = odoorpc.ODOO(host, port=int(port), timeout=10)
    odoo.login("orders", "admin", "admin")
    return odoo


async def odoo_search_read(url: str, model: str, domain: list, fields: list[str]) -> list[dict]:
    def work() -> list[dict]:
        return odoo_connect(url).execute_kw(model, "search_read", [domain], {"fields": fields})

    return await asyncio.to_thread(work)


async def wait_port(port: int, timeout: float = 30.0, *, proc: asyncio.subprocess.Process | None = None,
                    log: Path | None = None) -> None:
    """Until something listens on port; fails at once (with the log's tail) if `proc` has exited."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if proc is not None and proc.returncode is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            raise AssertionError(f"orderd exited with {proc.returncode} before listening:\n{tail}")
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def start_orderd_process(odoo_url: str, relay_port: int, store_url: str, *, log: Path | None = None,
                               **variables: str) -> tuple[asyncio.subprocess.Process, int]:
    """`orderd serve` in its own process, configured by ORDERD_* variables (e.g. smtp_hostname="…" sets
    ORDERD_SMTP_HOSTNAME); its output goes to `log` when given. Returns it and its SMTP port."""
    smtp_port, http_port = _free_port_pair(2)
    env = dict(os.environ, ORDERD_SMTP_LISTEN=f"127.0.0.1:{smtp_port}", ORDERD_HTTP_LISTEN=f"127.0.0.1:{http_port}",
               ORDERD_ODOO_URL=odoo_url, ORDERD_RELAY_PORT=str(relay_port), ORDERD_STORE_URL=store_url,
               ORDERD_LOG_FORMAT="json", **{f"ORDERD_{k.upper()}": v for k, v in variables.items()})
    if log is None:
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "orderd.cli", "serve", env=env,
                                                    stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
    else:
        with log.open("wb") as out:  # a file, not a pipe: nobody has to drain it
            proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "orderd.cli", "serve", env=env,
                                                        stdout=out, stderr=asyncio.subprocess.STDOUT)
    try:
        await wait_port(smtp_port, 60, proc=proc, log=log)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    return proc, smtp_port


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return predicate()
