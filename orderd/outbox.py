"""The outbox sender: delivers what `Store.record_outcome` queued, through the configured relay.

The reply is committed with the message's outcome, so the SMTP session never waits on the relay and
a relay outage loses nothing: this task keeps trying (exponential backoff with jitter) on 4xx and
connection errors, stops on 5xx with the relay's answer recorded, and after a restart simply picks
up whatever is still pending in the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
from dataclasses import dataclass
from datetime import timedelta

import aiosmtplib
import structlog

from orderd.config import RelayConfig
from orderd.metrics import OUTBOX_DEPTH, OUTBOX_FAILURES, OUTBOX_SENT
from orderd.store import OutboxItem, Store, StoreUnavailable, utcnow

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SendResult:
    """What one attempt came to: delivered, try again later, or give up."""

    status: str  # sent | retry | failed
    detail: str | None = None


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Delay before attempt number `attempt + 1` (attempt counts from 1).

    Exponential, capped, with jitter over the upper half so many replies queued during one outage
    do not all hit the relay in the same second when it comes back."""
    delay = min(cap, base * (2 ** max(0, attempt - 1)))
    return delay * (0.5 + random.random() / 2)


def _response_text(code: int, message: str) -> str:
    return f"{code} {' '.join(str(message).split())}"


async def deliver(relay: RelayConfig, mail_from: str, rcpt_tos: list[str], raw: bytes) -> SendResult:
    """One SMTP transaction with the relay, classified into sent / retry / failed."""
    tls_context = ssl.create_default_context() if relay.tls != "none" else None
    client = aiosmtplib.SMTP(
        hostname=relay.host, port=relay.port, timeout=relay.timeout,
        use_tls=relay.tls == "implicit",
        start_tls=True if relay.tls == "starttls" else False if relay.tls == "none" else None,
        tls_context=tls_context,
    )
    try:
        await client.connect()
        if relay.user:
            await client.login(relay.user, relay.password)
        # 8BITMIME when the message needs it: forwarded originals may carry 8-bit bodies.
        options = ["BODY=8BITMIME"] if any(b > 127 for b in raw) and client.supports_extension("8bitmime") \
            else []
        refused, _ = await client.sendmail(mail_from, rcpt_tos, raw, mail_options=options)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        # Every recipient refused: permanent only if every refusal is permanent.
        answers = "; ".join(f"{r.recipient}: {_response_text(r.code, r.message)}" for r in exc.recipients)
        if all(r.code >= 500 for r in exc.recipients):
            return SendResult("failed", answers)
        return SendResult("retry", answers)
    except aiosmtplib.SMTPAuthenticationError as exc:
        # Wrong relay credentials are orderd's configuration, not the message's fault: keep it queued
        # (and visible in metrics) until an operator fixes them, rather than dropping replies.
        return SendResult("retry", f"relay AUTH failed: {_response_text(exc.code, exc.message)}")
    except aiosmtplib.SMTPConnectResponseError as exc:
        # A relay that greets with 554 refuses connections, not this message: keep it queued.
        return SendResult("retry", f"relay refused the connection: {_response_text(exc.code, exc.message)}")
    except aiosmtplib.SMTPResponseException as exc:
        status = "failed" if exc.code >= 500 else "retry"
        return SendResult(status, _response_text(exc.code, exc.message))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # Connection refused, reset, TLS trouble, timeouts: the relay may be back soon.
        return SendResult("retry", f"{type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(Exception):
            if client.is_connected:
                await client.quit()
    if refused:
        # Some recipients accepted: the message is out; the rest is noted on the item, not retried,
        # since resending would duplicate it for those who got it.
        note = "; ".join(f"{addr}: {_response_text(r.code, r.message)}" for addr, r in refused.items())
        return SendResult("sent", f"partly refused: {note}")
    return SendResult("sent")



class RelayUnusable(Exception):
    """The relay cannot take mail: unreachable, silent, or not speaking SMTP."""


async def probe_relay(relay: RelayConfig, timeout: float | None = None) -> None:
    """Connect to the relay and greet it, as the sender does (readiness, `orderd check`); RelayUnusable
    says what is wrong in the operator's terms."""
    timeout = relay.timeout if timeout is None else timeout
    where = f"relay {relay.host}:{relay.port}"
    # A bare TCP connection first: aiosmtplib reports "cannot connect" and "connected, but no greeting"
    # alike, and they call for different fixes.
    try:
        _reader, writer = await asyncio.wait_for(asyncio.open_connection(relay.host, relay.port), timeout)
    except TimeoutError as exc:
        raise RelayUnusable(f"{where}: no answer within {timeout:g} s (relay.host, relay.port)") from exc
    except OSError as exc:
        raise RelayUnusable(f"{where}: cannot connect ({exc.strerror or exc}) (relay.host, relay.port)") from exc
    writer.close()
    client = aiosmtplib.SMTP(hostname=relay.host, port=relay.port, timeout=timeout,
                             use_tls=relay.tls == "implicit", start_tls=relay.tls == "starttls")
    try:
        await client.connect()
    except (aiosmtplib.SMTPConnectTimeoutError, aiosmtplib.SMTPTimeoutError) as exc:
        # A socket that accepts but never greets: an HTTP server, a database, anything but SMTP.
        raise RelayUnusable(f"{where}: accepted the connection but sent no SMTP greeting within {timeout:g} s;"
                          " is it an SMTP server? (relay.host, relay.port)") from exc
    except aiosmtplib.SMTPConnectError as exc:
        raise RelayUnusable(f"{where}: cannot connect ({exc.message or exc})") from exc
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPServerDisconnected) as exc:
        raise RelayUnusable(f"{where}: answered, but not as an SMTP server ({exc}); (relay.host, relay.port,"
                          " relay.tls)") from exc
    try:
        await client.ehlo()
    finally:
        try:
            await client.quit()
        except aiosmtplib.SMTPException:
            client.close()


