"""Products for the lines customers wrote: barcode, internal reference, the customer's own code, then
the name (rapidfuzz) with a calibrated confidence. Two close candidates are a finding, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from orderd.catalog import Catalog
from orderd.extract.nlp import MATERIALS, code_key, index_for, normalize_name
from orderd.records import LineMention, OrderLine, Product

NO_MATCH_BELOW = 70  # best name score under this: the catalog does not have it
AMBIGUOUS_GAP = 8  # two candidates within this many points: ask a human
FUZZY_CEILING = 0.98  # a name is never as certain as a code


@dataclass(frozen=True)
class Match:
    product: Product | None
    confidence: float
    candidates: tuple[str, ...] = ()


def resolve_lines(lines: list[LineMention], catalog: Catalog,
                  customer_codes: dict[str, str] | None = None) -> list[OrderLine]:
    codes = {code_key(k): v for k, v in (customer_codes or {}).items()}
    out = []
    for mention in lines:
        match = resolve_text(mention.product_text, catalog, codes)
        confidence = min(match.confidence, mention.confidence) if match.product else match.confidence
        out.append(OrderLine(mention=mention, product=match.product, confidence=round(confidence, 3),
                             candidates=match.candidates))
    return out


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
    if unknown_code:
        # a code of our shape that we do not have: the name beside it (if any) is only a hint
        by_name = match_name(rest, catalog)
        return Match(None, 0.0, tuple(c for c in ([by_name.product.default_code] if by_name.product else [])) +
                     by_name.candidates)
    return match_name(text, catalog)


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


def _materials(words: list[str]) -> set[str]:
    return {w for w in words if w in MATERIALS}


def name_score(mention: str, name: str) -> float:
    """0-100: how well the words written fit a product name. A different material is a different
    product however similar the rest ("steel gearbox housing" is not our aluminium one)."""
    if not mention:
        return 0.0
    m_mat, n_mat = _materials(mention.split()), _materials(name.split())
    score = max(fuzz.token_set_ratio(mention, name), fuzz.ratio(mention, name))
    # the written words must mostly be in the name: "titanium flange cover" shares only "cover"
    m_words = [w for w in mention.split() if w not in MATERIALS]
    if m_words:
        covered = sum(1 for w in m_words if any(fuzz.ratio(w, n) >= 85 for n in name.split()))
        if covered == 0:
            score = min(score, 50.0)
        elif covered < len(m_words):
            score = min(score, 60.0 + 30.0 * covered / len(m_words))
    if m_mat and n_mat and not (m_mat & n_mat):
        score = min(score, 55.0)
    return float(score)


def match_name(text: str, catalog: Catalog) -> Match:
    mention = normalize_name(text)
    if not re.search(r"[a-z]{3,}", mention):
        return Match(None, 0.0)
    scored = sorted(((name_score(mention, normalize_name(p.name)), p) for p in catalog.products),
                    key=lambda sp: -sp[0])
    if not scored:
        return Match(None, 0.0)
    best, product = scored[0]
    close = [p.default_code for s, p in scored if s >= max(NO_MATCH_BELOW, best - AMBIGUOUS_GAP)]
    if best < NO_MATCH_BELOW:
        hints = tuple(p.default_code for s, p in scored[:3] if s >= 55)
        return Match(None, 0.0, hints)
    if len(close) > 1:
        return Match(None, round(best / 100, 3), tuple(close[:4]))
    gap = best - (scored[1][0] if len(scored) > 1 else 0.0)
    confidence = min(FUZZY_CEILING, best / 100 - max(0.0, 20.0 - gap) / 100)
    return Match(product, round(confidence, 3))
