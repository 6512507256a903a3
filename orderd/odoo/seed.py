"""`orderd seed`: load a catalog's tags, customers, products and stock into an Odoo, idempotently.

Running it twice changes nothing: each record is looked up by its natural key (tag name, partner email,
product internal reference) before it is created, and stock is only adjusted where on-hand differs.
"""

from __future__ import annotations

from typing import Any

from orderd.catalog import Catalog
from orderd.config import OdooConfig
from orderd.odoo.client import OdooClient

INVENTORY_MODE = {"inventory_mode": True}


async def seed(cfg: OdooConfig, catalog: Catalog) -> dict[str, int]:
    client = OdooClient(cfg)
    await client.start()
    try:
        return await seed_with(client, catalog)
    finally:
        await client.close()


async def seed_with(client: OdooClient, catalog: Catalog) -> dict[str, int]:
    counts = {"tags_created": 0, "partners_created": 0, "products_created": 0, "stock_adjusted": 0,
              "names_translated": 0, "packagings_created": 0}
    tag_ids: dict[str, int] = {}
    for name in sorted({c.category for c in catalog.customers if c.category}):
        found = await client.call("res.partner.category", "search", [["name", "=", name]], limit=1)
        if found:
            tag_ids[name] = found[0]
        else:
            tag_ids[name] = await client.call("res.partner.category", "create", {"name": name})
            counts["tags_created"] += 1

    partner_ids: dict[str, int] = {}
    # Companies first, so contacts can name their company as parent.
    for customer in sorted(catalog.customers, key=lambda c: not c.is_company):
        if not customer.email:
            continue
        found = await client.call("res.partner", "search", [["email", "=ilike", customer.email]], limit=1)
        if found:
            partner_ids[customer.name] = found[0]
            continue
        values: dict[str, Any] = {"name": customer.name, "email": customer.email, "is_company": customer.is_company,
                                  "customer_rank": 1, "lang": customer.lang}
        if customer.parent and customer.parent in partner_ids:
            values["parent_id"] = partner_ids[customer.parent]
        if customer.category:
            values["category_id"] = [(6, 0, [tag_ids[customer.category]])]
        partner_ids[customer.name] = await client.call("res.partner", "create", values)
        counts["partners_created"] += 1

    codes = [p.default_code for p in catalog.products]
    existing = await client.call("product.product", "search_read", [["default_code", "in", codes]],
                                 fields=["default_code", "qty_available"])
    by_code = {row["default_code"]: row for row in existing}
    location_id = await _stock_location(client)
    for product in catalog.products:
        row = by_code.get(product.default_code)
        if row is None:
            values = {"name": product.name, "default_code": product.default_code, "list_price": product.list_price,
                      "type": "consu", "is_storable": True}
            if product.barcode:
                values["barcode"] = product.barcode
            product_id = await client.call("product.product", "create", values)
            on_hand = 0.0
            counts["products_created"] += 1
        else:
            product_id, on_hand = row["id"], float(row["qty_available"])
        await _translations(client, product_id, product.names, counts)
        await _packagings(client, product_id, product.packaging, counts)
        wanted = catalog.qty_on_hand.get(product.default_code, 0.0)
        if on_hand != wanted:
            # The documented inventory API: a quant with the counted quantity, then apply it.
            quant_id = await client.call("stock.quant", "create", {"product_id": product_id,
                                                                   "location_id": location_id,
                                                                   "inventory_quantity": wanted},
                                         context=INVENTORY_MODE)
            await client.call("stock.quant", "action_apply_inventory", [quant_id], context=INVENTORY_MODE)
            counts["stock_adjusted"] += 1
    return counts


async def _translations(client: OdooClient, product_id: int, names: tuple[tuple[str, str], ...],
                        counts: dict[str, int]) -> None:
    """The catalog's names in other languages, written as Odoo translations (the name in that language's
    context); a language not active in Odoo is activated first."""
    for iso, name in names:
        langs = await client.call("res.lang", "search_read", [["iso_code", "=", iso]], fields=["code", "active"],
                                  context={"active_test": False})
        if not langs:
            continue
        lang = langs[0]
        if not lang["active"]:
            await client.call("res.lang", "write", [lang["id"]], {"active": True})
        current = await client.call("product.product", "read", [product_id], ["name"], context={"lang": lang["code"]})
        if current and current[0]["name"] != name:
            await client.call("product.product", "write", [product_id], {"name": name}, context={"lang": lang["code"]})
            counts["names_translated"] += 1


async def _packagings(client: OdooClient, product_id: int, packaging: tuple[tuple[str, float], ...],
                      counts: dict[str, int]) -> None:
    if not packaging:
        return
    existing = await client.call("product.packaging", "search_read", [["product_id", "=", product_id]],
                                 fields=["name"])
    known = {str(r["name"]).strip().lower() for r in existing}
    for name, qty in packaging:
        if name not in known:
            await client.call("product.packaging", "create", {"name": name, "product_id": product_id, "qty": qty})
            counts["packagings_created"] += 1


async def _stock_location(client: OdooClient) -> int:
    warehouses = await client.call("stock.warehouse", "search_read", [], fields=["lot_stock_id"], limit=1)
    if not warehouses:
        raise RuntimeError("this Odoo has no warehouse: install the Inventory app (stock) first")
    return int(warehouses[0]["lot_stock_id"][0])
