"""Quantities as written: digits with locale separators, number words in four languages, units."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from babel.core import UnknownLocaleError
from babel.numbers import get_decimal_symbol

_EN_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
             "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
             "nineteen"]
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy",
            80: "eighty", 90: "ninety"}
_FR_UNITS = ["zero", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
             "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"]
_FR_TENS = {20: "vingt", 30: "trente", 40: "quarante", 50: "cinquante", 60: "soixante"}
_DE_UNITS = ["null", "eins", "zwei", "drei", "vier", "funf", "sechs", "sieben", "acht", "neun", "zehn",
             "elf", "zwolf", "dreizehn", "vierzehn", "funfzehn", "sechzehn", "siebzehn", "achtzehn",
             "neunzehn"]
_DE_TENS = {20: "zwanzig", 30: "dreissig", 40: "vierzig", 50: "funfzig", 60: "sechzig", 70: "siebzig",
            80: "achtzig", 90: "neunzig"}
_ES_UNITS = ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez",
             "once", "doce", "trece", "catorce", "quince", "dieciseis", "diecisiete", "dieciocho",
             "diecinueve"]
_ES_TENS = {20: "veinte", 30: "treinta", 40: "cuarenta", 50: "cincuenta", 60: "sesenta", 70: "setenta",
            80: "ochenta", 90: "noventa"}


_FOLDED: dict[int, str] = {}  # non-ASCII character → its base letter, filled as characters are met


def fold(text: str) -> str:
    """Lowercase without accents, same length as the input (offsets stay valid)."""
    if text.isascii():
        return text.lower()
    for c in set(text):
        if ord(c) > 127 and ord(c) not in _FOLDED:
            _FOLDED[ord(c)] = unicodedata.normalize("NFKD", c)[0]
    return text.translate(_FOLDED).lower()


def _compose(units: list[str], tens: dict[int, str], joiners: tuple[str, ...]) -> dict[str, int]:
    words = {w: i for i, w in enumerate(units)}
    for t, w in tens.items():
        words[w] = t
        for u in range(1, 10):
            for joiner in joiners:
                words[f"{w}{joiner}{units[u]}"] = t + u
    return words


def _build_words() -> dict[str, dict[str, int]]:
    """Number words per language; "once" is eleven only in Spanish, "sept" seven only in French."""
    en = _compose(_EN_UNITS, _EN_TENS, ("-", " "))
    en.update({"dozen": 12, "a dozen": 12, "hundred": 100, "a hundred": 100, "one hundred": 100,
               "two hundred": 200, "a thousand": 1000, "one thousand": 1000})
    es = _compose(_ES_UNITS, _ES_TENS, (" y ",))
    es.update({f"veinti{_ES_UNITS[u]}": 20 + u for u in range(1, 10)})
    es.update({"veintiun": 21, "docena": 12, "una docena": 12, "cien": 100, "ciento": 100,
               "doscientos": 200, "doscientas": 200, "mil": 1000})
    fr = _compose(_FR_UNITS, _FR_TENS, ("-",))
    fr.update({f"{w} et un": t + 1 for t, w in _FR_TENS.items()})
    fr.update({"soixante-dix": 70, "quatre-vingt": 80, "quatre-vingts": 80, "quatre-vingt-dix": 90,
               "douzaine": 12, "une douzaine": 12, "cent": 100, "deux cents": 200, "mille": 1000})
    de = {w: i for i, w in enumerate(_DE_UNITS)}
    for t, w in _DE_TENS.items():
        de[w] = t
        for u in range(1, 10):
            de[f"{'ein' if u == 1 else _DE_UNITS[u]}und{w}"] = t + u
    de.update({"dutzend": 12, "ein dutzend": 12, "hundert": 100, "einhundert": 100, "zweihundert": 200,
               "tausend": 1000, "eintausend": 1000})
    out = {"en": en, "fr": fr, "de": de, "es": es}
    # Articles and zero words are not quantities: "a housing" is too weak to order on.
    for words in out.values():
        for article in ("un", "une", "uno", "una", "zero", "null", "cero"):
            words.pop(article, None)
    return out


NUMBER_WORDS = _build_words()

# Words that scale or add hundreds and thousands, so that "two hundred and fifty", "deux cent
# cinquante", "doscientas cincuenta", "mille deux cents" or "zweihundertfünfzig" read as one number
# however they are composed, instead of a table of every spelled-out value.
_HUNDRED = {"en": ("hundred",), "fr": ("cent", "cents"), "de": ("hundert",), "es": ("cien", "ciento")}
_THOUSAND = {"en": ("thousand",), "fr": ("mille",), "de": ("tausend",), "es": ("mil",)}
_ES_HUNDREDS = {"doscient": 200, "trescient": 300, "cuatrocient": 400, "quinient": 500, "seiscient": 600,
                "setecient": 700, "sietecient": 700, "ochocient": 800, "novecient": 900}
_JOINERS = {"en": ("and",), "fr": (), "de": (), "es": ()}


def _parts(lang: str) -> dict[str, int]:
    """Single words with a value (compound entries like "a dozen" are matched whole)."""
    parts = {w: v for w, v in NUMBER_WORDS[lang].items() if " " not in w}
    parts.update({w: 100 for w in _HUNDRED[lang]})
    parts.update({w: 1000 for w in _THOUSAND[lang]})
    if lang == "es":
        parts.update({f"{stem}{end}": v for stem, v in _ES_HUNDREDS.items() for end in ("os", "as")})
    if lang == "fr":
        parts.update({"un": 1, "une": 1})  # only inside a compound: "deux cent un", never alone
    return parts


NUMBER_PARTS = {lang: _parts(lang) for lang in NUMBER_WORDS}
_DE_SMALL = sorted((w for w, v in NUMBER_WORDS["de"].items() if 0 < v < 100 and " " not in w), key=len, reverse=True)
_DE_DIGIT = sorted(["ein", *(w for w, v in NUMBER_WORDS["de"].items() if 1 < v < 10)], key=len, reverse=True)
# German writes numbers as one word: [x]tausend[y]hundert[z]
DE_COMPOUND_NUMBER = (rf"(?:(?:{'|'.join(_DE_DIGIT)})?tausend)?(?:(?:{'|'.join(_DE_DIGIT)})?hundert)?"
                rf"(?:und)?(?:{'|'.join(_DE_SMALL)})?")
_DE_COMPOUND_RE = re.compile(
    rf"(?:(?P<th>{'|'.join(_DE_DIGIT)})?(?P<t>tausend))?(?:(?P<hu>{'|'.join(_DE_DIGIT)})?(?P<h>hundert))?"
    rf"(?:und)?(?P<rest>{'|'.join(_DE_SMALL)})?")


def _word_alternatives(lang: str) -> str:
    whole = [re.escape(w) for w in NUMBER_WORDS[lang] if " " in w]
    single = [re.escape(w) for w in NUMBER_PARTS[lang] if w not in ("un", "une")]
    inner = [re.escape(w) for w in NUMBER_PARTS[lang]]
    word = "(?:" + "|".join(sorted(single, key=len, reverse=True)) + ")"
    part = "(?:" + "|".join(sorted(inner, key=len, reverse=True)) + ")"
    if lang == "de":
        word = f"(?:{DE_COMPOUND_NUMBER})"
        part = word
    joiner = "".join(rf"(?:{j}\s+)?" for j in _JOINERS[lang])
    phrase = rf"{word}(?:(?:\s+|-){joiner}{part})*"
    # the composed phrase first: "two hundred and fifty" must not stop at the table's "two hundred"
    return "|".join([phrase, *sorted(whole, key=len, reverse=True)])


NUMBER_WORD_RE = {
    lang: re.compile(r"(?<![\w-])(?:" + _word_alternatives(lang) + r")(?![\w-])")
    for lang in NUMBER_WORDS
}


def _de_value(word: str) -> int | None:
    m = _DE_COMPOUND_RE.fullmatch(word)
    if not m or not word:
        return None
    small = NUMBER_WORDS["de"]

    def digit(w: str | None) -> int:
        return 1 if not w or w == "ein" else small[w]

    total = digit(m.group("th")) * 1000 if m.group("t") else 0
    total += digit(m.group("hu")) * 100 if m.group("h") else 0
    total += small[m.group("rest")] if m.group("rest") else 0
    return total or None


def word_value(word: str, lang: str) -> int | None:
    """The value of a spelled-out number, simple ("douze") or composed ("two hundred and fifty")."""
    lang = lang if lang in NUMBER_WORDS else "en"
    text = " ".join(fold(word).split())
    if text in NUMBER_WORDS[lang]:
        return NUMBER_WORDS[lang][text]
    if lang == "de":
        return _de_value(text.replace(" ", ""))
    words = [w for w in re.split(r"[\s]+", text) if w not in _JOINERS[lang]]
    # hyphenated compounds of the tables ("forty-five", "dix-sept") stay one word; others split
    tokens: list[str] = []
    for w in words:
        tokens += [w] if w in NUMBER_PARTS[lang] else w.split("-")
    total = current = 0
    for w in tokens:
        value = NUMBER_PARTS[lang].get(w)
        if value is None:
            return None
        if w in _HUNDRED[lang]:
            current = max(current, 1) * 100 if w != "cien" and w != "ciento" else current + 100
        elif w in _THOUSAND[lang]:
            total += max(current, 1) * 1000
            current = 0
        else:
            current += value
    return (total + current) or None


# Pack words → the packaging name the catalog uses for them (Odoo product.packaging names).
PACK_WORDS = {
    "box": "box", "boxes": "box", "boite": "box", "boites": "box", "boîte": "box", "boîtes": "box",
    "schachtel": "box", "schachteln": "box", "caja": "box", "cajas": "box",
    "carton": "carton", "cartons": "carton", "karton": "carton", "kartons": "carton", "cartón": "carton",
    "cartones": "carton", "colis": "carton",
    "bag": "bag", "bags": "bag", "sac": "bag", "sacs": "bag", "sachet": "bag", "sachets": "bag",
    "beutel": "bag", "bolsa": "bag", "bolsas": "bag",
    "case": "case", "cases": "case", "kiste": "case", "kisten": "case", "caisse": "case", "caisses": "case",
    "pack": "pack", "packs": "pack", "package": "pack", "packages": "pack", "paquet": "pack", "paquets": "pack",
    "packung": "pack", "packungen": "pack", "paquete": "pack", "paquetes": "pack", "ve": "pack", "gebinde": "pack",
    "pallet": "pallet", "pallets": "pallet", "palette": "pallet", "paletten": "pallet", "palettes": "pallet",
    "palet": "pallet", "palets": "pallet", "bundle": "pack", "bundles": "pack", "lot": "pack", "lots": "pack",
    # the abbreviations ERPs print in a unit column
    "ctn": "carton", "ctns": "carton", "krt": "carton", "bx": "box", "cj": "box", "pk": "pack", "pkg": "pack",
    "plt": "pallet",
}
# the pack words as one regex alternation, longest first
PACK_ALT = "|".join(sorted(map(re.escape, PACK_WORDS), key=len, reverse=True))

# digits with optional thousands groups (1.000 / 1,000 / 1 000 / 1'000) or a decimal part
NUMBER_RE = re.compile(r"(?<![\w.,'/-])(\d{1,3}(?:[.,' \u202f]\d{3})+|\d+(?:[.,]\d+)?)(?![\d])")

UNITS = (
    r"x|×|pcs?|pce?s?|pieces?|piece|units?|unit[ée]s?|ea|each|off|nos?|st[üu]ck|stk|st|pi[èe]ces?|pc|"
    r"unidades?|uds?|u|ud|sets?|kits?|boxes|cartons?|pairs?|paires?|paar|juegos?|exemplaires?|ex"
)
UNIT_RE = re.compile(rf"^\s*(?:{UNITS})\.?(?![\w])", re.I)
# "2 cajas de …", "3 Kartons …": a count of packs marks its number as a quantity as surely as "pcs" does
PACK_UNIT_RE = re.compile(r"^\s*(?:" + PACK_ALT +
                          r")\.?(?![\w])", re.I)


def unit_after(text: str) -> re.Match[str] | None:
    """The unit or pack word a number is followed by ("12 pcs", "3 cajas"), if any."""
    return UNIT_RE.match(text) or PACK_UNIT_RE.match(text)
UNIT_BEFORE_RE = re.compile(r"(?:x|×|qty|quantity|qté|quantité|menge|anzahl|cantidad|cant|uds)\.?\s*:?\s*$",
                            re.I)


@lru_cache(maxsize=64)
def decimal_symbol(lang: str) -> str:
    """The language's decimal separator from the CLDR data (Babel): "," in fr, de, es; "." in en."""
    try:
        return get_decimal_symbol(lang or "en")
    except (UnknownLocaleError, ValueError):
        return "."


