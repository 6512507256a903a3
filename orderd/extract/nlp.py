"""The catalog as something text can be matched against: codes, barcodes, and product names with
their variants, in a spaCy PhraseMatcher over `spacy.blank(lang)` tokenizers.

Built once per catalog object (the cache is keyed by identity) and shared by threads: matching holds
a lock, because tokenizing new words adds them to the shared vocabulary.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import spacy
from rapidfuzz import fuzz
from spacy.matcher import Matcher, PhraseMatcher
from spacy.util import filter_spans

from orderd.catalog import Catalog
from orderd.extract.numbers import DE_COMPOUND_NUMBER, NUMBER_PARTS, fold
from orderd.extract.vocabulary import JOINERS, derive_vocabulary
from orderd.records import Product

LANGS = ("en", "fr", "de", "es")
NO_MATCH_BELOW = 70  # best name score under this: the catalog does not have it
AMBIGUOUS_GAP = 8  # two candidates within this many points: ask a human
FUZZY_CEILING = 0.98  # a name is never as certain as a code
# Leading words that name the material: customers often leave them out ("gearbox housings").
MATERIALS = {"aluminium", "aluminum", "zinc", "brass", "magnesium", "steel", "stainless", "copper",
             "bronze", "iron", "titanium", "plastic", "alu", "zamak"}
# Materials as the four languages write them (folded): what a part is asked in, whatever the catalog sells
MATERIAL_WORDS = MATERIALS | {
    "cast", "fonte", "guss", "gusseisen", "grauguss", "fundicion", "hierro", "fer", "eisen", "acier", "stahl", "acero",
    "inox", "edelstahl", "inoxidable", "plastique", "kunststoff", "plastico", "cuivre", "kupfer", "cobre",
    "bronce", "titane", "titan", "titanio", "laiton", "messing", "laton", "zink", "aluminio", "magnesio",
    "magnesium", "aluminum", "zinc"}
# Foreign part words → the English the catalog's names use ("pompe" → "pump", "Deckel" → "cover"), learned
# from the catalog's own names in each language when its index is built (orderd.extract.vocabulary): no
# word list fitted to one catalog. Shared by every index built in the process.
VOCABULARY: dict[str, str] = {}
# What German compounds may be split into: the vocabulary's single words and the catalog's own words.
_LINKING = ("", "s", "n", "en", "e")
_STOP = JOINERS  # words that join a name's parts, never a part themselves


def singular(word: str) -> str:
    """Crude singular for the four languages' regular plurals (enough for product head nouns)."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith(("s", "x")) and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@lru_cache(maxsize=16384)  # names and mentions repeat from mail to mail; pure given the catalog words
def normalize_name(text: str) -> str:
    """Folded, hyphen-free, singular words, foreign part words translated: the form names are ranked
    in, both for the catalog and for what customers write."""
    return _name_form(text, translate=True)


@lru_cache(maxsize=16384)
def plain_name(text: str) -> str:
    """The same form without translating a word: what "the exact name in some language" is compared in
    ("carter de pompe" and "corps de pompe" are both pump housings, but only one is our name)."""
    return _name_form(text, translate=False)


def is_material(word: str) -> bool:
    """A material in any language the catalog's names are in ("laiton", "Messing", "aluminio")."""
    return word in MATERIALS or VOCABULARY.get(word) in MATERIALS


def _name_form(text: str, *, translate: bool) -> str:
    text = fold(text)
    text = re.sub(r"[-_/]", " ", text)
    text = re.sub(r"[^\w ]", " ", text)
    text = re.sub(r"\bdie ?cast(ing)?\b|\bdiecast\b", "diecast", text)
    words = []
    for w in text.split():
        for part in (_translate(w) if translate else w).split():
            words.append(singular(part))
    words = ["aluminium" if w in ("aluminum", "alu") else w for w in words if w not in _STOP]
    return " ".join(words)


def _known(word: str) -> str | None:
    """The vocabulary's reading of a word with a regular plural in any of the four languages
    ("Ventile", "impulsores", "Pumpendeckel"), or None."""
    for stem in (word, singular(word), word[:-2] if word.endswith(("es", "en", "er")) else "",
                 word[:-1] if word.endswith(("e", "n")) else ""):
        if len(stem) >= 3 and stem in VOCABULARY:
            return VOCABULARY[stem]
    return None


