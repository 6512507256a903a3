"""The learning loop over RPC, the way a salesperson works: a first email goes to review, the person
corrects the draft in Odoo (odoorpc against the simulator) and confirms it, orderd's poller compares, and
the same wording from the same customer then confirms by itself. Real sockets throughout: SMTP into
orderd, JSON-RPC to the simulator, the store on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conftest import odoo_connect, odoo_search_read, order_email, smtp_send

from odoosim import RunningSim
from orderd.app import App
from orderd.config import Config

if TYPE_CHECKING:
    from store_backends import Backend

pytest_plugins = ["store_backends"]

JANE = "Jane Doe <jane.doe@orion-electronics.com>"  # a contact of Orion Electronics
JANES_COLLEAGUE = "Orion Info <info@orion-electronics.com>"  # the company itself: the same customer
CLAIRE = "Claire Martin <customer2@example.com>"  # another customer (Rhône Valley Motors)
JONAS = "Jonas Weber <j.weber@hartmann-pumpen.de>"  # a third one (Hartmann Pumpen)

# "blue housing" is the customer's own name for DC-1016 (several housings come close: never a guess);
# DC-1005 has no packaging in Odoo, so "3 cartons" is a count of packs of unknown size.
ORDER = "Hello,\n\nplease deliver:\n5 x blue housing\n3 cartons of DC-1005\n2 x DC-1004\n\nThanks,\n{name}\n"


def address(sender: str) -> str:
    return sender.split("<", 1)[1].rstrip(">")


async def send(app: App, sender: str) -> tuple[str, str]:
    """One order email over SMTP; (decision, order name) from the 250 reply."""
    raw = order_email(ORDER.format(name=sender.split()[0]), sender=sender)
    code, text = await smtp_send(app.smtp_port, raw, sender=address(sender))
    assert code == 250, text
    name = text.split(" as ", 1)[1].split()[0]
    return text.rsplit("(", 1)[1].rstrip(")"), name


def salesperson(url: str, order_name: str, work: Callable[[Any, int, dict[str, int]], None]) -> None:
    """A person at Odoo (odoorpc): finds the draft and the products, then does `work` on it."""
    odoo = odoo_connect(url)
    [order_id] = odoo.execute_kw("sale.order", "search", [[["name", "=", order_name]]])
    products = {row["default_code"]: row["id"] for row in odoo.execute_kw(
        "product.product", "search_read", [[]], {"fields": ["default_code"]})}
    work(odoo, order_id, products)


def correct_and_confirm(odoo: Any, order_id: int, products: dict[str, int]) -> None:
    """What the person reads in the mail: blue housing is DC-1016; their carton of DC-1005 holds 20.
    A first pick is wrong and removed, a quantity typed as packs is corrected, then the order confirmed."""
    odoo.execute_kw("sale.order", "write", [[order_id], {"order_line": [
        (0, 0, {"product_id": products["DC-1001"], "product_uom_qty": 5}),
        (0, 0, {"product_id": products["DC-1005"], "product_uom_qty": 3})]}])
    lines = {row["product_id"][0]: row["id"] for row in odoo.execute_kw(
        "sale.order.line", "search_read", [[["order_id", "=", order_id]]], {"fields": ["product_id"]})}
    odoo.execute_kw("sale.order", "write", [[order_id], {"order_line": [
        (2, lines[products["DC-1001"]]),
        (0, 0, {"product_id": products["DC-1016"], "product_uom_qty": 5}),
        (1, lines[products["DC-1005"]], {"product_uom_qty": 60})]}])
    odoo.execute_kw("sale.order", "action_confirm", [[order_id]])


def cancel(odoo: Any, order_id: int, products: dict[str, int]) -> None:
    """The person fills the draft in the same way, then cancels it instead (the customer phoned)."""
    odoo.execute_kw("sale.order", "write", [[order_id], {"order_line": [
        (0, 0, {"product_id": products["DC-1016"], "product_uom_qty": 5}),
        (0, 0, {"product_id": products["DC-1005"], "product_uom_qty": 60})]}])
    odoo.execute_kw("sale.order", "action_cancel", [[order_id]])


async def order_lines(url: str, order_name: str) -> tuple[str, list[tuple[str, float]]]:
    [order] = await odoo_search_read(url, "sale.order", [["name", "=", order_name]], ["state"])
    lines = await odoo_search_read(url, "sale.order.line", [["order_id", "=", order["id"]]],
                                   ["product_id", "product_uom_qty"])
    return order["state"], sorted((ln["product_id"][1].split("]")[0].lstrip("["), ln["product_uom_qty"])
                                  for ln in lines)


async def orderd_command(*args: str, store_url: str, **files: Path) -> tuple[int, str, str]:
    env = dict(os.environ, ORDERD_STORE_URL=store_url)
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "orderd.cli", *args, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_the_salesperson_teaches_orderd_over_rpc(backend: Backend, make_config: Callable[..., Config],
                                                       odoo_sim: RunningSim, tmp_path: Path) -> None:
    app = App(make_config(store={"url": backend.url}))
    await app.start()
    try:
        assert app.learning is not None
        # 1. The customer's own wording and a pack of unknown size: a draft for a person.
        decision, first = await send(app, JANE)
        assert decision == "needs_review"
        assert await order_lines(odoo_sim.url, first) == ("draft", [("DC-1004", 2.0)])
        assert (await app.learning.poll_once()).waiting == [first]  # nobody has decided yet

        # Another customer's draft, which its salesperson cancels: it teaches nothing.
        decision, cancelled = await send(app, JONAS)
        assert decision == "needs_review"
        await asyncio.to_thread(salesperson, odoo_sim.url, cancelled, cancel)

        # 2. The salesperson corrects the first draft in Odoo and confirms it; one poll learns from it.
        await asyncio.to_thread(salesperson, odoo_sim.url, first, correct_and_confirm)
        report = await app.learning.poll_once()
        assert report.learned == {first: ["dc 1005 → DC-1005 (carton = 20)", "blue housing → DC-1016"]}
        assert report.dropped == [cancelled]
        assert await app.store.draft_readings() == []

        # 3. The same wording from the same customer (another address of the same company) confirms.
        decision, second = await send(app, JANES_COLLEAGUE)
        assert decision == "order", second
        assert await order_lines(odoo_sim.url, second) == (
            "sale", [("DC-1004", 2.0), ("DC-1005", 60.0), ("DC-1016", 5.0)])
        assert (await app.learning.poll_once()).learned == {}  # orderd's own confirmation teaches nothing

        # Other customers did not learn it: neither the one who never wrote it nor the one who cancelled.
        assert (await send(app, CLAIRE))[0] == "needs_review"
        assert (await send(app, JONAS))[0] == "needs_review"

        # `orderd parse` with the same configuration reads it as serve does.
        mail = tmp_path / "again.eml"
        mail.write_bytes(order_email(ORDER.format(name="Jane"), sender=JANE))
        config = tmp_path / "orderd.toml"
        config.write_text(f'[odoo]\nurl = "{odoo_sim.url}"\n')
        status, out, err = await orderd_command("parse", str(mail), "--config", str(config),
                                                store_url=backend.url)
        assert status == 0, err
        parsed = json.loads(out)
        assert parsed["decision"] == "order", parsed["reasons"]
        assert sorted((ln["default_code"], ln["qty"]) for ln in parsed["lines"]) == [
            ("DC-1004", 2), ("DC-1005", 60), ("DC-1016", 5)]

        # 4. The aliases are listed (the customer's, used once by serve); forgetting one sends the
        # wording back to a person, while the pack size stays learned.
        status, out, err = await orderd_command("aliases", "--json", store_url=backend.url)
        assert status == 0, err
        listed = [json.loads(line) for line in out.splitlines()]
        assert [(a["wording"], a["default_code"], a["pack"], a["pack_size"], a["learned_from"], a["times_used"])
                for a in listed] == [("blue housing", "DC-1016", None, None, first, 1),
                                     ("dc 1005", "DC-1005", "carton", 20.0, first, 1)]
        blue = listed[0]["id"]
        status, out, err = await orderd_command("aliases", "forget", str(blue), store_url=backend.url)
        assert status == 0, err
        decision, third = await send(app, JANE)
        assert decision == "needs_review"
        [entry] = [e for e in await app.store.entries(with_raw=False) if e.order_name == third]
        assert any("blue housing" in reason for reason in entry.reasons)
        assert not any("pack" in reason for reason in entry.reasons), entry.reasons
    finally:
        await app.stop()
