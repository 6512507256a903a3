"""The stages of one message, from raw bytes to the SMTP reply code.

`understand` runs the pure stages (classify, thread, extract, resolve) and is shared by `orderd parse`.
`intake` is what the SMTP handler calls during DATA: journal, idempotency, the I/O stages (customer,
stock, decide, write, reply) and a typed result (orderd.intake.result) that the SMTP front turns into
the reply code telling the sending server the truth. `run_entry` runs an entry already journaled (the
spool workers, `orderd replay`).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from functools import partial
from typing import Protocol

import structlog

from orderd import metrics
from orderd.config import Config, internal_domains, is_own_address
from orderd.extract import is_internal
from orderd.intake.result import IntakeResult, IntakeStatus
from orderd.odoo import orders as odoo_orders
from orderd.odoo.catalog import CatalogCache
from orderd.odoo.client import OdooClient, OdooUnavailable
from orderd.outbox import OutboxSender
from orderd.records import (
    Envelope,
    Message,
    OrderLine,
    ThreadRef,
    Verdict,
)
from orderd.reply import (
    ReplyContext,
    compose_forward,
    compose_reply,
    language_for,
    orders_named_in,
    select_profile,
)
from orderd.store import FINAL_STATES, JournalEntry, OutgoingMail, Store, StoreUnavailable, utcnow
from orderd.understand import Reading, Understanding, judge, stage, understand
from orderd.understand.classify import is_robot_address
from orderd.understand.resolve import reconcile_sources, resolve_lines

log = structlog.get_logger("orderd.intake")


@dataclass
class Outcome:
    decision: str
    reasons: list[str]
    order_id: int | None = None
    order_name: str | None = None
    outgoing: list[OutgoingMail] = field(default_factory=list)
    state: str = "done"


@dataclass
class Services:
    """The peers one message needs; built once by the app."""

    config: Config
    store: Store
    odoo: OdooClient
    catalog: CatalogCache
    outbox: OutboxSender | None
    executor: Executor | None = None  # for CPU-heavy extraction; None: the loop's default executor
    spool: Waker | None = None  # told when a message is journaled for later processing (spool mode)
    _in_flight: dict[str, tuple[asyncio.Lock, list[int]]] = field(default_factory=dict)
    _pipelines: asyncio.Semaphore | None = None

    @contextlib.asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        """One pipeline per key in this process: a duplicate waits, then sees the first outcome."""
        lock, waiters = self._in_flight.setdefault(key, (asyncio.Lock(), [0]))
        waiters[0] += 1
        try:
            async with lock:
                yield
        finally:
            waiters[0] -= 1
            if not waiters[0]:
                del self._in_flight[key]

    def busy(self, key: str) -> bool:
        return key in self._in_flight

    @property
    def pipelines(self) -> asyncio.Semaphore:
        if self._pipelines is None:
            self._pipelines = asyncio.Semaphore(self.config.pipeline.max_concurrent)
        return self._pipelines


class Waker(Protocol):
    def wake(self) -> None: ...


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
        outcome, timings = await asyncio.wait_for(process(message, services), services.config.smtp.data_timeout)
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

    timings["total"] = round(time.perf_counter() - started, 6)
    metrics.RPC_PER_MESSAGE.observe(len(rpc_calls))
    try:
        await store.record_outcome(
            message.key,
            decision=outcome.decision,
            order_id=outcome.order_id,
            order_name=outcome.order_name,
            reasons=outcome.reasons,
            timings=timings,
            outgoing=outcome.outgoing,
            state=outcome.state,
        )
    except StoreUnavailable as exc:
        # The order may exist in Odoo already; the key written on it makes the redelivery find it.
        log.error("record_failed", error=str(exc), order=outcome.order_name)
        return _unavailable(message.key, "message store")
    if outcome.outgoing and services.outbox is not None:
        services.outbox.wake()
    metrics.MESSAGES.labels(outcome.decision).inc()
    log.info("done", decision=outcome.decision, order=outcome.order_name, reasons=outcome.reasons,
             rpc_calls=len(rpc_calls), replies=len(outcome.outgoing), **{f"t_{k}": v for k, v in timings.items()})
    return IntakeResult(IntakeStatus.ACCEPTED, message.key, decision=outcome.decision,
                        order_name=outcome.order_name)


async def _record_failure(store: Store, key: str, error: str) -> None:
    try:
        await store.record_failure(key, error)
    except StoreUnavailable as exc:  # the 451 still protects the message: the sender keeps it
        log.error("record_failure_failed", error=str(exc))


async def process(message: Message, services: Services) -> tuple[Outcome, dict[str, float]]:
    """The stages after the journal; raises OdooUnavailable for anything temporary."""
    cfg = services.config
    catalog = await services.catalog.get()
    loop = asyncio.get_running_loop()
    # A reply that would go to one of our own domains is withheld in _reply().
    reading = Reading.from_config(cfg)  # once per message: understanding and both gate passes share it
    run = partial(understand, message, catalog, reading)
    understood = await loop.run_in_executor(services.executor, run)
    timings = understood.timings
    if _has_unknown_line(understood.lines):
        # A product created in Odoo since the last refresh is a miss, not an unknown product.
        fresh = await services.catalog.refresh()
        if fresh is not catalog:
            understood.lines, disagreements = reconcile_sources(resolve_lines(understood.extraction.lines, fresh, None))
            kept = [d for d in understood.extraction.doubts if d.code != "sources_disagree"]
            understood.extraction.doubts = [*kept, *disagreements]

    classification = understood.classification
    if classification.kind != "candidate":
        # Never answered (RFC 3834). A list message still reaches a person (the forward goes to our own
        # human address, not back to the list); bounces and auto-replies are noted on their order.
        state = "quarantined" if classification.kind == "quarantine" else "done"
        outcome = Outcome("not_order", [classification.reason], state=state)
        if classification.kind == "list":
            outcome.outgoing.append(_forward(message, cfg, classification.reason))
        elif classification.kind in ("bounce", "auto_reply"):
            await _note_on_order(understood, services, timings, outcome)
        return outcome, timings

    with stage("write", timings):
        # An order carrying this key means an earlier attempt died after its create (crash, timeout):
        # that order is resumed, never created twice (promise 2).
        existing = await odoo_orders.find_order_by_key(services.odoo, message.key)

    not_theirs: str | None = None
    if understood.thread.order_ref and existing is None:
        with stage("thread", timings):
            found = await odoo_orders.find_order_by_name(services.odoo, understood.thread.order_ref)
            owner = found is not None and await _refers_to_own_order(understood, found.partner_id, cfg, services)
        if found is not None and owner:
            return await _about_existing_order(understood, services, timings, found), timings
        # A reference to an order that does not exist or is not the sender's: the mail is read as a new
        # one, and nothing is posted on that order or said about it (order numbers can be walked).
        not_theirs = f"names {understood.thread.order_ref}, which is not an order of this sender's"
        log.warning("foreign_order_reference", order=understood.thread.order_ref,
                    sender=understood.customer_email)
        understood.thread = ThreadRef()

    verdict_without_stock = _decide(understood, None, reading)
    if verdict_without_stock.decision == "not_order":
        forward = _forward(message, cfg, "; ".join(verdict_without_stock.reasons))
        return Outcome("not_order", verdict_without_stock.reasons, outgoing=[forward]), timings
    if verdict_without_stock.decision == "rejected":
        return Outcome("rejected", verdict_without_stock.reasons), timings
    if understood.extraction.intent in ("change", "cancel") and existing is None:
        # A change or cancellation of an order we could not match (no reference of ours, or not the
        # sender's): never a new order. A person reads it; nothing is written to Odoo.
        reasons = [*verdict_without_stock.reasons, "no order of this customer could be matched"]
        return Outcome("needs_review", reasons, outgoing=[_forward(message, cfg, "; ".join(reasons))]), timings

    with stage("customer", timings):
        partner = await odoo_orders.find_or_create_partner(
            services.odoo, understood.customer_email, understood.customer_name,
            _odoo_lang(understood.extraction.language),
        )
    resolved = [line for line in understood.lines if line.product is not None and line.product.id is not None]
    if existing is not None and existing.state == "sale":
        # Confirmed before the crash: its own reservation would now look like a shortage.
        verdict = Verdict("order", ["resumed after an interrupted delivery"])
    else:
        with stage("stock", timings):
            free_by_id = await odoo_orders.free_qty(
                services.odoo, sorted({line.product.id for line in resolved if line.product and line.product.id}),
                cfg.odoo.warehouse_id,
            )
        free_by_code = {line.product.default_code: free_by_id.get(line.product.id, 0.0)
                        for line in resolved if line.product and line.product.id is not None}
        with stage("decide", timings):
            verdict = _decide(understood, free_by_code, reading, customer_known=not partner.created)
    with stage("write", timings):
        if existing is None:
            order = await odoo_orders.create_order(
                services.odoo,
                partner_id=partner.commercial_id,
                lines=[(line.product.id, float(line.mention.qty or 0)) for line in resolved
                       if line.product and line.product.id is not None and (line.mention.qty or 0) > 0],
                key=message.key,
                message_id=message.message_id,
                client_order_ref=understood.extraction.client_order_ref,
                commitment_date=understood.extraction.commitment_date,
                note="\n".join(verdict.reasons) or None,
                confirm=verdict.decision == "order",
            )
        else:
            order = existing
            log.warning("resuming_order", order=order.name, state=order.state)
            if verdict.decision == "order" and order.state == "draft":
                await odoo_orders.confirm_order(services.odoo, order.id)
                order = dataclasses.replace(order, state="sale")
    with stage("reply", timings):
        # Composed before the email is posted, so one chatter note shows the salesperson both what came
        # in and exactly what the customer gets back.
        # A partner created just now got its language from this very message (or en_US when none was
        # detected): only a language someone set in Odoo beats the detected one.
        partner_lang = None if partner.created else partner.lang
        ctx = _reply_context(understood, verdict, order, partner.name, partner_lang, cfg.policy.default_language)
        reply, withheld = await _reply(understood, ctx, partner.category_names, services)
    with stage("write", timings):
        await odoo_orders.post_email(
            services.odoo, order.id, body_text=understood.extraction.body_text, subject=message.subject,
            raw_eml=message.raw,
            attachments=[(a.filename, a.data, a.content_type) for a in understood.extraction.attachments
                         if not a.flagged],
            reply_text=_reply_note(reply, withheld), reply_eml=None if withheld else reply.raw,
        )
        if verdict.decision != "order":
            await odoo_orders.schedule_review(services.odoo, order.id, "Review order received by email",
                                              "\n".join(verdict.reasons))
    notes = [*verdict.reasons, *([not_theirs] if not_theirs else [])]
    if withheld:
        return Outcome(verdict.decision, [*notes, withheld], order.id, order.name), timings
    return Outcome(verdict.decision, notes, order.id, order.name, [reply]), timings


async def _reply(understood: Understanding, ctx: ReplyContext, categories: list[str],
                 services: Services) -> tuple[OutgoingMail, str | None]:
    """The customer's reply, and why it must not be sent (None: send it).

    Withheld: an answer to orderd's own or a robot's address (a Reply-To can point anywhere), or
    beyond policy.max_replies_per_hour to one address (a robot answering every reply with a new
    order would otherwise keep a loop going); the order itself is processed and recorded either way."""
    cfg = services.config
    profile = select_profile(list(cfg.profiles), email=understood.customer_email, categories=categories)
    reply = compose_reply(understood.message, ctx, from_addr=cfg.relay.from_, hostname=cfg.smtp.hostname,
                          templates_dir=cfg.templates.directory, profile=profile)
    reply.order_name = ctx.order_name
    to_addr = reply.rcpt_tos[0] if reply.rcpt_tos else ""
    if is_own_address(cfg, to_addr):
        return reply, f"no reply: {to_addr} is orderd's own address"
    if not to_addr or is_robot_address(to_addr):
        return reply, f"no reply: {to_addr or 'no address'} does not take replies"
    if not understood.classification.answerable:
        return reply, "no reply: the mail was machine-generated (Auto-Submitted), and machines are not answered"
    cap = cfg.policy.max_replies_per_hour
    if cap:
        recent = await services.store.replies_sent_to(to_addr, utcnow() - timedelta(hours=1))
        if recent >= cap:
            log.warning("reply_rate_capped", to=to_addr, recent=recent, cap=cap)
            return reply, (f"no reply: {recent} replies to {to_addr} in the last hour"
                           f" (policy.max_replies_per_hour = {cap})")
    log.info("reply", to=to_addr, profile=profile.name, rcpt=len(reply.rcpt_tos))
    return reply, None


def _reply_note(reply: OutgoingMail, withheld: str | None) -> str:
    if withheld:
        return f"No reply was sent to the customer: {withheld.removeprefix('no reply: ')}."
    body = message_from_bytes(reply.raw, policy=email_policy.default)
    text = body.get_body(preferencelist=("plain",)) if isinstance(body, EmailMessage) else None
    return (f"Reply sent to {', '.join(reply.rcpt_tos)}: {body.get('Subject', '')}\n\n"
            f"{text.get_content() if text is not None else ''}")


async def _note_on_order(understood: Understanding, services: Services, timings: dict[str, float],
                         outcome: Outcome) -> None:
    """A bounce or an auto-reply about one of our replies: put it on that order, never answer it.

    A bounce means the customer did not get our answer, so a person is asked to follow up."""
    message = understood.message
    names = [understood.thread.order_ref] if understood.thread.order_ref else orders_named_in(message.raw)
    if not names:
        return
    with stage("write", timings):
        found = await odoo_orders.find_order_by_name(services.odoo, names[0])
        if found is None:
            return
        await odoo_orders.post_email(services.odoo, found.id, body_text=understood.extraction.body_text,
                                     subject=message.subject or "(no subject)", raw_eml=message.raw,
                                     attachments=[])
        if understood.classification.kind == "bounce":
            await odoo_orders.schedule_review(services.odoo, found.id, f"Our reply about {found.name} bounced",
                                              understood.classification.reason)
    outcome.order_id, outcome.order_name = found.id, found.name
    outcome.reasons.append(f"noted on {found.name}")


_YES = ("yes", "y", "true", "1", "oui", "ja", "si", "sí")


async def _refers_to_own_order(understood: Understanding, order_partner_id: int, cfg: Config,
                               services: Services) -> bool:
    """The sender may speak about this order: a colleague of ours, or someone of the order's own company."""
    if is_internal(understood.message.sender_email, internal_domains(cfg)):
        return True
    sender_company = await odoo_orders.commercial_partner_of(services.odoo, understood.customer_email)
    return sender_company is not None and sender_company == order_partner_id