def _translate(word: str) -> str:
    """A written word in the English the catalog uses: the vocabulary, else a German compound split
    into vocabulary parts ("werkzeuggriffe" → "tool grip", "motorendkappen" → "motor end cap"), else
    the word itself."""
    found = _known(word)
    if found is not None:
        return found
    if len(word) >= 7:
        split = _split_compound(word, 0)
        if split:
            return split
    return word


def _split_compound(word: str, depth: int) -> str | None:
    if depth > 2:
        return None
    for i in range(len(word) - 3, 2, -1):  # the longest head first: "pumpen|deckel", not "pum|…"
        head, tail = word[:i], word[i:]
        tail_text = _known(tail) or (_split_compound(tail, depth + 1) if len(tail) >= 6 else None)
        if tail_text is None:
            continue
        for link in _LINKING:
            if link and not head.endswith(link):
                continue
            stem = head[: len(head) - len(link)] if link else head
            if len(stem) >= 3 and stem in VOCABULARY:
                return f"{VOCABULARY[stem]} {tail_text}"
            if len(stem) >= 3 and stem in _CATALOG_WORDS:
                return f"{stem} {tail_text}"
    return None


# English words of product names, filled by the index: "Laptop-Gehäuse", "Motor|endkappe"
_CATALOG_WORDS: set[str] = set()


# "… en aluminium", "… aus Zink", "… de latón": the material as the other languages put it, last.
_TRAILING_MATERIAL = re.compile(r"\s+(?:en|aus|de|in|of)\s+(?:\w+\s+)?(?:" + "|".join(sorted(MATERIAL_WORDS)) +
                                r")\b.*$")


def name_variants(product: Product) -> set[str]:
    """How a customer may write this product's name (folded), in English and in each language Odoo has
    it in: with or without the material, plural head noun, hyphens as spaces or dropped, aluminum for
    aluminium."""
    out: set[str] = set()
    for name in (product.name, *(translated for _, translated in product.names)):
        base = fold(name)
        forms = {base, base.replace("-", " "), base.replace("-", ""), base.replace("aluminium", "aluminum"),
                 base.replace("aluminium", "alu")}
        for form in forms:
            words = form.split()
            cores = [words]
            if len(words) >= 3 and words[0] in MATERIALS:
                cores.append(words[1:])
            bare = _TRAILING_MATERIAL.sub("", form)
            if bare != form and len(bare.split()) >= 1 and len(bare) >= 6:
                cores.append(bare.split())
            for core in cores:
                out.add(" ".join(core))
                first, last = core[0], core[-1]
                # English and German inflect the last word; French and Spanish the first
                for plural in (last + "s", last + "es", last + "n", last + "en",
                               last[:-1] + "ies" if last.endswith("y") else last + "s"):
                    out.add(" ".join([*core[:-1], plural]))
                for plural in (first + "s", first + "es", first + "x", first + "e", first + "n", first + "en"):
                    out.add(" ".join([plural, *core[1:]]))
                # "dissipateurs thermiques", "cuerpos de válvula": every noun and adjective agreeing
                out.add(" ".join(w if w in _STOP or len(w) < 3 else w + ("x" if w.endswith("eau") else "s")
                                 for w in core))
    return out