def parse_number(token: str, lang: str = "en") -> float | None:
    """A number as the language writes it: "1,500" is 1500 in English and 1.5 in German; "1.500" the
    reverse; "500,000" from a German ERP is 500 (three decimals). A reading with decimals is not a whole
    quantity, which the gate turns into a question rather than a guess. Repeated separators and
    spaces or apostrophes always group thousands; with both a dot and a comma the last one is decimal."""
    token = token.strip().replace("\u202f", " ").replace("\xa0", " ")
    if re.fullmatch(r"\d{1,3}(?:[' ]\d{3})+(?:[.,]\d+)?", token):
        parts = re.split(r"[.,](?=\d+$)", token)
        value = float(re.sub(r"[' ]", "", parts[0]))
        return value + (float("0." + parts[1]) if len(parts) > 1 else 0.0)
    m = re.fullmatch(r"(\d{1,3}(?:([.,])\d{3})+)(?:([.,])(\d+))?", token)
    if m and (m.group(3) is None or m.group(3) != m.group(2)):
        grouped, sep, dec_sep, frac = m.group(1), m.group(2), m.group(3), m.group(4)
        if dec_sep is None and grouped.count(sep) == 1:
            # one separator and three digits: the language says whether it groups or is decimal
            decimal = decimal_symbol(lang)
            if sep == decimal:
                return float(grouped.replace(sep, "."))
        value = float(grouped.replace(sep, ""))
        return value + (float("0." + frac) if frac else 0.0)
    m = re.fullmatch(r"(\d+)(?:[.,](\d+))?", token)
    if not m:
        value = word_value(token, lang)
        return float(value) if value is not None else None
    if m.group(2) is None:
        return float(m.group(1))
    return float(f"{m.group(1)}.{m.group(2)}")


