"""Extraction from real MIME bytes: what a salesperson would see in the draft order."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from orderd.catalog import Catalog
from orderd.extract import extract
from orderd.records import Extraction, Message

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_file(ROOT / "fixtures" / "catalog.json")


def mail(body: str, *, sender: str = "buyer@acmehandtools.com", subject: str = "Order",
         ctype: str = "text/plain", extra: str = "") -> bytes:
    head = (f"From: Buyer <{sender}>\r\nTo: orders@mycompany.test\r\nSubject: {subject}\r\n"
            f"Date: Tue, 03 Mar 2026 09:00:00 +0100\r\nMessage-ID: <t@x>\r\nMIME-Version: 1.0\r\n{extra}"
            f"Content-Type: {ctype}; charset=utf-8\r\n\r\n")
    return (head + body.replace("\n", "\r\n")).encode("utf-8")


def run(raw: bytes, catalog: Catalog) -> Extraction:
    return extract(Message.from_bytes(raw), catalog)


def items(ex: Extraction) -> list[tuple[str, float | None]]:
    return [(m.product_text, m.qty) for m in ex.lines]


def test_seed_report_format(catalog: Catalog) -> None:
    ex = run(mail("Order Date: April 16, 2024\nDelivery Date: April 28, 2024\nProduct ID: DC-1004\n"
                  "Quantity: 7\n"), catalog)
    assert items(ex) == [("DC-1004", 7)]
    assert ex.commitment_date == date(2024, 4, 28)


@pytest.mark.parametrize("line", ["2 x DC-1001", "DC-1001: 2", "2 pcs DC-1001", "DC 1001 × 2",
                                  "dc1001 - 2 units", "please send two DC-1001"])
def test_common_line_shapes(line: str, catalog: Catalog) -> None:
    ex = run(mail(f"Hello,\n{line}\nThanks"), catalog)
    assert [(m.qty) for m in ex.lines] == [2]


def test_prose_with_names_and_po(catalog: Catalog) -> None:
    ex = run(mail("Hi, we need 250 of the zinc hand tool grips and 3 x titanium flanges.\n"
                  "PO number: 4410-A. Deliver by 12/12/2026.\n\nBest regards,\nAnn\n+44 20 7946 0958"),
             catalog)
    assert items(ex) == [("zinc hand tool grips", 250), ("titanium flanges", 3)]
    assert ex.client_order_ref == "4410-A"
    assert ex.commitment_date == date(2026, 12, 12)


def test_html_table_keeps_rows_and_german_thousands(catalog: Catalog) -> None:
    html = ("<p>Bitte liefern:</p><table><tr><th>Artikel</th><th>Menge</th><th>Preis</th></tr>"
            "<tr><td>DC-1016</td><td>1.000</td><td>44,00</td></tr></table>")
    ex = run(mail(html, ctype="text/html", sender="einkauf@hartmann-pumpen.de"), catalog)
    assert items(ex) == [("DC-1016", 1000)]
    assert ex.language == "de"


def test_quoted_history_and_signature_are_not_lines(catalog: Catalog) -> None:
    body = ("Please add 4 x DC-1007.\n\nRegards,\nAnn\nFax 0044 20 7946 0999\n\n"
            "On Mon, 2 Mar 2026, Orders <orders@mycompany.test> wrote:\n> 10 x DC-1002 confirmed\n")
    ex = run(mail(body), catalog)
    assert items(ex) == [("DC-1007", 4)]


def test_question_is_not_an_order(catalog: Catalog) -> None:
    ex = run(mail("Do you have DC-1008 in stock? What would 500 cost?"), catalog)
    assert ex.lines == [] and ex.is_question


def test_forward_from_colleague_names_the_customer(catalog: Catalog) -> None:
    body = ("FYI, order below.\n\n---------- Forwarded message ---------\nFrom: Jane Doe "
            "<jane.doe@orion-electronics.com>\nDate: Mon, 2 Mar 2026\nSubject: order\nTo: sales@mycompany.test\n\n"
            "Please send 6 x DC-1010.\n")
    ex = run(mail(body, sender="sales@mycompany.test"), catalog)
    assert ex.customer_email == "jane.doe@orion-electronics.com"
    assert items(ex) == [("DC-1010", 6)]


def test_relative_delivery_date(catalog: Catalog) -> None:
    ex = run(mail("5 x DC-1002, delivery next Friday please."), catalog)  # Tue 3 Mar 2026
    assert ex.commitment_date == date(2026, 3, 6) or ex.commitment_date == date(2026, 3, 13)
