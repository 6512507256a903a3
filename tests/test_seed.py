"""`orderd seed` into an empty Odoo (the simulator with no records): everything created once, then nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from conftest import CATALOG, odoo_connect, odoo_search_read

import odoosim
from orderd.catalog import Catalog


async def test_seed_twice_creates_once_and_sets_stock(catalog: Catalog) -> None:
    empty = await odoosim.start(odoosim.OdooSim.from_catalog(Catalog()), "127.0.0.1", 0)
    try:
        env = {"ORDERD_ODOO_URL": empty.url}

        def run() -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "orderd.cli", "seed", "--catalog", str(CATALOG)],
                                  capture_output=True, text=True, timeout=120,
                                  env={**os.environ, **env})

        first = await asyncio.to_thread(run)
        assert first.returncode == 0, first.stderr
        assert f"products_created={len(catalog.products)}" in first.stdout
        assert f"partners_created={len(catalog.customers)}" in first.stdout
        assert f"names_translated={sum(len(p.names) for p in catalog.products)}" in first.stdout
        assert f"packagings_created={sum(len(p.packaging) for p in catalog.products)}" in first.stdout
        second = await asyncio.to_thread(run)
        assert second.returncode == 0, second.stderr
        assert second.stdout.split() == ["tags_created=0", "partners_created=0", "products_created=0",
                                         "stock_adjusted=0", "names_translated=0", "packagings_created=0"]

        products = await odoo_search_read(empty.url, "product.product", [], ["default_code", "qty_available",
                                                                            "is_storable"])
        assert len(products) == len(catalog.products)
        assert {p["default_code"]: p["qty_available"] for p in products} == catalog.qty_on_hand
        assert all(p["is_storable"] for p in products)
        french = await asyncio.to_thread(lambda: odoo_connect(empty.url).execute_kw(
            "product.product", "search_read", [[["default_code", "=", "DC-1016"]]],
            {"fields": ["name"], "context": {"lang": "fr_FR"}}))
        assert french[0]["name"] == "Corps de pompe en aluminium"
        boxes = await odoo_search_read(empty.url, "product.packaging", [["name", "=", "box"]], ["product_id", "qty"])
        assert {(b["product_id"][1], b["qty"]) for b in boxes} >= {("[DC-1002] Zinc door handle", 25.0)}
        claire = await odoo_search_read(empty.url, "res.partner", [["email", "=ilike", "customer2@example.com"]],
                                        ["commercial_partner_id", "customer_rank"])
        assert claire[0]["commercial_partner_id"][1] == "Rhône Valley Motors SA"
        tags = await odoo_search_read(empty.url, "res.partner.category", [["name", "=", "Gold"]], ["name"])
        gold = await odoo_search_read(empty.url, "res.partner", [["category_id", "in", [tags[0]["id"]]]], ["name"])
        assert {p["name"] for p in gold} == {c.name for c in catalog.customers if c.category == "Gold"}
    finally:
        await empty.close()
