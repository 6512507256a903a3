"""A small SMTP sink: accepts mail and writes each message to a directory as a .eml file.

`orderd demo` uses it as the relay (127.0.0.1:2526 → var/outbox/), and tests use it as a real relay
that can be told to refuse recipients with 4xx/5xx answers, so relay failures travel over a socket
exactly as they would from Postfix. It runs on the caller's event loop (no Controller thread).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import ssl
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

# Key in `reject` that applies to every recipient (the relay refusing everything).
EVERYONE = "*"

_REPLIES = {
    4: "4.3.0 temporarily unable to accept mail for this recipient (sink)",
    5: "5.1.1 recipient rejected (sink)",
}


@dataclass
class SinkHandler:
    directory: Path | None
    reject: dict[str, int] = field(default_factory=dict)
    messages: list[tuple[Envelope, bytes]] = field(default_factory=list)
    _counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _code_for(self, address: str) -> int | None:
        return self.reject.get(address.lower(), self.reject.get(EVERYONE))

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        code = self._code_for(address)
        if code is not None:
            return f"{code} {_REPLIES.get(code // 100, '5.0.0 rejected (sink)')}: <{address}>"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append((envelope, raw))
        if self.directory is not None:
            await asyncio.to_thread(self._write, envelope, raw)
        return "250 2.0.0 accepted by sink"

    def _write(self, envelope: Envelope, raw: bytes) -> None:
        assert self.directory is not None
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        name = f"{stamp}-{os.getpid()}-{next(self._counter):05d}.eml"
        # Delivery headers as a mailbox would add them, so a .eml says who it was for.
        prefix = (f"Return-Path: <{envelope.mail_from}>\r\n"
                  f"X-Original-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(prefix + raw)
        # Rename only once complete: a reader polling the directory never sees half a message.
        os.replace(tmp, self.directory / name)


class _Authenticator:
    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
              and auth_data.password == self.password)
        return AuthResult(success=ok, handled=False)


@dataclass
class RunningSink:
    server: asyncio.base_events.Server
    handler: SinkHandler
    host: str
    port: int

    @property
    def messages(self) -> list[tuple[Envelope, bytes]]:
        return self.handler.messages

    @property
    def reject(self) -> dict[str, int]:
        """Mutable: tests change what the sink refuses while it runs."""
        return self.handler.reject

    async def close(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def start_sink(directory: Path | None, host: str = "127.0.0.1", port: int = 0, *,
                     reject: dict[str, int] | None = None, auth: tuple[str, str] | None = None,
                     hostname: str = "sink.localhost", tls: str = "none",
                     tls_context: ssl.SSLContext | None = None) -> RunningSink:
    """Listen on host:port (0: any free port) and keep every message received.

    `reject` maps a recipient address (or "*" for all) to the SMTP code the sink answers at RCPT,
    e.g. {"bad@x.test": 550} or {"*": 451}. `auth=(user, password)` requires AUTH (without TLS,
    since this is a loopback test relay). `tls="starttls"` offers STARTTLS, `tls="implicit"` speaks TLS
    from the first byte (port 465 style); both need `tls_context` with a certificate loaded.
    `directory=None` keeps messages in memory only."""
    if tls != "none" and tls_context is None:
        raise ValueError(f"tls={tls!r} needs a tls_context with a certificate")
    handler = SinkHandler(directory=directory, reject=dict(reject or {}))
    kwargs: dict[str, Any] = {}
    if auth is not None:
        kwargs.update(auth_required=True, auth_require_tls=False, authenticator=_Authenticator(*auth))
    if tls == "starttls":
        kwargs.update(tls_context=tls_context)

    def protocol() -> SMTP:
        with warnings.catch_warnings():
            # AUTH without TLS is what a loopback test relay is for; aiosmtpd warns on every session.
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(handler, hostname=hostname, enable_SMTPUTF8=True, decode_data=False, **kwargs)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(protocol, host=host, port=port, reuse_address=True,
                                      ssl=tls_context if tls == "implicit" else None)
    bound_port = server.sockets[0].getsockname()[1]
    return RunningSink(server=server, handler=handler, host=host, port=bound_port)
