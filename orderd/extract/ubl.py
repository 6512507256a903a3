"""UBL 2.1 Order / PEPPOL BIS Order 3 documents, read field by field (nothing is guessed from text).

An order document says which item (the seller's id, its GTIN, the buyer's id, a name), how many,
at what price, by when and under which order number. Each line becomes a LineMention whose product
text is our item id when the document gives it, else the GTIN, else the buyer's id and name; the
order number and the requested delivery date are written into the document's text in the form the
reference and date readers know, so they are read like any other attachment's.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from orderd.records import LineMention

CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
ORDER_ROOT = "{urn:oasis:names:specification:ubl:schema:xsd:Order-2}Order"


def is_ubl_order(data: bytes) -> bool:
    head = data[:2000]
    return b"urn:oasis:names:specification:ubl:schema:xsd:Order-2" in head and b"<" in head


def _text(node: ET.Element | None, path: str) -> str:
    found = node.find(path) if node is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def read_ubl_order(data: bytes, source: str) -> tuple[list[LineMention], str]:
    """The document's lines, and a text carrying its order number and requested delivery date."""
    root = ET.fromstring(data)
    if root.tag != ORDER_ROOT:
        return [], ""
    lines: list[LineMention] = []
    for order_line in root.iter(f"{CAC}OrderLine"):
        item_line = order_line.find(f"{CAC}LineItem")
        if item_line is None:
            continue
        item = item_line.find(f"{CAC}Item")
        ours = _text(item, f"{CAC}SellersItemIdentification/{CBC}ID")
        gtin = _text(item, f"{CAC}StandardItemIdentification/{CBC}ID")
        theirs = _text(item, f"{CAC}BuyersItemIdentification/{CBC}ID")
        name = _text(item, f"{CBC}Name")
        quantity = _text(item_line, f"{CBC}Quantity")
        price = _text(item_line, f"{CAC}Price/{CBC}PriceAmount")
        base = _text(item_line, f"{CAC}Price/{CBC}BaseQuantity")
        amount = _text(item_line, f"{CBC}LineExtensionAmount")
        try:
            qty = float(quantity) if quantity else None
            unit_price = float(price) / (float(base) if base else 1.0) if price else None
            line_amount = float(amount) if amount else None
        except ValueError:
            qty = unit_price = line_amount = None
        product_text = ours or gtin or " ".join(t for t in (theirs, name) if t)
        lines.append(LineMention(text=" | ".join(t for t in (ours, gtin, theirs, name, quantity) if t),
                                 product_text=product_text, qty=qty, uom="Units",
                                 confidence=1.0 if qty is not None else 0.5, source=source,
                                 unit_price=unit_price, line_amount=line_amount))
    facts = []
    number = _text(root, f"{CBC}ID")
    if number:
        facts.append(f"Purchase order: {number}")
    period = root.find(f"{CAC}Delivery/{CAC}RequestedDeliveryPeriod")
    when = _text(period, f"{CBC}EndDate") or _text(period, f"{CBC}StartDate")
    if when:
        facts.append(f"Requested delivery date: {when}")
    return lines, "\n".join(facts)
