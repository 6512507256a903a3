"""Hostile input: SMTP smuggling, MIME bombs, connection floods, and random MIME and bytes (hypothesis).

Every message must get 250, 4xx or 5xx as a policy answer; never a second message smuggled in, never an
internal error.
"""

from __future__ import annotations

import asyncio
import smtplib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import CATALOG, _free_port_pair, odoo_search_read, order_email, smtp_send
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import odoosim
from odoosim import RunningSim
from orderd import config as config_mod
from orderd.app import App
from orderd.catalog import Catalog
from orderd.config import Config
from orderd_dev.sink import start_sink


async def _raw_session(port: int, commands: list[bytes]) -> list[bytes]:
    """Speak SMTP byte for byte; return every reply line the server sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = [await reader.readline()]
    for command in commands:
        writer.write(command)
        await writer.drain()
    try:
        while line := await asyncio.wait_for(reader.readline(), 10):
            replies.append(line)
    except TimeoutError:
        pass
    writer.close()
    return replies


@pytest.mark.parametrize("fake_end", [b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\n.\n", b"\r\n.\r"])
async def test_smtp_smuggling_never_injects_a_second_message(orderd: App, odoo_sim: RunningSim,
                                                            fake_end: bytes) -> None:
    smuggled = (b"MAIL FROM:<attacker@example.net>\r\nRCPT TO:<orders@mycompany.test>\r\nDATA\r\n"
                b"From: boss@example.com\r\nMessage-ID: <smuggled@example.net>\r\nSubject: order\r\n\r\n"
                b"50 x DC-1013\r\n.\r\n")
    body = (b"From: customer2@example.com\r\nMessage-ID: <carrier@example.com>\r\nSubject: order\r\n\r\n"
            b"1 x DC-1002" + fake_end + smuggled + b"\r\n.\r\n")
    replies = await _raw_session(orderd.smtp_port, [
        b"EHLO attacker.example\r\n", b"MAIL FROM:<customer2@example.com>\r\n",
        b"RCPT TO:<orders@mycompany.test>\r\n", b"DATA\r\n", body, b"QUIT\r\n",
    ])
    data_replies = [r for r in replies if r.startswith(b"250 2.0.0")]
    assert len(data_replies) == 1, replies
    smuggled_orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "smuggled@"]],
                                             ["name"])
    assert smuggled_orders == []
    assert orderd.services is not None
    assert len(await orderd.services.store.entries(limit=10, with_raw=False)) == 1


def _nested(depth: int) -> bytes:
    head = (b"From: customer2@example.com\r\nMessage-ID: <bomb-%d@example.com>\r\nSubject: order\r\n"
            b"MIME-Version: 1.0\r\n" % depth)
    body = b"Content-Type: text/plain\r\n\r\n2 x DC-1002\r\n"
    for level in range(depth):
        boundary = b"b%d" % level
        body = (b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n--" + boundary + b"\r\n" + body
                + b"\r\n--" + boundary + b"--\r\n")
    return head + body


async def test_mime_bombs_are_quarantined_not_opened(orderd: App, odoo_sim: RunningSim) -> None:
    for raw in (_nested(60), _wide(800)):
        code, text = await smtp_send(orderd.smtp_port, raw)
        assert code == 250, text
        assert "not_order" in text
    assert await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "bomb-"]], ["name"]) == []
    assert orderd.services is not None
    entries = await orderd.services.store.entries(limit=10, with_raw=False)
    assert {e.state for e in entries} == {"quarantined"}
    assert any("MIME" in " ".join(e.reasons) for e in entries)


def _wide(parts: int) -> bytes:
    head = (b"From: customer2@example.com\r\nMessage-ID: <bomb-wide@example.com>\r\nSubject: order\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=w\r\n\r\n")
    part = b"--w\r\nContent-Type: text/plain\r\n\r\n1 x DC-1002\r\n"
    return head + part * parts + b"--w--\r\n"


async def test_connections_beyond_max_sessions_get_421(make_config: Callable[..., Config]) -> None:
    app = App(make_config(smtp={"listen": "127.0.0.1:0", "max_sessions": 3}))
    await app.start()
    held = []
    try:
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", app.smtp_port)
            assert (await reader.readline()).startswith(b"220")
            held.append(writer)
        reader, writer = await asyncio.open_connection("127.0.0.1", app.smtp_port)
        greeting = await reader.readline()
        assert greeting.startswith(b"421 4.3.2"), greeting
        writer.close()
        held.pop().close()
        await asyncio.sleep(0.1)
        code, text = await smtp_send(app.smtp_port, order_email("1 x DC-1002"))
        assert code == 250, text  # a freed slot is usable again
    finally:
        for writer in held:
            writer.close()
        await app.stop()


# --- property test: random MIME structures and random bytes --------------------------------------------


class BackgroundOrderd:
    """Simulator, sink and orderd on a loop in a thread, so hypothesis can drive it synchronously."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = 0
        self.tmp = tmp
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(60)

    async def _start(self) -> None:
        self.sim = await odoosim.start(odoosim.OdooSim.from_catalog(Catalog.from_file(CATALOG)), "127.0.0.1", 0)
        self.sink = await start_sink(None, "127.0.0.1", 0)
        cfg = config_mod.replace(
            config_mod.load(None, {}),
            smtp={"listen": "127.0.0.1:0", "max_message_size": 200_000},
            http={"listen": f"127.0.0.1:{_free_port_pair()[0]}"},
            odoo={"url": self.sim.url},
            relay={"port": self.sink.port},
            store={"url": f"sqlite:///{self.tmp / 'hostile.sqlite3'}"},
        )
        self.app = App(cfg)
        await self.app.start()
        self.port = self.app.smtp_port

    async def _stop(self) -> None:
        await self.app.stop()
        await self.sink.close()
        await self.sim.close()

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def background_orderd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundOrderd]:
    server = BackgroundOrderd(tmp_path_factory.mktemp("hostile"))
    yield server
    server.close()


