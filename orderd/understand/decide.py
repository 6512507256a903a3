"""The confirmation gate: one pure function lists everything a confirmed order must satisfy.

Every failure is a named Reason (its `code` is counted in /metrics and shown to the salesperson on the
draft). When unsure, never confirm: a draft with reasons costs a person a minute; a wrong confirmation
ships goods nobody ordered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from orderd.records import Classification, Decision, Extraction, OrderLine, Reason, Shortage, ThreadRef, Verdict

_NOT_ORDER_KIND = {
    "auto_reply": "automatic reply",
    "bounce": "delivery failure notice",
    "list": "mailing list or newsletter",
    "quarantine": "quarantined (carries an executable or archive)",
}
_INTENT_REASONS = {
    "rfq": ("intent_rfq", "a request for quotation, not an order: prepare a quotation"),
    "change": ("existing_order", "asks to change an existing order"),
    "cancel": ("existing_order", "asks to cancel an existing order"),
}
_NOT_ORDER_INTENTS = {"question": "a question, not an order", "notification": "a notification, not an order",
                      "other": "no order found"}
_QTY_DOUBTS = {
    "range": "is a range, not one quantity",
    "vague": "is approximate",
    "pack_unknown": "counts packs whose size is not known",
    "multiplied": "is written as a product of numbers",
}


@dataclass(frozen=True)
class GatePolicy:
    """The policy keys the gate reads (config [policy]); defaults are the shipped ones."""

    confidence_bar: float = 0.85
    on_shortage: str = "review"  # review | confirm
    unauthenticated: str = "review"  # review | accept | reject
    price_tolerance: float = 0.01
    max_delivery_horizon_days: int = 365
    new_customers: str = "confirm"  # confirm | review


def _fmt(qty: float | None) -> str:
    if qty is None:
        return "?"
    return str(int(qty)) if float(qty).is_integer() else f"{qty:g}"


def line_reasons(i: int, line: OrderLine, bar: float, price_tolerance: float = 0.01) -> list[Reason]:
    """What a salesperson must check on line i (1-based); empty when the line can be confirmed."""
    text = line.mention.product_text
    if line.product is None:
        if len(line.candidates) > 1:
            return [Reason("product_ambiguous", f"line {i}: '{text}' could be " + " or ".join(line.candidates))]
        if line.candidates:
            return [Reason("product_unknown",
                           f"line {i}: '{text}' matches no product (closest: {line.candidates[0]})")]
        return [Reason("product_unknown", f"line {i}: '{text}' matches no product")]
    code = line.product.default_code
    reasons = []
    qty = line.mention.qty
    if line.mention.doubt in _QTY_DOUBTS:
        reasons.append(Reason(f"qty_{line.mention.doubt}" if line.mention.doubt != "pack_unknown" else "pack_unknown",
                              f"line {i}: the quantity for {code} {_QTY_DOUBTS[line.mention.doubt]} "
                              f"('{line.mention.text}')"))
    elif qty is None:
        reasons.append(Reason("qty_missing", f"line {i}: no quantity for {code}"))
    elif qty == 0:
        reasons.append(Reason("qty_zero", f"quantity 0 on line {i}"))
    elif qty < 0 or not float(qty).is_integer():
        reasons.append(Reason("qty_not_whole", f"line {i}: quantity {_fmt(qty)} for {code} is not a whole number "
                                               "of units"))
    elif line.mention.confidence < bar:
        reasons.append(Reason("qty_uncertain", f"line {i}: quantity {_fmt(qty)} for {code} is uncertain "
                                               f"('{line.mention.text}')"))
    if line.confidence < bar and not reasons:
        reasons.append(Reason("product_uncertain",
                              f"line {i}: '{text}' is probably {code} ({line.product.name}) but not certainly"))
    price = line.mention.unit_price
    amount = line.mention.line_amount
    if price and amount and qty and abs(price * qty - amount) > max(0.011, 0.005 * amount):
        # the document contradicts itself: its amount says another quantity (or price) than its line
        reasons.append(Reason("amount_mismatch", f"line {i}: {_fmt(qty)} × {price:g} is not the amount {amount:g} "
                                                 "the document gives"))
    ours = line.product.list_price
    line_total = ours * float(qty or 0)
    if price is not None and ours and abs(price - ours) > price_tolerance * ours and not (
            line_total and abs(price - line_total) <= price_tolerance * line_total):
        reasons.append(Reason("price_differs", f"line {i}: unit price {price:g} written for {code}, ours is {ours:g}"))
    return reasons


def shortages_of(lines: list[OrderLine], free_qty: dict[str, float]) -> list[Shortage]:
    """Requested totals per product against free stock (two lines of one product add up)."""
    wanted: dict[str, float] = {}
    for line in lines:
        if line.product is not None and line.mention.qty:
            code = line.product.default_code
            wanted[code] = wanted.get(code, 0.0) + float(line.mention.qty)
    return [Shortage(code, qty, float(free_qty.get(code, 0.0)))
            for code, qty in wanted.items() if qty > float(free_qty.get(code, 0.0))]


def date_reasons(extraction: Extraction, today: date | None, horizon_days: int) -> list[Reason]:
    """The requested delivery date must be unambiguous, in the future and within the horizon."""
    if extraction.date_doubt:
        return [Reason("date_unclear", extraction.date_doubt)]
    when = extraction.commitment_date
    if when is None or today is None:
        return []
    if when < today:
        return [Reason("date_past", f"requested delivery date {when.isoformat()} is in the past")]
    if (when - today).days > horizon_days:
        return [Reason("date_beyond_horizon", f"requested delivery date {when.isoformat()} is more than "
                                              f"{horizon_days} days ahead")]
    return []


def decide(classification: Classification, extraction: Extraction, lines: list[OrderLine],
           free_qty: dict[str, float] | None, *, confidence_bar: float = 0.85, on_shortage: str = "review",
           unauthenticated: str = "review", thread: ThreadRef | None = None, policy: GatePolicy | None = None,
           today: date | None = None, customer_known: bool = True) -> Verdict:
    """The verdict on one email. free_qty None: stock not known yet (every other gate still applies).
    today: the day the mail arrived (past dates); customer_known: Odoo knows the sender's company."""
    policy = policy or GatePolicy(confidence_bar, on_shortage, unauthenticated)
    if classification.kind != "candidate":
        reason = classification.reason or _NOT_ORDER_KIND.get(classification.kind, classification.kind)
        return Verdict(Decision.NOT_ORDER, [Reason(f"not_order_{classification.kind}", reason)])
    if classification.authenticated is False and policy.unauthenticated == "reject":
        return Verdict(Decision.REJECTED, [Reason("sender_unauthenticated", "sender not authenticated")])
    if thread is not None and thread.order_ref:
        return Verdict(Decision.NEEDS_REVIEW, [Reason("existing_order", f"about existing order {thread.order_ref}")])
    if extraction.intent in ("change", "cancel"):
        code, text = _INTENT_REASONS[extraction.intent]
        return Verdict(Decision.NEEDS_REVIEW, [Reason(code, f"{text} ('{extraction.intent_evidence}')")])
    if not lines:
        if extraction.intent in ("question", "notification") or extraction.is_question:
            kind = extraction.intent if extraction.intent in ("question", "notification") else "question"
            return Verdict(Decision.NOT_ORDER, [Reason(f"not_order_{kind}", _NOT_ORDER_INTENTS[kind])])
        if extraction.client_order_ref or extraction.commitment_date or extraction.intent == "rfq":
            # An order number or a delivery date without a product we know: an order we could not read,
            # which a salesperson must see as one (a draft), not a stray mail.
            return Verdict(Decision.NEEDS_REVIEW, [Reason("no_product", "looks like an order (purchase order number, "
                                                   "delivery date or request) but no product could be recognised")])
        return Verdict(Decision.NOT_ORDER, [Reason("not_order_other", "no order lines found")])
    if extraction.intent in ("question", "notification") and not extraction.ordering:
        return Verdict(Decision.NOT_ORDER,
                       [Reason(f"not_order_{extraction.intent}", _NOT_ORDER_INTENTS[extraction.intent])])

    reasons: list[Reason] = []
    if extraction.intent == "rfq":
        reasons.append(Reason(*_INTENT_REASONS["rfq"]))
    elif not extraction.ordering:
        reasons.append(Reason("intent_unclear", "nothing in the mail says these items are ordered"))
    for i, line in enumerate(lines, 1):
        reasons += line_reasons(i, line, policy.confidence_bar, policy.price_tolerance)
    for where in extraction.unread:
        reasons.append(Reason("unread_number", where))
    shortages = shortages_of(lines, free_qty) if free_qty is not None else []
    if policy.on_shortage == "review":
        for s in shortages:
            reasons.append(Reason("shortage", f"{s.default_code}: {_fmt(s.requested)} requested, "
                                              f"{_fmt(s.available)} available"))
    reasons += date_reasons(extraction, today, policy.max_delivery_horizon_days)
    if classification.authenticated is False and policy.unauthenticated == "review":
        reasons.append(Reason("sender_unauthenticated", "sender not authenticated"))
    reasons += extraction.doubts
    reasons += extraction.trust
    if not customer_known and policy.new_customers == "review":
        reasons.append(Reason("new_customer", "a new customer: policy asks for a person to check it"))
    if reasons:
        return Verdict(Decision.NEEDS_REVIEW, reasons, shortages)
    return Verdict(Decision.ORDER, [], shortages)
