"""A new order: the customer, the stock, the gate, the order in Odoo (confirmed when the gate passes),
the answer, the email on the order's chatter and an activity when a person must look.

An order already carrying the message's key (`resumed`) means an earlier attempt died after its create
(crash, timeout): it is completed, never created twice (promise 2).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import structlog

from orderd import metrics
from orderd.intake.answer import chatter_note, compose_answer, order_reply_context
from orderd.intake.result import FlowResult
from orderd.intake.services import Services
from orderd.learning import apply_learned, remember_draft
from orderd.odoo.orders import PlacedOrder
from orderd.records import Decision, Stage, Verdict
from orderd.understand import Reading, Understanding, judge, stage

log = structlog.get_logger("orderd.intake")

_ODOO_LANGS = {"en": "en_US", "fr": "fr_FR", "de": "de_DE", "es": "es_ES"}


def gate(understood: Understanding, free_qty: dict[str, float] | None, reading: Reading, *,
         customer_known: bool = True) -> Verdict:
    """The gate under the configured policy; free_qty None: before stock is known. Judged on the day
    orderd reads the mail; customer_known: the partner was found in Odoo, not created for this mail."""
    verdict = judge(understood, free_qty, reading, today=datetime.now(UTC).date(), customer_known=customer_known)
    if free_qty is not None:
        for reason in verdict.reasons:
            metrics.GATE_REASONS.labels(getattr(reason, "code", "other")).inc()
    return verdict


def odoo_lang(language: str | None) -> str | None:
    return _ODOO_LANGS.get((language or "")[:2])


async def new_order(understood: Understanding, services: Services, timings: dict[str, float], reading: Reading,
                    *, resumed: PlacedOrder | None, notes: list[str]) -> FlowResult:
    """notes: what the salesperson should also know (e.g. a foreign order reference), kept in the journal."""
    cfg = services.config
    orders = services.orders
    message = understood.message
    with stage(Stage.CUSTOMER, timings):
        partner = await orders.find_or_create_partner(understood.customer_email, understood.customer_name,
                                                      odoo_lang(understood.extraction.language))
    if cfg.learning.enabled and not partner.created:  # a customer new to Odoo has taught nothing yet
        with stage(Stage.ALIASES, timings):
            await apply_learned(services.store, partner.commercial_id, understood, await services.catalog.get())
    resolved = [line for line in understood.lines if line.product is not None and line.product.id is not None]
    if resumed is not None and resumed.state == "sale":
        # Confirmed before the crash: its own reservation would now look like a shortage.
        verdict = Verdict(Decision.ORDER, ["resumed after an interrupted delivery"])
    else:
        with stage(Stage.STOCK, timings):
            free_by_id = await orders.free_qty(
                sorted({line.product.id for line in resolved if line.product and line.product.id}),
                cfg.odoo.warehouse_id,
            )
        free_by_code = {line.product.default_code: free_by_id.get(line.product.id, 0.0)
                        for line in resolved if line.product and line.product.id is not None}
        with stage(Stage.DECIDE, timings):
            verdict = gate(understood, free_by_code, reading, customer_known=not partner.created)
    if resumed is None:
        with stage(Stage.CREATE, timings):
            order = await orders.create_order(
                partner_id=partner.commercial_id,
                lines=[(line.product.id, float(line.mention.qty or 0)) for line in resolved
                       if line.product and line.product.id is not None and (line.mention.qty or 0) > 0],
                key=message.key,
                message_id=message.message_id,
                client_order_ref=understood.extraction.client_order_ref,
                commitment_date=understood.extraction.commitment_date,
                note="\n".join(verdict.reasons) or None,
            )
    else:
        order = resumed
        log.warning("resuming_order", order=order.name, state=order.state)
    if verdict.decision == Decision.ORDER and order.state == "draft":
        with stage(Stage.CONFIRM, timings):
            await orders.confirm_order(order.id)
        order = dataclasses.replace(order, state="sale")
    if cfg.learning.enabled:  # what was read for a draft left to a person, to learn from its correction
        await remember_draft(services.store, understood, verdict.decision, order, partner.commercial_id,
                             cfg.policy.confidence_bar)
    with stage(Stage.REPLY, timings):
        # Composed before the email is posted, so one chatter note shows the salesperson both what came
        # in and exactly what the customer gets back.
        # A partner created just now got its language from this very message (or en_US when none was
        # detected): only a language someone set in Odoo beats the detected one.
        partner_lang = None if partner.created else partner.lang
        ctx = order_reply_context(understood, verdict, order, partner.name, partner_lang,
                                  cfg.policy.default_language)
        reply, withheld = await compose_answer(understood, ctx, partner.category_names, services)
    with stage(Stage.CHATTER, timings):
        await orders.post_email(
            order.id, body_text=understood.extraction.body_text, subject=message.subject, raw_eml=message.raw,
            attachments=[(a.filename, a.data, a.content_type) for a in understood.extraction.attachments
                         if not a.flagged],
            reply_text=chatter_note(reply, withheld), reply_eml=None if withheld else reply.raw,
        )
    if verdict.decision != Decision.ORDER:
        with stage(Stage.ACTIVITY, timings):
            await orders.schedule_review(order.id, "Review order received by email", "\n".join(verdict.reasons))
    notes = [*verdict.reasons, *notes]
    if withheld:
        return FlowResult(verdict.decision, [*notes, withheld], order.id, order.name)
    return FlowResult(verdict.decision, notes, order.id, order.name, [reply])
