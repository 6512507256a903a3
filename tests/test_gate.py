"""The confirmation gate: one test per reason it names, each against an otherwise clean order."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from orderd.records import Classification, Extraction, LineMention, OrderLine, Product, Reason, ThreadRef
from orderd.understand.decide import GatePolicy, decide

P1 = Product("DC-1001", "Aluminium gearbox housing", list_price=145.0)
OK = Classification("candidate")
TODAY = date(2026, 11, 23)
STOCK = {"DC-1001": 40.0}


def clean_line(**mention: object) -> OrderLine:
    return OrderLine(LineMention(**{"text": "5 x DC-1001", "product_text": "DC-1001", "qty": 5.0, **mention}),
                     P1, 1.0)


def clean_extraction(**changes: object) -> Extraction:
    return dataclasses.replace(Extraction(language="en", body_text="5 x DC-1001"), **changes)


def codes(**kwargs: object) -> list[str]:
    args = {"classification": OK, "extraction": clean_extraction(), "lines": [clean_line()], "free_qty": STOCK,
            "today": TODAY, **kwargs}
    verdict = decide(args.pop("classification"), args.pop("extraction"), args.pop("lines"), args.pop("free_qty"),
                     **args)
    assert all(isinstance(r, Reason) for r in verdict.reasons)
    return [r.code for r in verdict.reasons]


def test_a_clean_order_passes() -> None:
    assert codes() == []


@pytest.mark.parametrize(("change", "code"), [
    ({"lines": [OrderLine(LineMention("3 x flange", "flange", 3.0), None, 0.0)]}, "product_unknown"),
    ({"lines": [OrderLine(LineMention("pump", "pump", 3.0), None, 0.0, ("DC-1012", "DC-1016"))]},
     "product_ambiguous"),
    ({"lines": [dataclasses.replace(clean_line(), confidence=0.7)]}, "product_uncertain"),
    ({"lines": [clean_line(qty=None)]}, "qty_missing"),
    ({"lines": [clean_line(qty=0.0)]}, "qty_zero"),
    ({"lines": [clean_line(qty=1.5)]}, "qty_not_whole"),
    ({"lines": [clean_line(qty=-2.0)]}, "qty_not_whole"),
    ({"lines": [clean_line(confidence=0.5)]}, "qty_uncertain"),
    ({"lines": [clean_line(doubt="range")]}, "qty_range"),
    ({"lines": [clean_line(doubt="vague")]}, "qty_vague"),
    ({"lines": [clean_line(doubt="pack_unknown")]}, "pack_unknown"),
    ({"lines": [clean_line(doubt="multiplied")]}, "qty_multiplied"),
    ({"lines": [clean_line(unit_price=120.0)]}, "price_differs"),
    ({"lines": [clean_line(qty=50.0)]}, "shortage"),
    ({"extraction": clean_extraction(intent="rfq")}, "intent_rfq"),
    ({"extraction": clean_extraction(ordering=False)}, "intent_unclear"),
    ({"extraction": clean_extraction(date_doubt="delivery date '11/12' could be read day-first or month-first")},
     "date_unclear"),
    ({"extraction": clean_extraction(commitment_date=date(2026, 11, 2))}, "date_past"),
    ({"extraction": clean_extraction(commitment_date=date(2028, 1, 10))}, "date_beyond_horizon"),
    ({"classification": Classification("candidate", authenticated=False)}, "sender_unauthenticated"),
    ({"extraction": clean_extraction(trust=[Reason("sender_lookalike", "x")])}, "sender_lookalike"),
    ({"customer_known": False, "policy": GatePolicy(new_customers="review")}, "new_customer"),
])
def test_each_failed_condition_is_a_named_reason(change: dict, code: str) -> None:
    assert code in codes(**change)


@pytest.mark.parametrize("intent", ["change", "cancel"])
def test_a_change_or_cancellation_never_becomes_an_order(intent: str) -> None:
    verdict = decide(OK, clean_extraction(intent=intent, intent_evidence="cancel"), [clean_line()], STOCK)
    assert verdict.decision == "needs_review" and [r.code for r in verdict.reasons] == ["existing_order"]


def test_a_question_or_notification_without_ordering_words_is_not_an_order() -> None:
    for intent in ("question", "notification"):
        verdict = decide(OK, clean_extraction(intent=intent, ordering=False), [clean_line()], STOCK)
        assert verdict.decision == "not_order"


def test_a_line_total_at_our_price_is_no_price_difference() -> None:
    assert codes(lines=[clean_line(unit_price=145.0 * 5)]) == []
    assert codes(lines=[clean_line(unit_price=145.5)]) == []  # within the 1 % tolerance


def test_policy_can_confirm_a_new_customer_or_a_shortage() -> None:
    assert codes(customer_known=False) == []
    assert codes(lines=[clean_line(qty=50.0)], policy=GatePolicy(on_shortage="confirm")) == []


def test_thread_reference_goes_to_the_existing_order() -> None:
    assert codes(thread=ThreadRef(order_ref="S00042")) == ["existing_order"]
