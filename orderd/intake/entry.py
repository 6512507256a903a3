"""Taking in one message: journal → key lock → dispatch to a flow → record what came of it.

`intake` is what the SMTP handler calls during DATA; it returns a typed result (orderd.intake.result)
that only the SMTP front turns into reply text. `run_entry` runs an entry already journaled (the spool
workers, `orderd replay`). `dispatch` reads the message (orderd.understand, the same reading as
`orderd parse`) and hands it to one flow: not an order (orderd.intake.not_order), about an existing
order (orderd.intake.existing_order) or a new order (orderd.intake.new_order).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from functools import partial

import structlog

from orderd import metrics
from orderd.config import internal_domains
from orderd.extract import is_internal
from orderd.intake import not_order
from orderd.intake.entitlement import Sender, concerns_sender
from orderd.intake.existing_order import about_existing_order
from orderd.intake.new_order import gate, new_order
from orderd.intake.result import FlowResult, IntakeResult, IntakeStatus
from orderd.intake.services import Services
from orderd.odoo.client import OdooUnavailable
from orderd.odoo.orders import PlacedOrder
from orderd.records import Decision, Envelope, Message, OrderLine, Stage, ThreadRef
from orderd.store import FINAL_STATES, JournalEntry, Store, StoreUnavailable
from orderd.understand import Reading, Understanding, stage, understand

log = structlog.get_logger("orderd.intake")


async def intake(raw: bytes, envelope: Envelope, services: Services) -> IntakeResult:
    """Take one message during DATA; what came of it (the SMTP front words the reply).

    Inline (the default): 250 only once the raw message is journaled and its outcome recorded
    (promise 1); a second delivery of the same key answers with the first outcome (promise 2);
    anything temporary is 451. Spool: 250 once journaled, the spool workers own it from then on.
    """
    if len(raw) > 256 * 1024:  # parsing megabytes of MIME takes long enough to stall other sessions
        message = await asyncio.get_running_loop().run_in_executor(services.executor, Message.from_bytes, raw,
                                                                   envelope)
    else:
        message = Message.from_bytes(raw, envelope)
    structlog.contextvars.bind_contextvars(msg=message.key[:12])
    try:
        log.info("received", message_id=message.message_id, sender=message.sender_email,
                 rcpt=list(envelope.rcpt_tos), size=len(raw))
        if services.config.pipeline.mode == "spool":
            return await _spool(message, services)
        try:
            # Backpressure: beyond max_concurrent pipelines a DATA waits a little, then gets 451 so the
            # sender retries later instead of piling up work and memory here.
            await asyncio.wait_for(services.pipelines.acquire(), services.config.pipeline.queue_wait)
        except TimeoutError:
            log.warning("busy", max_concurrent=services.config.pipeline.max_concurrent)
            metrics.MESSAGES.labels("busy").inc()
            return IntakeResult(IntakeStatus.BUSY, message.key)
        try:
            return await run_journaled(message, services)
        finally:
            services.pipelines.release()
    finally:
        structlog.contextvars.unbind_contextvars("msg")


async def run_journaled(message: Message, services: Services) -> IntakeResult:
    """Journal (if not yet) and process one message under its key's lock."""
    async with services.exclusive(message.key):
        return await _intake_locked(message, services)


async def run_entry(entry: JournalEntry, services: Services) -> IntakeResult:
    """Process a message already in the journal, under its journaled key, whatever the pipeline mode:
    what the spool workers and `orderd replay` do (never `intake`, which in spool mode only queues)."""
    message = Message.from_bytes(entry.raw, Envelope(mail_from=entry.sender, rcpt_tos=tuple(entry.rcpt_tos)))
    message.key = entry.key  # the entry's own key, even if a later orderd would derive another
    structlog.contextvars.bind_contextvars(msg=entry.key[:12])
    try:
        return await run_journaled(message, services)
    finally:
        structlog.contextvars.unbind_contextvars("msg")


def _unavailable(key: str, what: str) -> IntakeResult:
    return IntakeResult(IntakeStatus.UNAVAILABLE, key, unavailable=what)


def _duplicate(entry: JournalEntry) -> IntakeResult:
    return IntakeResult(IntakeStatus.DUPLICATE, entry.key, decision=entry.decision, order_name=entry.order_name)


async def _spool(message: Message, services: Services) -> IntakeResult:
    try:
        # No processing claim here: a spool worker (of whichever instance) claims it when it runs it.
        entry = await services.store.journal(message, claim=False)
    except StoreUnavailable as exc:
        log.error("journal_failed", error=str(exc))
        return _unavailable(message.key, "message store")
    if entry.state in FINAL_STATES:
        metrics.MESSAGES.labels("duplicate").inc()
        return _duplicate(entry)
    if services.spool is not None:
        services.spool.wake()
    metrics.MESSAGES.labels("spooled").inc()
    return IntakeResult(IntakeStatus.QUEUED, message.key)


