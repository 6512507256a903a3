"""The outbox sender against a real SMTP sink over sockets: delivered once, retried, failed, resumed."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from email import message_from_bytes
from pathlib import Path

import aiosmtplib
import pytest

from orderd.config import RelayConfig
from orderd.metrics import REGISTRY
from orderd.outbox import OutboxSender, backoff_delay, deliver
from orderd.records import Envelope, Message
from orderd.store import OutgoingMail, Store, open_store
from orderd_dev.sink import start_sink

FROM = "orders@mycompany.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def relay_for(port: int, **kw: object) -> RelayConfig:
    return RelayConfig(host="127.0.0.1", port=port, timeout=5.0, **kw)  # type: ignore[arg-type]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def queue_reply(store: Store, n: int, to: str = "buyer@customer.test") -> str:
    raw = (f"From: {to}\r\nTo: {FROM}\r\nSubject: Order {n}\r\nMessage-ID: <o{n}@customer.test>\r\n\r\n"
           "2 x DC-1001\r\n").encode()
    message = Message.from_bytes(raw, Envelope(mail_from=to, rcpt_tos=(FROM,)))
    await store.journal(message)
    reply = (f"From: {FROM}\r\nTo: {to}\r\nSubject: [S{n:05d}] Re: Order {n}\r\n"
             f"Message-ID: <reply-{n}@mx.mycompany.test>\r\n\r\nThank you.\r\n").encode()
    await store.record_outcome(
        message.key, decision="order", order_id=n, order_name=f"S{n:05d}", reasons=[], timings={},
        outgoing=[OutgoingMail(mail_from=FROM, rcpt_tos=[to], raw=reply, kind="reply", order_name=f"S{n:05d}")],
    )
    return message.key


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = await open_store(f"sqlite:///{tmp_path / 'orderd.sqlite3'}")
    yield s
    await s.close()


def subjects(messages: list) -> list[str]:  # type: ignore[type-arg]
    return [str(message_from_bytes(raw)["Subject"]) for _, raw in messages]


async def test_delivered_once_and_archived(store: Store, tmp_path: Path) -> None:
    sink = await start_sink(tmp_path / "outbox")
    sender = OutboxSender(store, relay_for(sink.port), base_delay=0.05)
    await sender.start()
    sent_before = metric("orderd_outbox_sent_total")
    try:
        key = await queue_reply(store, 1)
        sender.wake()
        await eventually(lambda: _state(store, key, "sent"))
    finally:
        await sender.stop()
        await sink.close()
    assert subjects(sink.messages) == ["[S00001] Re: Order 1"]
    envelope, _ = sink.messages[0]
    assert envelope.mail_from == FROM and envelope.rcpt_tos == ["buyer@customer.test"]
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1 and b"X-Original-To: buyer@customer.test" in files[0].read_bytes()
    [item] = await store.outbox_items(key=key)
    assert item.state == "sent" and b"Thank you." in item.mail.raw  # the archive keeps the bytes sent
    assert metric("orderd_outbox_sent_total") == sent_before + 1
    assert metric("orderd_outbox_depth") == 0


async def _state(store: Store, key: str, state: str) -> bool:
    items = await store.outbox_items(key=key)
    return bool(items) and all(i.state == state for i in items)


async def test_relay_down_then_up_delivers_once(store: Store) -> None:
    port = free_port()
    sender = OutboxSender(store, relay_for(port), base_delay=0.05, max_delay=0.2)
    retries_before = metric("orderd_outbox_failures_total", kind="retry")
    await sender.start()
    sink = None
    try:
        keys = [await queue_reply(store, n) for n in (1, 2, 3)]
        sender.wake()

        async def retried() -> bool:
            items = await store.outbox_items()
            return all(i.attempts >= 2 for i in items)

        await eventually(retried)  # nothing listening: connection refused, twice each
        assert (await store.outbox_items())[0].last_error.startswith("SMTPConnectError")  # type: ignore[union-attr]
        sink = await start_sink(None, port=port)
        for key in keys:
            await eventually(lambda key=key: _state(store, key, "sent"))
        await asyncio.sleep(0.3)  # more than max_delay: nothing is sent twice
    finally:
        await sender.stop()
        if sink is not None:
            await sink.close()
    assert sorted(subjects(sink.messages)) == ["[S00001] Re: Order 1", "[S00002] Re: Order 2",
                                               "[S00003] Re: Order 3"]
    assert metric("orderd_outbox_failures_total", kind="retry") >= retries_before + 6


async def test_temporary_refusal_is_retried(store: Store) -> None:
    sink = await start_sink(None, reject={"*": 451})
    sender = OutboxSender(store, relay_for(sink.port), base_delay=0.05, max_delay=0.1)
    await sender.start()
    try:
        key = await queue_reply(store, 1)
        sender.wake()

        async def refused_twice() -> bool:
            [item] = await store.outbox_items(key=key)
            return item.attempts >= 2

        await eventually(refused_twice)
        [item] = await store.outbox_items(key=key)
        assert item.state == "pending" and "451 4.3.0" in (item.last_error or "")
        sink.reject.clear()
        await eventually(lambda: _state(store, key, "sent"))
    finally:
        await sender.stop()
        await sink.close()
    assert len(sink.messages) == 1


async def test_permanent_refusal_fails_without_retry(store: Store) -> None:
    sink = await start_sink(None, reject={"gone@customer.test": 550})
    sender = OutboxSender(store, relay_for(sink.port), base_delay=0.05)
    permanent_before = metric("orderd_outbox_failures_total", kind="permanent")
    await sender.start()
    try:
        bad = await queue_reply(store, 1, to="gone@customer.test")
        good = await queue_reply(store, 2, to="buyer@customer.test")
        sender.wake()
        await eventually(lambda: _state(store, bad, "failed"))
        await eventually(lambda: _state(store, good, "sent"))
        await asyncio.sleep(0.2)
    finally:
        await sender.stop()
        await sink.close()
    [item] = await store.outbox_items(key=bad)
    assert item.attempts == 1  # not retried
    assert "550 5.1.1 recipient rejected (sink)" in (item.last_error or "")
    assert "gone@customer.test" in (item.last_error or "")
    assert [i.id for i in await store.outbox_items(state="failed")] == [item.id]
    assert metric("orderd_outbox_failures_total", kind="permanent") == permanent_before + 1
    assert subjects(sink.messages) == ["[S00002] Re: Order 2"]


async def test_gives_up_after_max_attempts(store: Store) -> None:
    port = free_port()
    sender = OutboxSender(store, relay_for(port), base_delay=0.01, max_delay=0.02, max_attempts=3)
    await sender.start()
    try:
        key = await queue_reply(store, 1)
        sender.wake()
        await eventually(lambda: _state(store, key, "failed"))
    finally:
        await sender.stop()
    [item] = await store.outbox_items(key=key)
    assert item.attempts == 3 and (item.last_error or "").startswith("gave up after 3 attempts")


async def test_restart_sends_pending_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orderd.sqlite3'}"
    port = free_port()
    store = await open_store(url)
    sender = OutboxSender(store, relay_for(port), base_delay=0.05, max_delay=0.1)
    await sender.start()
    keys = [await queue_reply(store, n) for n in (1, 2)]
    sender.wake()

    async def tried() -> bool:
        return all(i.attempts >= 1 for i in await store.outbox_items())

    await eventually(tried)  # relay down: still pending when orderd stops
    await sender.stop()
    await store.close()

    sink = await start_sink(None, port=port)
    store = await open_store(url)
    sender = OutboxSender(store, relay_for(port), base_delay=0.05, max_delay=0.1)
    await sender.start()
    try:
        for key in keys:
            await eventually(lambda key=key: _state(store, key, "sent"))
        await asyncio.sleep(0.3)
    finally:
        await sender.stop()
        await store.close()
        await sink.close()
    assert sorted(subjects(sink.messages)) == ["[S00001] Re: Order 1", "[S00002] Re: Order 2"]


async def test_relay_auth(store: Store) -> None:
    sink = await start_sink(None, auth=("orderd", "s3cret"))
    try:
        ok = await deliver(relay_for(sink.port, user="orderd", password="s3cret"), FROM, ["a@b.test"],
                           b"Subject: hi\r\n\r\nhello\r\n")
        wrong = await deliver(relay_for(sink.port, user="orderd", password="nope"), FROM, ["a@b.test"],
                              b"Subject: hi\r\n\r\nhello\r\n")
        anonymous = await deliver(relay_for(sink.port), FROM, ["a@b.test"], b"Subject: hi\r\n\r\nhello\r\n")
    finally:
        await sink.close()
    assert ok.status == "sent" and len(sink.messages) == 1
    assert wrong.status == "retry" and "AUTH" in (wrong.detail or "")  # config problem: keep the mail
    assert anonymous.status == "failed" and "530" in (anonymous.detail or "")


async def test_partial_refusal_is_sent_with_note(store: Store) -> None:
    sink = await start_sink(None, reject={"bcc@mycompany.test": 550})
    try:
        result = await deliver(relay_for(sink.port), FROM, ["buyer@customer.test", "bcc@mycompany.test"],
                               b"Subject: hi\r\n\r\nhello\r\n")
    finally:
        await sink.close()
    assert result.status == "sent" and "bcc@mycompany.test" in (result.detail or "")
    assert sink.messages[0][0].rcpt_tos == ["buyer@customer.test"]


async def test_sink_accepts_real_smtp_client(tmp_path: Path) -> None:
    sink = await start_sink(tmp_path)
    try:
        await aiosmtplib.send(b"Subject: x\r\n\r\nbody\r\n", sender="a@b.test", recipients=["c@d.test"],
                              hostname="127.0.0.1", port=sink.port)
    finally:
        await sink.close()
    assert len(list(tmp_path.glob("*.eml"))) == 1 and not list(tmp_path.glob(".*.tmp"))


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff_delay(n, 5.0, 900.0) for n in range(1, 12)]
    assert 2.5 <= delays[0] <= 5.0
    assert 40 <= delays[4] <= 80
    assert all(d <= 900.0 for d in delays) and delays[-1] >= 450.0


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command line."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
@pytest.mark.parametrize("mode", ["starttls", "implicit"])
async def test_relay_tls_modes(mode: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    # The relay's certificate is verified against the system trust store; OpenSSL reads SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    sink = await start_sink(None, tls=mode, tls_context=server_context, auth=("orderd", "pw"))
    try:
        result = await deliver(relay_for(sink.port, tls=mode, user="orderd", password="pw"), FROM, ["a@b.test"],
                               b"Subject: over TLS\r\n\r\nhello\r\n")
        # A relay whose certificate cannot be verified is a retry, not a silent plaintext fallback.
        monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")
        untrusted = await deliver(relay_for(sink.port, tls=mode, user="orderd", password="pw"), FROM, ["a@b.test"],
                                  b"Subject: over TLS\r\n\r\nhello\r\n")
    finally:
        await sink.close()
    assert result.status == "sent" and len(sink.messages) == 1
    assert untrusted.status == "retry" and "CERTIFICATE_VERIFY_FAILED" in (untrusted.detail or "")
