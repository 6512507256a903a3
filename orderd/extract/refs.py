"""The customer's own reference for the order (PO number), told apart from our earlier order numbers."""

from __future__ import annotations

import re
from collections.abc import Callable

_CUE = (
    r"(?:p\.?\s?o\.?(?:\s*(?:number|no\.?|nr\.?|#|num(?:ber)?|ref(?:erence)?))?|purchase\s+order(?:\s+(?:number|no\.?|#))?"
    r"|our\s+(?:order\s+)?(?:ref(?:erence)?|order\s+(?:number|no\.?))|customer\s+ref(?:erence)?|order\s+ref(?:erence)?"
    r"|bon\s+de\s+commande(?:\s+n[°o]\.?)?|notre\s+r[ée]f[ée]rence|notre\s+r[ée]f\.?|n°\s*de\s+commande|commande\s+n[°o]"
    r"|r[ée]f(?:[ée]rence)?\.?\s+(?:de\s+)?commande|bestell(?:ung)?s?-?\s?(?:nummer|nr\.?)|unsere\s+(?:bestell-?\s?)?(?:nummer|referenz|zeichen)"
    r"|auftragsnummer|bestellreferenz|ihre\s+bestellnummer|(?:n[uú]mero\s+de\s+)?pedido(?:\s+n[°ºo]\.?)?"
    r"|orden\s+de\s+compra|nuestra\s+referencia|n[uú]mero\s+de\s+pedido|ref\.?\s+pedido|r[ée]f(?:[ée]rence)?\.?)"
)
REF_RE = re.compile(
    rf"(?<![\w-])(?P<cue>{_CUE})(?:\s+(?:nuev[oa]|new|neue[nr]?))?\s*[:#.,]?\s*(?:n[°ºo]\.?\s*|#\s*|(?:(?:for|of|on|de|pour|f[üu]r|para)\s+[^\W\d]"
    r"[^\W\d]*(?:\s+[^\W\d]+){0,2}\s+)?(?:is|est|ist|es|lautet)\s+)?"
    # a reference has a digit, and is not an amount ("TOTAL PEDIDO 5.713,62")
    r"(?P<ref>(?=[A-Z0-9\-_/.]*\d)[A-Z0-9][A-Z0-9\-_/.]{1,30}[A-Z0-9])(?![.,]?\d)",
    re.I,
)
# Our own order names (S00042) are references to earlier orders, never the customer's PO.
_OUR_ORDER = re.compile(r"^S\d{4,}$")


# A reference written as one token with its prefix: PO-4410-A, PO4410, BC-2026-118
_TOKEN_RE = re.compile(r"(?<![\w-])((?:P\.?O|BC|BDC|PED|PO#)[-#/ ]?\d[\w\-/]*[\w])(?![\w-])", re.I)


# In a subject, "Order 4500012410" / "Bestellung 4500012410" names the customer's own order
_SUBJECT_RE = re.compile(
    r"^\s*(?:purchase\s+order|order|bestellung|auftrag|commande|pedido|orden)\s*(?:n[°ºo]\.?|nr\.?|no\.?|#|:)?\s*"
    r"(?P<ref>[A-Z0-9][A-Z0-9\-_/.]{2,30}[A-Z0-9])\s*$",
    re.I,
)


def subject_reference(subject: str) -> str | None:
    m = _SUBJECT_RE.match(subject)
    if m and re.search(r"\d", m.group("ref")) and not _OUR_ORDER.match(m.group("ref")):
        return m.group("ref")
    return None


# "unsere Bestellung 4500123710", "order 88-1203": an order word and a number of at least four digits
_NUMBERED_RE = re.compile(
    r"(?<![\w-])(?:purchase\s+order|order|bestellung|auftrag|commande|pedido|orden)\s*(?:n[°ºo]\.?|nr\.?|no\.?|#|:)?\s*"
    r"(?P<ref>(?=[\w\-/.]*\d{4})[A-Z0-9][A-Z0-9\-_/.]{2,30}[A-Z0-9])",
    re.I,
)


def find_reference(texts: list[str], is_product: Callable[[str], bool] = lambda _ref: False) -> str | None:
    """The first plausible customer reference in the subject, body or attachments; is_product tells
    our own product codes ("réf. DC-1007"), which are never the order's reference."""
    for text in texts:
        found = _reference_in(text, is_product)
        if found:
            return found
    return None


def _reference_in(text: str, is_product: Callable[[str], bool]) -> str | None:
    for pattern in (_TOKEN_RE, REF_RE, _NUMBERED_RE):
        for m in pattern.finditer(text):
            ref = (m.group(1) if pattern is _TOKEN_RE else m.group("ref")).rstrip(".")
            if pattern is _TOKEN_RE:
                # "PO 7781": the number is the reference; "PO-4410-A": the prefix is part of it
                ref = re.sub(r"^(?:P\.?O|PO#)\s+", "", ref, flags=re.I)
            if not re.search(r"\d", ref) or _OUR_ORDER.match(ref) or is_product(ref):
                continue
            if re.fullmatch(r"\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", ref):  # a date after "order"
                continue
            before = text[max(0, m.start() - 30):m.start()].lower()
            if re.search(r"\b(your|ihre|ihr|votre|vos|su|sus|vuestra)\s*$", before):
                continue  # "your ref": our own quotation's number, not the customer's
            if re.search(r"(earlier|previous|last|former|précédente|dernière|letzte|vorherige|anterior|"
                         r"último|ultimo)\s+(order|commande|bestellung|pedido)?\s*$", before):
                continue
            return ref
    return None
