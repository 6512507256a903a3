"""Faults at every peer: the answer is 451 (never a 250 without a record), and nothing is lost."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import aiosmtplib
import pytest
from conftest import odoo_search_read, order_email, smtp_send

from odoosim import RunningSim
from orderd.app import App
from orderd.config import Config
from orderd_dev.sink import RunningSink


async def _orders_for(sim: RunningSim, message_id: str) -> list[dict]:
    return await odoo_search_read(sim.url, "sale.order", [["origin", "ilike", message_id.strip("<>")]], ["name"])


async def test_odoo_http500_timeout_and_drop_are_451_then_one_order(make_config: Callable[..., Config],
                                                                      odoo_sim: RunningSim) -> None:
    app = App(make_config(odoo={"url": odoo_sim.url, "timeout": 1.0}))
    await app.start()
    try:
        for mode in ("http500", "timeout", "drop"):
            message_id = f"<fault-{mode}@example.com>"
            raw = order_email("2 x DC-1009", message_id=message_id)
            odoo_sim.set_faults(mode=mode, hold=5)
            code, text = await smtp_send(app.smtp_port, raw)
            print(f"odoo {mode}: {code} {text}")
            assert (code, text.split()[0]) == (451, "4.3.0"), text
            odoo_sim.set_faults(mode=None)
            code, text = await smtp_send(app.smtp_port, raw)
            assert code == 250, text
            assert len(await _orders_for(odoo_sim, message_id)) == 1
    finally:
        await app.stop()


async def test_slow_odoo_within_the_timeout_still_answers_250(orderd: App, odoo_sim: RunningSim) -> None:
    odoo_sim.set_faults(latency=0.2)
    code, text = await smtp_send(orderd.smtp_port, order_email("1 x DC-1009", message_id="<slow-1@example.com>"))
    odoo_sim.set_faults(latency=0.0)
    assert code == 250, text


async def test_store_locked_is_451_and_nothing_is_recorded_as_done(tmp_path: Path,
                                                                    make_config: Callable[..., Config],
                                                                    odoo_sim: RunningSim) -> None:
    db_path = tmp_path / "locked.sqlite3"
    app = App(make_config(store={"url": f"sqlite:///{db_path}?busy_timeout=0.5"}))
    await app.start()
    try:
        raw = order_email("1 x DC-1018", message_id="<locked-1@example.com>")
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # another process holding the database: writes cannot commit
        try:
            code, text = await smtp_send(app.smtp_port, raw)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        print(f"store locked: {code} {text}")
        assert (code, text.split()[0]) == (451, "4.3.0"), text
        assert await _orders_for(odoo_sim, "<locked-1@example.com>") == []
        code, text = await smtp_send(app.smtp_port, raw)
        assert code == 250, text
        assert len(await _orders_for(odoo_sim, "<locked-1@example.com>")) == 1
    finally:
        await app.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB filesystem (tmpfs) that the test can fill up."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)], check=True)
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:  # to the last byte
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)


async def test_store_on_a_full_disk_is_451_then_recovers(small_disk: Path, make_config: Callable[..., Config],
                                                          odoo_sim: RunningSim) -> None:
    app = App(make_config(store={"url": f"sqlite:///{small_disk / 'orderd.sqlite3'}"}))
    await app.start()
    filler = small_disk / "filler"
    try:
        _fill(filler)
        raw = order_email("1 x DC-1018\n" + "a line that makes the message bigger than a page\n" * 200,
                          message_id="<full-1@example.com>")
        code, text = await smtp_send(app.smtp_port, raw)
        print(f"store on a full disk: {code} {text}")
        assert (code, text.split()[0]) == (451, "4.3.0"), text
        assert await _orders_for(odoo_sim, "<full-1@example.com>") == []
        filler.unlink()
        code, text = await smtp_send(app.smtp_port, raw)
        assert code == 250, text
        assert len(await _orders_for(odoo_sim, "<full-1@example.com>")) == 1
    finally:
        await app.stop()


async def test_relay_down_still_accepts_and_keeps_the_reply(orderd: App, relay: RunningSink) -> None:
    await relay.close()
    code, text = await smtp_send(orderd.smtp_port, order_email("1 x DC-1009", message_id="<relay-down@example.com>"))
    assert code == 250, text
    assert orderd.services is not None
    assert await orderd.services.store.outbox_depth() == 1  # kept for the sender's retries


async def test_beyond_the_pipeline_cap_a_sender_is_told_to_retry(make_config: Callable[..., Config],
                                                                  odoo_sim: RunningSim) -> None:
    app = App(make_config(pipeline={"max_concurrent": 1, "queue_wait": 0.3}))
    await app.start()
    try:
        odoo_sim.set_faults(latency=0.3)  # the first message holds the only pipeline for a few seconds
        first = asyncio.create_task(smtp_send(app.smtp_port, order_email("1 x DC-1009", message_id="<cap-1@x.com>")))
        await asyncio.sleep(0.5)
        code, text = await smtp_send(app.smtp_port, order_email("1 x DC-1009", message_id="<cap-2@x.com>"))
        print(f"beyond the cap: {code} {text}")
        assert (code, text.split()[0]) == (451, "4.3.2"), text
        assert (await first)[0] == 250
    finally:
        odoo_sim.set_faults(latency=0.0)
        await app.stop()


def _inject_store_fault(db_path: Path, table: str) -> sqlite3.Connection:
    """Make the running server's own SQLite store fail on every insert into `table`, as a corrupt
    database or a bug would: a trigger raises a constraint error, which the store does not treat as
    "unavailable" (it is not a lock or a full disk), so it reaches the SMTP handler unforeseen."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute(f"CREATE TRIGGER injected_fault BEFORE INSERT ON {table}"
               " BEGIN SELECT RAISE(ABORT, 'injected fault in the store'); END")
    return db


