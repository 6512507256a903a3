"""The simulated Odoo database: records, RPC dispatch (services common/object/db), seeding, state.

No I/O happens here; :mod:`odoosim.server` puts it behind HTTP. Every ``object`` call runs
as a transaction: the first change to each record is journaled and undone if the call raises,
like Odoo rolling back its cursor (sequences still advance, as PostgreSQL sequences do).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

from odoosim.errors import (
    AccessDenied,
    AccessError,
    NamedError,
    NotSimulated,
    OdooAttributeError,
    UserError,
)
from odoosim.models import ACTIVITY_TYPES, IR_MODEL_IDS, MODELS, STOCK_LOCATION_ID, SUBTYPES
from odoosim.orm import ODOO_METHODS_NOT_SIMULATED, Model, now_str
from orderd.catalog import Catalog

VERSION_INFO: dict[str, Any] = {
    "server_version": "18.0+e-20241005",
    "server_version_info": [18, 0, 0, "final", 0, ""],
    "server_serie": "18.0",
    "protocol_version": 1,
}
ADMIN_UID = 2
_ABSENT = object()
# Database-manager methods that need the master password: refused as with a wrong one.
DB_MASTER_METHODS = frozenset({
    "create_database", "duplicate_database", "drop", "dump", "restore", "rename",
    "change_admin_password", "migrate_databases",
})


class Table(dict[int, dict[str, Any]]):
    """One model's records; every assignment is journaled for rollback and bumps the generation."""

    def __init__(self, sim: OdooSim, name: str, rows: dict[int, dict[str, Any]] | None = None) -> None:
        super().__init__(rows or {})
        self._sim = sim
        self._name = name

    def __setitem__(self, key: int, value: dict[str, Any]) -> None:
        self._sim._journal(self._name, key, self.get(key, _ABSENT))
        super().__setitem__(key, value)

    def __delitem__(self, key: int) -> None:
        self._sim._journal(self._name, key, self.get(key, _ABSENT))
        super().__delitem__(key)