_TYPES = ["text/plain", "text/html", "text/csv", "application/pdf", "application/octet-stream",
          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "message/rfc822", "image/png",
          "text/x-bogus", "application/zip"]
_CHARSETS = ["utf-8", "iso-8859-1", "utf-16", "windows-1252", "x-unknown", "utf-7", ""]
_ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "x-uuencode", "binary", ""]
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@st.composite
def _leaf(draw: st.DrawFn) -> bytes:
    ctype = draw(st.sampled_from(_TYPES))
    charset = draw(st.sampled_from(_CHARSETS))
    encoding = draw(st.sampled_from(_ENCODINGS))
    filename = draw(st.one_of(st.none(), _text))
    body = draw(st.one_of(st.binary(max_size=1500),
                          _text.map(lambda t: (t + "\n2 x DC-1002\n").encode("utf-8", "surrogatepass"))))
    header = f"Content-Type: {ctype}" + (f"; charset={charset}" if charset else "")
    if filename is not None:
        header += f'\r\nContent-Disposition: attachment; filename="{filename}"'
    if encoding:
        header += f"\r\nContent-Transfer-Encoding: {encoding}"
    return header.encode("utf-8", "surrogateescape") + b"\r\n\r\n" + body


def _multipart(children: list[bytes]) -> bytes:
    boundary = b"==hyp%d==" % len(children)
    return (b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n"
            + b"".join(b"--" + boundary + b"\r\n" + child + b"\r\n" for child in children)
            + b"--" + boundary + b"--\r\n")


_mime = st.recursive(_leaf(), lambda inner: st.lists(inner, min_size=0, max_size=4).map(_multipart), max_leaves=12)


@st.composite
def _message(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.binary(min_size=0, max_size=3000))  # not even an email
    subject = draw(_text).replace("\r", " ").replace("\n", " ")
    extra = draw(st.lists(st.tuples(st.sampled_from(["Auto-Submitted", "List-Id", "Date", "Reply-To",
                                                      "In-Reply-To", "References", "X-Garbage"]), _text),
                          max_size=3))
    head = f"From: =?utf-8?q?Rand=C3=B3m?= <customer2@example.com>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
    if draw(st.booleans()):
        head += f"Message-ID: <hyp-{draw(st.integers(0, 10**9))}@example.com>\r\n"
    for name, value in extra:
        head += f"{name}: {value.replace(chr(13), ' ').replace(chr(10), ' ')}\r\n"
    return head.encode("utf-8", "surrogateescape") + draw(_mime)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(raw=_message())
def test_random_mime_and_bytes_never_crash_a_session(background_orderd: BackgroundOrderd, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", background_orderd.port, timeout=60) as client:
        try:
            client.sendmail("customer2@example.com", ["orders@mycompany.test"], raw)
            code, text = 250, b""
        except smtplib.SMTPDataError as exc:
            code, text = exc.smtp_code, exc.smtp_error
        assert code == 250 or (code == 552 and len(raw) > 200_000), (code, text)
        assert client.noop()[0] == 250  # the session is still alive and sane