def _neutral(text: str) -> None:
    for internal in ("Error", "injected", "Integrity", "sqlite", "trigger", "Traceback", "("):
        assert internal not in text, text


async def test_a_store_fault_while_journaling_is_451_and_the_sender_keeps_the_mail(
        tmp_path: Path, make_config: Callable[..., Config], odoo_sim: RunningSim) -> None:
    db_path = tmp_path / "faulty.sqlite3"
    app = App(make_config(store={"url": f"sqlite:///{db_path}"}))
    await app.start()
    raw = order_email("1 x DC-1009", message_id="<journal-fault@example.com>")
    second = order_email("2 x DC-1009", message_id="<journal-fault-2@example.com>")
    try:
        db = _inject_store_fault(db_path, "journal")
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=app.smtp_port, timeout=30)
        await client.connect()
        try:
            with pytest.raises(aiosmtplib.SMTPResponseException) as failed:
                await client.sendmail("customer2@example.com", ["orders@mycompany.test"], raw)
            print(f"journal fault: {failed.value.code} {failed.value.message}")
            assert (failed.value.code, failed.value.message.split()[0]) == (451, "4.3.0")
            _neutral(failed.value.message)
            # Nothing was journaled, so the 451 is what keeps the mail: in the sender's queue.
            assert db.execute("SELECT count(*) FROM journal").fetchone()[0] == 0
            assert await _orders_for(odoo_sim, "<journal-fault@example.com>") == []
            db.execute("DROP TRIGGER injected_fault")
            # The same session goes on: the fault ended one transaction, not the conversation.
            _refused, text = await client.sendmail("customer2@example.com", ["orders@mycompany.test"], second)
            assert text.startswith("2.0.0 accepted as S0"), text
        finally:
            await client.quit()
        code, text = await smtp_send(app.smtp_port, raw)  # the sender's retry
        assert code == 250, text
        assert len(await _orders_for(odoo_sim, "<journal-fault@example.com>")) == 1
        db.close()
    finally:
        await app.stop()


async def test_a_store_fault_after_the_order_is_451_the_mail_stays_journaled_and_one_order_is_made(
        tmp_path: Path, make_config: Callable[..., Config], odoo_sim: RunningSim) -> None:
    db_path = tmp_path / "faulty.sqlite3"
    app = App(make_config(store={"url": f"sqlite:///{db_path}"}))
    await app.start()
    raw = order_email("1 x DC-1009", message_id="<outcome-fault@example.com>")
    try:
        db = _inject_store_fault(db_path, "outbox")  # recording the outcome (and its reply) fails
        code, text = await smtp_send(app.smtp_port, raw)
        print(f"outcome fault: {code} {text}")
        assert (code, text.split()[0]) == (451, "4.3.0"), text
        _neutral(text)
        state, stored = db.execute("SELECT state, raw FROM journal").fetchone()
        assert state != "done" and bytes(stored).replace(b"\r\n", b"\n") == raw  # journaled, not done
        db.execute("DROP TRIGGER injected_fault")
        db.close()
        code, text = await smtp_send(app.smtp_port, raw)  # the sender's retry resumes the order
        assert code == 250, text
        assert len(await _orders_for(odoo_sim, "<outcome-fault@example.com>")) == 1
    finally:
        await app.stop()
