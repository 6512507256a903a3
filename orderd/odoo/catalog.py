"""The product catalog cached from Odoo, so resolving a line never costs an RPC call.

Loaded once on first use, then refreshed in the background every `refresh_seconds`; a product code
the cache does not know triggers `refresh()`, which reloads at most once per `miss_interval` seconds
(a stream of emails naming a product that does not exist must not turn into a stream of reloads).
A failed background refresh keeps the previous catalog: stale codes are better than no codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import structlog

from orderd.catalog import Catalog
from orderd.odoo.client import OdooClient, OdooError, OdooUnavailable
from orderd.records import Customer, Product

log = structlog.get_logger("orderd.odoo.catalog")

PRODUCT_FIELDS = ["default_code", "name", "barcode", "list_price", "uom_id"]
# Products orderd can match: those with an internal reference (the code customers write and the
# parse output's `default_code`). Archived products are left out by Odoo's search itself.
PRODUCT_DOMAIN: list[Any] = [["default_code", "!=", False]]
CUSTOMER_DOMAIN: list[Any] = [["customer_rank", ">", 0]]
CUSTOMER_FIELDS = ["name", "email", "is_company", "parent_id", "lang", "commercial_partner_id"]
PAGE_SIZE = 2000  # one call for a usual catalog; large ones are read in pages, not one huge answer


class CatalogCache:
    def __init__(self, client: OdooClient, refresh_seconds: float, *, miss_interval: float = 30.0) -> None:
        self.client = client
        self.refresh_seconds = refresh_seconds
        self.miss_interval = miss_interval
        self._catalog: Catalog | None = None
        self._loaded_at = 0.0  # monotonic time of the last successful load
        self._lock = asyncio.Lock()  # one load at a time; concurrent callers share its result
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def get(self) -> Catalog:
        """The cached catalog; the first call loads it (and raises OdooUnavailable if it cannot)."""
        if self._catalog is None:
            async with self._lock:
                if self._catalog is None:
                    await self._load()
        self._start_timer()
        assert self._catalog is not None
        return self._catalog

    async def refresh(self) -> Catalog:
        """Reload after a miss, unless the catalog was loaded less than `miss_interval` seconds ago."""
        async with self._lock:
            if self._catalog is None or time.monotonic() - self._loaded_at >= self.miss_interval:
                await self._load()
        assert self._catalog is not None
        return self._catalog

    async def close(self) -> None:
        """Stop the background refresh."""
        task, self._task = self._task, None
        self._stopping = True
        while task is not None and not task.done():
            # Python 3.11's wait_for can swallow a cancellation that lands as an RPC completes: cancel
            # again until the task is done (the loop also stops on its own at the next turn).
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task}, timeout=0.5)

    # --- internals ---------------------------------------------------------------------------

    def _start_timer(self) -> None:
        if self._task is None and self.refresh_seconds > 0:
            self._task = asyncio.get_running_loop().create_task(self._refresh_forever(),
                                                                name="catalog-refresh")

    async def _refresh_forever(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.refresh_seconds)
            try:
                async with self._lock:
                    await self._load()
            except (OdooUnavailable, OdooError) as exc:
                log.warning("catalog_refresh_failed", error=str(exc), keeping=len(self._catalog.products)
                            if self._catalog else 0)

    async def _load(self) -> None:
        started = time.monotonic()
        rows = await self._read_all("product.product", PRODUCT_DOMAIN, PRODUCT_FIELDS)
        # The name is translatable: read it once per other active language, so a customer's words in
        # French, German or Spanish match the names a salesperson maintains in Odoo.
        languages = await self.client.call("res.lang", "search_read", [["active", "=", True]], fields=["code"])
        names: dict[int, list[tuple[str, str]]] = {}
        for lang in sorted(r["code"] for r in languages if r["code"] != "en_US"):
            for row in await self._read_all("product.product", PRODUCT_DOMAIN, ["name"], context={"lang": lang}):
                names.setdefault(row["id"], []).append((lang.split("_")[0], str(row["name"])))
        packagings: dict[int, list[tuple[str, float]]] = {}
        for row in await self._read_all("product.packaging", [], ["product_id", "name", "qty"]):
            if row["product_id"]:
                packagings.setdefault(row["product_id"][0], []).append((str(row["name"]).strip().lower(),
                                                                         float(row["qty"])))
        partners = await self._read_all("res.partner", CUSTOMER_DOMAIN, CUSTOMER_FIELDS)
        self._catalog = Catalog(products=[_product(row, names, packagings) for row in rows],
                                customers=_customers(partners))
        self._loaded_at = time.monotonic()
        log.info("catalog_loaded", products=len(rows), customers=len(partners), languages=len(languages),
                 seconds=round(self._loaded_at - started, 3))

    async def _read_all(self, model: str, domain: list[Any], fields: list[str], **kwargs: Any
                        ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        while True:
            page = await self.client.call(model, "search_read", domain, fields=fields, offset=len(rows),
                                          limit=PAGE_SIZE, order="id", **kwargs)
            rows.extend(page)
            if len(page) < PAGE_SIZE:
                return rows


def _product(row: dict[str, Any], names: dict[int, list[tuple[str, str]]],
             packagings: dict[int, list[tuple[str, float]]]) -> Product:
    # Odoo sends `false` for empty fields and [id, name] for many2one ones.
    uom = row.get("uom_id")
    name = str(row.get("name") or "")
    return Product(
        default_code=str(row["default_code"]),
        name=name,
        barcode=row.get("barcode") or None,
        list_price=float(row.get("list_price") or 0.0),
        uom=str(uom[1]) if isinstance(uom, list) and len(uom) > 1 else "Units",
        id=int(row["id"]),
        names=tuple(sorted((lang, n) for lang, n in names.get(int(row["id"]), []) if n and n != name)),
        packaging=tuple(packagings.get(int(row["id"]), [])),
    )


def _customers(rows: list[dict[str, Any]]) -> list[Customer]:
    """Customers as the reading stages know them: who writes from where (trust, known customers)."""
    return [Customer(name=str(r["name"]), email=r.get("email") or None, is_company=bool(r.get("is_company")),
                     parent=r["parent_id"][1] if r.get("parent_id") else None, lang=str(r.get("lang") or "en_US"),
                     id=int(r["id"]), commercial_id=(r.get("commercial_partner_id") or [None])[0])
            for r in rows]