async def _about_existing_order(understood: Understanding, services: Services,
                                timings: dict[str, float], found: odoo_orders.PlacedOrder) -> Outcome:
    """A message about an order (its reference in the subject, or a reply to our answer).

    A cancellation asked by the order's own customer is carried out while the order is still a
    quotation; anything else (amendments, questions, cancelling a confirmed order, commands from
    someone else) goes on the order's chatter with an activity for a person (Tiny ERP's rule: commands
    only from those entitled to give them). Commands are acknowledged; a plain comment is not answered,
    so two mailboxes that answer everything cannot keep a conversation going through orderd."""
    cfg = services.config
    message = understood.message
    order_ref = understood.thread.order_ref or ""
    commands = understood.thread.commands
    reasons = [f"about existing order {order_ref}"]
    if commands:
        reasons.append("commands: " + ", ".join(commands))
    with stage("write", timings):
        wants_cancel = any(c.split(":", 1)[0] == "cancel" and c.split(":", 1)[1].strip().lower() in _YES
                           for c in commands)
        # The sender's claim on the order was checked before; commands also need an authenticated sender.
        entitled = bool(commands) and understood.classification.authenticated is not False
        if commands and not entitled:
            reasons.append("commands ignored: the sender is not authenticated")
        cancelled = wants_cancel and entitled and found.state in ("draft", "sent")
        if cancelled:
            await odoo_orders.cancel_order(services.odoo, found.id)
            reasons = [f"{found.name} cancelled at the customer's request"]
        elif wants_cancel and entitled:
            reasons.append(f"{found.name} is confirmed: cancelling it needs a person (delivery under way)")
    reply, withheld = None, None
    if commands:
        language = language_for(None, understood.extraction.language, cfg.policy.default_language)
        ctx = ReplyContext(outcome="cancelled" if cancelled else "received", language=language,
                           customer_name=understood.customer_name, order_name=found.name, lines=found.lines,
                           client_order_ref=found.client_order_ref, reasons=reasons)
        with stage("reply", timings):
            reply, withheld = await _reply(understood, ctx, [], services)
    with stage("write", timings):
        await odoo_orders.post_email(services.odoo, found.id, body_text=understood.extraction.body_text,
                                     subject=message.subject, raw_eml=message.raw, attachments=[],
                                     reply_text=_reply_note(reply, withheld) if reply else None,
                                     reply_eml=reply.raw if reply and not withheld else None)
        if not cancelled:
            await odoo_orders.schedule_review(services.odoo, found.id, f"Customer wrote about {found.name}",
                                              "\n".join(reasons))
    decision = "not_order" if cancelled else "needs_review"
    outgoing = [reply] if reply and not withheld else []
    return Outcome(decision, [*reasons, withheld] if withheld else reasons, found.id, found.name, outgoing)


