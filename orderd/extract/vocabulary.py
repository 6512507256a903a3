"""Part words in every language, learned from the catalog's own translated names.

Odoo holds each product's name in every active language ("Aluminium pump housing", "Corps de pompe en
aluminium", "Pumpengehäuse aus Aluminium", "Cuerpo de bomba de aluminio"). Laid side by side, the names
say which word is which: French and Spanish put the head noun first and the material last, English puts
the material first and the head last, German makes one compound (head last) and adds "aus" and the
material. Each foreign word gets the English word it stands for, so a customer writing only part of a
name ("carter de pompe", "Pumpendeckel") is still read. A word kept is one the names agree on (all of them, or
clearly most: "Deckel" is a cover twice and a cap once); one they split on is left as written. Synonyms no
name uses are not guessed: the salesperson teaches them, customer by customer (orderd.learning).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from orderd.extract.numbers import fold
from orderd.records import Product

# Words that join a name's parts in the four languages, never a part themselves
JOINERS = {"de", "du", "des", "d", "la", "le", "les", "l", "en", "a", "au", "aux", "aus", "von", "der", "die", "das",
           "mit", "para", "del", "el", "los", "las", "of", "the", "for", "with", "pour", "fur", "y", "et", "und", "and"}
_LINKING = ("s", "n", "en", "e", "")


def _words(name: str) -> list[str]:
    text = re.sub(r"[-_/'’]", " ", fold(name))
    return [w for w in re.sub(r"[^\w ]", " ", text).split() if w not in JOINERS]


def derive_vocabulary(products: Iterable[Product], materials: set[str]) -> dict[str, str]:
    """foreign word (folded) → the English words it stands for, from names in several languages."""
    products = list(products)
    votes: dict[str, Counter[str]] = defaultdict(Counter)
    named = [(p, _words(p.name), [(lang, _words(name)) for lang, name in p.names]) for p in products]
    # The material first, by language
    by_material: dict[str, list[list[tuple[str, list[str]]]]] = defaultdict(list)
    for _, english, translations in named:
        by_material[english[0] if english and english[0] in materials else ""].append(translations)
    material_words: set[str] = set()
    for material, groups in by_material.items():
        if not material:
            continue
        for lang in {lang for group in groups for lang, _ in group}:
            last = Counter(words[-1] for group in groups for lg, words in group if lg == lang and words)
            others = {ws[-1] for m, gs in by_material.items() if m != material for g in gs for lg, ws in g
                      if lg == lang and ws}
            if not last:
                continue
            word, count = last.most_common(1)[0]
            # the material closes most names of it ("… en laiton", "… aus Messing", "… de latón") and no other
            if count >= 0.6 * sum(last.values()) and word not in others:
                votes[word][material] += 1
                material_words.add(word)
    compounds: list[tuple[str, list[str]]] = []  # German compounds beside the English core they name
    for _, english, translations in named:
        core = [w for w in english if w not in materials]
        if not core:
            continue
        for lang, words in translations:
            words = [w for w in words if w not in material_words]
            if not words:
                continue
            if lang == "de":
                if len(words) == len(core):
                    for foreign, own in zip(words, core, strict=True):  # "Laptop-Gehäuse": in English order
                        votes[foreign][own] += 1
                elif len(words) == 1:
                    votes[words[0]][" ".join(core)] += 1
                    compounds.append((words[0], core))
            elif len(words) == len(core):
                for foreign, own in zip(words, reversed(core), strict=True):  # head first ↔ head last
                    votes[foreign][own] += 1
            else:
                votes[words[0]][core[-1]] += 1  # at least the head nouns agree
    for part, own in _compound_parts(compounds):
        votes[part][own] += 1
    vocabulary = {w: c.most_common(1)[0][0] for w, c in votes.items() if len(w) >= 3 and _agreed(c)}
    # a word that is English already ("transmission", "kit") needs no entry
    return {w: e for w, e in vocabulary.items() if w != e}


def _agreed(votes: Counter[str]) -> bool:
    """One reading, or one most names agree on ("Deckel": cover twice, cap once)."""
    (_, top), *rest = votes.most_common()
    return not rest or (top >= 2 and top >= 0.6 * sum(votes.values()))


def _compound_parts(compounds: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    """German compounds split where another compound shares the tail ("Pumpen|gehäuse", "Vergaser|gehäuse"):
    the tail is the English head noun, the rest the words before it (with and without its linking letter)."""
    tails: set[str] = set()
    for word, _ in compounds:
        for other, _ in compounds:
            if other != word:
                tails.update(word[i:] for i in range(3, len(word) - 3) if other.endswith(word[i:]))
    out: list[tuple[str, str]] = []
    for word, core in compounds:
        tail = max((t for t in tails if word.endswith(t) and len(word) - len(t) >= 3), key=len, default=None)
        if tail is None or len(core) < 2:
            continue
        head = word[: -len(tail)]
        out.append((tail, core[-1]))
        out += [(head[: len(head) - len(link)], " ".join(core[:-1])) for link in _LINKING
                if head.endswith(link) and len(head) - len(link) >= 3]
    return out
