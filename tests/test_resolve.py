from __future__ import annotations

from pathlib import Path

import pytest

from orderd.catalog import Catalog
from orderd.records import LineMention, Product
from orderd.understand.resolve import resolve_lines, resolve_text

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_file(ROOT / "fixtures" / "catalog.json")


def one(text: str, catalog: Catalog, codes: dict[str, str] | None = None):
    return resolve_lines([LineMention(text=text, product_text=text, qty=1)], catalog, codes)[0]


@pytest.mark.parametrize("text", ["DC-1001", "dc1001", "DC 1001", "Dc-1001 aluminium gearbox housing"])
def test_codes_tolerant(text: str, catalog: Catalog) -> None:
    line = one(text, catalog)
    assert line.product is not None and line.product.default_code == "DC-1001" and line.confidence == 1.0


def test_barcode(catalog: Catalog) -> None:
    assert one("7612345000022", catalog).product.default_code == "DC-1014"


def test_customer_code(catalog: Catalog) -> None:
    assert one("HP-778", catalog, {"hp-778": "DC-1016"}).product.default_code == "DC-1016"


@pytest.mark.parametrize("text,code", [("gearbox housings", "DC-1001"), ("Aluminum heat-sinks", "DC-1007"),
                                       ("brass pump impeller", "DC-1004"), ("pump cover", "DC-1012")])
def test_names(text: str, code: str, catalog: Catalog) -> None:
    line = one(text, catalog)
    assert line.product is not None and line.product.default_code == code and line.confidence >= 0.85


@pytest.mark.parametrize("text", ["pump", "aluminium housing", "valve", "bracket"])
def test_ambiguity_is_not_a_guess(text: str, catalog: Catalog) -> None:
    line = one(text, catalog)
    assert line.product is None and len(line.candidates) >= 2


@pytest.mark.parametrize("text", ["titanium flange", "steel gearbox housing", "DC-1099"])
def test_unknown(text: str, catalog: Catalog) -> None:
    assert one(text, catalog).product is None


def test_code_contradicted_by_description(catalog: Catalog) -> None:
    line = one("DC-1012 aluminium pump housing", catalog)
    assert line.product is None and set(line.candidates) == {"DC-1012", "DC-1016"}


def test_learned_wording_is_certain_for_that_customer(catalog: Catalog) -> None:
    """A wording a salesperson taught orderd (orderd.learning) resolves as surely as a code, written the
    same way up to case, accents and plural; a longer text containing it is read as usual."""
    learned = {"blue housing": "DC-1016"}
    assert one("blue housing", catalog).product is None  # on its own: several housings are close
    for text in ("Blue Housings", "blue housing"):
        line = one(text, catalog, learned)
        assert line.product is not None and line.product.default_code == "DC-1016" and line.confidence == 1.0
    assert one("blue housing cover", catalog, learned).product is None


def test_learned_pack_size_converts_packs_only_for_that_product(catalog: Catalog) -> None:
    def packs(text: str, sizes: dict[tuple[str, str], float] | None) -> LineMention:
        mention = LineMention(text=f"3 cartons {text}", product_text=text, qty=3, uom="pack:carton")
        return resolve_lines([mention], catalog, None, sizes)[0].mention

    unknown = packs("DC-1005", None)
    assert (unknown.qty, unknown.doubt, unknown.packs) == (None, "pack_unknown", 3)
    learned = packs("DC-1005", {("DC-1005", "carton"): 20.0})
    assert (learned.qty, learned.doubt, learned.uom) == (60, None, "Units")
    assert packs("DC-1004", {("DC-1005", "carton"): 20.0}).doubt == "pack_unknown"
    # Odoo's own packaging (DC-1007: carton of 12) wins over a learned size of the same name
    assert packs("DC-1007", {("DC-1007", "carton"): 20.0}).qty == 36


def test_the_part_words_come_from_the_catalogs_own_names() -> None:
    """Another trade, another vocabulary: nothing about die-casting is built in."""
    from orderd.extract.nlp import MATERIALS
    from orderd.extract.vocabulary import derive_vocabulary

    def product(code: str, name: str, **names: str) -> Product:
        return Product(default_code=code, name=name, names=tuple(sorted(names.items())))

    chairs = [product("F-1", "Oak dining chair", fr="Chaise de salle à manger en chêne", de="Esszimmerstuhl aus Eiche"),
              product("F-2", "Oak office chair", fr="Chaise de bureau en chêne", de="Bürostuhl aus Eiche"),
              product("F-3", "Steel office desk", fr="Bureau de travail en acier", de="Schreibtisch aus Stahl")]
    vocabulary = derive_vocabulary(chairs, MATERIALS | {"oak"})
    assert vocabulary["chaise"] == "chair" and vocabulary["chene"] == "oak" and vocabulary["eiche"] == "oak"
    assert vocabulary["stuhl"] == "chair"  # the tail two German compounds share


def test_an_exact_name_in_any_language_confirms_and_a_synonym_asks(catalog: Catalog) -> None:
    exact = resolve_text("Ventilsitze aus Messing", catalog)  # the German name, in the plural
    assert exact.product is not None and exact.product.default_code == "DC-1011" and exact.confidence >= 0.95
    synonym = resolve_text("carters de pompe en aluminium", catalog)  # the catalog says "corps de pompe"
    assert synonym.product is not None and synonym.product.default_code == "DC-1016" and synonym.confidence < 0.85
