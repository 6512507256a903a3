"""Explain every number: in the new text's item lines, each number must have a role.

A number on a line that names a product, or counts something in units or packs, is a quantity, a
date part, a price, a percentage, a size ("120 mm"), a code, a reference, a phone number, a line
number or a total. One that none of these explains is a line (or part of one) the engine did not
read, and a confirmed order would silently miss it: it is a reason for review. This conservative rule
is what keeps a wrong confirmation out when the reading rules meet a shape they do not know.
"""

from __future__ import annotations

import re

from orderd.extract.lines import DECLINED, _dates_spans, split_cells
from orderd.extract.nlp import CatalogIndex
from orderd.extract.numbers import NUMBER_RE, fold, parse_number, unit_after
from orderd.records import LineMention

_CURRENCY = r"(?:€|\$|£|eur\b|euros?\b|usd\b|chf\b|gbp\b)"
_PRICE_AROUND = re.compile(rf"(?:{_CURRENCY}|@|\bà|\bat|\bje|\bper|\beach|\bpro|\bpor|\bprix|\bprice|\bpreis|\bprecio)"
                           r"\s*[:=]?\s*$", re.I)
_PRICE_AFTER = re.compile(rf"^\s*(?:{_CURRENCY}|/\s*(?:pc|pcs|unit|st|stk|ud|u)\b|each\b|per\b|pro\b|l'unit|la pi)",
                          re.I)
_MEASURE_AFTER = re.compile(r"^\s*(?:%|mm\b|cm\b|m\b|km\b|kg\b|g\b|t\b|l\b|ml\b|bar\b|v\b|w\b|kw\b|°|\"|''|in\b|"
                            r"inch\w*|zoll\b|h\b|hrs?\b|min\b|days?\b|jours?\b|tage?n?\b|d[ií]as\b|weeks?\b|"
                            r"semaines?\b|wochen?\b|semanas?\b|months?\b|mois\b|monate?n?\b|mes(?:es)?\b|years?\b|"
                            r"ans?\b|jahre?n?\b|años?\b|st\b|nd\b|rd\b|th\b|er\b|e\b|ème\b|º|\.\s|\)|:\d|/\d|x\s*\d)",
                            re.I)
_REF_BEFORE = re.compile(r"(?:#|\bno\.?|\bnr\.?|n[°º]|\bnum\w*\.?|\bref\w*\.?|\bpo\b|\border\b|\bbestellung\b|"
                         r"\bauftrag\b|\bpedido\b|\bcommande\b|\binvoice\b|\brechnung\b|\bfacture\b|\bfactura\b|"
                         r"\btel\w*\.?|\bphone\b|\bext\.?|\bcall\b|\bon\b|\bfax\b|\bmobile?\b|\bhandy\b|\bm[oó]vil\b|\bport\w*\b|\+|"
                         r"\bkw\b|\bcw\b|\bweek\b|\bsemaine\b|\bwoche\b|\bsemana\b|\bline\b|\bpos\w*\.?|\blinea\b|"
                         r"\bligne\b|\bzeile\b|\bpage\b|\bseite\b|\bp[aá]gina\b|\bversion\b|\brev\.?|\blot\b|"
                         r"\bbatch\b|\bcharge\b|\blote\b|\bhall\w*\b|\bhala\b|\bgate\b|\btor\b|\bdock\b|\bquai\b|"
                         r"\bmuelle\b|\bbay\b|\broom\b|\bfloor\b|\bstr\w*\.?|\brue\b|\bcalle\b|\bav\w*\.?|\bplz\b|"
                         r"\bzip\b|\bcp\b|\bbp\b|\bvat\b|\biban\b|\bsiret\b|\bhrb\b|\bust\w*\b|\bcif\b|\bnif\b|"
                         r"\btotal\b|\bsumme\b|\bsuma\b|\bmontant\b|\bimporte\b|\bamount\b|\bsubtotal\b|\bbetrag\b)"
                         r"[\s:.\-/]*$", re.I)


# a decimal amount as documents print prices and line values: "32.000", "1.400,00", "3,200.00"
_AMOUNT = re.compile(r"\d{1,3}(?:[.,' ]\d{3})*[.,]\d{2,3}|\d+[.,]\d{2,3}")


def _item_like(line: str, index: CatalogIndex, lang: str) -> bool:
    """The line names a product of ours, or counts something in units or packs."""
    if index.code_spans(line) or index.name_spans(line, lang):
        return True
    return any(unit_after(line[m.end(1):]) for m in NUMBER_RE.finditer(line))


# "un accusé de réception", "ein Angebot": articles, not counts
_ARTICLES = {"a", "an", "un", "une", "uno", "una", "ein", "eine", "einen", "einem", "einer"}


def _counted_words(line: str, index: CatalogIndex, lang: str) -> list[tuple[str, float | None]]:
    """Quantities written as words before other words ("fünfzig Ventilsitze", "trente flasques")."""
    out = []
    for phrase in index.quantity_phrases(line, lang):
        token = line[phrase.qty_start:phrase.qty_end]
        if not re.search(r"\d", token) and not _MEASURE_AFTER.match(line[phrase.qty_end:]) \
                and token.lower() not in _ARTICLES:
            out.append((token, parse_number(token, lang)))
    return out


