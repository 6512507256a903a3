"""The Odoo client, catalog cache and order operations, over HTTP JSON-RPC against the simulator.

Nothing is mocked: odoorpc talks to odoosim on a loopback port, faults are injected in the
simulator, and results are checked by reading back through the same wire.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from odoosim import OdooSim, start
from orderd.catalog import Catalog
from orderd.config import OdooConfig
from orderd.metrics import REGISTRY, rpc_calls_for_message
from orderd.odoo import orders
from orderd.odoo.catalog import CatalogCache
from orderd.odoo.client import OdooClient, OdooError, OdooUnavailable

CATALOG = Path(__file__).resolve().parent.parent / "fixtures" / "catalog.json"

ClientFactory = Callable[..., Awaitable[OdooClient]]


@pytest.fixture
async def sim() -> AsyncIterator[Any]:
    running = await start(OdooSim.from_catalog(Catalog.from_file(CATALOG)), "127.0.0.1", 0)
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def make_client(sim: Any) -> AsyncIterator[ClientFactory]:
    clients: list[OdooClient] = []

    async def make(**overrides: Any) -> OdooClient:
        settings: dict[str, Any] = {"url": sim.url, "db": "orders", "user": "admin", "password": "admin",
                                    "timeout": 5.0, "concurrency": 2}
        settings.update(overrides)
        client = OdooClient(OdooConfig(**settings))
        await client.start()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


@pytest.fixture
async def client(make_client: ClientFactory) -> OdooClient:
    return await make_client()


async def product_ids(client: OdooClient, *codes: str) -> list[int]:
    catalog = await CatalogCache(client, 0).get()
    found = [catalog.by_code(code) for code in codes]
    assert all(p is not None and p.id for p in found), codes
    return [p.id for p in found if p is not None and p.id is not None]


class RpcCount:
    """Collects the RPC calls made while the `with` block runs (the per-message counter)."""

    def __enter__(self) -> list[str]:
        self.calls: list[str] = []
        self._token = rpc_calls_for_message.set(self.calls)
        return self.calls

    def __exit__(self, *exc: object) -> None:
        rpc_calls_for_message.reset(self._token)


# --- connection, errors -----------------------------------------------------------------------


async def test_ping_returns_server_version(client: OdooClient) -> None:
    assert (await client.ping()).startswith("18.")


async def test_odoo_error_envelope_becomes_odoo_error(client: OdooClient) -> None:
    with pytest.raises(OdooError) as unknown_model:
        await client.call("no.such.model", "search_read", [], fields=["name"])
    assert unknown_model.value.short_name == "UserError"
    assert "no.such.model" in unknown_model.value.message
    with pytest.raises(OdooError) as private:
        await client.call("sale.order", "_action_confirm", [1])
    assert private.value.name == "odoo.exceptions.AccessError"


async def test_wrong_password_is_unavailable_naming_the_login(make_client: ClientFactory) -> None:
    client = await make_client(password="not-the-password", user="admin")
    with pytest.raises(OdooUnavailable, match="'admin'"):
        await client.call("res.partner", "search", [])


async def test_password_changed_while_running_relogs_in_then_names_the_login(
    sim: Any, client: OdooClient
) -> None:
    await client.call("res.partner", "search", [])  # logged in with the old password
    sim.sim.password = "rotated"
    with pytest.raises(OdooUnavailable, match="refused the login 'admin' on database 'orders'"):
        await client.call("res.partner", "search", [])
    sim.sim.password = "admin"  # the operator fixes it: the next call logs in again by itself
    assert isinstance(await client.call("res.partner", "search", []), list)


async def test_unreachable_server_is_unavailable() -> None:
    client = OdooClient(OdooConfig(url="http://127.0.0.1:9", timeout=2.0))
    await client.start()
    try:
        started = time.monotonic()
        with pytest.raises(OdooUnavailable, match="connection failed"):
            await client.ping()
        assert time.monotonic() - started < 2.0
    finally:
        await client.close()


@pytest.mark.parametrize("mode", ["http500", "drop"])
async def test_fault_is_unavailable_then_next_call_works(sim: Any, client: OdooClient, mode: str) -> None:
    await client.call("res.partner", "search", [])  # connected and logged in before the fault
    sim.set_faults(mode=mode, count=1)
    started = time.monotonic()
    with pytest.raises(OdooUnavailable):
        await client.call("res.partner", "search", [])
    assert time.monotonic() - started < 1.0
    assert isinstance(await client.call("res.partner", "search", []), list)


async def test_timeout_is_unavailable_within_the_configured_time(sim: Any, make_client: ClientFactory) -> None:
    client = await make_client(timeout=0.5)
    await client.call("res.partner", "search", [])
    sim.set_faults(mode="timeout", count=1)
    started = time.monotonic()
    with pytest.raises(OdooUnavailable, match=r"timed out|did not answer"):
        await client.call("res.partner", "search", [])
    assert time.monotonic() - started < 1.5
    sim.set_faults(mode=None)
    assert isinstance(await client.call("res.partner", "search", []), list)


async def test_server_failing_at_login_is_unavailable_and_counted(sim: Any, client: OdooClient) -> None:
    # A fresh client: the fault hits the version probe / login, not an object call.
    before = REGISTRY.get_sample_value("orderd_odoo_rpc_errors_total", {"kind": "unavailable"}) or 0.0
    sim.set_faults(mode="http500", count=1)
    with pytest.raises(OdooUnavailable, match="HTTP 500"):
        await client.call("res.partner", "search", [])
    after = REGISTRY.get_sample_value("orderd_odoo_rpc_errors_total", {"kind": "unavailable"}) or 0.0
    assert after == before + 1
    assert isinstance(await client.call("res.partner", "search", []), list)


async def test_call_queued_behind_a_full_pool_keeps_its_deadline(sim: Any, make_client: ClientFactory) -> None:
    # One thread, a hung request ahead: the second call's deadline runs while it waits for the thread.
    client = await make_client(concurrency=1, timeout=0.5)
    await client.call("res.partner", "search", [])
    sim.set_faults(mode="timeout", count=1, hold=5.0)
    started = time.monotonic()
    results = await asyncio.gather(*(client.call("res.partner", "search", []) for _ in range(2)),
                                   return_exceptions=True)
    assert all(isinstance(r, OdooUnavailable) for r in results)
    assert time.monotonic() - started < 1.5


async def test_latency_below_the_timeout_is_fine(sim: Any, make_client: ClientFactory) -> None:
    client = await make_client(timeout=2.0)
    await client.call("res.partner", "search", [])
    sim.set_faults(latency=0.3)
    started = time.monotonic()
    assert isinstance(await client.call("res.partner", "search", []), list)
    assert time.monotonic() - started >= 0.3
    sim.set_faults(latency=0.0)


async def test_loop_keeps_running_while_a_call_waits(sim: Any, client: OdooClient) -> None:
    await client.call("res.partner", "search", [])
    sim.set_faults(latency=0.6)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        await client.call("res.partner", "search", [])
    finally:
        task.cancel()
        sim.set_faults(latency=0.0)
    assert ticks >= 15  # ~30 possible in 0.6 s; a blocked loop would give 0


async def test_pool_bounds_concurrent_calls(sim: Any, make_client: ClientFactory) -> None:
    client = await make_client(concurrency=2)
    await asyncio.gather(*(client.call("res.partner", "search", []) for _ in range(2)))  # both threads in
    sim.set_faults(latency=0.3)
    started = time.monotonic()
    await asyncio.gather(*(client.call("res.partner", "search", []) for _ in range(4)))
    elapsed = time.monotonic() - started
    sim.set_faults(latency=0.0)
    assert 0.55 <= elapsed < 1.2  # two waves of two, not one wave of four


# --- catalog ----------------------------------------------------------------------------------


async def test_catalog_cache_has_odoo_ids_and_throttles_refresh(client: OdooClient) -> None:
    cache = CatalogCache(client, refresh_seconds=0, miss_interval=60)
    with RpcCount() as calls:
        catalog = await cache.get()
        again = await cache.get()
        refreshed = await cache.refresh()  # a miss right after a load: no reload
    # one load: products, the active languages, the names in each of fr, de, es, packagings, customers
    assert calls == ["product.product.search_read", "res.lang.search_read", *["product.product.search_read"] * 3,
                     "product.packaging.search_read", "res.partner.search_read"]
    assert again is catalog and refreshed is catalog
    assert len(catalog.products) == len(Catalog.from_file(CATALOG).products)
    housing = catalog.by_code("dc-1001")
    assert housing is not None and housing.id and housing.name == "Aluminium gearbox housing"
    assert dict(housing.names)["de"] == "Getriebegehäuse aus Aluminium"
    assert dict(catalog.by_code("DC-1002").packaging) == {"box": 25.0}
    assert catalog.customer_by_email("j.weber@hartmann-pumpen.de").parent == "Hartmann Pumpen GmbH"
    assert len({p.id for p in catalog.products}) == len(catalog.products)


async def test_catalog_refresh_after_the_interval_reloads(client: OdooClient) -> None:
    cache = CatalogCache(client, refresh_seconds=0, miss_interval=0)
    first = await cache.get()
    assert await cache.refresh() is not first


async def test_catalog_refreshes_in_the_background(client: OdooClient) -> None:
    cache = CatalogCache(client, refresh_seconds=0.1)
    first = await cache.get()
    await asyncio.sleep(0.35)
    try:
        assert await cache.get() is not first
    finally:
        await cache.close()


async def test_catalog_refresh_sees_a_product_created_in_odoo(client: OdooClient) -> None:
    cache = CatalogCache(client, refresh_seconds=0, miss_interval=0)
    assert (await cache.get()).by_code("DC-9999") is None
    new_id = await client.call("product.product", "create",
                               {"name": "Zinc test part", "default_code": "DC-9999", "barcode": "7612345999999",
                                "list_price": 3.5})
    fresh = await cache.refresh()
    product = fresh.by_code("DC-9999")
    assert product is not None and product.id == new_id and product.list_price == 3.5
    assert product.barcode == "7612345999999"


async def test_failed_background_refresh_keeps_the_catalog(sim: Any, client: OdooClient) -> None:
    cache = CatalogCache(client, refresh_seconds=0.05)
    first = await cache.get()
    sim.set_faults(mode="http500")
    try:
        await asyncio.sleep(0.2)  # a few refreshes fail meanwhile
        assert await cache.get() is first
    finally:
        sim.set_faults(mode=None)
        await cache.close()


# --- partners ---------------------------------------------------------------------------------


async def test_partner_lookup_is_case_insensitive(client: OdooClient) -> None:
    partner = await orders.find_or_create_partner(client, "Customer1@EXAMPLE.com", "Whoever", "en")
    assert not partner.created
    assert partner.name == "Rhône Valley Motors SA"
    assert partner.commercial_id == partner.id
    assert partner.category_names == ["Gold"]


async def test_contact_orders_go_on_the_commercial_partner(client: OdooClient) -> None:
    contact = await orders.find_or_create_partner(client, "customer2@example.com", "Claire Martin", "fr")
    assert contact.name == "Claire Martin" and not contact.created
    assert contact.commercial_id != contact.id
    assert contact.commercial_name == "Rhône Valley Motors SA"
    assert "Gold" in contact.category_names  # the company's tag describes the customer


async def test_new_partner_is_a_customer_with_an_active_language(client: OdooClient) -> None:
    partner = await orders.find_or_create_partner(client, "New.Buyer@Example.net", "New Buyer", "fr")
    assert partner.created and partner.commercial_id == partner.id
    [row] = await client.call("res.partner", "read", [partner.id], fields=["customer_rank", "lang", "email"])
    assert row["customer_rank"] == 1
    assert row["lang"] == partner.lang == "fr_FR"
    again = await orders.find_or_create_partner(client, "new.buyer@example.net", "New Buyer", "fr")
    assert again.id == partner.id and not again.created


async def test_new_partner_with_an_inactive_language_gets_en_us(client: OdooClient) -> None:
    partner = await orders.find_or_create_partner(client, "kim@example.kr", "Kim", "ko_KR")
    [row] = await client.call("res.partner", "read", [partner.id], fields=["lang"])
    assert row["lang"] == partner.lang == "en_US"


async def test_concurrent_messages_from_a_new_sender_create_one_partner(client: OdooClient) -> None:
    found = await asyncio.gather(*(orders.find_or_create_partner(client, "twice@example.org", "Twice", None)
                                   for _ in range(3)))
    assert len({p.id for p in found}) == 1
    assert sum(p.created for p in found) == 1


# --- stock and orders -------------------------------------------------------------------------


async def test_free_qty_for_all_lines_in_one_call(client: OdooClient) -> None:
    ids = await product_ids(client, "DC-1001", "DC-1002", "DC-1003")
    with RpcCount() as calls:
        free = await orders.free_qty(client, ids)
    assert calls == ["product.product.read"]
    assert free == {ids[0]: 40.0, ids[1]: 500.0, ids[2]: 0.0}
    assert await orders.free_qty(client, []) == {}
    # Scoped to a warehouse through the context, as Odoo does.
    [warehouse] = await client.call("stock.warehouse", "search", [], limit=1)
    assert await orders.free_qty(client, ids, warehouse) == free


async def test_create_confirm_reserves_stock_and_confirming_twice_is_fine(client: OdooClient) -> None:
    housing, impeller = await product_ids(client, "DC-1001", "DC-1004")
    partner = await orders.find_or_create_partner(client, "buyer@acmehandtools.com", "", None)
    order = await orders.create_order(
        client, partner_id=partner.commercial_id, lines=[(housing, 4), (impeller, 10)], key="k-create",
        message_id="<create@example.com>", client_order_ref="PO-77", commitment_date=date(2026, 12, 12),
    )
    assert order.state == "draft" and order.name.startswith("S")
    assert order.partner_id == partner.commercial_id
    assert order.client_order_ref == "PO-77" and order.commitment_date == date(2026, 12, 12)
    assert [(line["default_code"], line["qty"], line["price_unit"]) for line in order.lines] == [
        ("DC-1001", 4.0, 145.0), ("DC-1004", 10.0, 32.0)]
    assert order.amount_untaxed == pytest.approx(4 * 145.0 + 10 * 32.0)
    assert order.amount_total >= order.amount_untaxed and order.currency

    await orders.confirm_order(client, order.id)
    await orders.confirm_order(client, order.id)  # a retry after a lost answer is not an error
    assert (await orders.read_order(client, order.id)).state == "sale"
    [row] = await client.call("product.product", "read", [housing],
                              fields=["qty_available", "free_qty", "virtual_available"])
    assert (row["qty_available"], row["free_qty"], row["virtual_available"]) == (40.0, 36.0, 36.0)


async def test_confirming_a_cancelled_order_is_an_error(client: OdooClient) -> None:
    [housing] = await product_ids(client, "DC-1001")
    partner = await orders.find_or_create_partner(client, "buyer@acmehandtools.com", "", None)
    order = await orders.create_order(client, partner_id=partner.id, lines=[(housing, 1)], key="k-cancel",
                                      message_id=None, client_order_ref=None, commitment_date=None)
    await client.call("sale.order", "action_cancel", [order.id], context={"disable_cancel_warning": True})
    with pytest.raises(OdooError):
        await orders.confirm_order(client, order.id)


async def test_idempotency_key_finds_the_order(client: OdooClient) -> None:
    [housing] = await product_ids(client, "DC-1001")
    partner = await orders.find_or_create_partner(client, "buyer@acmehandtools.com", "", None)
    assert await orders.find_order_by_key(client, "a" * 64) is None
    order = await orders.create_order(client, partner_id=partner.id, lines=[(housing, 2)], key="a" * 64,
                                      message_id="<key@example.com>", client_order_ref=None,
                                      commitment_date=None)
    found = await orders.find_order_by_key(client, "a" * 64)
    assert found is not None and found.id == order.id and found.name == order.name
    assert found.origin == "orderd:" + "a" * 64 + " <key@example.com>"
    assert await orders.find_order_by_key(client, "b" * 64) is None
    by_name = await orders.find_order_by_name(client, order.name)
    assert by_name is not None and by_name.id == order.id


async def test_post_email_leaves_a_note_with_the_eml_attached(client: OdooClient) -> None:
    [housing] = await product_ids(client, "DC-1001")
    partner = await orders.find_or_create_partner(client, "buyer@acmehandtools.com", "", None)
    order = await orders.create_order(client, partner_id=partner.id, lines=[(housing, 1)], key="k-post",
                                      message_id=None, client_order_ref=None, commitment_date=None)
    raw = "From: buyer@acmehandtools.com\r\nSubject: Order\r\n\r\n2 x DC-1001 – merci, Grüße\r\n".encode()
    pdf = b"%PDF-1.4\n\x00\xff binary"
    message_id = await orders.post_email(client, order.id, body_text="2 x DC-1001 <b>", subject="Order 7",
                                         raw_eml=raw, attachments=[("po.pdf", pdf, "application/pdf")])
    assert isinstance(message_id, int)
    [message] = await client.call("mail.message", "read", [message_id],
                                  fields=["body", "model", "res_id", "attachment_ids", "subtype_id"])
    assert (message["model"], message["res_id"]) == ("sale.order", order.id)
    assert "&lt;b&gt;" in message["body"]  # plain text is escaped, never interpreted as HTML
    assert message["subtype_id"] and "Note" in message["subtype_id"][1]
    attached = await client.call("ir.attachment", "read", message["attachment_ids"],
                                 fields=["name", "datas", "mimetype"])
    files = {row["name"]: base64.b64decode(row["datas"]) for row in attached}
    assert files == {"Order_7.eml": raw, "po.pdf": pdf}


async def test_schedule_review_creates_an_activity(client: OdooClient) -> None:
    [housing] = await product_ids(client, "DC-1001")
    partner = await orders.find_or_create_partner(client, "buyer@acmehandtools.com", "", None)
    order = await orders.create_order(client, partner_id=partner.id, lines=[(housing, 1)], key="k-act",
                                      message_id=None, client_order_ref=None, commitment_date=None)
    with RpcCount() as calls:
        activity_id = await orders.schedule_review(client, order.id, "Review order", "Shortage on DC-1001")
        await orders.schedule_review(client, order.id, "Again", "ir.model id is cached")
    assert calls.count("ir.model.search") == 1
    [row] = await client.call("mail.activity", "read", [activity_id],
                              fields=["res_id", "res_model_id", "summary", "user_id"])
    assert row["res_id"] == order.id and row["summary"] == "Review order"
    assert row["user_id"] and row["user_id"][0] == order.user_id


async def test_clean_order_costs_nine_rpc_calls(client: OdooClient) -> None:
    """Known customer (a company), two lines in stock, confirmed, email posted: the design's
    'handful of calls'. The catalog is cached before the message arrives."""
    housing, impeller = await product_ids(client, "DC-1001", "DC-1004")
    with RpcCount() as calls:
        assert await orders.find_order_by_key(client, "c" * 64) is None
        partner = await orders.find_or_create_partner(client, "buyer@acmehandtools.com", "Buyer", "en")
        free = await orders.free_qty(client, [housing, impeller])
        assert free[housing] >= 4 and free[impeller] >= 10
        order = await orders.create_order(
            client, partner_id=partner.commercial_id, lines=[(housing, 4), (impeller, 10)], key="c" * 64,
            message_id="<clean@example.com>", client_order_ref="PO-1", commitment_date=None)
        await orders.confirm_order(client, order.id)  # timed apart from the create (its own stage)
        await orders.post_email(client, order.id, body_text="4 x DC-1001", subject="PO-1",
                                raw_eml=b"Subject: PO-1\r\n\r\n4 x DC-1001\r\n", attachments=[])
    assert order.state == "draft" and (await orders.read_order(client, order.id)).state == "sale"
    assert calls == [
        "sale.order.search_read",  # idempotency key
        "res.partner.search_read",  # customer
        "product.product.read",  # stock, all lines
        "sale.order.create",  # order with all its lines
        "sale.order.read",  # as Odoo priced it
        "sale.order.line.search_read",
        "sale.order.action_confirm",
        "ir.attachment.create",  # .eml and attachments, one call
        "sale.order.message_post",
    ]
