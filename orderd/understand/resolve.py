"""Products for the lines customers wrote: barcode, internal reference, the customer's own words (codes
and wordings its salesperson taught orderd, orderd.learning), then the name (rapidfuzz) with a calibrated
confidence. Two close candidates are a finding, never a guess.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass

from orderd.catalog import Catalog
from orderd.extract.nlp import (
    AMBIGUOUS_GAP,
    FUZZY_CEILING,
    NO_MATCH_BELOW,
    CatalogIndex,
    code_key,
    index_for,
    is_material,
    name_score,
    normalize_name,
    plain_name,
    rank_names,
)
from orderd.records import LineMention, OrderLine, Product, Reason


@dataclass(frozen=True)
class Match:
    product: Product | None
    confidence: float
    candidates: tuple[str, ...] = ()


PackSizes = dict[tuple[str, str], float]  # (default_code, pack word) → units in one such pack


def resolve_lines(lines: list[LineMention], catalog: Catalog, customer_codes: dict[str, str] | None = None,
                  pack_sizes: PackSizes | None = None) -> list[OrderLine]:
    """customer_codes: one customer's own words for our products (its codes, or wordings a salesperson
    taught orderd) → our default_code; a line written exactly so is as certain as our own code.
    pack_sizes: that customer's packs, where Odoo's packaging does not say."""
    # Within a longer text only code-like words (with a digit) are taken as the customer's code: a learned
    # plain word ("impellers") inside other words is not the wording the salesperson confirmed.
    codes = {code_key(k): v for k, v in (customer_codes or {}).items() if any(c.isdigit() for c in k)}
    wordings = {normalize_name(k): v for k, v in (customer_codes or {}).items()}
    out = []
    for mention in lines:
        ours = wordings.get(normalize_name(mention.product_text)) if wordings else None
        product = catalog.by_code(ours) if ours else None
        match = Match(product, 1.0) if product else resolve_text(mention.product_text, catalog, codes)
        if match.product is not None and (mention.uom or "").startswith("pack:"):
            mention = in_units(mention, match.product, pack_sizes)
        confidence = min(match.confidence, mention.confidence) if match.product else match.confidence
        out.append(OrderLine(mention=mention, product=match.product, confidence=round(confidence, 3),
                             candidates=match.candidates))
    return out


def reconcile_sources(lines: list[OrderLine]) -> tuple[list[OrderLine], list[Reason]]:
    """The message and its attachments often carry the same order twice: the same lines are one order.
    Where one source's lines are all in the other, the fuller one is kept; where they disagree, every
    line is kept and the disagreement is a reason for a person (never two orders, never a silent pick)."""
    def key(line: OrderLine) -> tuple[str | None, float | None]:
        return (line.product.default_code if line.product else line.mention.product_text.lower(), line.mention.qty)

    body = [ln for ln in lines if not ln.mention.source.startswith("attachment")]
    attached = [ln for ln in lines if ln.mention.source.startswith("attachment")]
    if not body or not attached:
        return lines, []
    by_file: dict[str, list[OrderLine]] = {}
    for ln in attached:
        by_file.setdefault(ln.mention.source, []).append(ln)
    files = list(by_file.values())
    # several files with the same lines (a PDF and its spreadsheet twin) are one document
    document = files[0]
    for other in files[1:]:
        if Counter(map(key, other)) != Counter(map(key, document)):
            document = document + [ln for ln in other if key(ln) not in set(map(key, document))]
    body_keys, doc_keys = Counter(map(key, body)), Counter(map(key, document))
    if body_keys == doc_keys or not (body_keys - doc_keys):
        return document, []
    if not (doc_keys - body_keys):
        return body, []
    body_only = sorted(f"{k[0]} × {_n(k[1])}" for k in body_keys - doc_keys)
    doc_only = sorted(f"{k[0]} × {_n(k[1])}" for k in doc_keys - body_keys)
    reason = Reason("sources_disagree", f"the message says {', '.join(body_only)} where the attachment says "
                                        f"{', '.join(doc_only) or 'nothing'}")
    merged = document + [ln for ln in body if key(ln) not in doc_keys]
    return merged, [reason]


def _n(qty: float | None) -> str:
    return "?" if qty is None else (str(int(qty)) if float(qty).is_integer() else f"{qty:g}")


def in_units(mention: LineMention, product: Product, pack_sizes: PackSizes | None = None) -> LineMention:
    """"3 cartons" in units when the product's packaging (or, where Odoo does not say, this customer's
    learned pack size) says how many a carton holds; otherwise the quantity stays in packs, with the doubt
    named (never a guess at the pack size)."""
    pack = (mention.uom or "").removeprefix("pack:")
    packaging = [*product.packaging, *((name, qty) for (code, name), qty in (pack_sizes or {}).items()
                                       if code == product.default_code)]
    sizes = dict(reversed(packaging))  # Odoo's own packaging wins over a learned size of the same name
    size = sizes.get(pack) or next((qty for name, qty in packaging if pack in name or name in pack), None)
    if size is None or mention.qty is None:
        # "3 cartons" of a product whose carton Odoo does not know: the quantity in units is unknown
        return dataclasses.replace(mention, qty=None, packs=mention.qty, doubt=mention.doubt or "pack_unknown")
    return dataclasses.replace(mention, qty=mention.qty * size, uom="Units")


def resolve_text(text: str, catalog: Catalog, customer_codes: dict[str, str] | None = None) -> Match:
    index = index_for(catalog)
    spans = index.code_spans(text)
    known = sorted({c for _, _, c in spans if c})
    unknown_code = any(c is None for _, _, c in spans)
    rest = text
    for s, e, _ in sorted(spans, reverse=True):
        rest = rest[:s] + " " + rest[e:]
    if len(known) > 1:
        return Match(None, 0.0, tuple(known))
    if known:
        return _check_description(catalog.by_code(known[0]), rest, catalog)
    for token in re.findall(r"[A-Za-z0-9][A-Za-z0-9\-_./ ]{1,20}[A-Za-z0-9]|[A-Za-z0-9]{2,}", text):
        ours = (customer_codes or {}).get(code_key(token))
        if ours and catalog.by_code(ours):
            return _check_description(catalog.by_code(ours), text.replace(token, " "), catalog)
    for token in re.findall(r"\S+", text):
        ours = (customer_codes or {}).get(code_key(token))
        if ours and catalog.by_code(ours):
            return _check_description(catalog.by_code(ours), text.replace(token, " "), catalog)
    digits = _code_by_digits(text, index)
    if digits:
        # "part 1004": the digits of exactly one of our codes, after a word that introduces a code;
        # likely, but a human confirms it
        return Match(catalog.by_code(digits), 0.8)
    if unknown_code:
        # a code of our shape that we do not have: the name beside it (if any) is only a hint
        by_name = match_name(rest, catalog)
        return Match(None, 0.0, tuple(c for c in ([by_name.product.default_code] if by_name.product else [])) +
                     by_name.candidates)
    # the buyer's own article number beside the name ("IV-5530 Cuerpo de válvula") is not part of the name
    return match_name(_OTHER_NUMBERS.sub(" ", text), catalog)


_OTHER_NUMBERS = re.compile(r"(?<!\S)(?=(?:\S*\d){3})\S+(?!\S)")


_CODE_CUE = re.compile(
    r"\b(?:part|item|article|art|artikel|product|produit|producto|ref|r[ée]f[ée]rence|referencia|code|c[óo]digo|sku|"
    r"no|nr|n°|#)\.?\s*(?:no\.?|nr\.?|number|#|:)?\s*(\d{3,})\b",
    re.I,
)


def _code_by_digits(text: str, index: CatalogIndex) -> str | None:
    m = _CODE_CUE.search(text)
    return index.code_by_digits.get(m.group(1)) if m else None


def _check_description(product: Product | None, rest: str, catalog: Catalog) -> Match:
    """A code with a description that names another product is a contradiction, not a match."""
    if product is None:
        return Match(None, 0.0)
    if len(normalize_name(rest).split()) < 2:
        return Match(product, 1.0)
    written = normalize_name(rest)
    own = name_score(written, normalize_name(product.name))
    for other in catalog.products:
        if other.default_code == product.default_code:
            continue
        theirs = name_score(written, normalize_name(other.name))
        if theirs >= 90 and theirs - own >= 10:
            return Match(None, 0.0, (product.default_code, other.default_code))
    return Match(product, 1.0)


def match_name(text: str, catalog: Catalog) -> Match:
    """The product a name designates, with a confidence from its score and its lead over the next;
    several close candidates come back as candidates without a product."""
    owner = _named_exactly(text, catalog)
    if owner is not None:  # one of the product's names, as written in some language: certain
        return Match(catalog.by_code(owner), FUZZY_CEILING)
    scored = rank_names(text, index_for(catalog))
    if not scored:
        return Match(None, 0.0)
    best, code = scored[0]
    product = catalog.by_code(code)
    close = [c for s, c in scored if s >= max(NO_MATCH_BELOW, best - AMBIGUOUS_GAP)]
    if best < NO_MATCH_BELOW:
        return Match(None, 0.0, tuple(c for s, c in scored[:3] if s >= 55))
    if len(close) > 1:
        return Match(None, round(best / 100, 3), tuple(close[:4]))
    gap = best - (scored[1][0] if len(scored) > 1 else 0.0)
    # a near name (a typo, an abbreviation, a word more or less, a synonym) is the salesperson's to confirm
    confidence = min(FUZZY_CEILING, best / 100 - max(0.0, 20.0 - gap) / 100, NEAR_NAME_CONFIDENCE)
    return Match(product, round(confidence, 3))


# Below the default confidence bar: a name that is close but not one of the product's names.
NEAR_NAME_CONFIDENCE = 0.8


def _named_exactly(text: str, catalog: Catalog) -> str | None:
    """The product whose name (in some language) the words written are, up to case, accents and plural,
    or that name without its material when no other product's name shares the rest; None otherwise."""
    written = plain_name(text).split()
    if not written:
        return None
    index = index_for(catalog)
    owners = {c for name, c in index.plain_names.items() if _same_words(written, name.split())}
    if not owners:
        owners = {c for name, c in index.plain_names.items()
                  if _same_words(written, [w for w in name.split() if not is_material(w)])}
    return owners.pop() if len(owners) == 1 else None


# the plural endings of the four languages ("Griffe", "impulsores", "Ventilsitze", "carters")
_PLURAL_ENDINGS = ("s", "es", "x", "e", "en", "n", "er")


def _same_words(written: list[str], name: list[str]) -> bool:
    return len(written) == len(name) and all(
        w == n or any(w == n + end or n == w + end for end in _PLURAL_ENDINGS)
        for w, n in zip(written, name, strict=True))
