"""What a salesperson's corrections teach, as pure functions (no I/O).

`draft_reading` records what orderd read for a draft it leaves to a person; `lessons` compares it with
the lines the person kept when confirming and returns only the pairings nobody could doubt; `customer_terms`
turns one customer's aliases into what `resolve_lines` takes.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderd.extract.nlp import normalize_name
from orderd.records import OrderLine
from orderd.store import Alias, DraftReading, ReadLine
from orderd.understand.resolve import PackSizes


@dataclass(frozen=True)
class KeptLine:
    """A line of the order as the person confirmed it in Odoo."""

    product_id: int
    default_code: str | None
    qty: float


def wording_of(product_text: str) -> str:
    """The form a customer's wording is remembered and matched in: case, accents and plural aside."""
    return normalize_name(product_text)


def read_lines(lines: list[OrderLine], confidence_bar: float) -> list[ReadLine]:
    """What orderd read, line by line: the product only where it was sure of it."""
    out = []
    for line in lines:
        mention, product = line.mention, line.product
        sure = product is not None and product.id is not None and line.confidence >= confidence_bar
        pack = (mention.uom or "").removeprefix("pack:") if (mention.uom or "").startswith("pack:") else None
        # An unresolved line keeps its count in packs as qty; a resolved one of unknown pack size in `packs`.
        pack_count = mention.packs if mention.packs is not None else (mention.qty if pack else None)
        candidates = list(line.candidates)
        if product is not None and not sure and product.default_code not in candidates:
            candidates.insert(0, product.default_code)
        out.append(ReadLine(
            wording=wording_of(mention.product_text), qty=None if pack else mention.qty, pack=pack,
            pack_count=pack_count, product_id=product.id if sure and product else None,
            default_code=product.default_code if sure and product else None, candidates=candidates,
        ))
    return out


def worth_remembering(lines: list[ReadLine]) -> bool:
    """Something a person's correction could teach: a product orderd was not sure of, or a pack of
    unknown size. A draft made for another reason (stock, a date, the sender) teaches nothing."""
    return any(line.wording and (line.product_id is None or (line.pack and line.qty is None)) for line in lines)


def lessons(reading: DraftReading, kept: list[KeptLine]) -> list[Alias]:
    """The aliases a confirmed draft teaches; none when anything is in doubt.

    - Every product orderd was sure of must still be on the order: if the person replaced one, more was
      corrected than a comparison can explain.
    - A wording: exactly one line without a sure product, and exactly one kept product that none of the
      sure lines explains; their quantities agree (as read, or a whole number of units per pack read).
    - A pack size: a sure product counted in packs of unknown size, on no other line, kept as a whole
      number of units per pack."""
    kept_qty: dict[int, float] = {}
    codes: dict[int, str] = {}
    for line in kept:
        if line.qty > 0 and line.default_code:
            kept_qty[line.product_id] = kept_qty.get(line.product_id, 0.0) + line.qty
            codes[line.product_id] = line.default_code
    sure = [line for line in reading.lines if line.product_id is not None]
    unsure = [line for line in reading.lines if line.product_id is None and line.wording]
    explained = {line.product_id for line in sure}
    if not explained <= kept_qty.keys():
        return []
    learned: list[Alias] = []

    def alias(line: ReadLine, product_id: int, pack_size: float | None) -> Alias:
        return Alias(partner_id=reading.partner_id, wording=line.wording, product_id=product_id,
                     default_code=codes[product_id], pack=line.pack if pack_size else None, pack_size=pack_size,
                     order_id=reading.order_id, order_name=reading.order_name)

    for line in sure:
        assert line.product_id is not None
        if line.pack and line.qty is None and line.pack_count:
            alone = sum(1 for other in sure if other.product_id == line.product_id) == 1
            size = _units_per_pack(kept_qty[line.product_id], line.pack_count)
            if alone and size:
                learned.append(alias(line, line.product_id, size))

    unexplained = [product_id for product_id in kept_qty if product_id not in explained]
    if len(unsure) == 1 and len(unexplained) == 1:
        line, product_id = unsure[0], unexplained[0]
        if line.pack:
            size = _units_per_pack(kept_qty[product_id], line.pack_count or 0)
            if size:
                learned.append(alias(line, product_id, size))
        elif line.qty is not None and line.qty == kept_qty[product_id]:
            learned.append(alias(line, product_id, None))
    return learned


def _units_per_pack(units: float, packs: float) -> float | None:
    """Units in one pack when that is a whole number (≥ 1), else None: a ratio like 7/3 is no pack size."""
    if packs <= 0 or units <= 0:
        return None
    size = units / packs
    return float(round(size)) if abs(size - round(size)) < 1e-9 and round(size) >= 1 else None


def customer_terms(aliases: list[Alias]) -> tuple[dict[str, str], PackSizes]:
    """One customer's aliases as resolve_lines takes them: wording → code, (code, pack) → units. Two
    different sizes learned for the same pack of one product are a doubt: neither is used."""
    codes = {a.wording: a.default_code for a in aliases}
    sizes: dict[tuple[str, str], set[float]] = {}
    for a in aliases:
        if a.pack and a.pack_size:
            sizes.setdefault((a.default_code, a.pack), set()).add(a.pack_size)
    return codes, {key: next(iter(found)) for key, found in sizes.items() if len(found) == 1}
