"""What orderd does in Odoo for one message, each operation a few RPC calls at most.

A known customer's clean order costs 9 calls: find_order_by_key (1) + find_or_create_partner (1, or 2
for a contact of a company) + free_qty (1) + create_order (3: create, read order, read lines) +
confirm_order (1: action_confirm) + post_email (2: attachments, message_post). Lookups that never
change while the server runs (ir.model ids, active languages, partner tag names) are cached on the client.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from orderd.odoo.client import OdooClient, OdooError

ORIGIN_PREFIX = "orderd:"

ORDER_FIELDS = ["name", "state", "partner_id", "user_id", "client_order_ref", "commitment_date", "origin",
                "amount_untaxed", "amount_tax", "amount_total", "currency_id"]
LINE_FIELDS = ["order_id", "product_id", "name", "product_uom_qty", "price_unit", "price_subtotal"]
PARTNER_FIELDS = ["name", "email", "lang", "commercial_partner_id", "parent_id", "category_id",
                  "is_company", "customer_rank"]

ALREADY_CONFIRMED = "not in a state requiring confirmation"
DEFAULT_LANG = "en_US"

_CODE_IN_DISPLAY_NAME = re.compile(r"^\[([^\]]+)\]")


@dataclass
class Partner:
    id: int
    name: str
    email: str
    lang: str
    commercial_id: int  # the partner orders are placed on: the company for a contact, else itself
    commercial_name: str
    category_names: list[str] = field(default_factory=list)  # tags of the partner and its company
    created: bool = False


@dataclass
class PlacedOrder:
    id: int
    name: str
    state: str
    amount_untaxed: float
    amount_tax: float
    amount_total: float
    currency: str
    lines: list[dict[str, Any]]  # default_code, product_id, name, qty, price_unit, subtotal
    commitment_date: date | None
    client_order_ref: str | None
    partner_id: int | None = None
    user_id: int | None = None  # the salesperson
    origin: str = ""


# --- idempotency ------------------------------------------------------------------------------


def origin_for(key: str, message_id: str | None) -> str:
    """What orderd writes in sale.order.origin: the key (searched) and the Message-ID (for humans)."""
    return f"{ORIGIN_PREFIX}{key} {message_id}" if message_id else f"{ORIGIN_PREFIX}{key}"


async def find_order_by_key(client: OdooClient, key: str) -> PlacedOrder | None:
    """The order an earlier delivery of this message created, if any (one call when there is none).

    Orders in every state count, a cancelled one too: the message was processed once already."""
    rows = await client.call("sale.order", "search_read", [["origin", "like", f"{ORIGIN_PREFIX}{key}"]],
                             fields=ORDER_FIELDS, limit=1, order="id")
    if not rows:
        return None
    return _placed(rows[0], await _read_lines(client, rows[0]["id"]))


async def find_order_by_name(client: OdooClient, name: str) -> PlacedOrder | None:
    """The order named e.g. 'S00042' (a reply quoting it in the subject), or None."""
    rows = await client.call("sale.order", "search_read", [["name", "=", name.strip()]],
                             fields=ORDER_FIELDS, limit=1)
    if not rows:
        return None
    return _placed(rows[0], await _read_lines(client, rows[0]["id"]))


# --- partners ---------------------------------------------------------------------------------


async def find_or_create_partner(client: OdooClient, email: str, name: str, lang: str | None) -> Partner:
    """The partner with this email (case-insensitive), or a new customer.

    A per-address lock keeps two concurrent messages from the same new sender from creating two
    partners in this process."""
    email = email.strip()
    # Known senders (nearly every message) need no lock: serialising them would queue every order of a
    # busy customer behind each other. Only a sender not found is looked up again under the lock.
    rows = await _partners_by_email(client, email)
    if rows:
        return await _partner_from_row(client, _best_match(rows, email))
    async with _lock_for(client, "partner:" + email.lower()):
        rows = await _partners_by_email(client, email)
        if rows:
            return await _partner_from_row(client, _best_match(rows, email))
        return await _create_partner(client, email, name, lang)


async def _partners_by_email(client: OdooClient, email: str) -> list[dict[str, Any]]:
    return await client.call("res.partner", "search_read", [["email", "=ilike", email]],
                             fields=PARTNER_FIELDS, order="id")


def _best_match(rows: list[dict[str, Any]], email: str) -> dict[str, Any]:
    # Several partners may share an address (a company and its contact, duplicates): prefer the exact
    # spelling, then an existing customer, then the oldest record.
    def rank(row: dict[str, Any]) -> tuple[int, int, int]:
        return (0 if row.get("email") == email else 1, 0 if row.get("customer_rank") else 1, row["id"])

    return min(rows, key=rank)


async def _partner_from_row(client: OdooClient, row: dict[str, Any]) -> Partner:
    commercial_id, commercial_name = _m2o(row.get("commercial_partner_id")) or (row["id"], row["name"])
    tag_ids = list(row.get("category_id") or [])
    if commercial_id != row["id"]:
        # The company's tags (e.g. a price group) describe the customer the contact orders for.
        company = await client.call("res.partner", "read", [commercial_id], fields=["category_id"])
        if company:
            tag_ids += [t for t in company[0].get("category_id") or [] if t not in tag_ids]
    return Partner(
        id=row["id"],
        name=row.get("name") or "",
        email=row.get("email") or "",
        lang=row.get("lang") or "",  # empty: no language set in Odoo; replies use the detected one
        commercial_id=commercial_id,
        commercial_name=commercial_name,
        category_names=await _tag_names(client, tag_ids),
        created=False,
    )


async def _create_partner(client: OdooClient, email: str, name: str, lang: str | None) -> Partner:
    lang_code = await _active_lang(client, lang)
    display = name.strip() or email
    partner_id = await client.call("res.partner", "create",
                                   {"name": display, "email": email, "customer_rank": 1, "lang": lang_code})
    return Partner(id=partner_id, name=display, email=email, lang=lang_code, commercial_id=partner_id,
                   commercial_name=display, category_names=[], created=True)


async def _tag_names(client: OdooClient, tag_ids: list[int]) -> list[str]:
    if not tag_ids:
        return []
    names: dict[int, str] = client.cache.setdefault("partner_tags", {})
    missing = [t for t in tag_ids if t not in names]
    if missing:
        for row in await client.call("res.partner.category", "read", missing, fields=["name"]):
            names[row["id"]] = row["name"]
    return [names[t] for t in tag_ids if t in names]


async def _active_lang(client: OdooClient, lang: str | None) -> str:
    """An active Odoo language for `lang` ('fr', 'fr_FR', 'fr-FR'), else en_US: Odoo rejects a
    partner whose lang is not active."""
    if not lang:
        return DEFAULT_LANG
    active: list[str] | None = client.cache.get("active_langs")
    if active is None:
        rows = await client.call("res.lang", "search_read", [], fields=["code"])
        active = client.cache["active_langs"] = [row["code"] for row in rows]
    wanted = lang.replace("-", "_")
    if wanted in active:
        return wanted
    base = wanted.split("_")[0].lower()
    preferred = f"{base}_{base.upper()}"  # fr_FR, de_DE, es_ES; en_EN does not exist, hence the fallback
    if preferred in active:
        return preferred
    if base == "en":
        return DEFAULT_LANG
    same_language = [code for code in active if code.split("_")[0].lower() == base]
    return same_language[0] if same_language else DEFAULT_LANG


# --- stock ------------------------------------------------------------------------------------


async def free_qty(client: OdooClient, product_ids: list[int], warehouse_id: int = 0) -> dict[int, float]:
    """Free quantity (on hand minus reserved) per product, for all lines in one read. Products Odoo
    does not return (deleted since the catalog was cached) are absent from the result."""
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    kwargs: dict[str, Any] = {"fields": ["free_qty"]}
    if warehouse_id:
        kwargs["context"] = {"warehouse": warehouse_id}
    rows = await client.call("product.product", "read", ids, **kwargs)
    return {row["id"]: float(row.get("free_qty") or 0.0) for row in rows}


# --- orders -----------------------------------------------------------------------------------


async def create_order(
    client: OdooClient,
    *,
    partner_id: int,
    lines: list[tuple[int, float]],
    key: str,
    message_id: str | None,
    client_order_ref: str | None,
    commitment_date: date | None,
    note: str | None = None,
) -> PlacedOrder:
    """One `create` carrying every line, then the order as Odoo priced it (a draft quotation)."""
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "origin": origin_for(key, message_id),
        "order_line": [[0, 0, {"product_id": product_id, "product_uom_qty": qty}] for product_id, qty in lines],
    }
    if client_order_ref:
        values["client_order_ref"] = client_order_ref
    if commitment_date:
        values["commitment_date"] = _odoo_datetime(commitment_date)
    if note:
        values["note"] = note
    order_id = await client.call("sale.order", "create", values)
    return await read_order(client, order_id)


async def read_order(client: OdooClient, order_id: int) -> PlacedOrder:
    rows = await client.call("sale.order", "read", [order_id], fields=ORDER_FIELDS)
    if not rows:  # Odoo's read of a missing id returns [] rather than an error
        raise OdooError("odoo.exceptions.MissingError", f"sale.order {order_id} does not exist",
                        "sale.order", "read")
    return _placed(rows[0], await _read_lines(client, order_id))


async def confirm_order(client: OdooClient, order_id: int) -> None:
    """action_confirm. Confirming an order that is already confirmed (a retry after a lost answer)
    is success; confirming a cancelled one is still an error."""
    try:
        await client.call("sale.order", "action_confirm", [order_id])
    except OdooError as exc:
        if exc.short_name != "UserError" or ALREADY_CONFIRMED not in exc.message:
            raise
        rows = await client.call("sale.order", "read", [order_id], fields=["state"])
        if not rows or rows[0]["state"] != "sale":
            raise


async def cancel_order(client: OdooClient, order_id: int) -> None:
    """action_cancel; the context skips the confirmation wizard Odoo shows a person (which would
    otherwise come back as an action to display instead of cancelling)."""
    await client.call("sale.order", "action_cancel", [order_id], context={"disable_cancel_warning": True})


async def order_states(client: OdooClient, order_ids: list[int]) -> dict[int, str]:
    """Each order's state in one read; an order deleted in Odoo is absent."""
    if not order_ids:
        return {}
    rows = await client.call("sale.order", "read", sorted(set(order_ids)), fields=["state"])
    return {row["id"]: row.get("state") or "" for row in rows}


