"""Order lines from CSV, XLSX and PDF attachments; dangerous attachments are never opened."""

from __future__ import annotations

import importlib.util
import io
from datetime import date
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from orderd.catalog import Catalog
from orderd.extract import extract
from orderd.records import Message
from orderd.understand.resolve import resolve_lines

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


def test_ubl_order_document_is_read_field_by_field(catalog: Catalog) -> None:
    """PEPPOL BIS Order 3: our item id, a GTIN, quantities, prices, the order number and the date."""
    xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>LM-2026-4471</cbc:ID>
 <cac:Delivery><cac:RequestedDeliveryPeriod><cbc:EndDate>2026-12-10</cbc:EndDate></cac:RequestedDeliveryPeriod>
 </cac:Delivery>
 <cac:OrderLine><cac:LineItem><cbc:ID>1</cbc:ID><cbc:Quantity unitCode="C62">40</cbc:Quantity>
  <cbc:LineExtensionAmount currencyID="EUR">2320.00</cbc:LineExtensionAmount>
  <cac:Price><cbc:PriceAmount currencyID="EUR">58.00</cbc:PriceAmount></cac:Price>
  <cac:Item><cbc:Name>Valve body</cbc:Name><cac:SellersItemIdentification><cbc:ID>DC-1005</cbc:ID>
  </cac:SellersItemIdentification></cac:Item></cac:LineItem></cac:OrderLine>
 <cac:OrderLine><cac:LineItem><cbc:ID>2</cbc:ID><cbc:Quantity unitCode="C62">2</cbc:Quantity>
  <cac:Item><cbc:Name>Bracket kit</cbc:Name><cac:StandardItemIdentification>
  <cbc:ID schemeID="0160">7612345000015</cbc:ID></cac:StandardItemIdentification></cac:Item></cac:LineItem>
 </cac:OrderLine>
</Order>"""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "orders@lindqvist-marine.se", "orders@mycompany.test", "Order LM-2026-4471"
    msg["Date"] = "Thu, 19 Nov 2026 07:41:12 +0100"
    msg.set_content("Please find our order attached.")
    msg.add_attachment(xml, maintype="application", subtype="xml", filename="LM-2026-4471.xml")
    ex = extract(Message.from_bytes(bytes(msg)), catalog)
    lines = resolve_lines(ex.lines, catalog)
    assert sorted((ln.product.default_code, ln.mention.qty) for ln in lines if ln.product) == \
        [("DC-1005", 40.0), ("DC-1013", 2.0)]
    assert ex.client_order_ref == "LM-2026-4471" and ex.commitment_date == date(2026, 12, 10)


_EDIFACT_ORDERS = b"""UNA:+.? '
UNB+UNOC:3+4012345000009:14+VALLEEDC:ZZZ+261117:0200+00000412'
UNH+1+ORDERS:D:96A:UN:EAN008'
BGM+220+4500071234+9'
DTM+137:20261117:102'
DTM+2:20261210:102'
NAD+BY+4012345000009::9++Hartmann Pumpen GmbH'
LIN+1'
PIA+5+DC-1004:SA'
PIA+1+HP-220-117:IN'
IMD+F++:::Pumpenlaufrad Messing'
QTY+21:60:PCE'
PRI+AAA:32.00:::1:PCE'
LIN+2++7612345000015:EN'
QTY+21:25:PCE'
LIN+3'
PIA+5+DC-1012:SA'
QTY+21:4:CT'
UNS+S'
UNT+18+1'
UNZ+1+00000412'
"""


def test_edifact_orders_is_read_segment_by_segment(catalog: Catalog) -> None:
    """ORDERS D.96A: our id (PIA+5 SA), a GTIN (LIN), quantities in pieces; cartons are not pieces."""
    msg = with_attachment("ORDERS_4500071234.edi", "application/octet-stream", _EDIFACT_ORDERS, "EDI order.")
    ex = extract(msg, catalog)
    resolved = resolve_lines(ex.lines, catalog)
    assert [(ln.product.default_code if ln.product else None, ln.mention.qty) for ln in resolved] == \
        [("DC-1004", 60.0), ("DC-1013", 25.0), ("DC-1012", None)]
    assert resolved[2].mention.doubt == "pack_unknown"  # 4 cartons: the carton's size is not in the message
    assert resolved[0].mention.unit_price == 32.0
    assert ex.client_order_ref == "4500071234" and ex.commitment_date == date(2026, 12, 10)
    assert ex.intent == "order"


def test_edifact_ordchg_is_a_change_whatever_the_covering_text_says(catalog: Catalog) -> None:
    ordchg = _EDIFACT_ORDERS.replace(b"ORDERS:D:96A", b"ORDCHG:D:96A").replace(b"BGM+220+4500071234+9",
                                                                               b"BGM+230+4500071234+4")
    msg = with_attachment("ORDCHG_4500071234.edi", "application/edifact", ordchg, "Please process the attached order.")
    assert extract(msg, catalog).intent == "change"


def _workbook(sheets: list[tuple[str, list[list[object]], str]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows, state in sheets:
        ws = wb.create_sheet(title)
        ws.sheet_state = state
        for row in rows:
            ws.append(row)
    wb.active = 0
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_workbook_is_read_up_to_its_item_table_and_never_its_hidden_sheets(catalog: Catalog) -> None:
    """Header on sheet 1, items on sheet 2, an order history on sheet 3, a hidden price list: the order
    is sheet 2's items."""
    data = _workbook([
        ("Bestellung", [["Hartmann Pumpen GmbH"], ["Bestellnummer", "4500231230"]], "visible"),
        ("Positionen", [["Artikel", "Bezeichnung", "Menge"], ["DC-1001", "Getriebegehäuse", 10],
                        ["DC-1006", "Vergasergehäuse", 30]], "visible"),
        ("Historie", [["Artikel", "Menge"], ["DC-1012", 40]], "visible"),
        ("Preise", [["Artikel", "Menge"], ["DC-1004", 999]], "hidden"),
    ])
    msg = with_attachment("Bestellung.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                          data, "Anbei unsere Bestellung.")
    assert lines(msg, catalog) == [("DC-1001 Getriebegehäuse", 10.0), ("DC-1006 Vergasergehäuse", 30.0)]