async def _intake_locked(message: Message, services: Services) -> IntakeResult:
    store = services.store
    try:
        entry = await store.journal(message)
    except StoreUnavailable as exc:
        log.error("journal_failed", error=str(exc))
        return _unavailable(message.key, "message store")
    if entry.state in FINAL_STATES:
        log.info("duplicate", order=entry.order_name, decision=entry.decision)
        metrics.MESSAGES.labels("duplicate").inc()
        return _duplicate(entry)

    rpc_calls: list[str] = []
    token = metrics.rpc_calls_for_message.set(rpc_calls)
    started = time.perf_counter()
    try:
        result, timings = await asyncio.wait_for(dispatch(message, services), services.config.smtp.data_timeout)
    except (OdooUnavailable, TimeoutError) as exc:
        what = "Odoo" if isinstance(exc, OdooUnavailable) else "order processing (timeout)"
        log.warning("tempfail", error=str(exc) or type(exc).__name__, rpc_calls=len(rpc_calls))
        await _record_failure(store, message.key, f"{what}: {exc}")
        metrics.MESSAGES.labels("tempfail").inc()
        return _unavailable(message.key, "Odoo" if isinstance(exc, OdooUnavailable) else "order processing")
    except StoreUnavailable as exc:
        log.error("store_failed", error=str(exc))
        return _unavailable(message.key, "message store")
    except Exception as exc:  # a bug must not lose the message: the sender keeps it and retries
        log.exception("pipeline_error")
        await _record_failure(store, message.key, f"internal error: {exc!r}")
        metrics.MESSAGES.labels("error").inc()
        return IntakeResult(IntakeStatus.FAULT, message.key)
    finally:
        metrics.rpc_calls_for_message.reset(token)

    timings[Stage.TOTAL] = round(time.perf_counter() - started, 6)
    metrics.RPC_PER_MESSAGE.observe(len(rpc_calls))
    try:
        await store.record_outcome(
            message.key,
            decision=result.decision,
            order_id=result.order_id,
            order_name=result.order_name,
            reasons=result.reasons,
            timings=timings,
            outgoing=result.outgoing,
            state=result.state,
        )
    except StoreUnavailable as exc:
        # The order may exist in Odoo already; the key written on it makes the redelivery find it.
        log.error("record_failed", error=str(exc), order=result.order_name)
        return _unavailable(message.key, "message store")
    if result.outgoing and services.outbox is not None:
        services.outbox.wake()
    metrics.MESSAGES.labels(result.decision).inc()
    log.info("done", decision=result.decision, order=result.order_name, reasons=result.reasons,
             rpc_calls=len(rpc_calls), replies=len(result.outgoing), **{f"t_{k}": v for k, v in timings.items()})
    return IntakeResult(IntakeStatus.ACCEPTED, message.key, decision=result.decision,
                        order_name=result.order_name)


async def _record_failure(store: Store, key: str, error: str) -> None:
    try:
        await store.record_failure(key, error)
    except StoreUnavailable as exc:  # the 451 still protects the message: the sender keeps it
        log.error("record_failure_failed", error=str(exc))


async def dispatch(message: Message, services: Services) -> tuple[FlowResult, dict[str, float]]:
    """Read the message and hand it to its flow; raises OdooUnavailable for anything temporary."""
    catalog = await services.catalog.get()
    reading = Reading.from_config(services.config)  # once per message: understanding and both gate passes share it
    run = partial(understand, message, catalog, reading)
    understood = await asyncio.get_running_loop().run_in_executor(services.executor, run)
    timings = understood.timings
    if _has_unknown_line(understood.lines):
        # A product created in Odoo since the last refresh is a miss, not an unknown product.
        fresh = await services.catalog.refresh()
        if fresh is not catalog:
            understood.resolve(fresh)

    if understood.classification.kind != "candidate":
        return await not_order.machine_mail(understood, services, timings), timings

    with stage(Stage.KEY_LOOKUP, timings):
        # An order carrying this key means an earlier attempt died after its create (crash, timeout).
        resumed = await services.orders.find_order_by_key(message.key)

    notes: list[str] = []
    if understood.thread.order_ref and resumed is None:
        found, sender = await _named_order(understood, services, timings)
        if found is not None and concerns_sender(found.partner_id, sender):
            return await about_existing_order(understood, services, timings, found, sender), timings
        # A reference to an order that does not exist or is not the sender's: the mail is read as a new
        # one, and nothing is posted on that order or said about it (order numbers can be walked).
        notes.append(f"names {understood.thread.order_ref}, which is not an order of this sender's")
        log.warning("foreign_order_reference", order=understood.thread.order_ref, sender=understood.customer_email)
        understood.thread = ThreadRef()

    before_stock = gate(understood, None, reading)
    if before_stock.decision in (Decision.NOT_ORDER, Decision.REJECTED):
        return not_order.judged_not_an_order(understood, before_stock, services), timings
    if understood.extraction.intent in ("change", "cancel") and resumed is None:
        return not_order.unmatched_change(understood, before_stock, services), timings
    return await new_order(understood, services, timings, reading, resumed=resumed, notes=notes), timings


async def _named_order(understood: Understanding, services: Services,
                       timings: dict[str, float]) -> tuple[PlacedOrder | None, Sender]:
    """The order the message names, and who the sender is to it (a colleague, its company, a stranger)."""
    internal = is_internal(understood.message.sender_email, internal_domains(services.config))
    sender = Sender(internal=internal, company_id=None, authenticated=understood.classification.authenticated)
    with stage(Stage.ORDER_LOOKUP, timings):
        found = await services.orders.find_order_by_name(understood.thread.order_ref or "")
    if found is not None and not internal:
        with stage(Stage.SENDER_COMPANY, timings):
            company = await services.orders.commercial_partner_of(understood.customer_email)
        sender = dataclasses.replace(sender, company_id=company)
    return found, sender


def _has_unknown_line(lines: list[OrderLine]) -> bool:
    return any(line.product is None and not line.candidates for line in lines)