def _decide(understood: Understanding, free_qty: dict[str, float] | None, reading: Reading, *,
            customer_known: bool = True) -> Verdict:
    """The gate under the configured policy; free_qty None: before stock is known. Judged on the day
    orderd reads the mail; customer_known: the partner was found in Odoo, not created for this mail."""
    verdict = judge(understood, free_qty, reading, today=datetime.now(UTC).date(),
                    customer_known=customer_known)
    if free_qty is not None:
        for reason in verdict.reasons:
            metrics.GATE_REASONS.labels(getattr(reason, "code", "other")).inc()
    return verdict


def _forward(message: Message, cfg: Config, reason: str) -> OutgoingMail:
    """The original, attached intact, to the human mailbox."""
    return compose_forward(message, to_addr=cfg.policy.forward_non_orders_to, from_addr=cfg.relay.from_,
                           hostname=cfg.smtp.hostname, reason=reason)


def _has_unknown_line(lines: list[OrderLine]) -> bool:
    return any(line.product is None and not line.candidates for line in lines)


_ODOO_LANGS = {"en": "en_US", "fr": "fr_FR", "de": "de_DE", "es": "es_ES"}


def _odoo_lang(language: str | None) -> str | None:
    return _ODOO_LANGS.get((language or "")[:2])


def _reply_context(understood: Understanding, verdict: Verdict, order: odoo_orders.PlacedOrder,
                   customer_name: str, partner_lang: str | None, default_language: str) -> ReplyContext:
    unresolved = [
        {"text": line.mention.product_text or line.mention.text, "qty": line.mention.qty,
         "candidates": list(line.candidates)}
        for line in understood.lines if line.product is None
    ]
    if verdict.decision == "order":
        outcome = "confirmed"
    elif verdict.shortages:
        outcome = "shortage"
    elif unresolved:
        outcome = "unknown_product"
    else:
        outcome = "review"
    return ReplyContext(
        outcome=outcome,
        language=language_for(partner_lang, understood.extraction.language, default_language),
        customer_name=customer_name,
        order_name=order.name,
        lines=order.lines,
        shortages=verdict.shortages,
        unresolved=unresolved,
        # lines whose product is known but whose quantity is not (a range, "about", packs of unknown size):
        # not on the draft, so the customer is told they are not forgotten
        unclear=[{"text": line.mention.text, "default_code": line.product.default_code, "name": line.product.name}
                 for line in understood.lines if line.product is not None and line.mention.qty is None],
        reasons=verdict.reasons,
        commitment_date=understood.extraction.commitment_date,
        client_order_ref=understood.extraction.client_order_ref,
        amount_untaxed=order.amount_untaxed,
        amount_tax=order.amount_tax,
        amount_total=order.amount_total,
        currency=order.currency,
    )
