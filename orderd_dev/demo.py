"""`orderd demo`: the embedded default, end to end on loopback.

The Odoo simulator seeded from the catalog, an SMTP sink standing in for the relay (it writes each reply
to var/outbox/), and the real orderd server; then every fixture email goes through SMTP and one line per
message says what happened.
"""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import sys
from collections.abc import Awaitable
from email import message_from_bytes, policy
from pathlib import Path
from typing import TypeVar

import aiosmtplib

import odoosim
from orderd import config as config_mod
from orderd import log as log_mod
from orderd.app import App, PortInUse
from orderd.catalog import Catalog
from orderd.records import Message
from orderd_dev.sink import RunningSink, start_sink

ORDER_ADDRESS = "orders@mycompany.test"
T = TypeVar("T")


# What the demo wires itself (its simulator, its sink, its store, the ports of its flags); every other
# ORDERD_* variable applies as it would to `orderd serve`, e.g. ORDERD_HTTP_CONSOLE_TOKEN for the console.
DEMO_OWNS = ("ORDERD_SMTP_LISTEN", "ORDERD_HTTP_LISTEN", "ORDERD_ODOO_URL", "ORDERD_ODOO_DB", "ORDERD_ODOO_USER",
             "ORDERD_ODOO_PASSWORD", "ORDERD_RELAY_HOST", "ORDERD_RELAY_PORT", "ORDERD_RELAY_TLS", "ORDERD_RELAY_USER",
             "ORDERD_RELAY_PASSWORD", "ORDERD_STORE_URL")


class DemoPortInUse(Exception):
    def __init__(self, flag: str, port: int) -> None:
        super().__init__(f"127.0.0.1:{port} is already in use: choose another port with {flag}")


async def run_demo(*, catalog: Path, emails: Path, once: bool, smtp_port: int, http_port: int, odoo_port: int,
                   relay_port: int, var: Path = Path("var")) -> int:
    try:
        return await _run_demo(catalog=catalog, emails=emails, once=once, smtp_port=smtp_port,
                               http_port=http_port, odoo_port=odoo_port, relay_port=relay_port, var=var)
    except DemoPortInUse as exc:
        print(f"orderd demo: {exc}", file=sys.stderr)
        return 1


async def _listening(flag: str, port: int, start: Awaitable[T]) -> T:
    try:
        return await start
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise DemoPortInUse(flag, port) from exc
        raise


async def _run_demo(*, catalog: Path, emails: Path, once: bool, smtp_port: int, http_port: int, odoo_port: int,
                    relay_port: int, var: Path) -> int:
    log_mod.configure("console", "warning")
    base = config_mod.load(None)  # the ORDERD_* variables, as `orderd serve` reads them
    ignored = [name for name in DEMO_OWNS if name in os.environ]
    if ignored:
        print(f"orderd demo: wires these itself and ignores them: {', '.join(ignored)}", file=sys.stderr)
    var.mkdir(parents=True, exist_ok=True)
    store_file = config_mod.sqlite_path(config_mod.DEMO_STORE_URL)
    assert store_file is not None
    for stale in (store_file, Path(f"{store_file}-wal"), Path(f"{store_file}-shm")):
        stale.unlink(missing_ok=True)  # each demo starts from the same state, so its table is reproducible
    sim = await _listening("--odoo-port", odoo_port, odoosim.start(
        odoosim.OdooSim.from_catalog(Catalog.from_file(catalog)), "127.0.0.1", odoo_port))
    try:
        sink = await _listening("--relay-port", relay_port, start_sink(var / "outbox", "127.0.0.1", relay_port))
    except BaseException:
        await sim.close()
        raise
    try:
        return await _serve(base, sim, sink, emails=emails, once=once, smtp_port=smtp_port, http_port=http_port,
                            var=var)
    finally:
        await sink.close()
        await sim.close()


