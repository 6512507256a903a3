"""The `orderd` command as a user runs it: check, demo, parse."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import smtplib
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

from conftest import ROOT, _free_port_pair

from odoosim import RunningSim
from orderd.cli import _parser
from orderd_dev.sink import RunningSink


def _orderd(*args: str, env: dict[str, str] | None = None, timeout: float = 120, cwd: Path = ROOT,
            replace_env: bool = False) -> subprocess.CompletedProcess[str]:
    environment = dict(env or {}) if replace_env else {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "orderd.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=environment, cwd=cwd)


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


def _no_json_logs(proc: subprocess.CompletedProcess[str]) -> None:
    lines = (proc.stdout + proc.stderr).splitlines()
    assert not [line for line in lines if line.lstrip().startswith("{")], proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


async def test_check_reports_every_configuration_problem_at_once_and_unknown_variables(tmp_path: Path) -> None:
    env = {"ORDERD_SMTP_MAX_SESSIONS": "0", "ORDERD_ODOO_URL": "ftp://odoo", "ORDERD_RELAY_PORT": "two",
           "ORDERD_SMTPLISTEN": "127.0.0.1:25", "ORDERD_STORE_URL": f"sqlite:///{tmp_path / 'never.sqlite3'}"}
    proc = await asyncio.to_thread(_orderd, "check", env=env)
    print(proc.stderr)
    assert proc.returncode == 1
    for named in ("smtp.max_sessions", "odoo.url", "ORDERD_RELAY_PORT", "ORDERD_SMTPLISTEN"):
        assert named in proc.stderr, named
    assert len([line for line in proc.stderr.splitlines() if line.startswith("config: FAILED")]) == 4
    assert not (tmp_path / "never.sqlite3").exists()
    _no_json_logs(proc)


async def test_check_creates_nothing_and_says_what_is_wrong_in_plain_words(
    tmp_path: Path, odoo_sim: RunningSim, relay: RunningSink
) -> None:
    store = tmp_path / "not" / "yet" / "orderd.sqlite3"
    env = {"ORDERD_ODOO_URL": odoo_sim.url, "ORDERD_RELAY_PORT": str(relay.port),
           "ORDERD_STORE_URL": f"sqlite:///{store}", "ORDERD_LOG_FORMAT": "json"}
    ok = await asyncio.to_thread(_orderd, "check", env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "store: ok" in ok.stdout and "does not exist yet" in ok.stdout
    assert not (tmp_path / "not").exists()  # neither the file nor its directory
    _no_json_logs(ok)

    # An HTTP server where the relay should be: it accepts and never greets.
    http_port = odoo_sim.url.rsplit(":", 1)[1]
    not_smtp = await asyncio.to_thread(_orderd, "check", env={**env, "ORDERD_RELAY_PORT": http_port,
                                                              "ORDERD_RELAY_TIMEOUT": "2"})
    print(not_smtp.stdout)
    assert not_smtp.returncode == 1
    relay_line = next(line for line in not_smtp.stdout.splitlines() if line.startswith("relay:"))
    assert "no SMTP greeting" in relay_line and "is it an SMTP server?" in relay_line, relay_line
    assert "TimeoutError" not in not_smtp.stdout
    _no_json_logs(not_smtp)

    wrong_db = await asyncio.to_thread(_orderd, "check", env={**env, "ORDERD_ODOO_DB": "ordres"})
    print(wrong_db.stdout)
    assert wrong_db.returncode == 1
    odoo_line = next(line for line in wrong_db.stdout.splitlines() if line.startswith("odoo:"))
    assert "has no database 'ordres'" in odoo_line and "odoo.db" in odoo_line, odoo_line
    assert "password" not in odoo_line
    _no_json_logs(wrong_db)
    assert not (tmp_path / "not").exists()


async def test_serve_names_the_setting_when_its_port_is_taken(tmp_path: Path, odoo_sim: RunningSim,
                                                              relay: RunningSink) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"ORDERD_ODOO_URL": odoo_sim.url, "ORDERD_RELAY_PORT": str(relay.port),
               "ORDERD_STORE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}", "ORDERD_SMTP_LISTEN": f"127.0.0.1:{port}",
               "ORDERD_HTTP_LISTEN": "127.0.0.1:0", "ORDERD_LOG_LEVEL": "error"}
        proc = await asyncio.to_thread(_orderd, "serve", env=env)
    print(proc.stderr)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        f"orderd serve: 127.0.0.1:{port} is already in use: set smtp.listen (or ORDERD_SMTP_LISTEN) to a free address")
    assert "Traceback" not in proc.stderr


async def test_demo_names_the_flag_when_its_port_is_taken(tmp_path: Path) -> None:
    assert _parser().parse_args(["demo"]).odoo_port != 8069  # a local Odoo's port is left alone
    ports = [str(p) for p in _free_port_pair(4)]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = str(taken.getsockname()[1])
        for flag in ("--odoo-port", "--smtp-port"):
            args = dict(zip(("--smtp-port", "--http-port", "--odoo-port", "--relay-port"), ports, strict=True))
            args[flag] = busy
            proc = await asyncio.to_thread(_orderd, "demo", "--once", *[x for kv in args.items() for x in kv],
                                           "--catalog", str(ROOT / "fixtures" / "catalog.json"),
                                           "--emails", str(tmp_path), cwd=tmp_path)
            print(proc.stderr)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert proc.stderr.strip().splitlines()[-1] == (
                f"orderd demo: 127.0.0.1:{busy} is already in use: choose another port with {flag}")
            assert "Traceback" not in proc.stderr


async def test_demo_honours_orderd_variables_and_outbox_and_replay_find_its_store(tmp_path: Path) -> None:
    ports = [str(p) for p in _free_port_pair(4)]
    token = "a-console-token-for-the-demo"
    emails = tmp_path / "emails"
    emails.mkdir()
    for name in sorted(p.name for p in (ROOT / "fixtures" / "emails").glob("*.eml"))[:3]:
        (emails / name).write_bytes((ROOT / "fixtures" / "emails" / name).read_bytes())
    env = {**os.environ, "ORDERD_HTTP_CONSOLE_TOKEN": token}
    env.pop("ORDERD_STORE_URL", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orderd.cli", "demo", "--smtp-port", ports[0], "--http-port", ports[1],
        "--odoo-port", ports[2], "--relay-port", ports[3], "--catalog", str(ROOT / "fixtures" / "catalog.json"),
        "--emails", str(emails), cwd=tmp_path, env=env,
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
        assert f"Console: http://127.0.0.1:{ports[1]}/console" in "".join(lines)

        def messages() -> dict:
            url = f"http://127.0.0.1:{ports[1]}/api/messages?token={token}"
            with urllib.request.urlopen(url, timeout=30) as response:
                return json.loads(response.read())

        assert len((await asyncio.to_thread(messages))["messages"]) == 3  # the variable reached the console
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)

    plain = {k: v for k, v in os.environ.items() if k != "ORDERD_STORE_URL"}
    listed = await asyncio.to_thread(_orderd, "outbox", env=plain, cwd=tmp_path, replace_env=True)
    assert listed.returncode == 0, listed.stderr
    assert "using the demo's" in listed.stderr
    assert len(listed.stdout.strip().splitlines()) > 1, listed.stdout  # the header and the demo's mail
    assert not (tmp_path / "var" / "orderd.sqlite3").exists()  # no empty store made beside it

    db = sqlite3.connect(tmp_path / "var" / "demo.sqlite3")
    key, order = db.execute("SELECT key, order_name FROM journal WHERE order_name IS NOT NULL LIMIT 1").fetchone()
    db.close()
    replayed = await asyncio.to_thread(_orderd, "replay", key[:12], env=plain, cwd=tmp_path, replace_env=True)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert f"already done as {order}" in replayed.stdout
