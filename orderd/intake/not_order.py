"""Mail that does not become an order: robots, lists, bounces, non-orders and rejections.

Nothing here creates anything in Odoo. A person gets what a person should read (a forward to the human
mailbox); robots are never answered (RFC 3834); a bounce or an auto-reply about one of our replies is
noted on its order.
"""

from __future__ import annotations

from orderd.intake.answer import forward_to_person
from orderd.intake.result import FlowResult
from orderd.intake.services import Services
from orderd.records import Decision, JournalState, Stage, Verdict
from orderd.understand import Understanding, stage
from orderd.understand.thread import orders_named_in


async def machine_mail(understood: Understanding, services: Services, timings: dict[str, float]) -> FlowResult:
    """Not a candidate for an order (classify said so). A list message still reaches a person (the
    forward goes to our own human address, not back to the list); bounces and auto-replies are noted on
    their order; quarantined mail stays in the journal only."""
    classification = understood.classification
    state = JournalState.QUARANTINED if classification.kind == "quarantine" else JournalState.DONE
    result = FlowResult(Decision.NOT_ORDER, [classification.reason], state=state)
    if classification.kind == "list":
        result.outgoing.append(forward_to_person(understood.message, services.config, classification.reason))
    elif classification.kind in ("bounce", "auto_reply"):
        await _note_on_order(understood, services, timings, result)
    return result


def judged_not_an_order(understood: Understanding, verdict: Verdict, services: Services) -> FlowResult:
    """The gate's `not_order` (a question, a notification…): forwarded to a person; `rejected`: recorded."""
    if verdict.decision == "rejected":
        return FlowResult(Decision.REJECTED, verdict.reasons)
    forward = forward_to_person(understood.message, services.config, "; ".join(verdict.reasons))
    return FlowResult(Decision.NOT_ORDER, verdict.reasons, outgoing=[forward])


def unmatched_change(understood: Understanding, verdict: Verdict, services: Services) -> FlowResult:
    """A change or cancellation of an order we could not match (no reference of ours, or not the
    sender's): never a new order. A person reads it; nothing is written to Odoo."""
    reasons = [*verdict.reasons, "no order of this customer could be matched"]
    forward = forward_to_person(understood.message, services.config, "; ".join(reasons))
    return FlowResult(Decision.NEEDS_REVIEW, reasons, outgoing=[forward])


async def _note_on_order(understood: Understanding, services: Services, timings: dict[str, float],
                         result: FlowResult) -> None:
    """A bounce or an auto-reply about one of our replies: put it on that order, never answer it.

    A bounce means the customer did not get our answer, so a person is asked to follow up."""
    message = understood.message
    names = [understood.thread.order_ref] if understood.thread.order_ref else orders_named_in(message.raw)
    if not names:
        return
    with stage(Stage.ORDER_LOOKUP, timings):
        found = await services.orders.find_order_by_name(names[0])
    if found is None:
        return
    with stage(Stage.CHATTER, timings):
        await services.orders.post_email(found.id, body_text=understood.extraction.body_text,
                                         subject=message.subject or "(no subject)", raw_eml=message.raw,
                                         attachments=[])
    if understood.classification.kind == "bounce":
        with stage(Stage.ACTIVITY, timings):
            await services.orders.schedule_review(found.id, f"Our reply about {found.name} bounced",
                                                  understood.classification.reason)
    result.order_id, result.order_name = found.id, found.name
    result.reasons.append(f"noted on {found.name}")
