"""References belong to their customer: a stranger who names an order (its number in the subject, a
forged In-Reply-To, a command) changes nothing on it and learns nothing about it. Over real SMTP, the
Odoo simulator (odoorpc) and the relay sink."""

from __future__ import annotations

import asyncio
from email import message_from_bytes

from conftest import odoo_search_read, order_email, smtp_send

from odoosim import RunningSim
from orderd.app import App
from orderd_dev.sink import RunningSink


async def _snapshot(url: str, names: list[str]) -> dict[str, tuple]:
    orders = await odoo_search_read(url, "sale.order", [["name", "in", names]], ["name", "state", "order_line"])
    out = {}
    for order in orders:
        on_order = [["model", "=", "sale.order"], ["res_id", "=", order["id"]]]
        notes = await odoo_search_read(url, "mail.message", on_order, ["id"])
        activities = await odoo_search_read(url, "mail.activity", [["res_id", "=", order["id"]]], ["id"])
        out[order["name"]] = (order["state"], tuple(order["order_line"]), len(notes), len(activities))
    return out


async def test_fifty_strangers_walking_order_numbers_change_and_learn_nothing(
        orderd: App, odoo_sim: RunningSim, relay: RunningSink) -> None:
    names = []
    for body in ("Please send 2 x DC-1004.", "Please send 3 x DC-9999.", "Please send 1 x DC-1001."):
        code, text = await smtp_send(orderd.smtp_port, order_email(body))
        assert code == 250, text
        names.append(text.split(" as ", 1)[1].split()[0])
    before = await _snapshot(odoo_sim.url, names)
    assert {state for state, *_ in before.values()} == {"sale", "draft"}

    commands = ["Cancel: yes", "Set-State: draft", "Set-Qty: DC-1004 400", "What is the status of this order?",
                "Please change the delivery address to 1 Dock Road, Hull."]
    strangers = ["mallory@evil.example", "purchasing@rhone-valley-motors.example", "claire.martin@gmail.com"]
    for i in range(50):
        sender = strangers[i % len(strangers)]
        ref = f"S{i % 6 + 1:05d}"
        headers = {"In_Reply_To": f"<{ref}.reply@mx.mycompany.test>"} if i % 2 else {}
        raw = order_email(f"{commands[i % len(commands)]}\n", sender=sender, subject=f"Re: [{ref}] your order",
                          message_id=f"<walk-{i}@evil.example>", **headers)
        code, text = await smtp_send(orderd.smtp_port, raw, sender=sender)
        assert code == 250, text
        assert not any(name in text for name in names), text  # the SMTP answer names none of them

    assert await _snapshot(odoo_sim.url, names) == before
    for _ in range(200):  # every reply sent (or refused for good) before reading what strangers got
        if not await orderd.store.outbox_items(state="pending"):
            break
        await asyncio.sleep(0.05)
    for _envelope, data in relay.messages:
        reply = message_from_bytes(data)
        if any(s in str(reply.get("To", "")) for s in strangers):
            # what the stranger reads (threading headers only echo the stranger's own References)
            shown = str(reply["Subject"]) + "".join(
                part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8", errors="replace")
                for part in reply.walk() if part.get_content_maintype() == "text")
            leaked = [name for name in names if name in shown]
            assert not leaked, (reply["Subject"], leaked)


async def test_a_reply_on_another_customers_order_number_is_a_new_order(orderd: App, odoo_sim: RunningSim) -> None:
    code, text = await smtp_send(orderd.smtp_port, order_email("Please send 2 x DC-1004."))
    theirs = text.split(" as ", 1)[1].split()[0]
    before = await _snapshot(odoo_sim.url, [theirs])
    raw = order_email("Please send 5 x DC-1005.", sender="j.weber@hartmann-pumpen.de", subject=f"Re: [{theirs}]")
    code, text = await smtp_send(orderd.smtp_port, raw, sender="j.weber@hartmann-pumpen.de")
    assert code == 250 and "(order)" in text and theirs not in text, text
    mine = text.split(" as ", 1)[1].split()[0]
    [order] = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", mine]], ["partner_id"])
    assert order["partner_id"][1] == "Hartmann Pumpen GmbH"
    assert await _snapshot(odoo_sim.url, [theirs]) == before