@dataclass
class CatalogIndex:
    catalog: Catalog
    code_re: re.Pattern[str]
    code_by_key: dict[str, str]  # normalized code ("DC1001") -> default_code
    code_by_digits: dict[str, str]  # "1001" -> "DC-1001" when the digits alone are unique
    prefix_re: re.Pattern[str] | None  # codes of our shape that are not in the catalog ("DC-1099")
    barcodes: dict[str, str]
    names: dict[str, str]  # normalized name -> default_code
    plain_names: dict[str, str] = field(default_factory=dict)  # each name as written (plain_name) -> default_code
    nlps: dict[str, spacy.language.Language] = field(default_factory=dict)
    matchers: dict[str, PhraseMatcher] = field(default_factory=dict)
    qty_matchers: dict[str, Matcher] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0

    def _pipeline(self, lang: str) -> tuple[spacy.language.Language, PhraseMatcher]:
        lang = lang if lang in LANGS else "en"
        if lang not in self.nlps:
            nlp = spacy.blank(lang)
            matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
            for product in self.catalog.products:
                matcher.add(product.default_code, [nlp.make_doc(v) for v in name_variants(product)])
            self.nlps[lang], self.matchers[lang] = nlp, matcher
            self.qty_matchers[lang] = _quantity_matcher(nlp, lang)
        return self.nlps[lang], self.matchers[lang]

    def quantity_phrases(self, text: str, lang: str) -> list[QuantityPhrase]:
        """"<quantity> [unit] [of] <words>" phrases ("vingt-cinq couvercles de pompe", "250 of the
        gearbox housings", "1.000 Stk. Werkzeuggriffe"), found with a spaCy Matcher over tokens, so
        every quantity in a sentence starts its own phrase (no regex consuming the next one) and
        the words run until a conjunction, preposition, number or punctuation ends them."""
        with self.lock:
            self.calls += 1
            nlp, _ = self._pipeline(lang)
            doc = nlp.make_doc(fold(text))
            matcher = self.qty_matchers[lang if lang in LANGS else "en"]
            found: list[QuantityPhrase] = []
            for _, start, end in sorted(matcher(doc), key=lambda m: (m[1], -m[2])):
                if found and start < found[-1].token_end:
                    continue  # a shorter match inside a longer one ("cinq couvercles" in "vingt-cinq …")
                k = start
                while k < end and _is_qty_token(doc[k], lang):
                    k += 1
                words = [t for t in doc[k:end] if t.lower_ not in _LEAD_IN]
                while words and words[-1].lower_ in _LINKERS:
                    words.pop()
                if k == start or not words:
                    continue
                found.append(QuantityPhrase(doc[start].idx, doc[k - 1].idx + len(doc[k - 1]),
                                            words[0].idx, words[-1].idx + len(words[-1]), end,
                                            [(t.idx, t.idx + len(t)) for t in words]))
            return found

    def name_spans(self, text: str, lang: str) -> list[tuple[int, int, str]]:
        """(start, end, default_code) of product names in text (character offsets)."""
        folded = fold(text)
        with self.lock:
            self.calls += 1
            if self.calls > 50_000:  # the vocabulary grows with every new word: start afresh
                self.nlps.clear()
                self.matchers.clear()
                self.calls = 0
            nlp, matcher = self._pipeline(lang)
            doc = nlp.make_doc(folded)
            matches = matcher(doc)
            spans = filter_spans([doc[s:e] for _, s, e in matches])
            labels = {(s, e): nlp.vocab.strings[m] for m, s, e in matches}
            return [(sp.start_char, sp.end_char, labels[(sp.start, sp.end)]) for sp in spans]

    def code_spans(self, text: str) -> list[tuple[int, int, str | None]]:
        """Catalog codes written any common way (dc1001, DC 1001, DC-1001), and codes of the same
        shape that are not in the catalog (code None), which must be reported, not ignored."""
        found: list[tuple[int, int, str | None]] = []
        for m in self.code_re.finditer(text):
            found.append((m.start(), m.end(), self.code_by_key.get(code_key(m.group(0)))))
        if self.prefix_re is not None:
            for m in self.prefix_re.finditer(text):
                if not any(s <= m.start() < e for s, e, _ in found):
                    found.append((m.start(), m.end(), self.code_by_key.get(code_key(m.group(0)))))
        for m in re.finditer(r"(?<!\d)\d{8,14}(?!\d)", text):
            if m.group(0) in self.barcodes:
                found.append((m.start(), m.end(), self.barcodes[m.group(0)]))
        return sorted(found)


@dataclass
class QuantityPhrase:
    qty_start: int
    qty_end: int
    words_start: int
    words_end: int
    token_end: int
    words: list[tuple[int, int]]  # character spans of the product words, for trying shorter names


# Units and packagings that may stand between the quantity and the words; lead-in words after it.
_UNIT_WORDS = ["pcs", "pc", "pce", "pces", "pieces", "piece", "units", "unit", "unites", "unite", "ea",
               "stuck", "stk", "st", "unidades", "unidad", "uds", "ud", "u", "nos", "no", "x", "sets", "set",
               "kits", "kit", "pairs", "paires", "paar", "juegos", "exemplaires"]