_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"), "-")
_SPACES = dict.fromkeys(map(ord, "\xa0\u2007\u2009\u200a\u202f\u3000"), " ")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# "poignées d’outil", “DC-1004”: typographic apostrophes and quotes written as the plain ones
_QUOTES = {**dict.fromkeys(map(ord, "\u2018\u2019\u02bc\u201b"), "'"),
           **dict.fromkeys(map(ord, "\u201c\u201d\u201e"), '"')}


def normalize_typography(text: str) -> str:
    """Typography that hides numbers and codes from the rules: full-width digits and letters, typographic
    dashes (DC–1004) and apostrophes (d’outil), non-breaking and narrow spaces (1 500), soft hyphens and
    zero-width characters.
    Vulgar fractions (½) are left alone: they are sizes, not quantities."""
    text = text.translate(_DASHES).translate(_SPACES).translate(_INVISIBLE).translate(_QUOTES)
    if any("\uff01" <= c <= "\uff5e" for c in text):
        text = "".join(unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" else c for c in text)
    return text


def normalize_unit(word: str | None) -> str | None:
    if not word:
        return None
    w = fold(word).rstrip(".")
    if w in ("set", "sets", "kit", "kits", "juego", "juegos"):
        return "Sets"
    if w in ("pair", "pairs", "paire", "paires", "paar"):
        return "Pairs"
    if w in ("box", "boxes", "carton", "cartons"):
        return "Boxes"
    return "Units"