def unread_numbers(prose: str, mentions: list[LineMention], index: CatalogIndex, lang: str) -> list[str]:
    """Lines of the new text with a number that no reading explains (each line once)."""
    by_line: dict[str, list[LineMention]] = {}
    for m in mentions:
        for part in m.text.split("\n"):
            by_line.setdefault(part.strip(), []).append(m)
    out: list[str] = []
    for raw_line in prose.split("\n"):
        line = raw_line.strip()
        if not line or split_cells(line):
            continue  # table rows are read by their header
        words = _counted_words(line, index, lang)
        if not words and not _item_like(line, index, lang):
            continue  # no item on this line
        read = [m for text, ms in by_line.items() if text and (text in line or line in text) for m in ms]
        if not read and DECLINED.search(fold(line)):
            continue  # "Position 3 (pump covers) is not needed": named, and declined
        if any(m.doubt in ("range", "vague") for m in read):
            continue  # "entre 200 y 250": its numbers are read, as a range, and that is a reason already
        if not read and (index.code_spans(line) or index.name_spans(line, lang)):
            out.append(f"a product named in '{line[:80]}' was not read as a line")
            continue
        quantities: set[float] = set()
        for m in read:
            if m.qty is not None:
                quantities.add(float(m.qty))
        blocked = [(s, e) for s, e, _ in index.code_spans(line)] + _dates_spans(line)
        after_quantity = False
        for match in NUMBER_RE.finditer(line):
            start, end, token = match.start(1), match.end(1), match.group(1)
            if any(s <= start < e for s, e in blocked):
                continue
            value = parse_number(token, lang)
            if value is not None and value in quantities:
                after_quantity = True
            if after_quantity and _AMOUNT.fullmatch(token) and value not in quantities:
                continue  # "100.000 EA 32.000 3,200.00": after an item's quantity, its price and amount
            if value is None or _explained(line, start, end, token, value, quantities):
                continue
            out.append(f"a number was not read: '{token}' in '{line[:80]}'")
            break
        else:
            for token, value in words:
                if value is not None and value not in quantities:
                    out.append(f"a number was not read: '{token}' in '{line[:80]}'")
                    break
    return out


def _explained(line: str, start: int, end: int, token: str, value: float, quantities: set[float]) -> bool:
    before, after = line[:start], line[end:]
    if value in quantities:
        return True
    if value and any(q and (q / value).is_integer() for q in quantities) and _pack_context(before, after):
        return True  # a pack count or size behind a quantity ("3 cartons" of 12, "box (20 pcs)")
    if re.search(r"[A-Za-z]\S*$", before) and not before.endswith(" "):
        return True  # part of a code or reference ("PO4410", "HX3")
    if re.match(r"^[A-Za-z/\-]", after) and not unit_after(after):
        return True  # "4500123-A", "9QT", "12b"
    if _PRICE_AROUND.search(before[-12:]) or _PRICE_AFTER.match(after) or re.fullmatch(r"\d+[.,]\d{2}", token):
        return True
    if _MEASURE_AFTER.match(after) and not unit_after(after):
        return True
    if re.match(r"^\s*[x×*]\s*\d+(?:[.,]\d+)?\s*(?:[x×*]\s*\d+(?:[.,]\d+)?\s*)?(?:mm|cm|m|in|\")", after, re.I):
        return True  # "120 x 80 mm": a size
    if (token.startswith("0") and len(token) >= 3) or re.match(r"^\s\d{3,}", after) or re.search(r"\d{3,}\s$", before):
        return True  # "0117 496 0123": a phone number in groups
    if _REF_BEFORE.search(before[-24:]) and not (_ITEMS_FOLLOW.search(before[-24:]) and len(token) <= 3
                                                 and re.match(r"^\s+[^\W\d]{3,}", after)):
        return True  # "order no. 4410", "Tor 4", but not "confirmamos el pedido: 60 impulsores …"

    if re.fullmatch(r"(?:19|20)\d\d", token) or (
            len(re.sub(r"\D", "", token)) >= 5 and not re.search(r"[.,' ]", token)):
        return True  # a year; a long digit run is a reference, phone or postcode
    if not before.strip(" -*•>") and re.match(r"^\s*[.)]\s", after):
        return True  # "1. …", "2) …": an enumeration
    return bool(re.match(r"^\s*[-/]\s*\d", after) or re.search(r"\d\s*[-/]\s*$", before))  # "44-100", "3/4"


# "our order: 60 …", "Bestellung: 12 …": an order word and a colon introduce its items, not its number
_ITEMS_FOLLOW = re.compile(r"\b(?:order|bestellung|auftrag|pedido|commande)\s*:\s*$", re.I)


def _pack_context(before: str, after: str) -> bool:
    return bool(re.search(r"(?:of|de|à|a|zu|mit|con|with|\()\s*$", before, re.I) or unit_after(after))
