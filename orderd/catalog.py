"""The product and customer catalog: loaded from a catalog file, or cached from Odoo."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orderd.records import Customer, Product


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file and the bad entry."""


@dataclass
class Catalog:
    company_name: str = ""
    email_domain: str = ""
    products: list[Product] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    qty_on_hand: dict[str, float] = field(default_factory=dict)  # default_code -> on hand (files only)

    def __post_init__(self) -> None:
        self._by_code = {p.default_code.upper(): p for p in self.products}
        self._by_email = {c.email.lower(): c for c in self.customers if c.email}

    def by_code(self, code: str) -> Product | None:
        return self._by_code.get(code.upper())

    def customer_by_email(self, email: str) -> Customer | None:
        return self._by_email.get(email.lower())

    @classmethod
    def from_file(cls, path: str | Path) -> Catalog:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CatalogError(f"{path}: no such catalog file") from exc
        except json.JSONDecodeError as exc:
            raise CatalogError(f"{path}: not valid JSON ({exc})") from exc
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: dict, source: str = "catalog") -> Catalog:
        company = data.get("company") or {}
        products: list[Product] = []
        qty: dict[str, float] = {}
        for i, raw in enumerate(data.get("products") or []):
            try:
                code = str(raw["default_code"])
                products.append(
                    Product(
                        default_code=code,
                        name=str(raw["name"]),
                        barcode=raw.get("barcode") or None,
                        list_price=float(raw.get("list_price") or 0.0),
                        uom=str(raw.get("uom") or "Units"),
                        names=tuple(sorted((str(k), str(v)) for k, v in (raw.get("names") or {}).items() if v)),
                        packaging=tuple((str(pk["name"]).strip().lower(), float(pk["qty"]))
                                        for pk in raw.get("packaging") or [] if float(pk["qty"]) > 0),
                    )
                )
                qty[code] = float(raw.get("qty_on_hand") or 0.0)
            except (KeyError, TypeError, ValueError) as exc:
                raise CatalogError(f"{source}: products[{i}] is invalid ({exc!r})") from exc
        customers: list[Customer] = []
        for i, raw in enumerate(data.get("customers") or []):
            try:
                customers.append(
                    Customer(
                        name=str(raw["name"]),
                        email=raw.get("email") or None,
                        is_company=bool(raw.get("is_company", False)),
                        parent=raw.get("parent") or None,
                        category=raw.get("category") or None,
                        lang=str(raw.get("lang") or "en_US"),
                    )
                )
            except (KeyError, TypeError) as exc:
                raise CatalogError(f"{source}: customers[{i}] is invalid ({exc!r})") from exc
        return cls(
            company_name=str(company.get("name", "")),
            email_domain=str(company.get("email_domain", "")),
            products=products,
            customers=customers,
            qty_on_hand=qty,
        )
