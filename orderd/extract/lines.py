"""Order lines from cleaned text: tables with a header row, product mentions with their quantity,
key/value forms ("Product: …" / "Quantity: …") and "<qty> <unit> <words>" lines naming something
the catalog does not know (which must be reported, not dropped).

The quantity is looked for next to the product mention, and numbers that are something else (prices,
dates, phone numbers, order numbers, postcodes, line numbers) are excluded by their context.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise

from orderd.extract.nlp import MATERIAL_WORDS, MATERIALS, NO_MATCH_BELOW, CatalogIndex, normalize_name, rank_names
from orderd.extract.numbers import (
    NUMBER_RE,
    NUMBER_WORD_RE,
    PACK_ALT,
    PACK_WORDS,
    UNIT_BEFORE_RE,
    UNIT_RE,
    UNITS,
    fold,
    normalize_unit,
    parse_number,
    unit_after,
)
from orderd.records import LineMention

# --- tables -------------------------------------------------------------------------------------

_QTY_HDR = re.compile(
    r"^(qty|qte|quantity|quantities|quantite|menge|anzahl|stuckzahl|stk|cantidad|cant|cdad|uds|unidades|"
    r"units|pcs|pieces|nombre|amount ordered|order qty|ordered|bestellmenge|qty ordered)\.?$"
)
_CODE_HDR = re.compile(
    r"^(code|ref|reference|ref\.|item|item no|item #|item number|part|part no|part number|part #|p/n|pn|"
    r"article|art|art nr|artikel|artikelnummer|artikel nr|art\.?-?nr\.?|sku|product code|product id|"
    r"product ref|codigo|referencia|ref\. article|reference article|n° article|no article|"
    r"material|materialnummer|our code|your code|code article|catalog no|cat no)\.?$"
)
# "Item code", "Your part no.", "Unsere Art.-Nr.", "Réf. fournisseur": a header naming a code in other words
_CODE_WORD_HDR = re.compile(r"\b(?:code|codigo|sku|ean|gtin|part ?(?:no|nr|number|#)|item ?(?:no|nr|number|#|code|id)|"
                            r"art ?-? ?nr|artikel ?-? ?nr\w*|artikelnummer|materialnummer|materialnr|ref|reference|"
                            r"referencia|n° article)\b")
_DESC_HDR = re.compile(
    r"^(description|product|products|designation|bezeichnung|beschreibung|produit|producto|descripcion|"
    r"item description|artikelbezeichnung|name|product name|libelle|articulo|article description|"
    r"produkt|ware|concepto)\.?$"
)
_PRICE_HDR = re.compile(
    r"^(?:unit price|price|prix|pu|p u|preis|einzelpreis|stuckpreis|e-?preis|ep|precio|unit cost|net price|"
    r"nettopreis|prix net|precio neto|tarif)\b"
)
_NOT_UNIT_PRICE = re.compile(r"total|gesamt|montant|importe|amount|betrag|summe|line|ligne|linea")
_AMOUNT_HDR = re.compile(r"^(?:amount|line total|total|montant|importe|betrag|gesamt\w*|summe|net amount|valeur|"
                         r"value|net value|wert|nettowert|warenwert|"
                         r"valor|total line|line amount|extended|ext\.? price|total price|precio total|prix total)\b")
_UNIT_HDR = re.compile(r"^(?:unit|uom|u/m|unite|einheit|me|unidad|ud|um|pack|packaging|conditionnement|gebinde|"
                       r"embalaje)$")
_PACK_IN_CELL = re.compile(r"\(?\s*(\d{1,5})\s*(?:pcs|pieces|units?|un|uds?|st[üu]ck|stk|st|pi[eè]ces|pz)\.?\s*\)?",
                           re.I)
# "CTN (50)", "Karton à 12", "box of 20": a pack word with its size, in a unit column
_PACK_WORD_IN_CELL = re.compile(r"^\s*(?:" + PACK_ALT +
                                r")\.?\s*\(?\s*(?:of|à|a|de|x|×|=|mit|con)?\s*(\d{1,5})\b", re.I)
_TOTAL_ROW = re.compile(r"^\s*(sub-?total|total|summe|gesamt|zwischensumme|montant|importe|suma|tva|vat"
                        r"|mwst|iva|shipping|freight|port)\b", re.I)


def split_cells(line: str) -> list[str] | None:
    """Cells of a table row written with pipes, tabs, semicolons or wide gaps; None if not a row."""
    if "|" in line:
        body = line.strip()
        if body.startswith("|") and body.endswith("|"):  # a bordered (markdown-style) row
            body = body[1:-1]
        cells = [c.strip() for c in body.split("|")]
    elif "\t" in line:
        cells = [c.strip() for c in line.split("\t")]
    elif re.search(r"\S {2,}\S", line.strip()):
        cells = [c.strip() for c in re.split(r" {2,}", line.strip())]
    else:
        return None
    cells = [c for c in cells]
    return cells if len(cells) >= 2 else None


@dataclass
class Header:
    qty: int
    code: int | None
    desc: int | None
    ncells: int
    more_codes: tuple[int, ...] = ()  # further code columns ("Ihre Art.-Nr." and "Unsere Art.-Nr.")
    price: int | None = None  # the unit price column
    amount: int | None = None  # the line amount column (quantity × price)
    price_per: float = 1.0  # "Preis pro 100 St": the price column counts this many units
    unit: int | None = None  # the unit or packaging column ("box (20 pcs)")


def header_of(cells: list[str]) -> Header | None:
    qty = code = desc = price = unit = amount = None
    more_codes: list[int] = []
    price_per = 1.0
    for i, cell in enumerate(cells):
        c = re.sub(r"\s+", " ", fold(cell).strip(" :*#.")).replace(".", "") if cell else ""
        c2 = re.sub(r"\s+", " ", fold(cell).strip(" :*")) if cell else ""
        if qty is None and (_QTY_HDR.match(c) or _QTY_HDR.match(c2)):
            qty = i
        elif desc is None and (_DESC_HDR.match(c) or _DESC_HDR.match(c2)):
            desc = i
        elif _CODE_HDR.match(c) or _CODE_HDR.match(c2) or (_CODE_WORD_HDR.search(c) and len(c.split()) <= 3):
            if code is None:
                code = i
            else:
                more_codes.append(i)
        elif price is None and _PRICE_HDR.match(c2) and not _NOT_UNIT_PRICE.search(c2):
            price = i
            per = re.search(r"(?:per|pro|por|pour|/)\s*(\d+)", c2)
            price_per = float(per.group(1)) if per else 1.0
        elif unit is None and _UNIT_HDR.match(c):
            unit = i
        elif amount is None and _AMOUNT_HDR.match(c2):
            amount = i
    if qty is None or (code is None and desc is None):
        return None
    return Header(qty, code, desc, len(cells), tuple(more_codes), price=price, amount=amount, price_per=price_per,
                  unit=unit)


def row_mention(cells: list[str], header: Header, lang: str, source: str, text: str) -> LineMention | None:
    """One table row as a line; None for rows that are not items (totals, blanks, separators)."""
    if all(re.fullmatch(r"[-=:+ ]*", c) for c in cells):
        return None
    if _TOTAL_ROW.match(" ".join(cells)):
        return None
    parts = []
    for idx in (header.code, *header.more_codes, header.desc):
        if idx is not None and idx < len(cells) and cells[idx].strip():
            if idx != header.desc and re.fullmatch(r"\d{1,3}", cells[idx].strip()) and header.desc is not None:
                continue  # an "Item" column of line numbers, not codes
            parts.append(cells[idx].strip())
    if not parts:
        return None
    product_text = " ".join(parts)
    if not re.search(r"[A-Za-z0-9]", product_text):
        return None
    if header.qty >= len(cells):
        words = " ".join(c.strip() for c in cells if re.search(r"[^\W\d_]{3,}", c))
        if len(cells) >= header.ncells - 1 and re.search(r"\d", " ".join(cells)) and words:
            # a row with a cell missing: the columns cannot be trusted, and the row must not vanish
            return LineMention(text=text.strip(), product_text=words, qty=None, uom=None, confidence=0.5,
                               source=source)
        return None  # a footer line (bank details, VAT number) split into cells, not an item
    qty_cell = cells[header.qty].strip()
    qty, unit, conf = _qty_from_cell(qty_cell, lang)
    price = _cell_number(cells, header.price, lang)
    amount = _cell_number(cells, header.amount, lang)
    if price is not None:
        price /= header.price_per
    unit_cell = cells[header.unit] if header.unit is not None and header.unit < len(cells) else ""
    pack = _PACK_IN_CELL.search(unit_cell) or _PACK_WORD_IN_CELL.search(unit_cell)
    if pack and qty is not None and int(pack.group(1)) > 1:
        # "2 | box (20 pcs) | 280.00": the quantity and the price count packs of a stated size
        size = float(pack.group(1))
        qty, unit = qty * size, "Units"
        price = price / size if price is not None else None
    return LineMention(text=text.strip(), product_text=product_text, qty=qty, uom=unit,
                       confidence=conf, source=source, unit_price=price, line_amount=amount)


def _cell_number(cells: list[str], idx: int | None, lang: str) -> float | None:
    if idx is None or idx >= len(cells):
        return None
    m = re.search(r"\d[\d.,' ]*", cells[idx])
    return parse_number(m.group(0).strip(), lang) if m else None


def _qty_from_cell(cell: str, lang: str) -> tuple[float | None, str | None, float]:
    packed = re.fullmatch(r"\s*(\d[\d.,' ]*)\s+([^\W\d_]+)\.?\s*(?:\(\s*(?:[àa@x×]\s*|de\s+|of\s+)?(\d{1,5})\s*"
                          r"(?:pcs|pieces|units?|un|uds?|unidades|st[üu]ck|stk|st|pi[eè]ces|pz)?\.?\s*\))?\s*",
                          cell, re.I)
    if packed and packed.group(2).lower() in PACK_WORDS:
        # "10 cajas (20 uds)": packs of a stated size; "3 cartons": packs, sized by the catalog later
        value = parse_number(packed.group(1).strip(), lang)
        if value is not None and packed.group(3):
            return value * float(packed.group(3)), "Units", 1.0
        if value is not None:
            return value, f"pack:{PACK_WORDS[packed.group(2).lower()]}", 1.0
    m = re.fullmatch(rf"\s*(\d[\d.,' ]*)\s*((?:{UNITS})\.?)?\s*", cell, re.I)
    if m:
        value = parse_number(m.group(1).strip(), lang)
        if value is not None:
            return value, normalize_unit(m.group(2)) or "Units", 1.0
    value = parse_number(cell, lang) if cell else None
    if value is not None:
        return value, "Units", 0.95
    return None, None, 0.5


def table_rows(rows: list[list[str] | None], lang: str, source: str) -> tuple[list[LineMention], set[int]]:
    """Lines from rows (plain-text tables, CSV, spreadsheets): the first header row names the
    columns; returns the mentions and the indices of rows consumed. None stands for a blank line,
    which does not end a table; a line that is not a row does."""
    mentions: list[LineMention] = []
    used: set[int] = set()
    header: Header | None = None
    for i, cells in enumerate(rows):
        if cells is None:
            continue
        if header is None:
            header = header_of(cells)
            if header is not None:
                used.add(i)
            continue
        if len(cells) < 2 or len([c for c in cells if c.strip()]) < 2:
            if mentions or not cells:  # the table ended
                header = None
            continue
        mention = row_mention(cells, header, lang, source, " | ".join(cells))
        used.add(i)
        if mention is not None:
            mentions.append(mention)
    return mentions, used


# --- quantities next to a mention ---------------------------------------------------------------

_CURRENCY = r"(?:€|\$|£|eur|euro|euros|usd|chf|gbp|fr\.|sfr|dollars?)"
_BAD_AFTER = re.compile(
    rf"^\s*(?:{_CURRENCY}|%|mm\b|cm\b|m\b|kg\b|g\b|t\b|h\b|hrs?\b|min\b|days?\b|jours?\b|tage?n?\b|d[ií]as\b|"
    r"weeks?\b|semaines?\b|wochen?\b|semanas?\b|months?\b|mois\b|monate?n?\b|mes(es)?\b|years?\b|"
    r"ans?\b|jahre?n?\b|años?\b|st\b|th\b|nd\b|rd\b|er\b|e\b|ème\b|º|°|/\d|\.\d|,\d|:\d|-\d)",
    re.I,
)
_BAD_BEFORE = re.compile(
    rf"(?:{_CURRENCY}|@|\bat|\bà|\bzu|\bje|\bprice|\bpreis|\bprix|\bprecio|\btotal|#|\bno\.?|\bnr\.?|n°|"
    r"\bnum(?:ber|ero|éro)?\.?|\bref\.?|\bpo|\border\s*(?:no\.?|number|nr\.?|#)|\binvoice|\brechnung|\bfacture|\bfactura|\btel\.?|"
    r"\bphone|\bfax|\bmobile|\btél\.?|\bplant|\bwerk|\busine|"
    r"\bhall|\bhalle|\bgate|\btor|\bdock|\bquai|\bmuelle|\bbay|\broom|\bfloor|\bstock|\blot|\bbatch|"
    r"\bversion|\brev\.?|\bv|\bstr\.?|\bstraße|\bstrasse|\brue|\bcalle|\bavenue|\bav\.?|\bstreet|\broad|"
    r"\bbox|\bpostfach|\bbp|\bcp|\bplz|\bzip|\bsince|\bseit|\bdepuis|\bdesde|\bthe|\bcon|\bvat|\biban)"
    r"\s*[:.]?\s*$|(?:\bkw|\bcw|\bweek|\bsemaine|\bwoche|\bsemana)\s*$|\+$",
    re.I,
)
# Even "5 pcs" is no quantity after these: "@ 5 pcs price", "tel. 5 …", "order no. 5 x"
_BAD_BEFORE_STRONG = re.compile(
    rf"(?:{_CURRENCY}|@|#|\bno\.|\bnr\.?|n°|\btel\.?|\bphone|\bfax|\bprice|\bpreis|\bprix|\bprecio)\s*[:.]?\s*$"
    r"|\+$",
    re.I,
)
# between two items of one line: punctuation, a new sentence (capital after the stop), a conjunction
_SEPARATORS = re.compile(
    r"[,;]|[.!?]\s+(?=[A-ZÄÖÜÉ¿¡])|\s(?i:and|und|et|y|plus|as well as|sowie|ainsi que|also)\s|\s[+&]\s"
)
_ADJACENT_BEFORE = re.compile(
    r"^\s*(?:(?:x|×|of|of the|of our|of your|off|de|des|d'|du|de la|del|de los|de las|von|vom|der|die|"
    r"pcs|pieces|units|stück|stk|pièces|unidades|uds|more|further|additional|weitere|extra|more of the|"
    r"new|neue|nuevos?|nouvelles?|nouveaux)\.?\s+)*$",
    re.I,
)


@dataclass
class Candidate:
    start: int
    end: int
    value: float
    score: int  # 3: unit or cue, 2: right next to the product, 1: somewhere in the clause
    unit: str | None


def _dates_spans(text: str) -> list[tuple[int, int]]:
    pattern = (r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}\.\s?\d{1,2}\.(?!\d)|\d{1,2}(?:st|nd|rd|th|er|\.)?\s+"
               r"(?:of\s+)?(?:de\s+)?[A-Za-zéûäöüñ]{3,}\.?(?:\s+(?:de\s+)?\d{4})?|[A-Za-zéûäöüñ]{3,}\.?\s+\d{1,2}"
               r"(?:st|nd|rd|th)?,?\s+\d{4}|\d{1,2}:\d{2}")
    spans = []
    for m in re.finditer(pattern, text):
        if _is_date_like(m.group(0)):
            spans.append((m.start(), m.end()))
    return spans


_MONTHS = re.compile(
    r"(jan|feb|fév|fev|mär|mar|apr|avr|abr|may|mai|jun|juin|jul|juil|aug|aoû|aou|ago|sep|oct|okt|nov|dec|déc|"
    r"dez|dic|ene|janv|févr|mars|juni|juli|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|"
    r"octubre|noviembre|diciembre)",
    re.I,
)


def _is_date_like(text: str) -> bool:
    if re.search(r"\d{1,4}[./-]\d{1,2}[./-]\d{2,4}|\d{1,2}:\d{2}|\d{1,2}\.\s?\d{1,2}\.$", text):
        return True
    words = re.findall(r"[A-Za-zéûäöüñ]{3,}", text)
    return any(_MONTHS.fullmatch(w[:3]) or _MONTHS.fullmatch(w) for w in words) and bool(
        any(_MONTHS.match(w) and len(w) <= 10 for w in words)
    )


# "950,00   100 ST": the quantity a price is given for, in the column after the price
_PRICE_COLUMN_BEFORE = re.compile(r"\d[.,]\d{2}\s+$")
_PRICE_BASIS_BEFORE = re.compile(r"(?:/|\bper|\bpro|\bpor|\bpour|\bje)\s*$", re.I)


def find_candidates(text: str, lang: str, blocked: list[tuple[int, int]],
                    anchor: tuple[int, int]) -> list[Candidate]:
    """Numbers in text that may be this mention's quantity, scored by what surrounds them."""
    folded = fold(text)
    spans = [(m.start(1), m.end(1), m.group(1)) for m in NUMBER_RE.finditer(text)]
    word_re = NUMBER_WORD_RE.get(lang, NUMBER_WORD_RE["en"])
    for m in word_re.finditer(folded):
        lead = len(m.group(0)) - len(m.group(0).lstrip("- "))  # a list dash is not part of the word
        spans.append((m.start() + lead, m.end(), m.group(0)[lead:]))
    blocked = blocked + _dates_spans(text)
    out: list[Candidate] = []
    for start, end, token in spans:
        if any(s < end and start < e for s, e in blocked):
            continue
        value = parse_number(token, lang)
        if value is None:
            continue
        before, after = text[:start], text[end:]
        if _BAD_AFTER.match(after) and not unit_after(after):
            continue
        unit_follows = bool(unit_after(after))
        if unit_follows and (_PRICE_BASIS_BEFORE.search(before[-8:]) or _PRICE_COLUMN_BEFORE.search(before[-16:])):
            continue  # "1.400,00 / 100 ST", "price per 100 pcs": the quantity a price is given for
        if (_BAD_BEFORE if not unit_follows else _BAD_BEFORE_STRONG).search(before[-14:]) \
                and not UNIT_BEFORE_RE.search(before):
            continue
        if re.fullmatch(r"20\d\d", token) and not unit_follows and not UNIT_BEFORE_RE.search(before[-12:]):
            continue  # "before the end of January 2027": a year, unless counted ("2025 pcs", "x 2025")
        digits = re.sub(r"\D", "", token)
        if token[0].isdigit() and len(digits) >= 5 and not re.search(r"[.,' ]", token) and not unit_after(after):
            continue  # phone fragments, postcodes, order numbers
        if re.fullmatch(r"\d+[.,]\d{2}", token) and not unit_after(after):
            continue  # 145.00: a price
        if re.match(r"^\s*[.)]\s", after) and not before.strip().strip("-*•|"):
            continue  # "1. DC-1001 …": an enumeration
        if start >= anchor[1] and re.search(r"\s(?:and|und|et|y|plus|sowie)\s", text[anchor[1]:start], re.I):
            continue  # "DC-1005 and 10 units of …": that number starts the next item
        unit_m = unit_after(after)
        if unit_m and unit_m.group(0).strip().lower() in ("x", "×") and end <= anchor[0]:
            score, unit = 3, "Units"  # "2 x DC-1001"
        elif unit_m and unit_m.group(0).strip().lower() in ("x", "×"):
            score, unit = 1, None  # "DC-1001 4 x 2" is too odd to trust
        elif unit_m:
            score, unit = 3, normalize_unit(unit_m.group(0))
        elif UNIT_BEFORE_RE.search(before[-12:]):
            score, unit = 3, "Units"
        elif start >= anchor[1] and re.fullmatch(r"\s*[:=\-–|]?\s*(?:\()?", text[anchor[1]:start]):
            score, unit = 2, None  # "DC-1001: 5", "DC-1001 - 5", "DC-1001 | 5"
        elif end <= anchor[0] and _ADJACENT_BEFORE.match(text[end:anchor[0]]):
            score, unit = 2, None  # "250 gearbox housings", "250 of the gearbox housings"
        else:
            score, unit = 1, None
        out.append(Candidate(start, end, value, score, unit))
    return out


