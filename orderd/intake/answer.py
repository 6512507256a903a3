"""Reply policy: what orderd says back, and when it must say nothing.

The reply is always composed (the chatter note shows the salesperson what the customer got, or would
have got); it is withheld when it would go to orderd's own address or a robot's, when the mail was
machine-made (RFC 3834), or beyond `policy.max_replies_per_hour` to one address.
"""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

import structlog

from orderd.config import Config, is_own_address
from orderd.intake.services import Services
from orderd.odoo.orders import PlacedOrder
from orderd.records import Decision, Message, ReplyKind, Verdict
from orderd.reply import ReplyContext, compose_forward, compose_reply, language_for, select_profile
from orderd.store import OutgoingMail, utcnow
from orderd.understand import Understanding
from orderd.understand.classify import is_robot_address

log = structlog.get_logger("orderd.intake")


async def compose_answer(understood: Understanding, ctx: ReplyContext, categories: list[str],
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


def chatter_note(reply: OutgoingMail, withheld: str | None) -> str:
    """What the order's chatter says about our answer: its text as sent, or why none was sent."""
    if withheld:
        return f"No reply was sent to the customer: {withheld.removeprefix('no reply: ')}."
    body = message_from_bytes(reply.raw, policy=email_policy.default)
    text = body.get_body(preferencelist=("plain",)) if isinstance(body, EmailMessage) else None
    return (f"Reply sent to {', '.join(reply.rcpt_tos)}: {body.get('Subject', '')}\n\n"
            f"{text.get_content() if text is not None else ''}")


def forward_to_person(message: Message, cfg: Config, reason: str) -> OutgoingMail:
    """The original, attached intact, to the human mailbox."""
    return compose_forward(message, to_addr=cfg.policy.forward_non_orders_to, from_addr=cfg.relay.from_,
                           hostname=cfg.smtp.hostname, reason=reason)


def order_reply_context(understood: Understanding, verdict: Verdict, order: PlacedOrder, customer_name: str,
                        partner_lang: str | None, default_language: str) -> ReplyContext:
    """What the answer to a new order says: confirmed, short of stock, unknown products, or under review."""
    unresolved = [
        {"text": line.mention.product_text or line.mention.text, "qty": line.mention.qty,
         "candidates": list(line.candidates)}
        for line in understood.lines if line.product is None
    ]
    if verdict.decision == Decision.ORDER:
        kind = ReplyKind.CONFIRMED
    elif verdict.shortages:
        kind = ReplyKind.SHORTAGE
    elif unresolved:
        kind = ReplyKind.UNKNOWN_PRODUCT
    else:
        kind = ReplyKind.REVIEW
    return ReplyContext(
        kind=kind,
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
