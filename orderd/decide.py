"""The verdict on one email: confirm, ask a salesperson (with reasons in their words), not an order,
or rejected by policy. When unsure, never confirm."""

from __future__ import annotations

from orderd.records import Classification, Extraction, OrderLine, Shortage, ThreadRef, Verdict

_NOT_ORDER_KIND = {
    "auto_reply": "automatic reply",
    "bounce": "delivery failure notice",
    "list": "mailing list or newsletter",
    "quarantine": "quarantined (carries an executable or archive)",
}


def _fmt(qty: float | None) -> str:
    if qty is None:
        return "?"
    return str(int(qty)) if float(qty).is_integer() else f"{qty:g}"


def line_reasons(i: int, line: OrderLine, bar: float) -> list[str]:
    """What a salesperson must check on line i (1-based); empty when the line can be confirmed."""
    text = line.mention.product_text
    if line.product is None:
        if len(line.candidates) > 1:
            return [f"line {i}: '{text}' could be " + " or ".join(line.candidates)]
        if line.candidates:
            return [f"line {i}: '{text}' matches no product (closest: {line.candidates[0]})"]
        return [f"line {i}: '{text}' matches no product"]
    code = line.product.default_code
    reasons = []
    qty = line.mention.qty
    if qty is None:
        reasons.append(f"line {i}: no quantity for {code}")
    elif qty == 0:
        reasons.append(f"quantity 0 on line {i}")
    elif qty < 0 or not float(qty).is_integer():
        reasons.append(f"line {i}: quantity {_fmt(qty)} for {code} is not a whole number of units")
    elif line.mention.confidence < bar:
        reasons.append(f"line {i}: quantity {_fmt(qty)} for {code} is uncertain ('{line.mention.text}')")
    if line.product is not None and line.confidence < bar and not reasons:
        reasons.append(f"line {i}: '{text}' is probably {code} ({line.product.name}) but not certainly")
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


def decide(classification: Classification, extraction: Extraction, lines: list[OrderLine],
           free_qty: dict[str, float] | None, *, confidence_bar: float = 0.85, on_shortage: str = "review",
           unauthenticated: str = "review", thread: ThreadRef | None = None) -> Verdict:
    if classification.kind != "candidate":
        reason = classification.reason or _NOT_ORDER_KIND.get(classification.kind, classification.kind)
        return Verdict("not_order", [reason])
    if classification.authenticated is False and unauthenticated == "reject":
        return Verdict("rejected", ["sender not authenticated"])
    if thread is not None and thread.order_ref:
        return Verdict("needs_review", [f"about existing order {thread.order_ref}"])
    if not lines:
        if extraction.is_question:
            return Verdict("not_order", ["a question, not an order"])
        if extraction.client_order_ref or extraction.commitment_date:
            # An order number or a delivery date without a product we know: an order we could not read,
            # which a salesperson must see as one (a draft), not a stray mail.
            return Verdict("needs_review", ["looks like an order (purchase order number or delivery date) "
                                            "but no product could be recognised"])
        return Verdict("not_order", ["no order lines found"])

    reasons: list[str] = []
    for i, line in enumerate(lines, 1):
        reasons += line_reasons(i, line, confidence_bar)
    shortages = shortages_of(lines, free_qty) if free_qty is not None else []
    if on_shortage == "review":
        for s in shortages:
            reasons.append(f"{s.default_code}: {_fmt(s.requested)} requested, {_fmt(s.available)} available")
    if classification.authenticated is False and unauthenticated == "review":
        reasons.append("sender not authenticated")
    if reasons:
        return Verdict("needs_review", reasons, shortages)
    return Verdict("order", [], shortages)
