"""Messages about an existing order: a cancellation from the order's own customer is carried out while
the order is a quotation and acknowledged; from anyone else, or on a confirmed order, a person decides."""

from __future__ import annotations

from email import message_from_bytes

from conftest import odoo_search_read, order_email, smtp_send, wait_for

from odoosim import RunningSim
from orderd.app import App
from orderd_dev.sink import RunningSink


def _reply_to(relay: RunningSink, message_id: str) -> list:
    return [m for _e, d in relay.messages
            if str((m := message_from_bytes(d)).get("In-Reply-To", "")).strip() == message_id]


async def _order(orderd: App, body: str, message_id: str) -> str:
    code, text = await smtp_send(orderd.smtp_port, order_email(body, message_id=message_id))
    assert code == 250, text
    return text.split("as ", 1)[1].split()[0]


async def _state(sim: RunningSim, name: str) -> str:
    return (await odoo_search_read(sim.url, "sale.order", [["name", "=", name]], ["state"]))[0]["state"]


async def test_customer_cancels_a_quotation_by_command(orderd: App, odoo_sim: RunningSim,
                                                       relay: RunningSink) -> None:
    name = await _order(orderd, "Please send 4 x DC-9999 and 2 x DC-1004.", "<q-1@example.com>")
    assert await _state(odoo_sim, name) == "draft"  # an unknown product: a quotation for review
    cancel = order_email("Cancel: yes\n\nSorry, we found another supplier.", subject=f"Re: [{name}] order",
                         message_id="<q-1-cancel@example.com>")
    code, text = await smtp_send(orderd.smtp_port, cancel)
    assert code == 250 and name in text, text
    assert await _state(odoo_sim, name) == "cancel"
    assert await wait_for(lambda: bool(_reply_to(relay, "<q-1-cancel@example.com>")))
    [ack] = _reply_to(relay, "<q-1-cancel@example.com>")
    assert f"[{name}]" in ack["Subject"]
    body = ack.get_payload()[0].get_payload(decode=True).decode() if ack.is_multipart() else ack.get_payload()
    assert "cancel" in body.lower() or "annul" in body.lower()


async def test_a_stranger_cannot_cancel_and_a_confirmed_order_needs_a_person(orderd: App, odoo_sim: RunningSim,
                                                                             relay: RunningSink) -> None:
    draft = await _order(orderd, "Please send 4 x DC-9999.", "<q-2@example.com>")
    stranger = order_email("Cancel: yes", sender="Mallory <mallory@evil.example>", subject=f"Re: [{draft}]",
                           message_id="<q-2-cancel@evil.example>")
    code, text = await smtp_send(orderd.smtp_port, stranger, sender="mallory@evil.example")
    assert code == 250, text
    assert await _state(odoo_sim, draft) == "draft"

    confirmed = await _order(orderd, "Please send 2 x DC-1004.", "<q-3@example.com>")
    assert await _state(odoo_sim, confirmed) == "sale"
    code, text = await smtp_send(orderd.smtp_port, order_email("Cancel: yes", subject=f"Re: [{confirmed}]",
                                                               message_id="<q-3-cancel@example.com>"))
    assert code == 250, text
    assert await _state(odoo_sim, confirmed) == "sale"  # delivery under way: a person decides
    [order] = await odoo_search_read(odoo_sim.url, "sale.order", [["name", "=", confirmed]], ["id"])
    activities = await odoo_search_read(odoo_sim.url, "mail.activity", [["res_id", "=", order["id"]]], ["note"])
    assert any("needs a person" in a["note"] for a in activities)
    # The customer is told the request was received (not that it was done).
    assert await wait_for(lambda: bool(_reply_to(relay, "<q-3-cancel@example.com>")))
