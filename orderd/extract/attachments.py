"""Order lines from attachments: CSV (dialect sniffed), XLSX (openpyxl), PDF (pypdf text layer), and
structured order documents (UBL, EDIFACT).

Each reader is a pure function of the bytes, safe to run in an executor thread. Size caps keep a
hostile spreadsheet from stalling an SMTP session; flagged attachments are never opened.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from orderd.extract.edifact import is_edifact, read_edifact_order
from orderd.extract.lines import header_of, split_cells, table_rows, text_mentions
from orderd.extract.nlp import CatalogIndex
from orderd.extract.numbers import normalize_typography
from orderd.extract.ubl import is_ubl_order, read_ubl_order
from orderd.records import Attachment, LineMention

MAX_ROWS = 500
MAX_PDF_PAGES = 10
MAX_BYTES = 5_000_000


def kind_of(att: Attachment) -> str | None:
    name = att.filename.lower()
    ctype = att.content_type.lower()
    if name.endswith((".csv", ".tsv")) or ctype in ("text/csv", "text/tab-separated-values"):
        return "csv"
    if name.endswith(".xlsx") or "spreadsheetml" in ctype:
        return "xlsx"
    if name.endswith(".pdf") or ctype == "application/pdf":
        return "pdf"
    if name.endswith(".txt") or ctype == "text/plain":
        return "txt"
    if name.endswith(".xml") or ctype in ("application/xml", "text/xml") or is_ubl_order(att.data):
        return "xml"
    if name.endswith((".edi", ".edifact")) or ctype == "application/edifact" or is_edifact(att.data):
        return "edifact"
    return None


def _decode(data: bytes) -> str:
    for enc in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return normalize_typography(data.decode(enc))
        except UnicodeDecodeError:
            continue
    return normalize_typography(data.decode("utf-8", errors="replace"))


def csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data[:MAX_BYTES])
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=";,\t|")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for i, row in enumerate(csv.reader(io.StringIO(text), dialect)):
        if i >= MAX_ROWS:
            break
        rows.append([c.strip() for c in row])
    return rows


def xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # imported here: only mails with spreadsheets pay for it

    wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    rows: list[list[str]] = []
    try:
        # Visible sheets, the one the buyer saved it on first, up to the first with an item table: the
        # order's header may sit on one sheet and its lines on the next, but an order history or a price
        # list after the items (or hidden) is not the order.
        active = wb.active
        visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
        for ws in [active, *(ws for ws in visible if ws is not active)][:3]:
            if ws is None:
                continue
            sheet = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True, max_row=MAX_ROWS)]
            rows += [*sheet[:MAX_ROWS - len(rows)], []]
            if any(header_of(row) for row in sheet) or len(rows) >= MAX_ROWS:
                break
    finally:
        wb.close()
    return rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)  # a spreadsheet number is exact: never re-read it by the text's locale
    return normalize_typography(str(value)).strip()


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = []
    for page in reader.pages[:MAX_PDF_PAGES]:
        try:
            pages.append(page.extract_text(extraction_mode="layout") or "")
        except Exception:
            pages.append(page.extract_text() or "")
    # layout mode keeps columns apart with runs of spaces; tidy very wide gaps
    return normalize_typography("\n".join(re.sub(r"[ ]{3,}", "   ", p) for p in pages))


@dataclass
class AttachmentReading:
    lines: list[LineMention] = field(default_factory=list)
    text: str = ""  # what the date and reference readers see of it
    findings: list[str] = field(default_factory=list)
    intent: str | None = None  # what a structured order document says it is: "order", "change", "cancel"


def read_attachment(att: Attachment, index: CatalogIndex, lang: str) -> AttachmentReading:
    """Lines, text and findings of one attachment. Never raises: a broken file is a finding."""
    source = f"attachment:{att.filename}"
    if att.flagged:
        return AttachmentReading(findings=[f"attachment {att.filename} not opened ({att.flagged})"])
    kind = kind_of(att)
    if kind is None:
        return AttachmentReading()
    if len(att.data) > MAX_BYTES:
        return AttachmentReading(findings=[f"attachment {att.filename} too large to read"])
    try:
        if kind in ("csv", "xlsx"):
            rows = csv_rows(att.data) if kind == "csv" else xlsx_rows(att.data)
            lines, _ = table_rows(rows, lang, source)
            return AttachmentReading(lines, "\n".join(" | ".join(r) for r in rows))
        if kind == "xml":
            if not is_ubl_order(att.data):
                return AttachmentReading()
            lines, facts = read_ubl_order(att.data, source)
            return AttachmentReading(lines, facts, intent="order")
        if kind == "edifact":
            edi = read_edifact_order(att.data, source)
            return AttachmentReading(edi.lines, edi.facts, intent=edi.intent)
        text = pdf_text(att.data) if kind == "pdf" else _decode(att.data[:MAX_BYTES])
        lines, _ = text_mentions(text, index, lang, source, order_intent=True)
        if not lines:  # a PDF table whose columns collapsed to single spaces
            rows = [split_cells(ln) or [] for ln in text.split("\n")]
            lines, _ = table_rows(rows, lang, source)
        return AttachmentReading(lines, text)
    except Exception as exc:  # a corrupt file must not fail the message
        return AttachmentReading(findings=[f"attachment {att.filename} could not be read ({type(exc).__name__})"])