async def order_lines(client: OdooClient, order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The product lines of several orders in one search_read, per order (as _line shapes them)."""
    if not order_ids:
        return {}
    rows = await client.call("sale.order.line", "search_read", [["order_id", "in", sorted(set(order_ids))]],
                             fields=LINE_FIELDS, order="id")
    found: dict[int, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    for row in rows:
        order = _m2o(row.get("order_id"))
        if order and row.get("product_id"):  # section and note lines carry no product
            found.setdefault(order[0], []).append(_line(row))
    return found


async def commercial_partner_of(client: OdooClient, email: str) -> int | None:
    """The company (or person) a sender orders for, without creating anyone; None for a stranger."""
    rows = await _partners_by_email(client, email.strip())
    if not rows:
        return None
    row = _best_match(rows, email.strip())
    commercial = _m2o(row.get("commercial_partner_id"))
    return commercial[0] if commercial else row["id"]


async def post_email(
    client: OdooClient,
    order_id: int,
    *,
    body_text: str,
    subject: str,
    raw_eml: bytes,
    attachments: list[tuple[str, bytes, str]],
    reply_text: str | None = None,
    reply_eml: bytes | None = None,
) -> int:
    """Post the email as a note (notifies nobody) with the original .eml and its attachments.

    The files are created as ir.attachment first (base64 carries any bytes; message_post's own
    `attachments` argument takes strings) in one call, then linked by message_post.
    With reply_text/reply_eml the same note also carries orderd's answer (its text, and the .eml as
    sent), so the chatter shows exactly what the customer received at no extra RPC call."""
    files = [(_eml_name(subject), raw_eml, "message/rfc822"), *attachments]
    if reply_eml is not None:
        files.append((_eml_name(f"reply {subject}"), reply_eml, "message/rfc822"))
    if reply_text:
        body_text = f"{body_text.rstrip()}\n\n{'-' * 30}\n{reply_text.strip()}\n"
    attachment_ids = await client.call("ir.attachment", "create", [
        {"name": name, "datas": base64.b64encode(data).decode("ascii"), "mimetype": mimetype,
         "res_model": "sale.order", "res_id": order_id}
        for name, data, mimetype in files
    ])
    if isinstance(attachment_ids, int):  # a single record created comes back as an id
        attachment_ids = [attachment_ids]
    return await client.call("sale.order", "message_post", [order_id], body=body_text, subject=subject,
                             message_type="comment", subtype_xmlid="mail.mt_note",
                             attachment_ids=list(attachment_ids))


async def schedule_review(client: OdooClient, order_id: int, summary: str, note: str,
                          user_id: int | None = None) -> int:
    """A to-do activity on the order for its salesperson (the order's user_id unless given)."""
    model_id = await _model_id(client, "sale.order")
    if user_id is None:
        rows = await client.call("sale.order", "read", [order_id], fields=["user_id"])
        user_id = (_m2o(rows[0].get("user_id")) or (None, ""))[0] if rows else None
    values: dict[str, Any] = {"res_model_id": model_id, "res_id": order_id, "summary": summary, "note": note}
    if user_id:
        values["user_id"] = user_id  # without it Odoo assigns the API user
    return await client.call("mail.activity", "create", values)


# --- helpers ----------------------------------------------------------------------------------


async def _model_id(client: OdooClient, model: str) -> int:
    ids: dict[str, int] = client.cache.setdefault("ir_model", {})
    if model not in ids:
        found = await client.call("ir.model", "search", [["model", "=", model]])
        if not found:
            raise OdooError("odoo.exceptions.MissingError", f"no ir.model for {model}", "ir.model", "search")
        ids[model] = found[0]
    return ids[model]


async def _read_lines(client: OdooClient, order_id: int) -> list[dict[str, Any]]:
    rows = await client.call("sale.order.line", "search_read", [["order_id", "=", order_id]],
                             fields=LINE_FIELDS, order="id")
    return [_line(row) for row in rows if row.get("product_id")]  # skip section and note lines


def _line(row: dict[str, Any]) -> dict[str, Any]:
    product_id, display = _m2o(row.get("product_id")) or (0, "")
    code = _CODE_IN_DISPLAY_NAME.match(display)
    return {
        "product_id": product_id,
        "default_code": code.group(1) if code else None,
        "name": row.get("name") or display,
        "qty": float(row.get("product_uom_qty") or 0.0),
        "price_unit": float(row.get("price_unit") or 0.0),
        "subtotal": float(row.get("price_subtotal") or 0.0),
    }


def _placed(row: dict[str, Any], lines: list[dict[str, Any]]) -> PlacedOrder:
    return PlacedOrder(
        id=row["id"],
        name=row.get("name") or "",
        state=row.get("state") or "",
        amount_untaxed=float(row.get("amount_untaxed") or 0.0),
        amount_tax=float(row.get("amount_tax") or 0.0),
        amount_total=float(row.get("amount_total") or 0.0),
        currency=(_m2o(row.get("currency_id")) or (0, ""))[1],
        lines=lines,
        commitment_date=_date_from_odoo(row.get("commitment_date")),
        client_order_ref=row.get("client_order_ref") or None,
        partner_id=(_m2o(row.get("partner_id")) or (None, ""))[0],
        user_id=(_m2o(row.get("user_id")) or (None, ""))[0],
        origin=row.get("origin") or "",
    )


def _m2o(value: Any) -> tuple[int, str] | None:
    """Odoo sends a many2one as [id, display_name], or false when empty."""
    if isinstance(value, list | tuple) and len(value) >= 2:
        return int(value[0]), str(value[1])
    return None


def _odoo_datetime(day: date) -> str:
    # commitment_date is a UTC datetime; noon keeps the same calendar day in every timezone within
    # ±12h, so the date the customer asked for is the date a salesperson sees.
    return f"{day.isoformat()} 12:00:00"


def _date_from_odoo(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(str(value)[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def _eml_name(subject: str) -> str:
    safe = re.sub(r"[^\w.-]+", "_", subject, flags=re.UNICODE).strip("._")[:60]
    return f"{safe or 'email'}.eml"


def _lock_for(client: OdooClient, name: str) -> asyncio.Lock:
    locks: dict[str, asyncio.Lock] = client.cache.setdefault("locks", {})
    if len(locks) > 10_000:  # addresses come and go; forget locks nobody holds
        for key in [k for k, lock in locks.items() if not lock.locked()]:
            del locks[key]
    return locks.setdefault(name, asyncio.Lock())


class OdooOrderBook:
    """The order book the intake's flows use (orderd.intake.services.OrderBook), over one Odoo client."""

    def __init__(self, client: OdooClient) -> None:
        self.client = client

    async def find_order_by_key(self, key: str) -> PlacedOrder | None:
        return await find_order_by_key(self.client, key)

    async def find_order_by_name(self, name: str) -> PlacedOrder | None:
        return await find_order_by_name(self.client, name)

    async def find_or_create_partner(self, email: str, name: str, lang: str | None) -> Partner:
        return await find_or_create_partner(self.client, email, name, lang)

    async def commercial_partner_of(self, email: str) -> int | None:
        return await commercial_partner_of(self.client, email)

    async def free_qty(self, product_ids: list[int], warehouse_id: int = 0) -> dict[int, float]:
        return await free_qty(self.client, product_ids, warehouse_id)

    async def create_order(self, *, partner_id: int, lines: list[tuple[int, float]], key: str,
                           message_id: str | None, client_order_ref: str | None, commitment_date: date | None,
                           note: str | None = None) -> PlacedOrder:
        return await create_order(self.client, partner_id=partner_id, lines=lines, key=key, message_id=message_id,
                                  client_order_ref=client_order_ref, commitment_date=commitment_date, note=note)

    async def confirm_order(self, order_id: int) -> None:
        await confirm_order(self.client, order_id)

    async def cancel_order(self, order_id: int) -> None:
        await cancel_order(self.client, order_id)

    async def post_email(self, order_id: int, *, body_text: str, subject: str, raw_eml: bytes,
                         attachments: list[tuple[str, bytes, str]], reply_text: str | None = None,
                         reply_eml: bytes | None = None) -> int:
        return await post_email(self.client, order_id, body_text=body_text, subject=subject, raw_eml=raw_eml,
                                attachments=attachments, reply_text=reply_text, reply_eml=reply_eml)

    async def schedule_review(self, order_id: int, summary: str, note: str) -> int:
        return await schedule_review(self.client, order_id, summary, note)
