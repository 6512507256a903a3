"""What surrounds a quantity that was read: whether it can be taken as written.

A range ("10-12"), an approximation ("about 100"), a product of numbers ("10 x 2"), or a count of
packs whose size is not stated ("3 cartons") is not one quantity; each becomes a named doubt that the
gate turns into a question, never a guess. A price written on the line is kept for the gate to compare
with Odoo's.
"""

from __future__ import annotations

import re

from orderd.extract.numbers import NUMBER_RE, NUMBER_WORD_RE, PACK_ALT, PACK_WORDS, UNITS, fold, parse_number
from orderd.records import LineMention

_PACK_AFTER = re.compile(r"^\s*(" + PACK_ALT
                         + r")\b\.?", re.I)
# "between two hundred and two hundred and fifty", "entre doscientos y doscientos cincuenta": a range
# whatever the numbers are written in
_RANGE_WORDS = re.compile(r"\b(?:between|entre|zwischen)\s+\w+(?:[\s-]+\w+){0,3}?\s+(?:and|et|und|y)\s+\w+", re.I)
_VAGUE_PHRASE = re.compile(
    r"\b(?:as many as (?:you (?:have|can)|possible)|whatever you (?:have|can)|same as (?:last time|usual|before)|"
    r"the usual|double the usual|lo que pod\w+|lo mismo que|lo de siempre|el doble|autant que (?:possible|vous)|"
    r"comme (?:la derni[eè]re fois|d'habitude)|le double|so viele (?:wie|sie)|wie (?:letztes mal|immer|[uü]blich)|"
    r"das doppelte|wie gehabt)\b",
    re.I,
)
_RANGE = re.compile(
    r"(?<![\w.,/-])(\d{1,6})\s*(?:-|to|à|a|bis|until)\s*(\d{1,6})(?![\w.,/-])|"
    r"\b(?:between|entre|zwischen)\s+(\d{1,6})\s+(?:and|et|und|y)\s+(\d{1,6})\b|"
    r"(?<![\w.,/-])(\d{1,6})\s+(?:or|ou|oder|o)\s+(\d{1,6})(?![\w.,/-])",
    re.I,
)
_VAGUE_BEFORE = re.compile(
    r"(?:\babout|\baround|\broughly|\bapprox\.?|\bapproximately|\bcirca|\bca\.|\bc\.|~|±|\bsome|\benviron|"
    r"\bà peu près|\ba peu pres|\bapproximativement|\bautour de|\bquelque|\betwa|\bungef[äa]hr|\brund|\bzirka|"
    r"\bcirka|\bunos|\bunas|\baproximadamente|\balrededor de|\bm[aá]s o menos|\bat least|\bau moins|"
    r"\bmindestens|\bal menos|\bup to|\bjusqu'[àa]|\bbis zu|\bhasta)\s*$",
    re.I,
)
_VAGUE_AFTER = re.compile(r"^\s*(?:\w+\s+){0,3}?(?:or so|or more|give or take|more or less|ou plus|environ|"
                          r"oder mehr|o m[aá]s|max(?:imum)?\.?)\b", re.I)
_MULTIPLIED = re.compile(r"(?<![\w.,-])(\d{1,5})\s*[x×*]\s*(\d{1,5})(?![\w.,])(?!\s*(?:mm|cm|m|in|\"|'))", re.I)
_PRICE = re.compile(
    r"(?:(?:€|eur|euro|\$|usd|chf|£|gbp)\s*(\d{1,6}(?:[.,]\d{3})*(?:[.,]\d{1,2})?)|"
    r"(\d{1,6}(?:[.,]\d{3})*(?:[.,]\d{1,2})?)\s*(?:€|eur\b|euros?\b|\$|usd\b|chf\b|£|gbp\b))",
    re.I,
)


def _qty_spans(text: str, qty: float, lang: str) -> list[tuple[int, int]]:
    """Where the quantity is written in the line, in digits or in words ("deux cartons")."""
    spans = [(m.start(1), m.end(1)) for m in NUMBER_RE.finditer(text) if parse_number(m.group(1), lang) == qty]
    folded = fold(text)
    for m in NUMBER_WORD_RE.get(lang, NUMBER_WORD_RE["en"]).finditer(folded):
        word = m.group(0).lstrip("- ")
        if parse_number(word, lang) == qty:
            spans.append((m.end() - len(word), m.end()))
    return spans


_PRICE_BASIS = re.compile(rf"^\s*(?:/|per|pro|por|pour|je)\s*(\d{{1,5}})\s*(?:{UNITS})", re.I)


def _unit_price(match: re.Match[str], text: str, lang: str) -> float | None:
    """A written price per unit: "14,00 €/St." as is, "1.400,00 € / 100 St." divided by its basis."""
    price = parse_number(match.group(1) or match.group(2), lang)
    basis = _PRICE_BASIS.match(text[match.end():])
    if price and basis and int(basis.group(1)) > 0:
        return price / int(basis.group(1))
    return price


def read_quantity_context(mention: LineMention, lang: str) -> None:
    """Set the mention's doubt, pack unit and stated price from the line it came from (in place)."""
    text = mention.text
    if mention.qty is not None:
        spans = _qty_spans(text, mention.qty, lang)
        for start, end in spans:
            before, after = text[:start], text[end:]
            pack = _PACK_AFTER.match(after)
            if pack and mention.doubt is None:
                mention.uom = f"pack:{PACK_WORDS[pack.group(1).lower()]}"
            if _VAGUE_BEFORE.search(before[-22:]) or _VAGUE_AFTER.match(after):
                mention.doubt = "vague"

        for m in _MULTIPLIED.finditer(text):
            if re.search(r"\b[A-Z]{2,4}[\s.]?$", text[:m.start()]):
                continue  # "DC 1004 x 60": a code, then its quantity
            a, b = float(m.group(1)), float(m.group(2))
            if mention.qty in (a, b, a * b) and min(a, b) > 1:
                mention.doubt = "multiplied"
    for m in _RANGE.finditer(text):
        low, high = (float(g) for g in m.groups() if g is not None)
        if re.search(r"(?:pos\w*|item|line|ligne|linea|zeile|nr|no)\.?\s*$", text[:m.start()], re.I):
            continue  # "Pos. 10 - 30 Stück": a line number, then the quantity
        if low < high and (mention.qty is None or mention.qty in (low, high)):
            mention.doubt = "range"
    prose = "|" not in text  # in a table row the quantity has its own cell; phrases elsewhere are about the item
    if prose and _RANGE_WORDS.search(text) and mention.doubt is None:
        mention.doubt = "range"
    if prose and _VAGUE_PHRASE.search(text) and mention.doubt is None:
        mention.doubt = "vague"
    if mention.doubt in ("range", "vague"):
        mention.qty = None  # no one quantity was asked for: the draft leaves it to the salesperson
    prices = [_unit_price(m, text, lang) for m in _PRICE.finditer(text)]
    prices = [p for p in prices if p]
    if prices:
        mention.unit_price = prices[0]
