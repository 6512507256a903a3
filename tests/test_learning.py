"""What a confirmed draft teaches (orderd.learning.lessons): only pairings nobody could doubt."""

from __future__ import annotations

from orderd.learning import KeptLine, customer_terms, lessons
from orderd.store import Alias, DraftReading, ReadLine

NICKNAME = ReadLine("blue housing", 5.0, candidates=["DC-1001", "DC-1016"])
CARTONS = ReadLine("dc 1005", None, pack="carton", pack_count=3.0, product_id=5, default_code="DC-1005")
SURE = ReadLine("dc 1004", 2.0, product_id=4, default_code="DC-1004")


def reading(*lines: ReadLine) -> DraftReading:
    return DraftReading(order_id=7, order_name="S00007", partner_id=3, customer_email="jane@customer.test",
                        key="k", lines=list(lines))


Taught = list[tuple[str, str, str | None, float | None]]


def taught(lines: list[ReadLine], kept: list[tuple[int, str, float]]) -> Taught:
    return [(a.wording, a.default_code, a.pack, a.pack_size)
            for a in lessons(reading(*lines), [KeptLine(*k) for k in kept])]


def test_one_unsure_wording_and_one_unexplained_product_make_an_alias() -> None:
    kept = [(4, "DC-1004", 2.0), (16, "DC-1016", 5.0), (5, "DC-1005", 60.0)]
    assert taught([NICKNAME, CARTONS, SURE], kept) == [("dc 1005", "DC-1005", "carton", 20.0),
                                                      ("blue housing", "DC-1016", None, None)]
    alias = lessons(reading(NICKNAME), [KeptLine(16, "DC-1016", 5.0)])[0]
    assert (alias.partner_id, alias.order_id, alias.order_name) == (3, 7, "S00007")


def test_a_wording_counted_in_packs_learns_its_product_and_pack_size() -> None:
    nickname_cartons = ReadLine("blue housing", None, pack="carton", pack_count=3.0)
    assert taught([nickname_cartons], [(16, "DC-1016", 60.0)]) == [("blue housing", "DC-1016", "carton", 20.0)]
    assert taught([nickname_cartons], [(16, "DC-1016", 61.0)]) == []  # 61 / 3 is no pack size


def test_nothing_is_learned_in_doubt() -> None:
    # two unsure wordings, one new product: which one was it?
    other = ReadLine("grey lid", 5.0)
    assert taught([NICKNAME, other], [(16, "DC-1016", 5.0)]) == []
    # one unsure wording, two new products
    assert taught([NICKNAME], [(16, "DC-1016", 5.0), (12, "DC-1012", 5.0)]) == []
    # the quantity kept is not the quantity read: something else changed too
    assert taught([NICKNAME], [(16, "DC-1016", 8.0)]) == []
    # a product orderd was sure of was replaced: more was corrected than a comparison explains
    assert taught([NICKNAME, SURE], [(16, "DC-1016", 5.0), (6, "DC-1006", 2.0)]) == []
    # the person removed the unsure line: nothing to pair
    assert taught([NICKNAME, SURE], [(4, "DC-1004", 2.0)]) == []
    # a pack of a product also ordered on another line: the units kept cannot be split between them
    assert taught([CARTONS, ReadLine("dc 1005", 10.0, product_id=5, default_code="DC-1005")],
                  [(5, "DC-1005", 70.0)]) == []


def test_customer_terms_drop_contradicting_pack_sizes() -> None:
    aliases = [Alias(3, "blue housing", 16, "DC-1016", pack="carton", pack_size=20.0),
               Alias(3, "pump housing", 16, "DC-1016", pack="carton", pack_size=24.0),
               Alias(3, "dc 1005", 5, "DC-1005", pack="carton", pack_size=20.0)]
    codes, packs = customer_terms(aliases)
    assert codes == {"blue housing": "DC-1016", "pump housing": "DC-1016", "dc 1005": "DC-1005"}
    assert packs == {("DC-1005", "carton"): 20.0}


def test_learning_keys_are_validated() -> None:
    import pytest

    from orderd import config

    assert config.load(None, {}).learning == config.LearningConfig(enabled=True, poll_interval=60.0, give_up_days=30)
    assert config.load(None, {"ORDERD_LEARNING_ENABLED": "false"}).learning.enabled is False
    with pytest.raises(config.ConfigError) as caught:
        config.load(None, {"ORDERD_LEARNING_POLL_INTERVAL": "0", "ORDERD_LEARNING_GIVE_UP_DAYS": "0"})
    assert [p.split()[0] for p in caught.value.problems] == ["learning.poll_interval", "learning.give_up_days"]
