from __future__ import annotations

from orderd.records import Classification, Extraction, LineMention, OrderLine, Product, ThreadRef
from orderd.understand.decide import decide

P1 = Product("DC-1001", "Aluminium gearbox housing")
P2 = Product("DC-1002", "Zinc door handle")
OK = Classification("candidate")


def line(product: Product | None, qty: float | None, conf: float = 1.0, text: str = "x",
         candidates: tuple[str, ...] = ()) -> OrderLine:
    return OrderLine(LineMention(text=text, product_text=text, qty=qty), product, conf, candidates)


def ex() -> Extraction:
    return Extraction(language="en", body_text="")


def test_confident_in_stock_is_an_order() -> None:
    v = decide(OK, ex(), [line(P1, 5), line(P2, 3)], {"DC-1001": 40, "DC-1002": 500})
    assert v.decision == "order" and not v.reasons


def test_shortage_goes_to_review_with_numbers() -> None:
    v = decide(OK, ex(), [line(P1, 50)], {"DC-1001": 40})
    assert v.decision == "needs_review"
    assert "DC-1001: 50 requested, 40 available" in v.reasons and v.shortages[0].requested == 50


def test_shortage_can_be_confirmed_by_policy() -> None:
    v = decide(OK, ex(), [line(P1, 50)], {"DC-1001": 40}, on_shortage="confirm")
    assert v.decision == "order" and v.shortages


def test_unknown_and_ambiguous_lines_are_named() -> None:
    v = decide(OK, ex(), [line(None, 3, 0, "titanium flange"), line(None, 1, 0, "pump", ("DC-1012", "DC-1016"))],
               None)
    assert v.reasons == ["line 1: 'titanium flange' matches no product", "line 2: 'pump' could be DC-1012 or DC-1016"]


def test_quantity_zero_and_missing() -> None:
    v = decide(OK, ex(), [line(P1, 1), line(P2, None), line(P1, 0)], None)
    assert "line 2: no quantity for DC-1002" in v.reasons and "quantity 0 on line 3" in v.reasons


def test_low_confidence_is_review() -> None:
    assert decide(OK, ex(), [line(P1, 2, 0.7)], None).decision == "needs_review"


def test_unauthenticated() -> None:
    bad = Classification("candidate", authenticated=False)
    assert decide(bad, ex(), [line(P1, 1)], None).reasons == ["sender not authenticated"]
    assert decide(bad, ex(), [line(P1, 1)], None, unauthenticated="reject").decision == "rejected"


def test_non_orders() -> None:
    assert decide(Classification("auto_reply", "Auto-Submitted: auto-replied"), ex(), [], None).decision == "not_order"
    asked = Extraction(language="en", body_text="", is_question=True)
    assert decide(OK, asked, [], None).decision == "not_order"


def test_existing_order_thread() -> None:
    v = decide(OK, ex(), [line(P1, 1)], None, thread=ThreadRef(order_ref="S00042"))
    assert v.decision == "needs_review" and v.reasons == ["about existing order S00042"]
