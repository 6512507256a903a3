"""An in-memory Odoo for the intake's flows: the OrderBook they call, and the catalog they read.

It keeps what a salesperson would look at (orders and their state, lines, chatter, activities,
partners) and every call made, so a test asserts what a user would notice. It holds only the rules
the flows rely on: partners matched by email whatever the case, a contact's company as the commercial
partner, names from a sequence, confirmation of a draft only, cancelling a draft or a sent quotation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from orderd.catalog import Catalog
from orderd.odoo.orders import ORIGIN_PREFIX, Partner, PlacedOrder, origin_for


class Crash(Exception):
    """The process died here (a test's way to stop a flow half-way)."""


@dataclass
class MemoryPartner:
    id: int
    name: str
    email: str
    lang: str
    commercial_id: int
    categories: list[str] = field(default_factory=list)


@dataclass
class Note:
    order_id: int
    subject: str
    body: str
    files: list[str]


class MemoryOrderBook:
    def __init__(self, catalog: Catalog, stock: dict[str, float] | None = None) -> None:
        self.products = {p.id: p for p in catalog.products if p.id is not None}
        self.free = {p.id: float(stock.get(p.default_code, 0.0) if stock is not None
                                 else catalog.qty_on_hand.get(p.default_code, 0.0))
                     for p in self.products.values() if p.id is not None}
        self.partners: dict[int, MemoryPartner] = {}
        self.orders: dict[int, PlacedOrder] = {}
        self.chatter: list[Note] = []
        self.activities: list[tuple[int, str, str]] = []  # order id, summary, note
        self.calls: list[str] = []
        self.crash_before: str | None = None  # the name of a method that "crashes the process" once
        for customer in catalog.customers:
            company = next((p for p in self.partners.values() if p.name == customer.parent), None)
            partner_id = len(self.partners) + 1
            self.partners[partner_id] = MemoryPartner(
                partner_id, customer.name, customer.email or "", customer.lang,
                company.id if company else partner_id, [customer.category] if customer.category else [])

    # --- what tests look at -------------------------------------------------------------------

    def order(self, name: str) -> PlacedOrder:
        return next(o for o in self.orders.values() if o.name == name)

    def notes_on(self, name: str) -> list[Note]:
        return [n for n in self.chatter if n.order_id == self.order(name).id]

    def partner_by_email(self, email: str) -> MemoryPartner | None:
        return next((p for p in self.partners.values() if p.email.lower() == email.strip().lower()), None)

    def _call(self, name: str) -> None:
        if self.crash_before == name:
            self.crash_before = None
            raise Crash(name)
        self.calls.append(name)

    # --- the OrderBook --------------------------------------------------------------------------

    async def find_order_by_key(self, key: str) -> PlacedOrder | None:
        self._call("find_order_by_key")
        return next((o for o in self.orders.values() if o.origin.startswith(f"{ORIGIN_PREFIX}{key}")), None)

    async def find_order_by_name(self, name: str) -> PlacedOrder | None:
        self._call("find_order_by_name")
        return next((o for o in self.orders.values() if o.name == name.strip()), None)

    async def find_or_create_partner(self, email: str, name: str, lang: str | None) -> Partner:
        self._call("find_or_create_partner")
        found = self.partner_by_email(email)
        created = found is None
        if found is None:
            partner_id = len(self.partners) + 1
            found = self.partners[partner_id] = MemoryPartner(partner_id, name or email, email.strip(),
                                                              lang or "en_US", partner_id)
        company = self.partners[found.commercial_id]
        return Partner(id=found.id, name=found.name, email=found.email, lang=found.lang,
                       commercial_id=company.id, commercial_name=company.name,
                       category_names=[*found.categories, *company.categories], created=created)

    async def commercial_partner_of(self, email: str) -> int | None:
        self._call("commercial_partner_of")
        found = self.partner_by_email(email)
        return found.commercial_id if found else None

    async def free_qty(self, product_ids: list[int], warehouse_id: int = 0) -> dict[int, float]:
        self._call("free_qty")
        return {i: self.free[i] for i in product_ids if i in self.free}

    async def create_order(self, *, partner_id: int, lines: list[tuple[int, float]], key: str,
                           message_id: str | None, client_order_ref: str | None, commitment_date: date | None,
                           note: str | None = None) -> PlacedOrder:
        self._call("create_order")
        order_lines: list[dict[str, Any]] = []
        for product_id, qty in lines:
            product = self.products[product_id]
            order_lines.append({"product_id": product_id, "default_code": product.default_code, "name": product.name,
                                "qty": qty, "price_unit": product.list_price, "subtotal": qty * product.list_price})
        untaxed = sum(line["subtotal"] for line in order_lines)
        order_id = len(self.orders) + 1
        order = PlacedOrder(id=order_id, name=f"S{order_id:05d}", state="draft", amount_untaxed=untaxed,
                            amount_tax=round(untaxed * 0.2, 2), amount_total=round(untaxed * 1.2, 2),
                            currency="EUR", lines=order_lines, commitment_date=commitment_date,
                            client_order_ref=client_order_ref, partner_id=partner_id, user_id=2,
                            origin=origin_for(key, message_id))
        self.orders[order_id] = order
        return order

    async def confirm_order(self, order_id: int) -> None:
        self._call("confirm_order")
        order = self.orders[order_id]
        if order.state not in ("draft", "sent"):
            raise AssertionError(f"{order.name} is {order.state}: not in a state requiring confirmation")
        for line in order.lines:
            self.free[line["product_id"]] -= line["qty"]
        self.orders[order_id] = dataclasses.replace(order, state="sale")

    async def cancel_order(self, order_id: int) -> None:
        self._call("cancel_order")
        self.orders[order_id] = dataclasses.replace(self.orders[order_id], state="cancel")

    async def post_email(self, order_id: int, *, body_text: str, subject: str, raw_eml: bytes,
                         attachments: list[tuple[str, bytes, str]], reply_text: str | None = None,
                         reply_eml: bytes | None = None) -> int:
        self._call("post_email")
        body = f"{body_text.rstrip()}\n\n{reply_text.strip()}\n" if reply_text else body_text
        files = ["email.eml", *(name for name, _data, _type in attachments), *(["reply.eml"] if reply_eml else [])]
        self.chatter.append(Note(order_id, subject, body, files))
        return len(self.chatter)

    async def schedule_review(self, order_id: int, summary: str, note: str) -> int:
        self._call("schedule_review")
        self.activities.append((order_id, summary, note))
        return len(self.activities)


class MemoryCatalog:
    """The catalog source: always the same catalog (a refresh finds nothing new)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def get(self) -> Catalog:
        return self.catalog

    async def refresh(self) -> Catalog:
        return self.catalog

    async def close(self) -> None:
        pass


def with_ids(catalog: Catalog) -> Catalog:
    """The file's catalog as Odoo would serve it: every product with an id."""
    products = [dataclasses.replace(p, id=i) for i, p in enumerate(catalog.products, start=1)]
    return Catalog(catalog.company_name, catalog.email_domain, products, catalog.customers, catalog.qty_on_hand)
