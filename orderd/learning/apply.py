"""The two points where serve meets learning: remembering a review draft's reading, and resolving a
customer's mail with what its salesperson taught."""

from __future__ import annotations

import structlog

from orderd.catalog import Catalog
from orderd.learning.lessons import customer_terms, read_lines, wording_of, worth_remembering
from orderd.odoo.orders import PlacedOrder
from orderd.store import Alias, DraftReading, Store, StoreUnavailable
from orderd.understand import Understanding

log = structlog.get_logger("orderd.learning")


async def apply_learned(store: Store, partner_id: int, understood: Understanding, catalog: Catalog, *,
                        count_use: bool = True) -> list[Alias]:
    """Resolve the mail's lines again with this customer's aliases (in place), as after a catalog refresh;
    the aliases that resolved a line are returned (and their use counted unless `count_use` is False: a
    dry run changes nothing)."""
    aliases = await store.aliases(partner_id)
    if not aliases:
        return []
    understood.resolve(catalog, *customer_terms(aliases))
    written = {(wording_of(line.mention.product_text), line.product.default_code)
               for line in understood.lines if line.product is not None}
    used = [a for a in aliases if (a.wording, a.default_code) in written]
    if used:
        log.info("aliases_applied", partner=partner_id, aliases=[a.id for a in used])
        if count_use:
            try:
                await store.aliases_used([a.id for a in used if a.id is not None])
            except StoreUnavailable as exc:  # a statistic: not worth a 451 for the customer's mail
                log.warning("alias_use_not_counted", error=str(exc))
    return used


async def remember_draft(store: Store, understood: Understanding, decision: str, order: PlacedOrder,
                         partner_id: int, confidence_bar: float) -> None:
    """After the order is written: a draft left to a person is remembered with what was read, if a
    correction could teach anything; an order orderd confirmed itself is never learned from (a
    redelivery may confirm a draft an earlier attempt left)."""
    try:
        if decision == "order" or order.state != "draft":
            await store.drop_draft_reading(order.id)
            return
        lines = read_lines(understood.lines, confidence_bar)
        if decision == "needs_review" and worth_remembering(lines):
            await store.save_draft_reading(DraftReading(
                order_id=order.id, order_name=order.name, partner_id=partner_id,
                customer_email=understood.customer_email, key=understood.message.key, lines=lines))
    except StoreUnavailable as exc:
        # The order and the customer's answer do not depend on it: only this lesson is lost.
        log.warning("draft_reading_not_saved", order=order.name, error=str(exc))
