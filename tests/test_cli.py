"""The `orderd` command as a user runs it: check, demo, parse."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import smtplib
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, _free_port_pair

from odoosim import RunningSim
from orderd.sink import RunningSink


def _orderd(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orderd.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=ROOT)


async def test_check_reaches_every_peer_and_names_the_one_that_fails(
    tmp_path: Path, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    env = {"ORDERD_ODOO_URL": odoo_sim.url, "ORDERD_RELAY_PORT": str(relay.port),
           "ORDERD_STORE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}"}
    ok = await asyncio.to_thread(_orderd, "check", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "odoo: ok" in ok.stdout and "relay: ok" in ok.stdout and "store: ok" in ok.stdout

    dead_port = str(_free_port_pair()[0])
    relay_down = await asyncio.to_thread(_orderd, "check", env={**env, "ORDERD_RELAY_PORT": dead_port})
    assert relay_down.returncode != 0
    assert "relay: FAILED" in relay_down.stdout and "odoo: ok" in relay_down.stdout

    wrong_password = await asyncio.to_thread(_orderd, "check", env={**env, "ORDERD_ODOO_PASSWORD": "nope"})
    assert wrong_password.returncode != 0
    assert "odoo: FAILED" in wrong_password.stdout and "admin" in wrong_password.stdout


def test_parse_prints_the_contract_json(tmp_path: Path) -> None:
    eml = tmp_path / "order.eml"
    eml.write_bytes(b"From: Claire Martin <customer2@example.com>\r\nTo: orders@mycompany.test\r\n"
                    b"Subject: order\r\nMessage-ID: <p1@example.com>\r\nDate: Fri, 20 Nov 2026 10:00:00 +0100\r\n"
                    b"\r\nHello,\r\n\r\n2 x DC-1001\r\n3 x DC-1004\r\n\r\nPO: PO-77\r\n")
    proc = _orderd("parse", str(eml))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert set(report) >= {"file", "message_id", "decision", "reasons", "language", "customer", "lines",
                           "unresolved", "client_order_ref", "commitment_date", "thread"}
    assert report["message_id"] == "<p1@example.com>"
    assert report["customer"] == {"email": "customer2@example.com", "name": "Claire Martin", "known": True}
    assert [(line["default_code"], line["qty"]) for line in report["lines"]] == [("DC-1001", 2), ("DC-1004", 3)]
    assert report["decision"] == "order"


def test_parse_names_a_missing_file() -> None:
    proc = _orderd("parse", "no-such-file.eml")
    assert proc.returncode != 0
    assert "no-such-file.eml" in proc.stderr


async def test_demo_prints_its_table_and_keeps_answering(tmp_path: Path) -> None:
    ports = [str(p) for p in _free_port_pair(4)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orderd.cli", "demo", "--smtp-port", ports[0], "--http-port", ports[1],
        "--odoo-port", ports[2], "--relay-port", ports[3], cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 300)).decode()
            assert line, "demo exited early:\n" + "".join(lines)
            lines.append(line)
            if line.startswith("Serving"):
                break
        table = [line for line in lines if ".eml" in line]
        assert len(table) == len(list((ROOT / "fixtures" / "emails").glob("*.eml")))
        assert any(" 250 " in line and " order " in line and "S0" in line for line in table), "".join(lines)

        def send() -> tuple[int, bytes]:
            with smtplib.SMTP("127.0.0.1", int(ports[0]), timeout=60) as client:
                client.sendmail("customer2@example.com", ["orders@mycompany.test"],
                                b"From: customer2@example.com\r\nSubject: order\r\n"
                                b"Message-ID: <demo-manual@example.com>\r\n\r\n2 x DC-1002\r\n")
                return client.noop()

        code, _ = await asyncio.to_thread(send)
        assert code == 250
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)


async def test_replay_failed_reruns_a_message_once_odoo_is_back(tmp_path: Path, odoo_sim: RunningSim,
                                                                relay: RunningSink) -> None:
    from conftest import odoo_search_read, order_email, smtp_send, start_orderd_process

    store = f"sqlite:///{tmp_path / 'replay.sqlite3'}"
    proc, port = await start_orderd_process(odoo_sim.url, relay.port, store)
    try:
        odoo_sim.set_faults(mode="http500")
        code, _ = await smtp_send(port, order_email("2 x DC-1009", message_id="<replay-1@example.com>"))
        assert code == 451
    finally:
        proc.terminate()
        await proc.wait()
    odoo_sim.set_faults(mode=None)
    env = {"ORDERD_ODOO_URL": odoo_sim.url, "ORDERD_RELAY_PORT": str(relay.port), "ORDERD_STORE_URL": store}
    replayed = await asyncio.to_thread(_orderd, "replay", "--failed", env=env)
    print(replayed.stdout)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert ": done as S0" in replayed.stdout
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "replay-1@"]], ["name"])
    assert len(orders) == 1
    again = await asyncio.to_thread(_orderd, "replay", "--failed", env=env)
    assert again.returncode == 0 and "done" not in again.stdout  # nothing failed any more
