"""The whole job over real sockets: SMTP client → orderd → Odoo simulator (odoorpc) → relay sink."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes
from email.message import Message as EmailMessageType

import pytest
from conftest import ORDER_ADDRESS, odoo_search_read, order_email, smtp_send, wait_for

from odoosim import RunningSim
from orderd.app import App
from orderd.config import Config
from orderd_dev.sink import RunningSink

ORDER_FIELDS = ["name", "state", "partner_id", "client_order_ref", "commitment_date", "order_line", "origin"]


def _replies_to(relay: RunningSink, message_id: str) -> list[EmailMessageType]:
    found = []
    for _envelope, data in relay.messages:
        reply = message_from_bytes(data)
        if str(reply.get("In-Reply-To", "")).strip() == message_id:
            found.append(reply)
    return found


def _text(reply: EmailMessageType) -> str:
    parts = [p for p in reply.walk() if p.get_content_type() == "text/plain"]
    return parts[0].get_payload(decode=True).decode(parts[0].get_content_charset() or "utf-8")


async def test_confirmed_order_end_to_end(orderd: App, odoo_sim: RunningSim, relay: RunningSink) -> None:
    raw = order_email("Hello,\n\nplease deliver by 2026-12-12:\n\n5 x DC-1001\n10 x DC-1004\n\n"
                      "Our PO: PO-4410-A\n\nRegards,\nClaire", message_id="<po-4410@example.com>")
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert code == 250, text
    assert "S0" in text
    order_name = text.split("as ", 1)[1].split()[0]

    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", order_name]], ORDER_FIELDS)
    assert len(orders) == 1
    order = orders[0]
    assert order["state"] == "sale"
    assert order["partner_id"][1] == "Rhône Valley Motors SA"  # the contact's company: the commercial partner
    assert order["client_order_ref"] == "PO-4410-A"
    assert order["commitment_date"].startswith("2026-12-12")
    lines = await odoo_search_read(odoo_sim.url, "sale.order.line", [["order_id", "=", order["id"]]],
                                   ["product_id", "product_uom_qty"])
    assert sorted((line["product_id"][1], line["product_uom_qty"]) for line in lines) == [
        ("[DC-1001] Aluminium gearbox housing", 5.0), ("[DC-1004] Brass pump impeller", 10.0)]

    assert await wait_for(lambda: bool(_replies_to(relay, "<po-4410@example.com>")))
    reply = _replies_to(relay, "<po-4410@example.com>")[0]
    assert f"[{order_name}]" in reply["Subject"]
    assert reply["To"].endswith("customer2@example.com>") or reply["To"] == "customer2@example.com"
    assert "<po-4410@example.com>" in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert "DC-1001" in _text(reply)


async def test_unknown_product_makes_a_draft_and_asks(orderd: App, odoo_sim: RunningSim,
                                                     relay: RunningSink) -> None:
    raw = order_email("Please send 4 x DC-9999 and 2 x DC-1004.", message_id="<unknown-1@example.com>")
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert code == 250, text
    order_name = text.split("as ", 1)[1].split()[0]
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", order_name]], ["state"])
    assert orders[0]["state"] == "draft"  # never confirm a guess
    activities = await odoo_search_read(odoo_sim.url, "mail.activity", [["res_id", "=", orders[0]["id"]]],
                                        ["summary", "note"])
    assert activities, "a salesperson must be asked to review"
    assert await wait_for(lambda: bool(_replies_to(relay, "<unknown-1@example.com>")))
    assert "DC-9999" in _text(_replies_to(relay, "<unknown-1@example.com>")[0])


async def test_insufficient_stock_is_not_confirmed(orderd: App, odoo_sim: RunningSim, relay: RunningSink) -> None:
    raw = order_email("We need 50 x DC-1001 asap.", message_id="<short-1@example.com>")
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert code == 250, text
    order_name = text.split("as ", 1)[1].split()[0]
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", order_name]], ["state"])
    assert orders[0]["state"] == "draft"
    assert await wait_for(lambda: bool(_replies_to(relay, "<short-1@example.com>")))
    body = _text(_replies_to(relay, "<short-1@example.com>")[0])
    assert "50" in body and "40" in body  # requested vs available


async def test_new_customer_is_created_as_a_customer(orderd: App, odoo_sim: RunningSim) -> None:
    raw = order_email("Please send 3 x DC-1002.", sender="Pat Newman <pat@newbuyer.example>",
                      message_id="<new-1@newbuyer.example>")
    code, text = await smtp_send(orderd.smtp_port, raw, sender="pat@newbuyer.example")
    assert code == 250, text
    partners = await odoo_search_read(odoo_sim.url, "res.partner", [["email", "=ilike", "pat@newbuyer.example"]],
                                      ["name", "customer_rank"])
    assert len(partners) == 1
    assert partners[0]["customer_rank"] >= 1
    assert partners[0]["name"] == "Pat Newman"


async def test_auto_reply_makes_no_order_and_gets_no_answer(orderd: App, odoo_sim: RunningSim,
                                                           relay: RunningSink) -> None:
    before = await odoo_search_read(odoo_sim.url, "sale.order", [], ["name"])
    raw = order_email("I am out of the office until Monday. 2 x DC-1001", subject="Out of Office: Order",
                      message_id="<ooo-1@example.com>", Auto_Submitted="auto-replied")
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert code == 250, text
    after = await odoo_search_read(odoo_sim.url, "sale.order", [], ["name"])
    assert len(after) == len(before)
    assert not await wait_for(lambda: bool(relay.messages), timeout=0.5)


async def test_envelope_policy(orderd: App) -> None:
    raw = order_email("2 x DC-1001")
    code, text = await smtp_send(orderd.smtp_port, raw, recipients=("nobody@mycompany.test",))
    assert (code, text.split()[0]) == (550, "5.1.1")
    code, text = await smtp_send(orderd.smtp_port, raw, recipients=("victim@elsewhere.example",))
    assert (code, text.split()[0]) == (554, "5.7.1")


async def test_oversize_message_is_refused(make_config: Callable[..., Config]) -> None:
    app = App(make_config(smtp={"listen": "127.0.0.1:0", "max_message_size": 4096}))
    await app.start()
    try:
        raw = order_email("2 x DC-1001\n" + "filler line\n" * 600)
        code, text = await smtp_send(app.smtp_port, raw)
        assert (code, text.split()[0]) == (552, "5.3.4")
    finally:
        await app.stop()


async def test_duplicate_delivery_makes_one_order(orderd: App, odoo_sim: RunningSim) -> None:
    raw = order_email("2 x DC-1005", message_id="<dup-1@example.com>")
    first = await smtp_send(orderd.smtp_port, raw)
    second = await smtp_send(orderd.smtp_port, raw)
    assert first[0] == second[0] == 250
    name = first[1].split("as ", 1)[1].split()[0]
    assert f"already processed as {name}" in second[1]
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "dup-1@example.com"]], ["name"])
    assert [o["name"] for o in orders] == [name]


async def test_odoo_down_is_451_then_redelivery_makes_one_order(orderd: App, odoo_sim: RunningSim) -> None:
    raw = order_email("2 x DC-1007", message_id="<down-1@example.com>")
    odoo_sim.set_faults(mode="drop")
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert (code, text.split()[0]) == (451, "4.3.0"), text
    odoo_sim.set_faults(mode=None)
    code, text = await smtp_send(orderd.smtp_port, raw)
    assert code == 250, text
    orders = await odoo_search_read(odoo_sim.url, "sale.order", [["origin", "ilike", "down-1@example.com"]],
                                    ["name"])
    assert len(orders) == 1


async def test_health_readiness_and_metrics(orderd: App, odoo_sim: RunningSim) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{orderd.http_port}"
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/readyz") as resp:
            assert resp.status == 200, await resp.text()
        odoo_sim.set_faults(mode="http500")
        async with http.get(f"{base}/readyz") as resp:
            body = await resp.json()
            assert resp.status == 503
            assert body["failing"] == ["odoo"]
        odoo_sim.set_faults(mode=None)
        await smtp_send(orderd.smtp_port, order_email("1 x DC-1009"))
        async with http.get(f"{base}/metrics") as resp:
            text = await resp.text()
    assert 'orderd_smtp_replies_total{code="250"}' in text
    assert "orderd_stage_seconds_bucket" in text
    assert "orderd_odoo_rpc_calls_total" in text
    assert "orderd_outbox_depth" in text


async def test_smtp_sender_recipient_mismatch_order_address_only(orderd: App) -> None:
    code, _ = await smtp_send(orderd.smtp_port, order_email("1 x DC-1002"), recipients=(ORDER_ADDRESS.upper(),))
    assert code == 250


async def test_ehlo_advertises_size_8bitmime_smtputf8_and_caps_recipients(make_config: Callable[..., Config]) -> None:
    import aiosmtplib

    app = App(make_config(smtp={"listen": "127.0.0.1:0", "max_recipients": 2,
                                "addresses": ["orders@mycompany.test", "@po.mycompany.test"]}))
    await app.start()
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=app.smtp_port, timeout=30)
        await client.connect()
        await client.ehlo()
        assert client.supports_extension("size")
        assert client.esmtp_extensions["size"] == str(app.config.smtp.max_message_size)
        assert client.supports_extension("8bitmime") and client.supports_extension("smtputf8")
        await client.mail("customer2@example.com")
        assert (await client.rcpt("orders@mycompany.test")).code == 250
        assert (await client.rcpt("anything@po.mycompany.test")).code == 250  # a whole order domain
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt("orders@mycompany.test")
        assert refused.value.code == 452
        await client.quit()
    finally:
        await app.stop()


async def test_utf8_sender_and_8bit_body_are_accepted(orderd: App, odoo_sim: RunningSim) -> None:
    raw = ("From: José Müller <josé@müller.example>\r\nTo: orders@mycompany.test\r\nSubject: Bestellung\r\n"
           "Message-ID: <utf8-1@müller.example>\r\nContent-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße, bitte 2 x DC-1002 liefern.\r\n").encode()
    code, text = await smtp_send(orderd.smtp_port, raw, sender="josé@müller.example", mail_options=("SMTPUTF8",))
    assert code == 250, text
