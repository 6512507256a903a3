"""`orderd parse --config` judges exactly as `orderd serve` under the same configuration, and `serve`
knows its colleagues: over real SMTP, the Odoo simulator (odoorpc) and the relay sink."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Callable
from email import message_from_bytes
from pathlib import Path

import aiohttp
from conftest import CATALOG, odoo_search_read, order_email, smtp_send

from odoosim import RunningSim
from orderd.app import App
from orderd.config import Config
from orderd_dev.sink import RunningSink

POLICY = {"new_customers": "review", "internal_domains": ["mycompany.test", "partner-office.test"]}
CONFIG_TOML = """
[smtp]
hostname = "mx.mycompany.test"
addresses = ["orders@mycompany.test"]
[policy]
new_customers = "review"
internal_domains = ["mycompany.test", "partner-office.test"]
"""

FORWARD = ("Paul here - please book this for Claire.\n\n---------- Forwarded message ---------\n"
           "From: Claire Martin <customer2@example.com>\nDate: Fri, 20 Nov 2026 at 09:00\nSubject: Order\n"
           "To: Paul <paul@partner-office.test>\n\nPlease deliver 3 x DC-1004.\n")
MAILS = {
    "clean": ("customer2@example.com", "Please deliver 5 x DC-1001.\n\nClaire", "order"),
    "new_customer": ("buyer@brand-new-company.example", "Please deliver 4 x DC-1002.\n", "needs_review"),
    "rfq": ("customer2@example.com", "Could you send us a quotation for 200 x DC-1007?", "needs_review"),
    "cancel": ("customer2@example.com", "Please cancel our order of last week (5 x DC-1005).", "needs_review"),
    "question": ("customer2@example.com", "Hello, on invoice 2026-311 you billed 12 x DC-1002 but we got 10. "
                 "Can you check?", "not_order"),
    "range": ("customer2@example.com", "Please deliver 10-12 x DC-1004.", "needs_review"),
    "forward": ("paul@partner-office.test", FORWARD, "order"),
}


async def test_parse_judges_like_serve(make_config: Callable[..., Config], odoo_sim: RunningSim,
                                       tmp_path: Path) -> None:
    app = App(make_config(policy=POLICY))
    await app.start()
    served: dict[str, str] = {}
    files: dict[str, Path] = {}
    try:
        for name, (sender, body, _expected) in MAILS.items():
            raw = order_email(body, sender=sender, subject="Question" if name == "question" else "Order")
            files[name] = tmp_path / f"{name}.eml"
            files[name].write_bytes(raw)
            code, text = await smtp_send(app.smtp_port, raw, sender=sender)
            assert code == 250, text
            served[name] = text.rsplit("(", 1)[1].rstrip(")") if "(" in text else text
    finally:
        await app.stop()
    config = tmp_path / "orderd.toml"
    config.write_text(CONFIG_TOML)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "orderd.cli", "parse", *map(str, files.values()), "--config", str(config),
        "--catalog", str(CATALOG), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    parsed = {Path(r["file"]).stem: r for r in map(json.loads, out.decode().splitlines())}
    assert {name: r["decision"] for name, r in parsed.items()} == served
    assert served == {name: expected for name, (_s, _b, expected) in MAILS.items()}
    assert any("new customer" in r for r in parsed["new_customer"]["reasons"])
    assert parsed["forward"]["customer"]["email"] == "customer2@example.com"


async def test_an_order_a_colleague_forwards_is_the_customers(make_config: Callable[..., Config],
                                                              odoo_sim: RunningSim) -> None:
    app = App(make_config(policy=POLICY))
    await app.start()
    try:
        code, text = await smtp_send(app.smtp_port, order_email(FORWARD, sender="paul@partner-office.test"),
                                     sender="paul@partner-office.test")
    finally:
        await app.stop()
    assert code == 250 and "(order)" in text, text
    name = text.split(" as ", 1)[1].split()[0]
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", name]], ["partner_id", "state"])
    assert orders[0]["partner_id"][1] == "Rhône Valley Motors SA" and orders[0]["state"] == "sale"
    partners = await odoo_search_read(odoo_sim.url, "res.partner", [["email", "=ilike", "paul@partner-office.test"]],
                                      ["id"])
    assert partners == []  # the colleague did not become a customer


async def test_a_cancellation_never_becomes_an_order(orderd: App, odoo_sim: RunningSim) -> None:
    before = await odoo_search_read(odoo_sim.url, "sale.order", [], ["id"])
    code, text = await smtp_send(orderd.smtp_port, order_email("Bitte stornieren Sie unsere Bestellung vom "
                                                               "12.11. (10 Stk DC-1004).",
                                                               sender="j.weber@hartmann-pumpen.de"),
                                 sender="j.weber@hartmann-pumpen.de")
    assert code == 250 and "(needs_review)" in text, text
    assert await odoo_search_read(odoo_sim.url, "sale.order", [], ["id"]) == before


async def test_serve_knows_customers_and_names_from_odoo(orderd: App, odoo_sim: RunningSim) -> None:
    """The catalog orderd caches from Odoo carries the customers (a lookalike of one is doubted) and the
    product names in every active language (a German name confirms)."""
    code, text = await smtp_send(orderd.smtp_port, order_email("Bitte liefern Sie 5 Stk Pumpenlaufrad aus Messing.",
                                                               sender="einkauf@hartmann-pumpen.de.com"),
                                 sender="einkauf@hartmann-pumpen.de.com")
    assert code == 250 and "(needs_review)" in text, text
    code, text = await smtp_send(orderd.smtp_port, order_email("Bitte liefern Sie 5 Stk Pumpenlaufrad aus Messing.",
                                                               sender="j.weber@hartmann-pumpen.de"),
                                 sender="j.weber@hartmann-pumpen.de")
    assert code == 250 and "(order)" in text, text


async def test_parse_reads_catalog_and_stock_from_the_odoo_its_config_names(odoo_sim: RunningSim,
                                                                              tmp_path: Path) -> None:
    mail = tmp_path / "order.eml"
    mail.write_bytes(order_email("Bitte liefern Sie 5 Stk Pumpenlaufrad aus Messing und 9 Stk DC-1014.",
                                 sender="j.weber@hartmann-pumpen.de"))
    config = tmp_path / "orderd.toml"
    config.write_text(CONFIG_TOML + f'[odoo]\nurl = "{odoo_sim.url}"\n')
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "orderd.cli", "parse", str(mail), "--config",
                                                str(config), stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert [(ln["default_code"], ln["qty"]) for ln in report["lines"]] == [("DC-1004", 5), ("DC-1014", 9)]
    assert report["decision"] == "needs_review" and report["reasons"] == ["DC-1014: 9 requested, 5 available"]


async def test_gate_reasons_are_counted_in_metrics(orderd: App) -> None:
    async def counted() -> float:
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{orderd.http_port}/metrics") as resp:
            body = await resp.text()
        found = re.search(r'^orderd_gate_reasons_total\{reason="qty_range"\} ([0-9.]+)$', body, re.M)
        return float(found.group(1)) if found else 0.0

    before = await counted()
    code, text = await smtp_send(orderd.smtp_port, order_email("Please deliver 10-12 x DC-1004."))
    assert code == 250 and "(needs_review)" in text, text
    assert await counted() == before + 1


async def test_an_erp_purchase_order_is_read_and_never_answered(orderd: App, relay: RunningSink) -> None:
    """Auto-Submitted: auto-generated (an ERP, a portal, EDI) may be an order; a machine gets no answer."""
    raw = order_email("Purchase order 4500012345\n\nPlease supply 5 x DC-1004.\n",
                      sender="sap-po@northwind-tools.co.uk", subject="Purchase order 4500012345",
                      Auto_Submitted="auto-generated")
    code, text = await smtp_send(orderd.smtp_port, raw, sender="sap-po@northwind-tools.co.uk")
    assert code == 250 and "(order)" in text, text
    for _ in range(100):
        if not await orderd.store.outbox_items(state="pending"):
            break
        await asyncio.sleep(0.05)
    assert not [data for _env, data in relay.messages if b"sap-po@northwind-tools.co.uk" in data]


async def test_the_reply_names_the_lines_left_for_a_person(orderd: App, relay: RunningSink) -> None:
    raw = order_email("Please deliver 10-12 x DC-1004 and 5 x DC-1001.", message_id="<range-1@example.com>")
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert code == 250 and "(needs_review)" in text, text

    def reply_text() -> str:
        for _env, data in relay.messages:
            reply = message_from_bytes(data)
            if str(reply.get("In-Reply-To", "")).strip() == "<range-1@example.com>":
                part = next(p for p in reply.walk() if p.get_content_type() == "text/plain")
                return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
        return ""

    for _ in range(100):
        if reply_text():
            break
        await asyncio.sleep(0.05)
    body = reply_text()
    assert "DC-1001" in body  # on the draft
    # Claire's language is French: the lines left open are named in it
    assert "pas pu lire une quantité sûre" in body and "DC-1004 Brass pump impeller" in body