def pick_quantity(cands: list[Candidate], anchor: tuple[int, int]) -> tuple[float | None, str | None, float]:
    """The quantity and how sure we are: a unit-marked number beats one merely next to the product;
    two different equally good numbers leave the quantity in doubt (low confidence)."""
    if not cands:
        return None, None, 0.0
    best = max(c.score for c in cands)
    top = [c for c in cands if c.score == best]
    values = {c.value for c in top}

    def dist(c: Candidate) -> int:
        return anchor[0] - c.end if c.end <= anchor[0] else c.start - anchor[1]

    chosen = min(top, key=dist)
    if len(values) > 1:
        return chosen.value, chosen.unit or "Units", 0.5
    conf = {3: 1.0, 2: 0.95, 1: 0.7}[best]
    return chosen.value, chosen.unit or "Units", conf


# --- product mentions in lines ------------------------------------------------------------------

@dataclass
class Anchor:
    start: int
    end: int
    code: str | None  # our default_code when recognised
    kind: str  # "code" or "name"


def anchors_in(line: str, index: CatalogIndex, lang: str) -> list[Anchor]:
    codes = [Anchor(s, e, c, "code") for s, e, c in index.code_spans(line)]
    names = [Anchor(s, e, c, "name") for s, e, c in index.name_spans(line, lang)]
    names = [n for n in names if not any(a.start < n.end and n.start < a.end for a in codes)]
    return sorted(codes + names, key=lambda a: a.start)


