"""The `orderd parse` JSON for one message (the schema is a contract, see DESIGN.md)."""

from __future__ import annotations

from datetime import date
from typing import Any

from orderd.catalog import Catalog
from orderd.records import Verdict
from orderd.understand import Reading, Understanding, customer_known, judge


def dry_run_verdict(understood: Understanding, catalog: Catalog, reading: Reading | None = None, *,
                    today: date | None = None, stock: dict[str, float] | None = None) -> Verdict:
    """Judge as the live pipeline would; stock: free quantity by code (default: the catalog file's
    on-hand figures)."""
    return judge(understood, dict(catalog.qty_on_hand) if stock is None else stock, reading, today=today,
                 customer_known=customer_known(understood, catalog))


def parse_report(file: str, understood: Understanding, verdict: Verdict, catalog: Catalog) -> dict[str, Any]:
    extraction = understood.extraction
    email = understood.customer_email
    known = catalog.customer_by_email(email)
    lines = []
    unresolved = []
    for line in understood.lines:
        mention = line.mention
        lines.append({
            "default_code": line.product.default_code if line.product else None,
            "product_name": line.product.name if line.product else None,
            "qty": _number(mention.qty),
            "uom": mention.uom or (line.product.uom if line.product else None),
            "text": mention.text,
            "confidence": round(line.confidence, 3),
        })
        if line.product is None:
            unresolved.append({"text": mention.product_text or mention.text, "qty": _number(mention.qty),
                               "candidates": list(line.candidates)})
    return {
        "file": file,
        "message_id": understood.message.message_id,
        "decision": verdict.decision,
        "reasons": list(verdict.reasons),
        "language": extraction.language,
        "customer": {"email": email, "name": known.name if known else understood.customer_name,
                     "known": known is not None},
        "lines": lines,
        "unresolved": unresolved,
        "client_order_ref": extraction.client_order_ref,
        "commitment_date": extraction.commitment_date.isoformat() if extraction.commitment_date else None,
        "thread": {"order_ref": understood.thread.order_ref, "commands": list(understood.thread.commands)},
    }


def _number(qty: float | None) -> float | int | None:
    if qty is None:
        return None
    return int(qty) if float(qty).is_integer() else qty