class OdooSim:
    registry: ClassVar[dict[str, type[Model]]] = {m._name: m for m in MODELS}

    def __init__(self, *, db: str = "orders", user: str = "admin", password: str = "admin",
                 company_name: str = "My Company") -> None:
        self.db = db
        self.user = user
        self.password = password
        self.uid = ADMIN_UID
        self.records: dict[str, Table] = {name: Table(self, name) for name in self.registry}
        self._next_ids: dict[str, int] = {}
        self.sequences: dict[str, int] = {}
        self.generation = 0  # bumped on every change: drives the stock cache and state saving
        self.calls: Counter[str] = Counter()
        self._txn: dict[tuple[str, int], Any] | None = None
        self._stock_gen = -1
        self._stock: dict[int, dict[str, float]] = {}
        self._line_res: dict[int, float] = {}
        self._seed_base(company_name)

    # ---- construction ----------------------------------------------------------------------------
    @classmethod
    def from_catalog(cls, catalog: Catalog, *, db: str = "orders", user: str = "admin",
                     password: str = "admin") -> OdooSim:
        sim = cls(db=db, user=user, password=password, company_name=catalog.company_name or "My Company")
        categories = sim.model("res.partner.category")
        tag_ids: dict[str, int] = {}
        for customer in catalog.customers:
            if customer.category and customer.category not in tag_ids:
                tag_ids[customer.category] = categories.create_record({"name": customer.category})
        partners = sim.model("res.partner")
        by_name: dict[str, int] = {}
        # Ids follow the file's order (the recorded server has the first company as 7 and its
        # contact as 8); parents are linked in a second pass so order in the file does not matter.
        for customer in catalog.customers:
            by_name[customer.name] = partners.create_record({
                "name": customer.name, "email": customer.email or False,
                "is_company": customer.is_company, "lang": customer.lang, "customer_rank": 1,
                "category_id": [tag_ids[customer.category]] if customer.category else [],
            })
        for customer in catalog.customers:
            if customer.parent:
                if customer.parent not in by_name:
                    raise ValueError(f"catalog: customer {customer.name!r} names unknown parent {customer.parent!r}")
                partners.browse([by_name[customer.name]]).write_records({"parent_id": by_name[customer.parent]})
        products = sim.model("product.product")
        uoms = {r["name"]: i for i, r in sim.records["uom.uom"].items()}
        for product in catalog.products:
            if product.uom not in uoms:
                uoms[product.uom] = sim._insert("uom.uom", None, {"name": product.uom, "factor": 1.0, "active": True})
            pid = products.create_record({
                "name": product.name, "default_code": product.default_code,
                "barcode": product.barcode or False, "list_price": product.list_price,
                "uom_id": uoms[product.uom], "uom_po_id": uoms[product.uom],
            })
            for iso, translated in product.names:
                lang = next((r["code"] for r in sim.records["res.lang"].values() if r["iso_code"] == iso), None)
                if lang:
                    sim.model("product.product", [pid], {"lang": lang}).write_records({"name": translated})
            for name, qty in product.packaging:
                sim.model("product.packaging").create_record({"name": name, "product_id": pid, "qty": qty})
            qty = catalog.qty_on_hand.get(product.default_code, 0.0)
            if qty:
                sim._insert("stock.quant", None, {
                    "product_id": pid, "location_id": STOCK_LOCATION_ID, "quantity": float(qty),
                    "inventory_quantity": 0.0, "inventory_quantity_set": False,
                })
        return sim

    def _insert(self, model: str, rid: int | None, values: dict[str, Any]) -> int:
        """Reference data and seeds, written directly (no business rules, no write access check)."""
        if rid is None:
            rid = self.next_id(model)
        else:
            self._next_ids[model] = max(self._next_ids.get(model, 1), rid + 1)
        stamp = now_str()
        self.records[model][rid] = {"create_date": stamp, "write_date": stamp, "create_uid": 1,
                                    "write_uid": 1, **values}
        return rid

    def _seed_base(self, company_name: str) -> None:
        for rid, (code, name, active) in enumerate([
            ("en_US", "English (US)", True), ("fr_FR", "French / Français", True),
            ("de_DE", "German / Deutsch", True), ("es_ES", "Spanish / Español", True),
            ("it_IT", "Italian / Italiano", False), ("nl_NL", "Dutch / Nederlands", False),
        ], start=1):
            self._insert("res.lang", rid, {"code": code, "name": name, "iso_code": code.split("_")[0],
                                           "url_code": code.split("_")[0], "active": active})
        self._insert("res.currency", 1, {"name": "USD", "symbol": "$", "active": True})
        self._insert("res.company", 1, {"name": company_name, "partner_id": 1, "currency_id": 1,
                                        "email": False})
        base_partner = {"customer_rank": 0, "supplier_rank": 0, "type": "contact", "lang": "en_US",
                        "category_id": [], "parent_id": False, "company_id": 1, "active": True}
        self._insert("res.partner", 1, {**base_partner, "name": company_name, "is_company": True,
                                        "email": False})
        self._insert("res.partner", 2, {**base_partner, "name": "OdooBot", "is_company": False,
                                        "email": "odoobot@example.com", "active": False})
        self._insert("res.partner", 3, {**base_partner, "name": "Administrator", "is_company": False,
                                        "email": "admin@yourcompany.example.com"})
        self._next_ids["res.partner"] = 7  # Odoo's own base partners hold 4-6
        self._insert("res.users", 1, {"name": "OdooBot", "login": "__system__", "partner_id": 2,
                                      "company_id": 1, "lang": "en_US", "tz": False, "active": False,
                                      "email": "odoobot@example.com"})
        self._insert("res.users", 2, {"name": "Administrator", "login": self.user, "partner_id": 3,
                                      "company_id": 1, "lang": "en_US", "tz": False, "active": True,
                                      "email": "admin@yourcompany.example.com"})
        for rid, name in enumerate(["Units", "Dozens", "kg", "g", "m", "L"], start=1):
            self._insert("uom.uom", rid, {"name": name, "factor": 1.0, "active": True})
        self._insert("stock.location", 7, {"name": "WH", "complete_name": "WH", "usage": "view",
                                           "location_id": False, "warehouse_id": 1, "active": True})
        self._insert("stock.location", 8, {"name": "Stock", "complete_name": "WH/Stock",
                                           "usage": "internal", "location_id": 7, "warehouse_id": 1,
                                           "active": True})
        self._insert("stock.location", 5, {"name": "Customers", "complete_name": "Partners/Customers",
                                           "usage": "customer", "location_id": False,
                                           "warehouse_id": False, "active": True})
        self._insert("stock.warehouse", 1, {"name": company_name, "code": "WH", "lot_stock_id": 8,
                                            "company_id": 1, "active": True})
        for xmlid, rid in SUBTYPES.items():
            name, internal = ("Note", True) if xmlid == "mail.mt_note" else ("Discussions", False)
            self._insert("mail.message.subtype", rid, {"name": name, "internal": internal})
        for xmlid, rid in ACTIVITY_TYPES.items():
            name = {"email": "Email", "call": "Call", "meeting": "Meeting", "todo": "To-Do",
                    "upload_document": "Upload Document"}[xmlid.split("data_")[1]]
            self._insert("mail.activity.type", rid, {"name": name, "sequence": rid, "active": True})
        for model, rid in IR_MODEL_IDS.items():
            self._insert("ir.model", rid, {"model": model, "name": self.registry[model]._description})
        self.generation = 0

    # ---- storage primitives -----------------------------------------------------------------------
    def model(self, name: str, ids: Any = (), context: dict[str, Any] | None = None) -> Model:
        return self.registry[name](self, ids, context)

    def next_id(self, model: str) -> int:
        rid = self._next_ids.get(model, 1)
        self._next_ids[model] = rid + 1
        return rid

    def next_sequence(self, name: str) -> int:
        self.sequences[name] = self.sequences.get(name, 0) + 1
        return self.sequences[name]

    def touch(self) -> None:
        self.generation += 1

    def _journal(self, model: str, rid: int, old: Any) -> None:
        self.generation += 1
        if self._txn is not None:
            self._txn.setdefault((model, rid), old)

    def _rollback(self, journal: dict[tuple[str, int], Any]) -> None:
        self._txn = None
        for (model, rid), old in journal.items():
            table = self.records[model]
            if old is _ABSENT:
                dict.pop(table, rid, None)
            else:
                dict.__setitem__(table, rid, old)
        self.generation += 1

    # ---- derived stock ---------------------------------------------------------------------------
    def _compute_stock(self) -> None:
        stock: dict[int, dict[str, float]] = {}
        products = self.records["product.product"]
        for quant in self.records["stock.quant"].values():
            if quant.get("location_id") == STOCK_LOCATION_ID:
                fig = stock.setdefault(quant["product_id"], {"on_hand": 0.0, "reserved": 0.0, "outgoing": 0.0})
                fig["on_hand"] += float(quant.get("quantity") or 0.0)
        orders = self.records["sale.order"]
        demand = [
            (orders[line["order_id"]].get("_confirm_seq") or 0, lid, line)
            for lid, line in self.records["sale.order.line"].items()
            if orders.get(line["order_id"], {}).get("state") == "sale" and line.get("product_id")
            and products.get(line["product_id"], {}).get("is_storable")
        ]
        line_res: dict[int, float] = {}
        # Reservation is first come, first served in confirmation order, like moves assigned at
        # confirmation; demand beyond what is on hand stays unreserved (free_qty 0, forecast < 0).
        for _seq, lid, line in sorted(demand, key=lambda d: (d[0], d[1])):
            fig = stock.setdefault(line["product_id"], {"on_hand": 0.0, "reserved": 0.0, "outgoing": 0.0})
            qty = float(line.get("product_uom_qty") or 0.0)
            reserve = max(0.0, min(qty, fig["on_hand"] - fig["reserved"]))
            fig["reserved"] += reserve
            fig["outgoing"] += qty
            line_res[lid] = reserve
        self._stock, self._line_res, self._stock_gen = stock, line_res, self.generation

    def stock(self) -> dict[int, dict[str, float]]:
        if self._stock_gen != self.generation:
            self._compute_stock()
        return self._stock

    def line_reservations(self) -> dict[int, float]:
        if self._stock_gen != self.generation:
            self._compute_stock()
        return self._line_res

    # ---- RPC dispatch ------------------------------------------------------------------------------
    def version(self) -> dict[str, Any]:
        return dict(VERSION_INFO)

    def dispatch(self, service: str, method: str, args: list[Any]) -> Any:
        """One JSON-RPC call to ``/jsonrpc``; raises what Odoo would raise."""
        if not isinstance(args, list):
            args = list(args or [])
        if service == "common":
            return self._common(method, args)
        if service == "object":
            return self._object(method, args)
        if service == "db":
            return self._db(method, args)
        raise NamedError("builtins.Exception", f"No such service {service!r}")

    def _check_db(self, db: Any) -> None:
        if db != self.db:
            raise NamedError("psycopg2.OperationalError",
                             f'connection to server failed: FATAL:  database "{db}" does not exist\n')

    def _common(self, method: str, args: list[Any]) -> Any:
        self.calls[f"common.{method}"] += 1
        if method == "version":
            return self.version()
        if method in ("login", "authenticate"):
            db, login, password = args[0], args[1], args[2]
            self._check_db(db)
            return self.uid if (login == self.user and password == self.password) else False
        if method == "about":
            return "See http://openerp.com"
        raise NamedError("builtins.KeyError", repr(f"exp_{method}"))

    def _db(self, method: str, args: list[Any]) -> Any:
        self.calls[f"db.{method}"] += 1
        if method == "list":
            return [self.db]
        if method == "db_exist":
            return bool(args) and args[0] == self.db
        if method == "server_version":
            return VERSION_INFO["server_version"]
        if method in DB_MASTER_METHODS:
            raise AccessDenied()
        raise NotSimulated(f"odoosim: db.{method} is not simulated")

    def _object(self, method: str, args: list[Any]) -> Any:
        if method not in ("execute", "execute_kw"):
            raise NamedError("builtins.NameError", f"Method not available {method}")
        db, uid, password, model, name = args[:5]
        self.calls[f"{model}.{name}"] += 1
        self._check_db(db)
        if uid != self.uid or password != self.password:
            raise AccessDenied()
        if method == "execute":
            call_args, kwargs = list(args[5:]), {}
        else:
            call_args = list(args[5]) if len(args) > 5 and args[5] else []
            kwargs = dict(args[6]) if len(args) > 6 and args[6] else {}
        # Odoo's order: the method name is checked before the model (service/model.py).
        if name.startswith("_"):
            raise AccessError(f"Private methods (such as {name}) cannot be called remotely.")
        cls = self.registry.get(model)
        if cls is None:
            raise UserError(f"Object {model} doesn't exist")
        fn = getattr(cls, name, None)
        kind = getattr(fn, "_rpc", None)
        if kind is None:
            if name in ODOO_METHODS_NOT_SIMULATED:
                raise NotSimulated(f"odoosim: {model}.{name} is not simulated")
            raise OdooAttributeError(f"The method '{name}' does not exist on the model '{model}'")
        context = kwargs.pop("context", None) or {}
        journal: dict[tuple[str, int], Any] = {}
        self._txn = journal
        try:
            if kind == "model":
                recs = cls(self, [], context)
            else:
                ids = call_args[0]  # IndexError without ids, as in Odoo's _call_kw_multi
                call_args = call_args[1:]
                ids = [] if ids in (None, False) else [ids] if isinstance(ids, int) else list(ids)
                recs = cls(self, ids, context)
            result = getattr(recs, name)(*call_args, **kwargs)
        except BaseException:
            self._rollback(journal)
            raise
        self._txn = None
        return result

    # ---- persistence -------------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        return {
            "format": "orderd-odoosim/1",
            "db": self.db,
            "records": {m: {str(k): v for k, v in t.items()} for m, t in self.records.items()},
            "next_ids": dict(self._next_ids),
            "sequences": dict(self.sequences),
        }

    def load(self, data: dict[str, Any]) -> None:
        if data.get("format") != "orderd-odoosim/1":
            raise ValueError("not an odoosim state file (format orderd-odoosim/1 expected)")
        for model, rows in data["records"].items():
            if model in self.registry:
                self.records[model] = Table(self, model, {int(k): v for k, v in rows.items()})
        self._next_ids = {k: int(v) for k, v in data.get("next_ids", {}).items()}
        self.sequences = {k: int(v) for k, v in data.get("sequences", {}).items()}
        self.generation += 1

    def save_json(self, path: str | Path) -> None:
        """Atomically replace ``path``: a crash leaves the old state or the new one, never half."""
        path = Path(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(self.dump(), fh, ensure_ascii=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_json(self, path: str | Path) -> None:
        self.load(json.loads(Path(path).read_text(encoding="utf-8")))