_LEAD_IN = {"of", "the", "our", "your", "de", "des", "du", "d'", "la", "las", "los", "el", "le", "les", "del",
            "von", "vom", "der", "die", "das", "more", "further", "additional", "weitere", "extra", "new",
            "neue", "nuevos", "nuevas", "nouveaux", "nouvelles", "x"}
# Words that end a product phrase: the next item, a date, a purpose, a courtesy.
_BOUNDARY = ["and", "und", "et", "y", "e", "plus", "sowie", "also", "as", "well", "ainsi", "que", "for", "by",
             "at", "to", "until", "before", "pour", "fur", "bis", "para", "antes", "avant", "zu", "je", "each",
             "per", "please", "bitte", "svp", "por", "favor", "with", "mit", "avec", "con", "sin", "without",
             "ohne", "sans", "on", "in", "im", "this", "next", "asap", "thanks", "thx", "merci", "danke",
             "gracias", "now", "today", "if", "si", "wenn", "falls", "which", "that", "who", "qui", "dont",
             "die", "welche", "que", "we", "wir", "nous", "i", "ich", "je", "nosotros", "it", "them", "is",
             "are", "sind", "est", "sont", "es", "son", "will", "would", "could", "can", "should", "from",
             "ab", "des", "au", "aux", "a", "al", "an", "am", "um", "vers", "hacia", "da", "dans", "nach",
             "like", "instead", "statt", "pour", "tomorrow", "morgen", "demain", "manana", "mas", "more",
             "or", "oder", "ou", "o", "but", "aber", "mais", "pero"]
_LINKERS = {"de", "d'", "of", "du", "des", "del", "en", "aus", "la", "el", "-", "the"}


_DE_WORD = re.compile(DE_COMPOUND_NUMBER)


def _is_qty_token(token: spacy.tokens.Token, lang: str) -> bool:
    low = token.lower_
    return bool(re.fullmatch(r"\d[\d.,']*", low)) or low in NUMBER_PARTS.get(lang, NUMBER_PARTS["en"]) or (
        lang == "de" and bool(low) and bool(_DE_WORD.fullmatch(low))) or (
        low in ("-", "and") and token.i > 0 and _is_qty_token(token.doc[token.i - 1], lang))


def _quantity_matcher(nlp: spacy.language.Language, lang: str) -> Matcher:
    parts = sorted(NUMBER_PARTS.get(lang, NUMBER_PARTS["en"]))
    number = [{"LOWER": {"IN": parts}}, {"LOWER": {"IN": [*parts, "-", "and"]}, "OP": "*"}]
    if lang == "de":  # German writes a number as one word: "einhundertzwanzig"
        number = [{"LOWER": {"REGEX": f"^(?:{DE_COMPOUND_NUMBER})$"}, "LENGTH": {">": 2}}]
    digits = [{"TEXT": {"REGEX": r"^\d[\d.,']*$"}}]
    grouped = [{"TEXT": {"REGEX": r"^\d{1,3}$"}}, {"TEXT": {"REGEX": r"^\d{3}$"}}]  # "1 000"
    tail = [
        {"LOWER": {"IN": _UNIT_WORDS}, "OP": "?"}, {"ORTH": ".", "OP": "?"},
        {"LOWER": {"IN": sorted(_LEAD_IN)}, "OP": "*"},
        {"TEXT": {"REGEX": r"^[^\W\d_][\w'’-]*$"}, "LOWER": {"NOT_IN": [*_BOUNDARY, *_UNIT_WORDS, *_LEAD_IN]}},
        {"TEXT": {"REGEX": r"^(?:[^\W\d_][\w'’-]*|-)$"}, "LOWER": {"NOT_IN": _BOUNDARY}, "OP": "*"},
    ]
    matcher = Matcher(nlp.vocab)
    matcher.add("QTY_WORDS", [number + tail, digits + tail, grouped + tail], greedy="LONGEST")
    return matcher