def group_items(anchors: list[Anchor], line: str) -> list[list[Anchor]]:
    """A row "DC-1001 Aluminium gearbox housing 5" names one item twice: a line with one code and
    names is one item; otherwise every anchor is its own item."""
    codes = [a for a in anchors if a.kind == "code"]
    if len(codes) == 1:
        # the code and the names of that same product are one item; another product's name is another
        # the code and the names of that same product are one item, and so is a name written right
        # beside the code (a description, checked against it later); another product's name further
        # along the line ("… (DC-1013) et 2 supports d'antenne") is another item
        code = codes[0]

        def beside(a: Anchor) -> bool:
            lo, hi = (a.end, code.start) if a.end <= code.start else (code.end, a.start)
            return hi - lo <= 3 and not re.search(r"[,;]", line[lo:hi])

        same = [a for a in anchors if a.kind == "code" or a.code in (None, code.code) or beside(a)]
        others = [[a] for a in anchors if a not in same]
        return sorted([same, *others], key=lambda item: item[0].start)
    if len(codes) > 1:
        # "60 heat sinks (DC-1007) and 24 motor end caps, DC-1010": each code with the name of that same
        # product written right beside it is one item; names further away are left out (several codes
        # on a line: the codes say which items)
        items = [[c, *(a for a in anchors if a.kind == "name" and a.code == c.code and _described(line, a, c))]
                 for c in codes]
        return [sorted(item, key=lambda a: a.start) for item in items]
    return [[a] for a in anchors]