async def _serve(base: config_mod.Config, sim: odoosim.RunningSim, sink: RunningSink, *, emails: Path, once: bool,
                 smtp_port: int, http_port: int, var: Path) -> int:
    cfg = config_mod.replace(
        base,
        smtp={"listen": f"127.0.0.1:{smtp_port}", "addresses": [ORDER_ADDRESS]},
        http={"listen": f"127.0.0.1:{http_port}"},
        odoo={"url": sim.url, "db": "orders", "user": "admin", "password": "admin"},
        relay={"host": "127.0.0.1", "port": sink.port, "tls": "none", "user": "", "password": ""},
        store={"url": config_mod.DEMO_STORE_URL},
    )
    app = App(cfg)
    try:
        await app.start()
    except PortInUse as exc:
        await app.stop()
        flag = "--smtp-port" if exc.key == "smtp.listen" else "--http-port"
        raise DemoPortInUse(flag, smtp_port if exc.key == "smtp.listen" else http_port) from exc
    try:
        print(f"Odoo simulator {sim.url}  relay sink 127.0.0.1:{sink.port} -> {var / 'outbox'}  "
              f"orderd SMTP 127.0.0.1:{app.smtp_port}  HTTP http://127.0.0.1:{app.http_port}/metrics")
        files = sorted(emails.glob("*.eml"))
        print(f"{'email':<44} {'smtp':<5} {'outcome':<13} {'order':<7} reply")
        for path in files:
            print(await _send_one(path, app, sink), flush=True)
        console = (f"Console: http://127.0.0.1:{app.http_port}/console?token=…" if cfg.http.console_token
                   else "Console: set ORDERD_HTTP_CONSOLE_TOKEN (16+ characters) and run the demo again.")
        print(f"\nWhat orderd received and sent stays in {config_mod.DEMO_STORE_URL}: `orderd outbox` and"
              f" `orderd replay ID` find it.\n{console}", flush=True)
        if once:
            return 0
        print(f"\nServing. Try: swaks --server 127.0.0.1:{app.smtp_port} --to {ORDER_ADDRESS} "
              f"--body '2 x DC-1001'   (Ctrl-C to stop)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        return 0
    finally:
        await app.stop()


async def _send_one(path: Path, app: App, sink: RunningSink) -> str:
    raw = path.read_bytes()
    message = Message.from_bytes(raw)
    try:
        _errors, response = await aiosmtplib.send(
            raw, sender=message.sender_email or "demo@example.com", recipients=[ORDER_ADDRESS],
            hostname="127.0.0.1", port=app.smtp_port, timeout=120,
        )
        code, text = "250", response
    except aiosmtplib.SMTPResponseException as exc:
        code, text = str(exc.code), exc.message
    assert app.services is not None
    store = app.services.store
    entry = await store.get(message.key)
    outcome = entry.decision if entry and entry.decision else ("failed" if code != "250" else "?")
    order = entry.order_name if entry and entry.order_name else "-"
    forwards = [item for item in await store.outbox_items(key=message.key) if item.mail.kind == "forward"]
    if forwards:
        reply = f"forwarded to {', '.join(forwards[0].mail.rcpt_tos)}"
    elif order != "-":
        reply = await _reply_for(message.message_id, sink) or text
    else:
        reply = "no automatic reply to the sender"
    return f"{path.name:<44} {code:<5} {outcome:<13} {order:<7} {reply}"


async def _reply_for(message_id: str | None, sink: RunningSink, wait: float = 3.0) -> str | None:
    """The subject of the reply the relay received for this message, once the outbox has sent it."""
    if not message_id:
        return None
    deadline = asyncio.get_running_loop().time() + wait
    while asyncio.get_running_loop().time() < deadline:
        for _envelope, data in sink.messages:
            reply = message_from_bytes(data, policy=policy.default)
            if str(reply.get("In-Reply-To", "")).strip() == message_id:
                return f"-> {reply.get('To')}: {reply.get('Subject')}"
        await asyncio.sleep(0.05)
    return None
