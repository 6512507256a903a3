"""Order lines from CSV, XLSX and PDF attachments; dangerous attachments are never opened."""

from __future__ import annotations

import importlib.util
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from orderd.catalog import Catalog
from orderd.extract import extract
from orderd.records import Message

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("make_attachments", ROOT / "fixtures" / "emails" / "make_attachments.py")
assert _spec and _spec.loader
make = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_file(ROOT / "fixtures" / "catalog.json")


def with_attachment(filename: str, ctype: str, data: bytes, text: str = "See attached.") -> Message:
    m = EmailMessage()
    m["From"] = "buyer@acmehandtools.com"
    m["To"] = "orders@mycompany.test"
    m["Subject"] = "order"
    m["Date"] = "Tue, 03 Mar 2026 10:00:00 +0000"
    m.set_content(text)
    maintype, subtype = ctype.split("/")
    m.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return Message.from_bytes(m.as_bytes(policy=SMTP))


def lines(msg: Message, catalog: Catalog) -> list[tuple[str, float | None]]:
    return [(m.product_text, m.qty) for m in extract(msg, catalog).lines]


def test_csv_semicolon_with_french_headers(catalog: Catalog) -> None:
    data = make.csv_bytes([["Référence", "Quantité"], ["DC-1002", "150"], ["DC-1018", "1 000"]], ";", "cp1252")
    assert lines(with_attachment("c.csv", "text/csv", data), catalog) == [("DC-1002", 150), ("DC-1018", 1000)]


def test_xlsx_with_title_rows(catalog: Catalog) -> None:
    data = make.xlsx([["Hartmann"], [], ["Pos", "Artikelnummer", "Menge"], [10, "DC-1004", 40], [20, "DC-1012", 25]])
    assert lines(with_attachment("b.xlsx", make.XLSX, data), catalog) == [("DC-1004", 40), ("DC-1012", 25)]


def test_pdf_purchase_order(catalog: Catalog) -> None:
    data = make.pdf(["PO Number: X-1", "Item      Description          Qty    Price",
                     "DC-1009   Zinc hand tool grip  300    8.90", "Tel 937-555-0147"])
    msg = with_attachment("po.pdf", "application/pdf", data)
    assert [q for _, q in lines(msg, catalog)] == [300]


def test_executable_is_flagged_not_opened(catalog: Catalog) -> None:
    ex = extract(with_attachment("x.exe", "application/x-msdownload", b"MZ..", "2 x DC-1002"), catalog)
    assert ex.attachments[0].flagged == "executable"
    assert any("not opened" in f for f in ex.findings)


def test_corrupt_spreadsheet_is_a_finding(catalog: Catalog) -> None:
    ex = extract(with_attachment("broken.xlsx", make.XLSX, b"not a zip", "2 x DC-1002"), catalog)
    assert [(m.product_text, m.qty) for m in ex.lines] == [("DC-1002", 2)]
    assert any("could not be read" in f for f in ex.findings)
