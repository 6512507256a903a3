"""EDIFACT ORDERS and ORDCHG (D.96A and later), read segment by segment with pydifact.

Like a UBL order, an EDIFACT order states everything a line needs (our item id in PIA+5/SA, the GTIN
in LIN, the buyer's id in PIA+1/IN, the quantity in QTY+21 with a UN/ECE unit code, the price in
PRI), so nothing is guessed from text. The message says what it is: ORDERS with BGM function 9 is a
new order, function 1 a cancellation, and an ORDCHG (or BGM 230) a change of an order already placed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

from pydifact.segmentcollection import Interchange

from orderd.records import LineMention

# UN/ECE Recommendation 20 codes that mean "pieces": anything else (cartons, kilograms) is not a
# count of our units, and its quantity is left to a person.
PIECE_UNITS = {"PCE", "EA", "C62", "H87", "NAR", "NMB", "PCS", "PR"}


@dataclass
class EdifactOrder:
    lines: list[LineMention] = field(default_factory=list)
    facts: str = ""  # the order number and requested delivery date, in words the readers know
    intent: str = "order"  # "order", "change" or "cancel"


def is_edifact(data: bytes) -> bool:
    head = data[:400].lstrip(b"\xef\xbb\xbf \r\n")
    return head.startswith((b"UNA", b"UNB")) and (b"ORDERS" in data[:2000] or b"ORDCHG" in data[:2000])


def _element(segment_elements: list, i: int, j: int | None = None) -> str:
    """Element i (component j) of a segment, "" when absent."""
    if i >= len(segment_elements):
        return ""
    value = segment_elements[i]
    if j is None:
        return value[0] if isinstance(value, list) else value
    if isinstance(value, list):
        return value[j] if j < len(value) else ""
    return value if j == 0 else ""


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def read_edifact_order(data: bytes, source: str) -> EdifactOrder:
    """The interchange's first ORDERS/ORDCHG message."""
    with warnings.catch_warnings():  # pydifact warns that it has no directory to validate against
        warnings.simplefilter("ignore")
        interchange = Interchange.from_str(data.decode("latin-1").lstrip("\ufeff"))
        segments = list(interchange.segments)
    order = EdifactOrder()
    facts: list[str] = []
    current: dict[str, str] = {}

    def close_line() -> None:
        if not current:
            return
        ours, gtin, theirs, name = (current.get(k, "") for k in ("ours", "gtin", "theirs", "name"))
        qty = _number(current.get("qty", ""))
        unit = current.get("unit", "PCE") or "PCE"
        price = _number(current.get("price", ""))
        basis = _number(current.get("price_basis", "")) or 1.0
        doubt = None
        if qty is not None and unit.upper() not in PIECE_UNITS:
            qty, doubt = None, "pack_unknown"
        text = " | ".join(t for t in (ours, gtin, theirs, name, current.get("qty", ""), unit) if t)
        order.lines.append(LineMention(
            text=text, product_text=ours or gtin or " ".join(t for t in (theirs, name) if t), qty=qty,
            uom="Units", confidence=1.0 if qty is not None else 0.5, source=source, doubt=doubt,
            unit_price=price / basis if price else None,
            line_amount=_number(current.get("amount", "")) or None))
        current.clear()

    kind = ""
    for segment in segments:
        tag, el = segment.tag, segment.elements
        if tag == "UNH":
            kind = _element(el, 1, 0).upper()
            if kind == "ORDCHG":
                order.intent = "change"
        elif tag == "BGM":
            code, number, function = _element(el, 0, 0), _element(el, 1, 0), _element(el, 2, 0)
            if number:
                facts.append(f"Purchase order: {number}")
            if code == "230" or (kind == "ORDCHG" and function in ("4", "5")):
                order.intent = "change"
            elif function == "1" or code == "1":
                order.intent = "cancel"
        elif tag == "DTM" and _element(el, 0, 0) in ("2", "64", "69"):
            value, fmt = _element(el, 0, 1), _element(el, 0, 2)
            if fmt in ("102", "") and len(value) == 8 and value.isdigit():
                facts.append(f"Requested delivery date: {value[:4]}-{value[4:6]}-{value[6:]}")
        elif tag == "LIN":
            close_line()
            current["line"] = _element(el, 0)
            if _element(el, 2, 1).upper() in ("EN", "SRV") and _element(el, 2, 0):
                current["gtin"] = _element(el, 2, 0)
        elif tag == "PIA" and current:
            value, qualifier = _element(el, 1, 0), _element(el, 1, 1).upper()
            if qualifier in ("SA", "MF"):
                current["ours"] = value
            elif qualifier in ("IN", "BP"):
                current["theirs"] = value
            elif qualifier in ("EN", "SRV"):
                current["gtin"] = value
        elif tag == "IMD" and current:
            current["name"] = _element(el, 2, 3) or _element(el, 2, 0)
        elif tag == "QTY" and current and _element(el, 0, 0) in ("21", "1"):
            current["qty"], current["unit"] = _element(el, 0, 1), _element(el, 0, 2)
        elif tag == "PRI" and current and _element(el, 0, 0) in ("AAA", "AAB"):
            current["price"], current["price_basis"] = _element(el, 0, 1), _element(el, 0, 4)
        elif tag == "MOA" and current and _element(el, 0, 0) in ("203", "66"):
            current["amount"] = _element(el, 0, 1)
        elif tag in ("UNS", "UNT"):
            close_line()
            if tag == "UNT":
                break
    close_line()
    order.facts = "\n".join(facts)
    return order