class OutboxSender:
    """Background task that drains the outbox.

    One item at a time: a relay is not a bottleneck at order-mail volumes, and sequential sending
    keeps retries and the lease taken by `claim_outbox` simple."""

    def __init__(self, store: Store, relay: RelayConfig, *, max_attempts: int | None = None,
                 base_delay: float | None = None, max_delay: float = 900.0, poll_interval: float = 30.0) -> None:
        self.store = store
        self.relay = relay
        # Unset: the relay's configuration (relay.max_attempts, relay.retry_base_delay) decides.
        self.max_attempts = relay.max_attempts if max_attempts is None else max_attempts
        self.base_delay = relay.retry_base_delay if base_delay is None else base_delay
        self.max_delay = max_delay
        # Upper bound on sleeping: another process (`orderd outbox retry`) may requeue items.
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._run(), name="orderd-outbox")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            # Let an SMTP transaction in flight finish so its result is recorded; cancel if the
            # relay hangs past its own timeout.
            try:
                await asyncio.wait_for(task, timeout=self.relay.timeout + 5)
            except TimeoutError:
                pass

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            # Cleared before draining, not after: a wake() that arrives while we drain must not be lost.
            self._wake.clear()
            try:
                await self.drain()
                failures = 0
                delay = await self._idle_delay()
            except StoreUnavailable as exc:
                failures += 1
                delay = min(self.max_delay, self.base_delay * 2 ** min(failures, 10))
                log.warning("outbox.store_unavailable", error=str(exc), retry_in=round(delay, 3))
            except Exception:
                # Never let the sender die silently: log, back off, keep going.
                failures += 1
                delay = min(self.max_delay, self.base_delay * 2 ** min(failures, 10))
                log.exception("outbox.error", retry_in=round(delay, 3))
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, delay))

    async def _idle_delay(self) -> float:
        next_due = await self.store.outbox_next_due()
        if next_due is None:
            return self.poll_interval
        return min(self.poll_interval, max(0.0, (next_due - utcnow()).total_seconds()))

    async def drain(self) -> int:
        """Send everything due now; return how many items were handled."""
        handled = 0
        while not self._stopping:
            # One claim per send: a stop between sends must not leave items leased (claim_outbox's lease
            # would hold them back from the next process for minutes).
            items = await self.store.claim_outbox(1)
            if not items:
                break
            await self.send_one(items[0])
            handled += 1
        OUTBOX_DEPTH.set(await self.store.outbox_depth())
        return handled

    async def send_one(self, item: OutboxItem) -> None:
        mail = item.mail
        bound = log.bind(outbox_id=item.id, key=item.key, kind=mail.kind, order=mail.order_name,
                         attempt=item.attempts + 1)
        result = await deliver(self.relay, mail.mail_from, mail.rcpt_tos, mail.raw)
        if result.status == "sent":
            await self.store.outbox_sent(item.id, result.detail)
            OUTBOX_SENT.inc()
            bound.info("outbox.sent", rcpt=mail.rcpt_tos, note=result.detail)
        elif result.status == "retry" and item.attempts + 1 < self.max_attempts:
            delay = backoff_delay(item.attempts + 1, self.base_delay, self.max_delay)
            await self.store.outbox_retry(item.id, result.detail or "retry",
                                          utcnow() + timedelta(seconds=delay))
            OUTBOX_FAILURES.labels("retry").inc()
            bound.warning("outbox.retry", error=result.detail, retry_in=round(delay, 3))
        else:
            error = result.detail or "failed"
            if result.status == "retry":
                error = f"gave up after {item.attempts + 1} attempts: {error}"
            await self.store.outbox_failed(item.id, error)
            OUTBOX_FAILURES.labels("permanent").inc()
            bound.error("outbox.failed", error=error)
        with contextlib.suppress(StoreUnavailable):
            OUTBOX_DEPTH.set(await self.store.outbox_depth())
