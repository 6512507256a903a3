"""The SMTP front: envelope policy and DATA → pipeline → reply code, on aiosmtpd.

Served by `loop.create_server` on the app's own event loop (no Controller thread), so SMTP sessions, the
HTTP endpoint and the outbox share one loop and one shutdown.
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
from collections.abc import Awaitable, Callable

import structlog
from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from orderd import metrics
from orderd.config import SmtpConfig, parse_hostport
from orderd.intake.result import IntakeResult, IntakeStatus
from orderd.records import Envelope

log = structlog.get_logger("orderd.smtp")

Deliver = Callable[[bytes, Envelope], Awaitable[IntakeResult]]

# What a sender hears when something unforeseen fails (a bug, a store failing in a way nobody planned
# for): temporary, so its MTA keeps the message and retries, and nothing about orderd's insides.
INTERNAL_FAULT = "451 4.3.0 temporary local problem, please try again later"


def reply_text(result: IntakeResult) -> str:
    """The SMTP reply for what the intake came to: 250 only once orderd owns the message (promise 1)."""
    match result.status:
        case IntakeStatus.ACCEPTED:
            if result.order_name:
                return f"250 2.0.0 accepted as {result.order_name} ({result.decision})"
            return f"250 2.0.0 accepted ({result.decision})"
        case IntakeStatus.DUPLICATE:
            if result.order_name:
                return f"250 2.0.0 already processed as {result.order_name}"
            return "250 2.0.0 already processed"
        case IntakeStatus.QUEUED:
            return f"250 2.0.0 queued as {result.key[:12]}"
        case IntakeStatus.BUSY:
            return "451 4.3.2 too busy right now, please try again later"
        case IntakeStatus.UNAVAILABLE:
            return f"451 4.3.0 {result.unavailable or 'a service'} unavailable, please try again later"
    return INTERNAL_FAULT


class OrderHandler:
    """aiosmtpd handler: which recipients we accept, and what DATA answers."""

    def __init__(self, cfg: SmtpConfig, deliver: Deliver) -> None:
        self.deliver = deliver
        self.max_recipients = cfg.max_recipients
        self.addresses = {a.lower() for a in cfg.addresses if not a.startswith("@")}
        self.catch_all_domains = {a[1:].lower() for a in cfg.addresses if a.startswith("@")}
        self.local_domains = {a.rpartition("@")[2].lower() for a in cfg.addresses}
        self.in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str,
                          rcpt_options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return "452 4.5.3 Too many recipients"
        lowered = address.lower()
        domain = lowered.rpartition("@")[2]
        if lowered in self.addresses or domain in self.catch_all_domains:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            return "250 2.1.5 OK"
        if domain in self.local_domains:
            return f"550 5.1.1 <{address}>: no such order address here"
        # Never an open relay: a foreign domain is refused whoever asks.
        return f"554 5.7.1 <{address}>: relay access denied"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        self.in_flight += 1
        self._idle.clear()
        try:
            raw = envelope.original_content or b""
            record = Envelope(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                peer=_peer(session),
                helo=session.host_name or "",
            )
            try:
                return reply_text(await self.deliver(raw, record))
            except Exception as exc:
                # Answered here rather than left to aiosmtpd, so the session is reset as after any DATA
                # reply and the client can go on with its next message.
                return await self.handle_exception(exc)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._idle.set()

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's hook for a fault anywhere in a session; without it the answer is a permanent
        `500 Error: (KeyError) …`, which makes the sender drop the mail and shows our internals."""
        log.error("session_fault", error_type=type(error).__name__, exc_info=error)
        return INTERNAL_FAULT

    async def wait_idle(self) -> None:
        await self._idle.wait()


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and peer:
        return f"{peer[0]}:{peer[1]}" if len(peer) > 1 else str(peer[0])
    return str(peer or "")


class OrderdSMTP(SMTP):
    """aiosmtpd's protocol with orderd's reply texts (enhanced status codes) and reply metrics."""

    # Real mail (generated HTML above all) often breaks RFC 5321's 1000-octet line limit; refusing it
    # would bounce real orders. The data size limit still caps memory.
    line_length_limit = 64 * 1024

    def __init__(self, *args: object, size_limit: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._too_big = f"552 5.3.4 Message too big: this server accepts at most {size_limit} bytes"

    async def push(self, status: str | bytes) -> None:  # type: ignore[override]
        text = status.decode() if isinstance(status, bytes) else status
        if text.startswith("552 Error"):
            text = self._too_big
        code = text[:3]
        if code.isdigit():
            metrics.SMTP_REPLIES.labels(code).inc()
        await super().push(text)


class _TooBusy(asyncio.Protocol):
    """Answers a connection beyond smtp.max_sessions with 421 and hangs up (RFC 5321 §3.8)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        metrics.SMTP_REPLIES.labels("421").inc()
        log.warning("too_many_sessions")
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"421 4.3.2 Too many connections, try again later\r\n")
        transport.close()


class SmtpFront:
    """The listening socket and its sessions, with a graceful stop."""

    def __init__(self, cfg: SmtpConfig, deliver: Deliver) -> None:
        self.cfg = cfg
        self.handler = OrderHandler(cfg, deliver)
        self.server: asyncio.Server | None = None
        self.sessions: weakref.WeakSet[OrderdSMTP] = weakref.WeakSet()
        self.tls_context: ssl.SSLContext | None = None
        if cfg.tls_cert:
            self.tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls_context.load_cert_chain(cfg.tls_cert, cfg.tls_key)

    def _protocol(self) -> asyncio.Protocol:
        active = sum(1 for proto in self.sessions if proto.transport is not None and not proto.transport.is_closing())
        if active >= self.cfg.max_sessions:
            return _TooBusy()
        proto = OrderdSMTP(
            self.handler,
            size_limit=self.cfg.max_message_size,
            data_size_limit=self.cfg.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=self.cfg.hostname,
            ident="orderd",
            timeout=self.cfg.timeout,
            tls_context=self.tls_context,
            require_starttls=False,
        )
        self.sessions.add(proto)
        return proto

    async def start(self, listen: str | None = None) -> tuple[str, int]:
        host, port = parse_hostport("smtp.listen", listen or self.cfg.listen)
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._protocol, host, port)
        sockname = self.server.sockets[0].getsockname()
        log.info("smtp_listening", host=sockname[0], port=sockname[1])
        return sockname[0], sockname[1]

    async def stop(self, grace: float) -> None:
        """Stop accepting, let DATA in flight finish (up to `grace` seconds), then close the rest."""
        if self.server is None:
            return
        self.server.close()
        try:
            await asyncio.wait_for(self.handler.wait_idle(), grace)
        except TimeoutError:
            log.warning("smtp_stop_grace_expired", in_flight=self.handler.in_flight)
        for proto in list(self.sessions):
            transport = proto.transport
            if transport is not None and not transport.is_closing():
                # Idle sessions are told why before the connection goes (RFC 5321 421).
                transport.write(b"421 4.3.2 Service shutting down\r\n")
                transport.close()
        await self.server.wait_closed()
        self.server = None
