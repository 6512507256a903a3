"""The Odoo simulator driven by odoorpc over real HTTP, as orderd will drive it."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import odoorpc
import pytest

from odoosim import OdooSim, RunningSim
from odoosim.threaded import ThreadedSim, connect

pytest_plugins = ["odoosim_fixtures"]  # the shared fixtures: odoosim, odoo_rpc, odoosim_factory, ...

STOCK = ["qty_available", "free_qty", "virtual_available"]


def error_of(exc: pytest.ExceptionInfo[odoorpc.error.RPCError]) -> dict[str, Any]:
    return exc.value.info["data"]


def stock_of(odoo: odoorpc.ODOO, code: str, **context: Any) -> tuple[float, float, float]:
    kwargs: dict[str, Any] = {"fields": STOCK}
    if context:
        kwargs["context"] = context
    row = odoo.execute_kw("product.product", "search_read", [[("default_code", "=", code)]], kwargs)[0]
    return row["qty_available"], row["free_qty"], row["virtual_available"]


def new_order(odoo: odoorpc.ODOO, lines: list[tuple[int, float]], partner: int = 7, **vals: Any) -> int:
    order_line = [(0, 0, {"product_id": p, "product_uom_qty": q}) for p, q in lines]
    return odoo.env["sale.order"].create({"partner_id": partner, "order_line": order_line, **vals})


def product_id(odoo: odoorpc.ODOO, code: str) -> int:
    return odoo.env["product.product"].search([("default_code", "=", code)])[0]


# ---- login and connection ---------------------------------------------------------------------------

def test_login_and_context(odoo_rpc: odoorpc.ODOO) -> None:
    assert odoo_rpc.env.uid == 2
    assert odoo_rpc.env.context == {"lang": "en_US", "tz": False, "uid": 2}
    assert odoo_rpc.env.user.name == "Administrator"
    assert odoo_rpc.version.startswith("18.0")
    assert odoo_rpc.db.list() == ["orders"]


def test_wrong_password(odoosim: ThreadedSim) -> None:
    client = connect(odoosim, login=False)
    with pytest.raises(odoorpc.error.RPCError, match="Wrong login ID or password"):
        client.login("orders", "admin", "wrong")
    # Login gives False, but an object call with a bad password is an AccessDenied error.
    assert client.json("/jsonrpc", {"service": "common", "method": "login",
                                    "args": ["orders", "admin", "wrong"]})["result"] is False
    with pytest.raises(odoorpc.error.RPCError) as exc:
        client.json("/jsonrpc", {"service": "object", "method": "execute_kw",
                                 "args": ["orders", 2, "wrong", "res.partner", "search", [[]]]})
    assert error_of(exc)["name"] == "odoo.exceptions.AccessDenied"
    assert error_of(exc)["message"] == "Access Denied"


# ---- partners ---------------------------------------------------------------------------------------

def test_partner_email_matching(odoo_rpc: odoorpc.ODOO) -> None:
    partners = odoo_rpc.env["res.partner"]
    assert partners.search([("email", "=", "Customer2@Example.com")]) == []
    assert partners.search([("email", "=ilike", "Customer2@Example.com")]) == [8]
    assert sorted(partners.search([("email", "ilike", "@EXAMPLE.COM")])) == [7, 8]
    assert partners.search([("email_normalized", "=", "customer2@example.com")]) == [8]
    row = partners.search_read([("email", "=ilike", "customer2@example.com")],
                               ["name", "parent_id", "commercial_partner_id", "is_company", "lang"])[0]
    assert row["parent_id"] == [7, "Rhône Valley Motors SA"]
    assert row["commercial_partner_id"] == [7, "Rhône Valley Motors SA"]
    assert row["is_company"] is False


def test_partner_create_contact_and_tags(odoo_rpc: odoorpc.ODOO) -> None:
    partners = odoo_rpc.env["res.partner"]
    gold = odoo_rpc.env["res.partner.category"].search([("name", "=", "Gold")])
    assert len(gold) == 1
    assert partners.search([("category_id", "in", gold), ("is_company", "=", True)]) != []
    new_id = partners.create({"name": "Rec Test Buyer", "email": "Rec.Buyer@Example.net",
                              "customer_rank": 1, "lang": "de_DE", "parent_id": 9,
                              "category_id": [(6, 0, gold)]})
    row = partners.read([new_id], ["customer_rank", "commercial_partner_id", "email_normalized",
                                   "category_id", "display_name", "lang"])[0]
    assert row["customer_rank"] == 1
    assert row["commercial_partner_id"] == [9, "Hartmann Pumpen GmbH"]
    assert row["email_normalized"] == "rec.buyer@example.net"
    assert row["category_id"] == gold
    assert row["display_name"] == "Hartmann Pumpen GmbH, Rec Test Buyer"
    assert new_id in partners.search([("parent_id", "child_of", 9)])
    assert partners.search_count([("customer_rank", ">", 0)]) == 11
    partners.write([new_id], {"phone": "+49 1"})
    assert partners.read([new_id], ["phone"])[0]["phone"] == "+49 1"


def test_partner_inactive_language_is_refused(odoo_rpc: odoorpc.ODOO) -> None:
    with pytest.raises(odoorpc.error.RPCError) as exc:
        odoo_rpc.env["res.partner"].create({"name": "X", "lang": "it_IT"})
    assert error_of(exc)["name"] == "builtins.ValueError"
    assert error_of(exc)["message"] == "Wrong value for res.partner.lang: 'it_IT'"
    assert odoo_rpc.env["res.partner"].search([("name", "=", "X")]) == []


# ---- products and orders ----------------------------------------------------------------------------

def test_product_search_read(odoo_rpc: odoorpc.ODOO) -> None:
    rows = odoo_rpc.env["product.product"].search_read(
        [("barcode", "=", "7612345000015")], ["default_code", "display_name", "is_storable", "type",
                                               "uom_id", "list_price", *STOCK])
    assert rows == [{"id": 13, "default_code": "DC-1013", "display_name": "[DC-1013] Aluminium die-cast bracket kit",
                     "is_storable": True, "type": "consu", "uom_id": [1, "Units"], "list_price": 199.0,
                     "qty_available": 25.0, "free_qty": 25.0, "virtual_available": 25.0}]
    assert stock_of(odoo_rpc, "DC-1001", warehouse=1) == (40.0, 40.0, 40.0)


def test_order_create_confirm_moves_stock(odoo_rpc: odoorpc.ODOO) -> None:
    orders = odoo_rpc.env["sale.order"]
    p1, p4 = product_id(odoo_rpc, "DC-1001"), product_id(odoo_rpc, "DC-1004")
    first = new_order(odoo_rpc, [(p1, 50), (p4, 10)], client_order_ref="PO-1",
                      commitment_date="2026-12-11 12:00:00", origin="email <a@b>")
    second = new_order(odoo_rpc, [(p4, 1)])
    rows = orders.read([first, second], ["name", "state", "amount_untaxed", "amount_tax", "amount_total",
                                         "currency_id", "user_id", "partner_id", "order_line",
                                         "commitment_date"])
    assert [r["name"] for r in rows] == ["S00001", "S00002"]
    assert rows[0]["state"] == "draft"
    assert (rows[0]["amount_untaxed"], rows[0]["amount_tax"], rows[0]["amount_total"]) == (7570.0, 1135.5, 8705.5)
    assert rows[0]["currency_id"] == [1, "USD"] and rows[0]["user_id"] == [2, "Administrator"]
    assert rows[0]["partner_id"] == [7, "Rhône Valley Motors SA"]
    assert rows[0]["commitment_date"] == "2026-12-11 12:00:00"
    lines = odoo_rpc.env["sale.order.line"].search_read([("order_id", "=", first)],
                                                        ["product_id", "name", "price_subtotal"])
    assert [line["id"] for line in lines] == rows[0]["order_line"]
    assert lines[0]["name"] == "[DC-1001] Aluminium gearbox housing"
    assert orders.search([("client_order_ref", "=", "PO-1")]) == [first]
    assert orders.search([], order="id asc") == [first, second]
    assert orders.search([], limit=1) == [second]  # default order: newest first

    assert orders.action_confirm([first]) is True
    assert orders.read([first], ["state"])[0]["state"] == "sale"
    assert stock_of(odoo_rpc, "DC-1001") == (40.0, 0.0, -10.0)
    assert stock_of(odoo_rpc, "DC-1004") == (120.0, 110.0, 110.0)
    with pytest.raises(odoorpc.error.RPCError) as exc:
        orders.action_confirm([first])
    assert error_of(exc)["name"] == "odoo.exceptions.UserError"
    assert error_of(exc)["message"] == "Some orders are not in a state requiring confirmation."


def test_cancel_wizard_then_cancel_releases_stock(odoo_rpc: odoorpc.ODOO) -> None:
    orders = odoo_rpc.env["sale.order"]
    order = new_order(odoo_rpc, [(product_id(odoo_rpc, "DC-1001"), 4)])
    orders.action_confirm([order])
    assert stock_of(odoo_rpc, "DC-1001") == (40.0, 36.0, 36.0)
    wizard = orders.action_cancel([order])
    assert wizard["res_model"] == "sale.order.cancel"
    assert wizard["context"]["default_order_id"] == order
    assert orders.read([order], ["state"])[0]["state"] == "sale"
    assert orders.with_context(disable_cancel_warning=True).action_cancel([order]) is True
    assert orders.read([order], ["state"])[0]["state"] == "cancel"
    assert stock_of(odoo_rpc, "DC-1001") == (40.0, 40.0, 40.0)
    draft = new_order(odoo_rpc, [(1, 1)])
    assert orders.action_cancel([draft]) is True  # a draft needs no wizard


def test_create_order_without_partner_rolls_back(odoo_rpc: odoorpc.ODOO) -> None:
    with pytest.raises(odoorpc.error.RPCError) as exc:
        odoo_rpc.env["sale.order"].create({"order_line": [(0, 0, {"product_id": 4, "product_uom_qty": 1})]})
    assert error_of(exc)["name"] == "odoo.exceptions.ValidationError"
    assert "Field: Customer (partner_id)" in error_of(exc)["message"]
    # A bad line fails the whole create: no half-made order stays behind.
    with pytest.raises(odoorpc.error.RPCError):
        odoo_rpc.env["sale.order"].create({"partner_id": 7, "order_line": [(0, 0, {"product_id": 999})]})
    assert odoo_rpc.env["sale.order"].search_count([]) == 0
    assert odoo_rpc.env["sale.order.line"].search_count([]) == 0


def test_message_post_and_attachments(odoo_rpc: odoorpc.ODOO) -> None:
    order = new_order(odoo_rpc, [(1, 1)])
    att = odoo_rpc.env["ir.attachment"].create({"name": "po.csv", "datas": "YSxiCjEsMgo=",
                                                "res_model": "sale.order", "res_id": order})
    msg = odoo_rpc.execute_kw("sale.order", "message_post", [[order]], {
        "body": "Original email:\nPlease send <b>50</b>", "subject": "PO", "message_type": "comment",
        "subtype_xmlid": "mail.mt_note", "attachment_ids": [att],
        "attachments": [("raw.txt", "hello")],
    })
    row = odoo_rpc.env["mail.message"].read([msg], ["body", "model", "res_id", "subtype_id",
                                                    "attachment_ids", "message_type"])[0]
    assert row["body"] == "Original email:\nPlease send &lt;b&gt;50&lt;/b&gt;"
    assert (row["model"], row["res_id"]) == ("sale.order", order)
    assert row["subtype_id"] == [2, "Note"]
    assert len(row["attachment_ids"]) == 2 and att in row["attachment_ids"]
    atts = odoo_rpc.env["ir.attachment"].read(row["attachment_ids"], ["name", "datas", "mimetype", "file_size"])
    by_name = {a["name"]: a for a in atts}
    assert by_name["raw.txt"]["datas"] == "aGVsbG8="  # tuple content is raw text, as in Odoo
    assert by_name["po.csv"]["mimetype"] == "text/csv" and by_name["po.csv"]["file_size"] == 8
    assert odoo_rpc.env["mail.message"].search([("model", "=", "sale.order"), ("res_id", "=", order)]) == [msg]
    with pytest.raises(odoorpc.error.RPCError) as exc:
        odoo_rpc.execute_kw("sale.order", "message_post", [[order], "positional body"], {})
    assert error_of(exc)["name"] == "builtins.TypeError"
    assert error_of(exc)["message"] == "SaleOrder.message_post() takes 1 positional argument but 2 were given"


def test_activity(odoo_rpc: odoorpc.ODOO) -> None:
    order = new_order(odoo_rpc, [(1, 1)])
    model_id = odoo_rpc.env["ir.model"].search([("model", "=", "sale.order")])
    assert model_id == [578]
    act = odoo_rpc.env["mail.activity"].create({"res_model_id": 578, "res_id": order, "summary": "Review",
                                                "note": "Shortage", "activity_type_id": 4, "user_id": 2})
    rows = odoo_rpc.env["mail.activity"].search_read([("res_model", "=", "sale.order"), ("res_id", "=", order)],
                                                     ["summary", "activity_type_id", "user_id", "state"])
    assert rows == [{"id": act, "summary": "Review", "activity_type_id": [4, "To-Do"],
                     "user_id": [2, "Administrator"], "state": "today"}]


def test_stock_quant_inventory(odoo_rpc: odoorpc.ODOO) -> None:
    quants = odoo_rpc.env["stock.quant"]
    with pytest.raises(odoorpc.error.RPCError, match="Quant's creation is restricted"):
        quants.create({"product_id": 3, "location_id": 8, "inventory_quantity": 7})
    inv = quants.with_context(inventory_mode=True)
    quant = inv.create({"product_id": 3, "location_id": 8, "inventory_quantity": 7})
    inv.action_apply_inventory([quant])
    assert stock_of(odoo_rpc, "DC-1003") == (7.0, 7.0, 7.0)
    again = inv.create({"product_id": 1, "location_id": 8, "inventory_quantity": 55})
    inv.action_apply_inventory([again])
    assert stock_of(odoo_rpc, "DC-1001") == (55.0, 55.0, 55.0)


# ---- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("model", "method", "args", "kwargs", "name", "message"), [
    ("no.such.model", "search", [[]], {}, "odoo.exceptions.UserError", "Object no.such.model doesn't exist"),
    ("product.product", "search_read", [[]], {"fields": ["nope"]}, "builtins.ValueError",
     "Invalid field 'nope' on model 'product.product'"),
    ("product.product", "search", [[("nope", "=", 1)]], {}, "builtins.ValueError",
     "Invalid field product.product.nope in leaf ('nope', '=', 1)"),
    ("sale.order", "_action_confirm", [[1]], {}, "odoo.exceptions.AccessError",
     "Private methods (such as _action_confirm) cannot be called remotely."),
    ("sale.order", "frobnicate", [[1]], {}, "builtins.AttributeError",
     "The method 'frobnicate' does not exist on the model 'sale.order'"),
    ("sale.order", "unlink", [[1]], {}, "builtins.NotImplementedError", "odoosim: sale.order.unlink is not simulated"),
    ("sale.order", "action_confirm", [[424242]], {}, "odoo.exceptions.MissingError",
     "Record does not exist or has been deleted.\n(Record: sale.order(424242,), User: 2)"),
])
def test_errors(odoo_rpc: odoorpc.ODOO, model: str, method: str, args: list[Any], kwargs: dict[str, Any],
                name: str, message: str) -> None:
    with pytest.raises(odoorpc.error.RPCError) as exc:
        odoo_rpc.execute_kw(model, method, args, kwargs)
    assert exc.value.info["code"] == 200
    assert exc.value.info["message"] == "Odoo Server Error"
    assert (error_of(exc)["name"], error_of(exc)["message"]) == (name, message)
    assert error_of(exc)["arguments"] == [message]


def test_read_missing_id_is_empty(odoo_rpc: odoorpc.ODOO) -> None:
    assert odoo_rpc.env["sale.order"].read([999999], ["name"]) == []


def test_domain_operators(odoo_rpc: odoorpc.ODOO) -> None:
    products = odoo_rpc.env["product.product"]
    codes = lambda domain, **kw: [r["default_code"] for r in products.search_read(domain, ["default_code"], **kw)]  # noqa: E731
    assert codes(["|", ("default_code", "=", "DC-1001"), ("default_code", "=", "DC-1002")]) == ["DC-1001", "DC-1002"]
    assert codes(["!", ("default_code", "like", "DC-10")]) == []
    assert codes([("name", "ilike", "PUMP")], order="default_code desc") == ["DC-1016", "DC-1012", "DC-1004"]
    assert codes([("default_code", "=like", "DC-101_")], limit=2, offset=1) == ["DC-1011", "DC-1012"]
    assert codes([("list_price", ">=", 145), ("list_price", "<", 200)]) == ["DC-1001", "DC-1013"]
    assert codes([("barcode", "!=", False)]) == ["DC-1013", "DC-1014"]
    assert codes([("default_code", "not in", [f"DC-10{i:02d}" for i in range(1, 18)])]) == ["DC-1018"]
    assert codes([("uom_id", "=", 1), ("default_code", "=", "DC-1005")]) == ["DC-1005"]
    assert codes([("qty_available", "<=", 5)]) == ["DC-1003", "DC-1014"]
    partners = odoo_rpc.env["res.partner"]
    assert partners.search([("parent_id.email", "=", "customer1@example.com")]) == [8]
    assert partners.search([("parent_id", "=", "Rhône Valley Motors SA")]) == [8]


# ---- persistence ------------------------------------------------------------------------------------

def test_state_survives_restart(odoosim_factory: Callable[..., ThreadedSim], odoosim_catalog: Any,
                                tmp_path: Any) -> None:
    state = tmp_path / "state.json"
    first = odoosim_factory(state_path=state)
    client = connect(first)
    order = new_order(client, [(1, 45)])
    client.env["sale.order"].action_confirm([order])
    partner = client.env["res.partner"].create({"name": "Persisted", "email": "p@example.org"})
    first.close()
    assert json.loads(state.read_text())["format"] == "orderd-odoosim/1"
    second = odoosim_factory(OdooSim.from_catalog(odoosim_catalog), state_path=state)
    client = connect(second)
    assert client.env["sale.order"].read([order], ["name", "state"])[0] == {"id": order, "name": "S00001",
                                                                          "state": "sale"}
    assert client.env["res.partner"].search([("email", "=", "p@example.org")]) == [partner]
    assert stock_of(client, "DC-1001") == (40.0, 0.0, -5.0)
    assert client.env["sale.order"].read([new_order(client, [(2, 1)])], ["name"])[0]["name"] == "S00002"


# ---- faults -----------------------------------------------------------------------------------------

def _post(url: str, data: Any) -> Any:
    req = urllib.request.Request(url, data=json.dumps(data).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.load(resp)


def test_fault_http500(odoosim: ThreadedSim, odoo_rpc: odoorpc.ODOO) -> None:
    assert _post(odoosim.url + "/__sim/faults", {"mode": "http500", "count": 1})["count"] == 1
    with pytest.raises(urllib.error.HTTPError) as exc:
        odoo_rpc.env["res.partner"].search([])
    assert exc.value.code == 500
    assert _get(odoosim.url + "/__sim/faults")["count"] == 0
    assert odoo_rpc.env["res.partner"].search_count([]) > 0


def test_fault_drop_with_method_filter(odoosim: ThreadedSim, odoo_rpc: odoorpc.ODOO) -> None:
    _post(odoosim.url + "/__sim/faults", {"mode": "drop", "methods": ["create"]})
    assert odoo_rpc.env["res.partner"].search_count([]) > 0  # not filtered: served
    for _ in range(2):  # count null: every matching call fails until cleared
        with pytest.raises(ConnectionError):
            odoo_rpc.env["res.partner"].create({"name": "never"})
    _post(odoosim.url + "/__sim/faults", {})
    assert odoo_rpc.env["res.partner"].search([("name", "=", "never")]) == []


def test_fault_timeout(odoosim: ThreadedSim) -> None:
    client = connect(odoosim, timeout=0.5)
    odoosim.set_faults(mode="timeout", count=1, hold=5)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        client.env["res.partner"].search([])
    assert 0.4 < time.monotonic() - started < 3
    assert client.env["res.partner"].search_count([]) > 0


def test_fault_latency_and_call_counts(odoosim: ThreadedSim, odoo_rpc: odoorpc.ODOO) -> None:
    _post(odoosim.url + "/__sim/reset-calls", {})
    odoosim.set_faults(latency=0.2, methods=["sale.order.create"])
    started = time.monotonic()
    odoo_rpc.execute_kw("res.partner", "search", [[]])
    assert time.monotonic() - started < 0.15
    started = time.monotonic()
    odoo_rpc.execute_kw("sale.order", "create", [{"partner_id": 7}])
    assert time.monotonic() - started >= 0.2
    calls = _get(odoosim.url + "/__sim/calls")
    assert calls["calls"] == {"res.partner.search": 1, "sale.order.create": 1}
    assert calls["total"] == 2


def test_bad_fault_settings_are_refused(odoosim: ThreadedSim) -> None:
    with pytest.raises(urllib.error.HTTPError) as exc:
        _post(odoosim.url + "/__sim/faults", {"mode": "explode"})
    assert exc.value.code == 400


async def test_async_fixture_serves_on_the_test_loop(odoosim_async: RunningSim) -> None:
    client = await asyncio.to_thread(connect, odoosim_async)
    # Everything odoorpc does blocks (even env[...] asks the server), so all of it goes to a thread.
    ids = await asyncio.to_thread(
        lambda: client.env["res.partner"].search([("email", "=ilike", "CUSTOMER1@example.com")]))
    assert ids == [7]


def test_command_line_serves_until_sigterm(tmp_path: Path) -> None:
    catalog = Path(__file__).resolve().parents[1] / "fixtures" / "catalog.json"
    state = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "odoosim", "--catalog", str(catalog), "--listen", "127.0.0.1:0",
         "--state", str(state), "--db", "shop", "--password", "s3cret"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:(\d+)", proc.stdout.readline())
        assert found, proc.stderr.read() if proc.stderr else ""
        client = odoorpc.ODOO("127.0.0.1", port=int(found.group(1)), timeout=10)
        assert client.db.list() == ["shop"]
        client.login("shop", "admin", "s3cret")
        client.env["res.partner"].create({"name": "From the CLI"})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "From the CLI" in state.read_text(encoding="utf-8")


def test_the_simulator_is_not_shipped_in_the_orderd_wheel(tmp_path: Path) -> None:
    """The demo and the tests import odoosim from a development install; the built wheel holds orderd only."""
    root = Path(__file__).resolve().parents[1]
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
                            str(tmp_path), str(root)], capture_output=True, text=True, timeout=240)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = tmp_path.glob("orderd-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "orderd/cli.py" in names and "orderd/store/rows.py" in names
    assert not [name for name in names if name.startswith("odoosim/") or "/odoosim/" in name]