def code_key(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", text).upper()


def _build(catalog: Catalog) -> CatalogIndex:
    alternatives = []
    code_by_key: dict[str, str] = {}
    digits: dict[str, list[str]] = {}
    prefixes: dict[str, int] = {}
    for p in catalog.products:
        chunks = re.findall(r"[A-Za-z]+|\d+", p.default_code)
        if not chunks:
            continue
        alternatives.append(r"[\s\-_./]?".join(re.escape(c) for c in chunks))
        code_by_key[code_key(p.default_code)] = p.default_code
        d = "".join(c for c in chunks if c.isdigit())
        digits.setdefault(d, []).append(p.default_code)
        m = re.fullmatch(r"([A-Za-z]+)[\s\-_./]?(\d+)", p.default_code)
        if m:
            prefixes[f"{m.group(1)}|{len(m.group(2))}"] = 1
    alternatives.sort(key=len, reverse=True)
    words = {w for p in catalog.products for w in re.findall(r"[a-z]{3,}", fold(p.name)) if w not in MATERIALS}
    vocabulary = derive_vocabulary(catalog.products, MATERIALS)
    if not words <= _CATALOG_WORDS or not vocabulary.items() <= VOCABULARY.items():
        _CATALOG_WORDS.update(words)
        VOCABULARY.update(vocabulary)
        normalize_name.cache_clear()  # names and compounds now read differently
    code_re = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alternatives) + r")(?![A-Za-z0-9])", re.I) \
        if alternatives else re.compile(r"(?!x)x")
    shapes = []
    for key in prefixes:
        letters, n = key.split("|")
        shapes.append(rf"{re.escape(letters)}[\s\-_./]?\d{{{n}}}")
    prefix_re = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(shapes) + r")(?![A-Za-z0-9])", re.I) \
        if shapes else None
    return CatalogIndex(
        catalog=catalog,
        code_re=code_re,
        code_by_key=code_by_key,
        code_by_digits={d: codes[0] for d, codes in digits.items() if len(codes) == 1 and len(d) >= 3},
        prefix_re=prefix_re,
        barcodes={p.barcode: p.default_code for p in catalog.products if p.barcode},
        names={normalize_name(name): p.default_code for p in catalog.products
               for name in (p.name, *(translated for _, translated in p.names))},
        plain_names={plain_name(name): p.default_code for p in catalog.products
                     for name in (p.name, *(translated for _, translated in p.names))},
    )


_CACHE: dict[int, CatalogIndex] = {}
_CACHE_LOCK = threading.Lock()


def index_for(catalog: Catalog) -> CatalogIndex:
    """The index of this catalog object; a refreshed catalog (a new object) gets a new index."""
    key = id(catalog)
    with _CACHE_LOCK:
        found = _CACHE.get(key)
        if found is not None and found.catalog is catalog:
            return found
        index = _build(catalog)
        if len(_CACHE) >= 8:  # old catalogs from earlier refreshes
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = index
        return index


def _materials(words: list[str]) -> set[str]:
    return {w for w in words if w in MATERIALS}


def _covered(word: str, name_words: list[str]) -> bool:
    """A written word is in the name, allowing typos and joined words ("heatsink" for "heat sink")."""
    joined = [a + b for a, b in pairwise(name_words)]
    return any(fuzz.ratio(word, n) >= 85 for n in [*name_words, *joined])


def name_score(mention: str, name: str) -> float:
    """0-100: how well the (normalized) words written fit a (normalized) product name. The words
    written must mostly be in the name, and a different material is a different product however
    similar the rest ("steel gearbox housing" is not our aluminium one)."""
    if not mention:
        return 0.0
    m_words, n_words = mention.split(), name.split()
    score = max(fuzz.token_set_ratio(mention, name), fuzz.ratio(mention.replace(" ", ""), name.replace(" ", "")))
    content = [w for w in m_words if w not in MATERIALS]
    if content:
        covered = sum(1 for w in content if _covered(w, n_words))
        if covered == 0:
            score = min(score, 50.0)
        elif covered < len(content):
            score = min(score, 60.0 + 30.0 * covered / len(content))
    m_mat, n_mat = _materials(m_words), _materials(n_words)
    if m_mat and n_mat and not (m_mat & n_mat):
        score = min(score, 55.0)
    return float(score)


def rank_names(text: str, index: CatalogIndex) -> list[tuple[float, str]]:
    """(score, default_code) for every product, best first; empty when text has no words."""
    mention = normalize_name(text)
    if not re.search(r"[a-z]{3,}", mention):
        return []
    best: dict[str, float] = {}
    for name, code in index.names.items():  # a product's best name in any language speaks for it
        best[code] = max(best.get(code, 0.0), name_score(mention, name))
    return sorted(((score, code) for code, score in best.items()), key=lambda sc: -sc[0])
