"""`orderd demo`: the embedded default, end to end on loopback.

The Odoo simulator seeded from the catalog, an SMTP sink standing in for the relay (it writes each reply
to var/outbox/), and the real orderd server; then every fixture email goes through SMTP and one line per
message says what happened.
"""

from __future__ import annotations

import asyncio
import signal
from email import message_from_bytes, policy
from pathlib import Path

import aiosmtplib

import odoosim
from orderd import config as config_mod
from orderd import log as log_mod
from orderd.app import App
from orderd.catalog import Catalog
from orderd.records import Message
from orderd.sink import RunningSink, start_sink

ORDER_ADDRESS = "orders@mycompany.test"


async def run_demo(*, catalog: Path, emails: Path, once: bool, smtp_port: int, http_port: int, odoo_port: int,
                   relay_port: int, var: Path = Path("var")) -> int:
    log_mod.configure("console", "warning")
    var.mkdir(parents=True, exist_ok=True)
    store_file = var / "demo.sqlite3"
    for stale in (store_file, Path(f"{store_file}-wal"), Path(f"{store_file}-shm")):
        stale.unlink(missing_ok=True)  # each demo starts from the same state, so its table is reproducible
    sim = await odoosim.start(odoosim.OdooSim.from_catalog(Catalog.from_file(catalog)), "127.0.0.1", odoo_port)
    sink = await start_sink(var / "outbox", "127.0.0.1", relay_port)
    cfg = config_mod.replace(
        config_mod.load(None, {}),
        smtp={"listen": f"127.0.0.1:{smtp_port}", "addresses": [ORDER_ADDRESS]},
        http={"listen": f"127.0.0.1:{http_port}"},
        odoo={"url": sim.url},
        relay={"host": "127.0.0.1", "port": sink.port},
        store={"url": f"sqlite:///{store_file}"},
    )
    app = App(cfg)
    await app.start()
    try:
        print(f"Odoo simulator {sim.url}  relay sink 127.0.0.1:{sink.port} -> {var / 'outbox'}  "
              f"orderd SMTP 127.0.0.1:{app.smtp_port}  HTTP http://127.0.0.1:{app.http_port}/metrics")
        files = sorted(emails.glob("*.eml"))
        print(f"{'email':<44} {'smtp':<5} {'outcome':<13} {'order':<7} reply")
        for path in files:
            print(await _send_one(path, app, sink), flush=True)
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
        await sink.close()
        await sim.close()


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
