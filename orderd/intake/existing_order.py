"""A message about an order that exists and concerns the sender: its reference in the subject, or a
reply to our answer.

A cancellation asked by someone entitled is carried out while the order is still a quotation; anything
else (amendments, questions, cancelling a confirmed order, commands from someone not entitled) goes on
the order's chatter with an activity for a person. Commands are acknowledged; a plain comment is not
answered, so two mailboxes that answer everything cannot keep a conversation going through orderd.
"""

from __future__ import annotations

from orderd.intake.answer import chatter_note, compose_answer
from orderd.intake.entitlement import Sender, may_command
from orderd.intake.result import FlowResult
from orderd.intake.services import Services
from orderd.odoo.orders import PlacedOrder
from orderd.records import Decision, ReplyKind, Stage
from orderd.reply import ReplyContext, language_for
from orderd.understand import Understanding, stage

_YES = ("yes", "y", "true", "1", "oui", "ja", "si", "sí")


def wants_cancel(commands: tuple[str, ...]) -> bool:
    """`Cancel: yes` (in the customer's language) among the commands."""
    return any(c.split(":", 1)[0] == "cancel" and c.split(":", 1)[1].strip().lower() in _YES for c in commands)


async def about_existing_order(understood: Understanding, services: Services, timings: dict[str, float],
                               found: PlacedOrder, sender: Sender) -> FlowResult:
    cfg = services.config
    message = understood.message
    order_ref = understood.thread.order_ref or ""
    commands = understood.thread.commands
    reasons = [f"about existing order {order_ref}"]
    if commands:
        reasons.append("commands: " + ", ".join(commands))
    entitled = bool(commands) and may_command(found.partner_id, sender)
    if commands and not entitled:
        reasons.append("commands ignored: the sender is not authenticated")
    cancel = wants_cancel(commands) and entitled
    cancelled = cancel and found.state in ("draft", "sent")
    if cancelled:
        with stage(Stage.CANCEL, timings):
            await services.orders.cancel_order(found.id)
        reasons = [f"{found.name} cancelled at the customer's request"]
    elif cancel:
        reasons.append(f"{found.name} is confirmed: cancelling it needs a person (delivery under way)")
    reply, withheld = None, None
    if commands:
        language = language_for(None, understood.extraction.language, cfg.policy.default_language)
        ctx = ReplyContext(kind=ReplyKind.CANCELLED if cancelled else ReplyKind.RECEIVED, language=language,
                           customer_name=understood.customer_name, order_name=found.name, lines=found.lines,
                           client_order_ref=found.client_order_ref, reasons=reasons)
        with stage(Stage.REPLY, timings):
            reply, withheld = await compose_answer(understood, ctx, [], services)
    with stage(Stage.CHATTER, timings):
        await services.orders.post_email(found.id, body_text=understood.extraction.body_text,
                                         subject=message.subject, raw_eml=message.raw, attachments=[],
                                         reply_text=chatter_note(reply, withheld) if reply else None,
                                         reply_eml=reply.raw if reply and not withheld else None)
    if not cancelled:
        with stage(Stage.ACTIVITY, timings):
            await services.orders.schedule_review(found.id, f"Customer wrote about {found.name}", "\n".join(reasons))
    decision = Decision.NOT_ORDER if cancelled else Decision.NEEDS_REVIEW
    outgoing = [reply] if reply and not withheld else []
    return FlowResult(decision, [*reasons, withheld] if withheld else reasons, found.id, found.name, outgoing)