_BETWEEN_NAME_AND_CODE = re.compile(r"[\s,:;(\[\-–]*(?:ref\.?|réf\.?|art\.?|code|item|no\.?|nr\.?)?[\s.:#(\[]*", re.I)


def _described(line: str, name: Anchor, code: Anchor) -> bool:
    """The name is written right beside the code, with nothing but punctuation or "ref." between."""
    lo, hi = (name.end, code.start) if name.end <= code.start else (code.end, name.start)
    return _BETWEEN_NAME_AND_CODE.fullmatch(line[lo:hi]) is not None


def _regions(line: str, items: list[list[Anchor]]) -> list[tuple[int, int]]:
    """Each item's part of the line: cut between items at a separator (",", "and", "+") or, failing
    that, just before the next item's own leading quantity."""
    bounds = [0]
    for prev, nxt in pairwise(items):
        gap_start, gap_end = prev[-1].end, nxt[0].start
        gap = line[gap_start:gap_end]
        seps = list(_SEPARATORS.finditer(gap))
        if seps:
            cut = gap_start + seps[-1].start()
        else:
            m = re.search(rf"(\d[\d.,]*|\w+)\s*(?:{UNITS})?\.?\s*(?:of\s+)?$", gap, re.I)
            cut = gap_start + (m.start() if m and m.start() > 0 else len(gap) // 2)
        bounds.append(cut)
    bounds.append(len(line))
    return list(pairwise(bounds))


_QUESTION_START = re.compile(
    r"^\s*(do you|can you|could you|would you|is there|are there|what|when|how|why|which|have you|"
    r"avez-vous|pouvez-vous|est-ce que|quel|quelle|quand|combien|haben sie|können sie|koennen sie|"
    r"wann|wie|was|welche|gibt es|tienen|tiene|pueden|puede|cuándo|cuando|cuánto|cuanto|qué|que|hay)\b",
    re.I,
)
_REQUEST = re.compile(
    r"\b(please|kindly|supply|send|deliver|ship|book|dispatch|livrer|envoyer|exp[ée]dier|fournir|liefern|"
    r"schicken|senden|zusenden|enviar|enviarnos|suministrar|entregar|mandar)\b", re.I)
_ENQUIRY = re.compile(
    r"\b(quote|quotation|price|prices|pricing|cost|stock|lead time|availab\w*|catalog\w*|sample|devis|prix|"
    r"tarif|disponib\w*|d[ée]lai|angebot|preis\w*|lieferzeit|verfügbar\w*|lager|cotizaci[oó]n|precio\w*|"
    r"plazo|muestra)\b", re.I)


def is_request(sentence: str) -> bool:
    """"Could you please supply 8 x DC-1003?" orders; "could you send a quote for 8?" asks."""
    return bool(_REQUEST.search(sentence)) and not _ENQUIRY.search(sentence)


# A line the customer declines or puts off: named, and not ordered ("Position 3 is not needed",
# "Pos. 2 bestellen wir später", "we no longer need the covers")
DECLINED = re.compile(
    r"\b(?:not needed|not required|no longer need\w*|(?:do not|don'?t) need|plus besoin|pas besoin|"
    r"nicht (?:mehr )?(?:benotigt|erforderlich|notig)|no (?:la |lo |las |los )?necesitamos|no hace falta|"
    r"(?:order|bestellen|commander|commanderons|pediremos|pedir)\w* (?:\w+ ){0,3}(?:later|spater|plus tard|"
    r"mas adelante|mas tarde)|(?:later|spater|plus tard|mas adelante) (?:\w+ ){0,2}"
    r"(?:order|bestellen|commander|pedir)\w*)\b",
    re.I,
)
NEGATED = re.compile(
    r"\b(don'?t|do not|no longer|not need|cancel|without|remove|instead of|keine?n?|nicht|streichen|"
    r"storn|ne .{0,20}pas|plus besoin|annul|sans|no necesit|sin|anular|en lugar de|statt)\b|" + DECLINED.pattern,
    re.I,
)
_QTY_LABEL = re.compile(
    r"^\s*[-*•]?\s*(?:quantity|qty|qté|quantité|menge|anzahl|stückzahl|cantidad|amount|nombre)\s*[:=]\s*(.+)$",
    re.I,
)
_PRODUCT_LABEL = re.compile(
    r"^\s*[-*•]?\s*(?:product(?:\s*(?:id|code|name|ref(?:erence)?))?|item|article|artikel(?:nummer|nr\.?)?|"
    r"art\.?-?nr\.?|référence|reference|ref\.?|produit|producto|referencia|código|codigo|part(?:\s*no\.?)?|"
    r"sku|material)\s*[:=#]\s*(.+)$",
    re.I,
)
_GENERIC = re.compile(
    r"(?<![\w.,])(\d[\d.,]*|[A-Za-zäöüéèàñ-]+)\s*(?:x|×|pcs|pc|pieces|units|stück|stk|pièces|pcs|unidades|uds|"
    r"unités|ea|nos)\.?\s+(?:of\s+(?:the\s+)?|de\s+|d'|des\s+|del\s+|de\s+la\s+|x\s+)?"
    r"(?P<prod>[A-Za-z0-9äöüßéèêàâçñáíóú][\w\-/ .äöüßéèêàâçñáíóú'’]*?)"
    r"(?=\s*(?:[,;:(]|\.(?:\s|$)|\s(?:for|by|at|@|to|until|à|pour|für|bis|para|antes|avant|a|zu|je|each|"
    r"and|und|et|y|plus|sowie|ainsi|as well|also|with|mit|avec|con|on|in|im|this|next|asap|"
    r"à|per|please|bitte|svp|s'il|por favor)\b|\?|!|$))",
    re.I,
)
_PROSE = re.compile(
    r"(?<![\w.,/-])(\d[\d.,]*|[A-Za-zäöüéèàñ]+(?:[ -][A-Za-zäöüéèàñ]+)?)\s+(?:of\s+(?:the\s+)?|de\s+|d'|des\s+)?"
    r"(?P<prod>[A-Za-zäöüßéèêàâçñáíóú][\w\-äöüßéèêàâçñáíóú']*(?:\s+[A-Za-zäöüßéèêàâçñáíóú][\w\-äöüßéèêàâçñáíóú']*){0,5}?)"
    r"(?=\s*(?:[,;:(]|\.(?:\s|$)|\s(?:for|by|at|@|to|until|and|und|et|y|à|pour|für|bis|para|antes|avant|zu|"
    r"each|per|please|bitte|svp|por favor|in|im|en|this|next|asap|thx|thanks|now|today)\b|\?|!|$))",
    re.I,
)
_GENERIC_AFTER = re.compile(
    r"^\s*(?:[-*•·]|\d+[.)])\s*(?P<prod>[A-Za-z][\w\-/ .äöüßéèêàâçñáíóú']*?)\s*(?:[:=×x–-])\s*"
    rf"(?P<qty>\d[\d.,]*)\s*(?:{UNITS})?\.?\s*$",
    re.I,
)
_NOT_PRODUCT = re.compile(
    r"^(days?|weeks?|months?|years?|jours?|semaines?|mois|tage?n?|wochen?|monate?n?|d[ií]as?|semanas?|meses|"
    r"times?|fois|mal|veces|hours?|heures?|stunden?|horas?|per|each|pallets?|of them|of these|more|"
    r"boxes|box|cartons?|cases?|bags?|packs?|packages?|kartons?|kisten?|cajas?|bolsas?|paquets?|paquetes?|"
    r"bo[iî]tes?|sacs?|colis|ve|gebinde|"
    r"the same|le même|la même|dasselbe|lo mismo|%|percent)\b",
    re.I,
)


def _clean_product_text(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip(" .-:;,")
    return re.sub(r"^(?:of the|of|the|de la|des|de|du|der|die|das|el|la|los|las|le|les)\s+", "", text,
                  flags=re.I)


# the material a name is asked in, written after it: "aus Gusseisen", "en fonte", "in cast iron", "de acero"
_MATERIAL_AFTER = re.compile(r"^\s*,?\s*((?:(?:aus|en|in|de|made of|of|from|fabricad[oa]s? en)\s+)?([^\W\d][\w-]*))",
                             re.I)


def line_mentions(line: str, index: CatalogIndex, lang: str, source: str,
                  order_intent: bool, keep_questions: bool = False) -> tuple[list[LineMention], bool]:
    """Mentions in one line of text; the flag says the line asked a question about products.
    keep_questions: read items in questions too (a request for quotation asks about its lines)."""
    anchors = anchors_in(line, index, lang)
    stripped = line.strip()
    question = (stripped.endswith("?") or bool(_QUESTION_START.match(stripped) and "?" in stripped)) \
        and not is_request(stripped) and not keep_questions
    if not anchors:
        return ([] if question else _generic_mentions(line, lang, source, index)), question
    if question:
        return [], True
    items = group_items(anchors, line)
    mentions = []
    regions = _regions(line, items)
    # "… 250 grips, and 3 x titanium flanges": unknown items beside known ones still count, and
    # their numbers are not the known items' quantities
    masked = list(line)
    for a in anchors:
        masked[a.start:a.end] = "§" * (a.end - a.start)
    extras = [(m, s, e) for m, s, e in _generic_spans("".join(masked), lang, source, index, anchored=True)
              if "§" not in m.product_text]
    # "25 Stück Aluminium-Kühlkörper (DC-1007)", and a row without its columns "7612345000015 4 bracket
    # kit": the code and the counted words right beside it are one item
    described: dict[int, tuple[LineMention, int, int]] = {}
    for extra in list(extras):
        for k, item in enumerate(items):
            before = item[0].start >= extra[2] and re.fullmatch(r"[\s(\[:/–-]*", line[extra[2]:item[0].start])
            after = item[0].kind == "code" and extra[1] >= item[-1].end and k + 1 == len(items) \
                and re.fullmatch(r"[\s:|–-]*", line[item[-1].end:extra[1]])
            if k not in described and (before or after):
                described[k] = extra
                extras.remove(extra)
                break
    blocked = [(a.start, a.end) for a in anchors] + [(s, e) for _, s, e in extras]
    for k, (item, (r0, r1)) in enumerate(zip(items, regions, strict=False)):
        region = line[r0:r1]
        if NEGATED.search(fold(region)):
            continue
        product_text = " ".join(line[a.start:a.end] for a in item)
        material = _MATERIAL_AFTER.match(line[item[-1].end:r1])
        if material and item[-1].kind == "name" and fold(material.group(2)) in MATERIAL_WORDS:
            # "Pumpendeckel aus Gusseisen", "pump cover in cast iron": a material named after our name is
            # part of what is asked for (ours may be aluminium)
            product_text += " " + material.group(1).strip()
        if k in described:
            words = described[k][0]
            mentions.append(LineMention(text=stripped, product_text=f"{product_text} {words.product_text}",
                                        qty=words.qty, uom=words.uom, confidence=words.confidence, source=source))
            continue
        a0, a1 = item[0].start - r0, item[-1].end - r0
        cands = find_candidates(region, lang, [(s - r0, e - r0) for s, e in blocked], (a0, a1))
        qty, unit, conf = pick_quantity(cands, (a0, a1))
        total = restated_total(region, lang)
        if total is not None and conf < 1.0 and _consistent_total(total, [c.value for c in cands]):
            # "3 VE à 50 Stück = 150 Stück", "2 cartons (soit 24 pièces)": the customer's own total settles it
            qty, unit, conf = total, "Units", 1.0
        if qty is None and not order_intent:
            continue
        mentions.append(LineMention(text=stripped, product_text=product_text, qty=qty, uom=unit,
                                    confidence=conf if qty is not None else 0.5, source=source))
    for extra, _, _ in extras:
        extra.text = stripped
        mentions.append(extra)
    return mentions, False


_RESTATED = re.compile(
    r"(?:=|\bsoit\b|\bi\.\s?e\.|\bthat is\b|\bthat's\b|\binsgesamt\b|\balso\b|\bes decir\b|\bo sea\b|\ben total\b|"
    r"\bd\.\s?h\.|\bdas hei(?:ss|ß)t\b|"
    r"\bin total\b|\bgesamt\b|\bc'est-[àa]-dire\b)\s*:?\s*(\d[\d.,' ]*?)\s*"
    r"(?:pcs|pieces|units|st[üu]ck|stk|pi[èe]ces|unit[ée]s|unidades|uds|pz)\b", re.I)


def restated_total(text: str, lang: str) -> float | None:
    """A total in units the customer restates after the item ("= 150 Stück", "soit 24 pièces")."""
    m = _RESTATED.search(text)
    return parse_number(m.group(1).strip(), lang) if m else None


def _consistent_total(total: float, values: list[float]) -> bool:
    """The total is one of the numbers read, or the product of two of them (packs × size)."""
    return total in values or any(a * b == total for i, a in enumerate(values) for b in values[i + 1:])


def _generic_mentions(line: str, lang: str, source: str, index: CatalogIndex | None = None) -> list[LineMention]:
    return [m for m, _, _ in _generic_spans(line, lang, source, index)]


def _generic_spans(line: str, lang: str, source: str, index: CatalogIndex | None = None,
                   anchored: bool = False) -> list[tuple[LineMention, int, int]]:
    """"3 x titanium flanges" names no catalog product but is plainly an order line: keep it so
    that it is reported as unknown rather than silently dropped. With the span it was read from."""
    out: list[tuple[LineMention, int, int]] = []
    m = _GENERIC_AFTER.match(line)
    if m:
        qty = parse_number(m.group("qty"), lang)
        prod = _clean_product_text(m.group("prod"))
        if qty is not None and _plausible_product(prod):
            return [(LineMention(text=line.strip(), product_text=prod, qty=qty, uom="Units",
                                 confidence=0.9, source=source), m.start(), m.end())]
    used: list[tuple[int, int]] = []
    for m in _GENERIC.finditer(line):
        qty = parse_number(m.group(1), lang)
        prod = _clean_product_text(m.group("prod"))
        if qty is None or not _plausible_product(prod):
            continue
        if _BAD_BEFORE_STRONG.search(line[: m.start()][-14:]):
            continue
        used.append((m.start(), m.end()))
        out.append((LineMention(text=line.strip(), product_text=prod, qty=qty, uom="Units", confidence=0.9,
                                source=source), m.start(), m.end()))
    if index is None:
        return out
    # "30 aluminum heatsinks", "vingt-cinq couvercles de pompe": no unit, no exact name. Phrases come
    # from the index's token Matcher; the longest leading words that fit a catalog name are the
    # product ("Motorendkappen bestellen" → "Motorendkappen"). Kept when close to a catalog name (or to
    # several: reported as ambiguous); words that fit nothing count as an unknown item only when
    # listed beside recognised ones ("10 carters et 5 brides en titane"), never on their own.
    unknown: list[tuple[LineMention, int, int]] = []
    known = 0
    for phrase in index.quantity_phrases(line, lang):
        if any(s < phrase.words_end and phrase.qty_start < e for s, e in used):
            continue
        qty = parse_number(line[phrase.qty_start:phrase.qty_end], lang)
        before, after = line[: phrase.qty_start], line[phrase.qty_end:]
        if qty is None or _BAD_BEFORE.search(before[-14:]) or (_BAD_AFTER.match(after) and not UNIT_RE.match(after)):
            continue
        if re.match(r"0\d|\d{5,}$", line[phrase.qty_start:phrase.qty_end]):
            continue  # "0123", "4500071350": a phone, code or order number; nobody orders so
        best, prod = _best_prefix(line, phrase.words, index)
        if best >= NO_MATCH_BELOW + 10 and _plausible_product(prod):
            known += 1
            out.append((LineMention(text=line.strip(), product_text=prod, qty=qty, uom="Units",
                                    confidence=0.9, source=source), phrase.qty_start, phrase.words_end))
        else:
            prod = _clean_product_text(line[phrase.words_start:phrase.words_end])
            if _plausible_product(prod) and not _dates_spans(line[phrase.qty_start:phrase.words_end]):
                unknown.append((LineMention(text=line.strip(), product_text=prod, qty=qty, uom="Units",
                                            confidence=0.9, source=source), phrase.qty_start, phrase.words_end))
    if known or anchored:
        items = [(s, e) for _, s, e in out]
        out += [u for u in unknown if _listed(line, u[1], u[2], items)]
    return out


# between two items of an enumeration: a comma or a conjunction, and the next item's own quantity
# ("60 impulsores de bomba y 10 tapas …")
_LIST_GAP = re.compile(r"^[\s,;/+&]*(?:(?:and|und|et|y|e|plus|sowie|as well as|ainsi que|also)\b[\s,;]*)?"
                       r"(?:\d[\d.,]*\s*(?:x|×)?\s*)?$", re.I)


def _listed(line: str, start: int, end: int, items: list[tuple[int, int]]) -> bool:
    """The phrase stands in an enumeration with another item (a catalog name read here, or a code
    masked as "§"): only a comma or a conjunction between them."""
    anchors = [(m.start(), m.end()) for m in re.finditer(r"§+", line)]
    for s, e in [*items, *anchors]:
        gap = line[e:start] if e <= start else line[end:s] if s >= end else None
        if gap is not None and _LIST_GAP.match(gap):
            return True
    return False


def _best_prefix(line: str, words: list[tuple[int, int]], index: CatalogIndex) -> tuple[float, str]:
    """The leading words of a phrase that best name a catalog product, longest on a tie."""
    best, text = 0.0, ""
    for n in range(min(len(words), 7), 0, -1):
        candidate = _clean_product_text(line[words[0][0]:words[n - 1][1]])
        if all(w in MATERIALS for w in normalize_name(candidate).split()):
            continue  # "zinc" alone names a material, not a product
        ranked = rank_names(candidate, index)
        # a shorter prefix must fit clearly better: "carburetor housings" beats "carburetor"
        if ranked and ranked[0][0] > best + (2.0 if text else 0.0):
            best, text = ranked[0][0], candidate
    return best, text


_PACK = re.compile(r"(?<![\w.,])(\d{1,4})\s+(?:cartons?|boxes|box|packs?|packages?|cases?|kartons?|kisten?|"
                   r"packungen?|schachteln?|bo[iî]tes?|paquets?|colis|cajas?|paquetes?|cartones?|bultos?|ve|"
                   r"gebinde|bags?|sacs?|sachets?|beutel|bolsas?|bundles?|lots?)\s+"
                   r"(?:of|de|à|a|zu|mit|con|with)\s+(\d{1,5})(?![\d.,])(?:\s*(?:pcs|pieces|units|st[üu]ck|stk|"
                   r"pi[èe]ces|unidades|uds|unités)\b\.?)?", re.I)


_SMALL_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "ten": 10,
                  "une": 1, "un": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "dix": 10,
                  "ein": 1, "eine": 1, "zwei": 2, "drei": 3, "vier": 4, "funf": 5, "fünf": 5, "zehn": 10,
                  "una": 1, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "diez": 10}
_DOZENS = re.compile(r"(?<![\w.,])(\d{1,4}|" + "|".join(sorted(_SMALL_NUMBERS, key=len, reverse=True)) +
                     r")\s+(dozens?|dutzend|douzaines?|docenas?|gross|gros)\b", re.I)
_DOZEN_SIZE = {"dozen": 12, "dozens": 12, "dutzend": 12, "douzaine": 12, "douzaines": 12, "docena": 12,
               "docenas": 12, "gross": 144, "gros": 144}


# "2 cartones de disipadores (12 uds. por cartón)", "3 boxes of valve seats (à 20 pcs)": the pack size
# stated after the product. A bare "(100 pcs)" is not read as a size: after "4 boxes" it may as well be
# their total, and the quantity is then left in doubt (or settled by Odoo's packaging).
_PCS = r"(?:pcs|pieces|units?|un|uds?|unidades|unit[ée]s|st[üu]ck|stk|st|pi[èe]ces|pz)\.?"
_PACK_SIZE_AFTER = re.compile(
    r"(?<![\w.,])(\d{1,4})\s+(" + PACK_ALT +
    r")\b([^()\n]{0,80}?)\(\s*(?:(?:[àa@x×]\s*|de\s+|of\s+|je\s+|con\s+|with\s+)(\d{1,5})\s*" + _PCS +
    r"|(\d{1,5})\s*" + _PCS + r"\s*(?:per|por|par|pro|/|each|le|la|el|chaque|je)\s*[^\W\d_]*)\s*\)", re.I)


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _SMALL_NUMBERS[word.lower()]


def count_packs(text: str) -> str:
    """"3 cartons of 50" → "150 pcs", "2 Dutzend" → "24": quantities in the units the catalog sells,
    whatever shape the line has (prose, list, table cell) — so every later rule reads one plain quantity."""
    text = _DOZENS.sub(lambda m: f"{_count(m.group(1)) * _DOZEN_SIZE[m.group(2).lower()]}", text)
    text = _PACK_SIZE_AFTER.sub(lambda m: f"{int(m.group(1)) * int(m.group(4) or m.group(5))} pcs{m.group(3)}",
                                text)
    return _PACK.sub(lambda m: f"{int(m.group(1)) * int(m.group(2))} pcs", text)


def _plausible_product(text: str) -> bool:
    if not re.search(r"[A-Za-zäöüéèàñ]{3,}", text) or _NOT_PRODUCT.match(text):
        return False
    return len(text) <= 60 and len(text.split()) <= 7


_LIST_START = re.compile(r"^\s*(?:[-*•·–+>]|\d{1,2}[.)]\s|\(?[a-z]\)\s|pos\.?\s*\d)", re.I)


def unwrap(text: str) -> str:
    """Join prose that the sender's mail client wrapped at ~72 columns, so one sentence is read as
    one line: "… and a dozen" / "brass valve seats?" names one item with its quantity.

    A line continues on the next when it does not end a sentence or introduce a list, and either is
    long (a wrapped line) or the next starts in lower case or with "(" (a sentence carrying on).
    Table rows, list items and short lines (addresses, greetings) are never joined."""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        if prev.strip() and line.strip() and _continues(prev, line):
            out[-1] = prev.rstrip() + " " + line.strip()
        else:
            out.append(line)
    return "\n".join(out)


_RULE = re.compile(r"[-=_*~+|\s]{3,}")


def _continues(prev: str, line: str) -> bool:
    p, n = prev.rstrip(), line.strip()
    if _RULE.fullmatch(p.strip()) or _RULE.fullmatch(n):
        return False  # a rule ("-----", "=====") separates, in a table or a document
    if re.match(r"0\d{2,}\s", n):
        return False  # "00010 100045871 DC-1004 …": an ERP item number starts a new row
    if _DETAIL_LABEL.match(n) and len(re.findall(r"\d[\d.,]*", p)) >= 3:
        return False  # "00010 … 100.000 EA 32.000" then "Your material no.: DC-1004": an item's detail line
    if re.search(r"[.!?:;]$", p) or _LIST_START.match(n) or split_cells(prev) or split_cells(line):
        return False
    if _QTY_LABEL.match(n) or _PRODUCT_LABEL.match(n) or _QTY_LABEL.match(p) or _PRODUCT_LABEL.match(p):
        return False
    if re.search(r"\b[A-Za-z]{2,}[-\s./]?\d{3,}\b\)?$", p) and re.match(r"\d", n):
        return False  # "… (ref. DC-1009)" then "2 cartons …": one item line after another
    return len(p) >= 55 or bool(re.match(r"[a-zäöüßéèàçñáíóú(]", n))


# A sentence ends at ?/! always, and at a full stop after a word (not "Nr.", "Stk.", "5."), when the
# next starts with a capital: questions are told apart sentence by sentence, not line by line.
_SENTENCE_END = re.compile(r"(?<=[?!])\s+(?=\S)|(?<=[a-zäöüßéèàçñáíóú]{4}\.)\s+(?=[A-ZÄÖÜÉ¿¡])")


# "10 pump parts... I mean 10 x pump": what comes before a self-correction is withdrawn
_CORRECTION = re.compile(r"\b(?:i mean|i meant|correction\s*:|sorry,? (?:i meant|make that)|make that|"
                         r"je veux dire|pardon,|ich meine|korrektur\s*:|quiero decir|perd[oó]n,)\s*", re.I)


def sentences(line: str) -> list[str]:
    parts = [line] if len(line) < 40 or not _SENTENCE_END.search(line) else \
        [part for part in _SENTENCE_END.split(line) if part.strip()]
    out = []
    for part in parts:
        fixes = list(_CORRECTION.finditer(part))
        out.append(part[fixes[-1].end():] if fixes else part)
    return out


def _tabs_as_cells(line: str) -> str:
    """"AHT-EC-19\t\tEnd caps\t30" as "AHT-EC-19 |  | End caps | 30": each tab parts two cells, an empty
    one included (the columns stay where the header says); the indentation stays."""
    body = line.lstrip()
    if "\t" not in body.rstrip():
        return line
    return line[:len(line) - len(body)] + " | ".join(cell.strip() for cell in body.rstrip().split("\t"))


def text_mentions(text: str, index: CatalogIndex, lang: str, source: str = "body",
                  order_intent: bool = True, keep_questions: bool = False) -> tuple[list[LineMention], bool]:
    """All order lines in a cleaned text: tables first, then line by line; pairs "Product: X" with a
    following or preceding "Quantity: N" when the product's own line has no quantity."""
    # Outlook's plain text of a table parts cells with tabs: read them as the cells they are
    lines = [_tabs_as_cells(ln) for ln in count_packs(text).split("\n")]
    rows = [None if not ln.strip() else (split_cells(ln) or []) for ln in lines]
    table, used = table_rows(rows, lang, source)
    mentions: list[LineMention] = list(table)
    asked = False
    pending: LineMention | None = None
    pending_qty: tuple[float, int] | None = None
    # each item by the line it was read from, so a detail line below it finds it (a table row's text is
    # its cells joined)
    row_lines = {" | ".join(rows[i] or []): lines[i].strip() for i in used}
    by_text = {row_lines.get(m.text, m.text): m for m in table}
    for i, line in enumerate(lines):
        if i in used or not line.strip():
            continue
        qlabel = _QTY_LABEL.match(line)
        if qlabel and not anchors_in(line, index, lang):
            value = _first_number(qlabel.group(1), lang)
            if value is not None:
                if pending is not None and pending.qty is None:
                    pending.qty, pending.uom, pending.confidence = value, "Units", 1.0
                    pending.text += "\n" + line.strip()
                    pending = None
                else:
                    pending_qty = (value, i)
            continue
        found, question = [], False
        for sentence in sentences(line):
            got, asked_here = line_mentions(sentence, index, lang, source, order_intent or bool(pending_qty),
                                            keep_questions)
            found += got
            question = question or asked_here
        if not found:
            plabel = _PRODUCT_LABEL.match(line)
            if plabel:
                found = [_label_mention(plabel.group(1), line, index, source)]
        asked = asked or question
        item = _item_continued(lines, i, found, by_text, index)
        if item is not None:
            item.product_text = f"{found[0].product_text} {item.product_text}"
            item.text += "\n" + line.strip()
            continue
        for mention in found:
            if mention.qty is None and pending_qty is not None and i - pending_qty[1] <= 2:
                mention.qty, mention.uom, mention.confidence = pending_qty[0], "Units", 1.0
                pending_qty = None
            mentions.append(mention)
            by_text[mention.text] = mention
        pending = found[-1] if len(found) == 1 and found[-1].qty is None else None
    return mentions, asked


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _item_continued(lines: list[str], i: int, found: list[LineMention], by_text: dict[str, LineMention],
                    index: CatalogIndex) -> LineMention | None:
    """The item that a detail line under it belongs to, when that line only gives our code.

    ERP documents write one item on several lines: "00010 KI-33021 Brass pump impeller 100.000 EA" and
    below it, indented or labelled, "Your material no.: DC-1004". That is the item's product, not a
    second line without a quantity. Only a code continues an item (a code is certain; the name above
    is checked against it when the product is resolved), only on an item that has its quantity and
    names no other code of ours; a labelled line without indentation (HTML collapses it) only on an
    item that names no code of ours at all."""
    if len(found) != 1 or found[0].qty is not None or not index.code_spans(found[0].product_text):
        return None
    labelled = _DETAIL_LABEL.match(lines[i].strip()) is not None
    j = i - 1
    while j >= 0 and lines[j].strip() and lines[j].strip() not in by_text and (
            _indent(lines[j]) >= _indent(lines[i]) > 0 or _DETAIL_LABEL.match(lines[j].strip())):
        j -= 1  # other detail lines of the same item ("Delivery date: …")
    if j < 0 or not lines[j].strip():
        return None
    indented = _indent(lines[i]) > _indent(lines[j])
    item = by_text.get(lines[j].strip())
    if item is None or item.qty is None or not (indented or labelled):
        return None
    codes = {c for _, _, c in index.code_spans(item.product_text)}
    code = index.code_spans(found[0].product_text)[0][2]
    return item if codes <= ({code} if indented else set()) else None


# "Your material no.: DC-1004", "Ihre Materialnummer: DC-1011", "Delivery date : …": a labelled detail
_DETAIL_LABEL = re.compile(r"^[^\W\d][^\W\d .'-]*(?:[ .'-]+[^\W\d][^\W\d.'-]*){0,4}[ .]*:\s*\S")


def _first_number(text: str, lang: str) -> float | None:
    m = NUMBER_RE.search(text)
    if m:
        return parse_number(m.group(1), lang)
    w = NUMBER_WORD_RE.get(lang, NUMBER_WORD_RE["en"]).search(fold(text))
    return parse_number(w.group(0), lang) if w else None


def _label_mention(value: str, line: str, index: CatalogIndex, source: str) -> LineMention:
    """"Product ID: 1001" (digits of a code) or "Product: titanium flange"."""
    value = value.strip()
    code = index.code_by_digits.get(value.strip().lstrip("0") or value) if value.isdigit() else None
    return LineMention(text=line.strip(), product_text=code or value, qty=None, uom=None, confidence=0.5,
                       source=source)
