"""The Odoo 18 models orderd uses, with the behaviour recorded from a real server.

Stock is derived, not stored: ``qty_available`` is the sum of quants in WH/Stock; confirmed sale
order lines are the outgoing demand, reserved first-come first-served in confirmation order, so
after confirming 50 of a product with 40 on hand the figures read 40 / 0 / -10 like Odoo's.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
from email.utils import getaddresses
from html import escape
from typing import Any

from odoosim.errors import (
    NotSimulated,
    OdooValueError,
    UserError,
    ValidationError,
    mandatory_field,
)
from odoosim.orm import Field, Model, base_fields, now_str, rpc_model, rpc_multi, today_str

TAX_RATE = 0.15  # one sales tax on every line, as on the recorded server (7570 -> 8705.5)
STOCK_LOCATION_ID = 8  # WH/Stock
WAREHOUSE_ID = 1

# Stable ids of ir.model records (sale.order is 578 on the recorded server; the rest are arbitrary).
IR_MODEL_IDS = {
    "res.partner": 84, "res.partner.category": 86, "res.users": 90, "res.lang": 62,
    "res.company": 88, "res.currency": 66, "uom.uom": 201, "product.product": 240,
    "stock.quant": 402, "stock.location": 395, "stock.warehouse": 398, "sale.order": 578,
    "sale.order.line": 580, "mail.message": 123, "mail.message.subtype": 125, "mail.activity": 140,
    "mail.activity.type": 141, "ir.attachment": 30, "ir.model": 1, "product.packaging": 246,
}

SUBTYPES = {"mail.mt_comment": 1, "mail.mt_note": 2}
ACTIVITY_TYPES = {
    "mail.mail_activity_data_email": 1, "mail.mail_activity_data_call": 2,
    "mail.mail_activity_data_meeting": 3, "mail.mail_activity_data_todo": 4,
    "mail.mail_activity_data_upload_document": 5,
}


def fields(**extra: Field) -> dict[str, Field]:
    return {**base_fields(), **extra}


def normalize_email(text: Any) -> Any:
    """tools.email_normalize: the first address, lower-cased; False when there is none."""
    if not text:
        return False
    for _name, addr in getaddresses([str(text)]):
        if addr and "@" in addr:
            return addr.strip().lower()
    return False


class MailThread(Model):
    """mail.thread: chatter posting and activities on business records.

    Named like Odoo's class so Python's TypeErrors read as Odoo's (``MailThread.message_post()``).
    """

    @rpc_multi
    def message_post(self, *, body: str = "", subject: Any = None, message_type: str = "notification",
                     subtype_xmlid: str | None = None, subtype_id: int | None = None,
                     attachment_ids: list[int] | None = None, attachments: list[Any] | None = None,
                     author_id: int | None = None, partner_ids: list[int] | None = None,
                     parent_id: int | None = None, email_from: str | None = None,
                     body_is_html: bool = False, **kwargs: Any) -> int:
        rid = self.ensure_one()
        self.check_exist()
        if kwargs:
            raise OdooValueError(f"odoosim: message_post() got unsupported arguments {sorted(kwargs)}")
        if subtype_xmlid and subtype_xmlid not in SUBTYPES:
            raise OdooValueError(f"External ID not found in the system: {subtype_xmlid}")
        if not subtype_id:
            # Odoo defaults a post without a subtype to an internal note.
            subtype_id = SUBTYPES.get(subtype_xmlid or "mail.mt_note")
        # Over RPC a body is always a str, never Markup: Odoo escapes it (mail_thread: escape(body)).
        stored_body = str(body or "") if body_is_html else escape(str(body or ""))
        att_ids = list(attachment_ids or [])
        atts = self.env("ir.attachment")
        for item in attachments or []:
            name, content = item[0], item[1]
            # Like Odoo, tuple content is raw: a str is encoded as UTF-8, not base64-decoded.
            raw = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            att_ids.append(atts.create_record({
                "name": name, "datas": base64.b64encode(raw).decode("ascii"),
                "res_model": self._name, "res_id": rid,
            }))
        for att in att_ids:
            record = atts.table.get(att)
            if record is None:
                atts.browse([att]).check_exist()
            elif not record.get("res_id") or record.get("res_model") == "mail.compose.message":
                atts.browse([att]).write_records({"res_model": self._name, "res_id": rid})
        return self.env("mail.message").create_record({
            "body": stored_body, "subject": subject or False, "model": self._name, "res_id": rid,
            "message_type": message_type, "subtype_id": subtype_id, "attachment_ids": [(6, 0, att_ids)],
            "author_id": author_id or 3, "partner_ids": [(6, 0, list(partner_ids or []))],
            "parent_id": parent_id or False, "email_from": email_from or False,
        })

    @rpc_multi
    def activity_schedule(self, act_type_xmlid: str = "", date_deadline: str | None = None,
                          summary: str = "", note: str = "", **act_values: Any) -> list[int]:
        created = []
        self.check_exist()
        type_id = act_values.pop("activity_type_id", None) or ACTIVITY_TYPES.get(
            act_type_xmlid or "mail.mail_activity_data_todo")
        if type_id is None:
            raise OdooValueError(f"External ID not found in the system: {act_type_xmlid}")
        for rid in self.ids:
            created.append(self.env("mail.activity").create_record({
                "res_model_id": IR_MODEL_IDS[self._name], "res_id": rid, "activity_type_id": type_id,
                "summary": summary or False, "note": note or False,
                "date_deadline": date_deadline or today_str(), **act_values,
            }))
        return created


class ResPartner(MailThread):
    _name = "res.partner"
    _description = "Contact"
    _order = "complete_name ASC, id DESC"
    _parent_name = "parent_id"
    _fields = fields(
        name=Field("char", "Name"),
        complete_name=Field("char", "Complete Name", compute="_compute_display_name"),
        email=Field("char", "Email"),
        email_normalized=Field("char", "Normalized Email", compute="_compute_email_normalized"),
        phone=Field("char", "Phone"),
        mobile=Field("char", "Mobile"),
        street=Field("char", "Street"),
        city=Field("char", "City"),
        zip=Field("char", "Zip"),
        vat=Field("char", "Tax ID"),
        ref=Field("char", "Reference"),
        comment=Field("html", "Notes"),
        is_company=Field("boolean", "Is a Company", default=False),
        company_type=Field("selection", "Company Type", compute="_compute_company_type",
                           selection=[("person", "Individual"), ("company", "Company")]),
        type=Field("selection", "Address Type", default="contact", selection=[
            ("contact", "Contact"), ("invoice", "Invoice Address"), ("delivery", "Delivery Address"),
            ("other", "Other Address")]),
        parent_id=Field("many2one", "Related Company", relation="res.partner"),
        child_ids=Field("one2many", "Contact", relation="res.partner", inverse_name="parent_id"),
        commercial_partner_id=Field("many2one", "Commercial Entity", relation="res.partner",
                                    compute="_compute_commercial_partner"),
        customer_rank=Field("integer", "Customer Rank", default=0),
        supplier_rank=Field("integer", "Supplier Rank", default=0),
        category_id=Field("many2many", "Tags", relation="res.partner.category"),
        lang=Field("selection", "Language", selection="_lang_selection", default="en_US"),
        user_id=Field("many2one", "Salesperson", relation="res.users"),
        company_id=Field("many2one", "Company", relation="res.company"),
        active=Field("boolean", "Active", default=True),
    )

    def _lang_selection(self) -> list[tuple[str, str]]:
        langs = self.sim.records.get("res.lang", {}).values()
        return [(r["code"], r["name"]) for r in langs if r.get("active")]

    def _compute_display_name(self, rid: int) -> str:
        rec = self.table[rid]
        name = rec.get("name") or ""
        parent = rec.get("parent_id")
        if parent and not rec.get("is_company") and parent in self.table:
            return f"{self._compute_display_name(parent)}, {name}"
        return name

    def _compute_email_normalized(self, rid: int) -> Any:
        return normalize_email(self.table[rid].get("email"))

    def _compute_company_type(self, rid: int) -> str:
        return "company" if self.table[rid].get("is_company") else "person"

    def _compute_commercial_partner(self, rid: int) -> int:
        seen = set()
        while rid not in seen:
            seen.add(rid)
            rec = self.table[rid]
            if rec.get("is_company") or not rec.get("parent_id"):
                return rid
            rid = rec["parent_id"]
        return rid

    def before_create(self, record: dict[str, Any]) -> None:
        self._check_name(record)

    def before_write(self, rid: int, record: dict[str, Any], changed: dict[str, Any]) -> None:
        self._check_name(record)

    @staticmethod
    def _check_name(record: dict[str, Any]) -> None:
        if not record.get("name") and record.get("type") == "contact":
            raise ValidationError("Contacts require a name")


class ResPartnerCategory(Model):
    _name = "res.partner.category"
    _description = "Partner Tags"
    _order = "name"
    _parent_name = "parent_id"
    _fields = fields(
        name=Field("char", "Tag Name", required=True),
        color=Field("integer", "Color", default=0),
        parent_id=Field("many2one", "Parent Category", relation="res.partner.category"),
        active=Field("boolean", "Active", default=True),
    )


class ResUsers(Model):
    _name = "res.users"
    _description = "User"
    _order = "name, login"
    _writable = False
    _fields = fields(
        name=Field("char", "Name"),
        login=Field("char", "Login", required=True),
        email=Field("char", "Email"),
        partner_id=Field("many2one", "Related Partner", relation="res.partner", required=True),
        company_id=Field("many2one", "Company", relation="res.company"),
        lang=Field("selection", "Language", selection="_lang_selection"),
        tz=Field("char", "Timezone"),
        active=Field("boolean", "Active", default=True),
    )

    def _lang_selection(self) -> list[tuple[str, str]]:
        return [(r["code"], r["name"]) for r in self.sim.records.get("res.lang", {}).values()]

    @rpc_model
    def context_get(self) -> dict[str, Any]:
        user = self.table.get(self.sim.uid, {})
        return {"lang": user.get("lang") or "en_US", "tz": user.get("tz") or False, "uid": self.sim.uid}


class ResLang(Model):
    _name = "res.lang"
    _description = "Languages"
    _order = "active desc, name"
    _fields = fields(
        name=Field("char", "Name", required=True),
        code=Field("char", "Locale Code", required=True),
        iso_code=Field("char", "ISO code"),
        url_code=Field("char", "URL Code"),
        active=Field("boolean", "Active", default=False),
    )


class ResCompany(Model):
    _name = "res.company"
    _description = "Companies"
    _writable = False
    _fields = fields(
        name=Field("char", "Company Name", required=True),
        partner_id=Field("many2one", "Partner", relation="res.partner"),
        currency_id=Field("many2one", "Currency", relation="res.currency"),
        email=Field("char", "Email"),
    )


class ResCurrency(Model):
    _name = "res.currency"
    _description = "Currency"
    _writable = False
    _fields = fields(
        name=Field("char", "Currency", required=True),
        symbol=Field("char", "Symbol"),
        active=Field("boolean", "Active", default=True),
    )


class UomUom(Model):
    _name = "uom.uom"
    _description = "Product Unit of Measure"
    _writable = False
    _fields = fields(
        name=Field("char", "Unit of Measure", required=True),
        factor=Field("float", "Ratio", default=1.0),
        active=Field("boolean", "Active", default=True),
    )


class ProductProduct(Model):
    _name = "product.product"
    _description = "Product Variant"
    _order = "default_code, name, id"
    _fields = fields(
        name=Field("char", "Name", required=True, translate=True),
        default_code=Field("char", "Internal Reference"),
        barcode=Field("char", "Barcode"),
        list_price=Field("float", "Sales Price", default=1.0),
        lst_price=Field("float", "Sales Price", compute="_compute_lst_price"),
        standard_price=Field("float", "Cost", default=0.0),
        type=Field("selection", "Product Type", default="consu", selection=[
            ("consu", "Goods"), ("service", "Service"), ("combo", "Combo")]),
        is_storable=Field("boolean", "Track Inventory", default=True),
        sale_ok=Field("boolean", "Can be Sold", default=True),
        uom_id=Field("many2one", "Unit of Measure", relation="uom.uom", default=1),
        uom_po_id=Field("many2one", "Purchase Unit", relation="uom.uom", default=1),
        description_sale=Field("text", "Sales Description"),
        qty_available=Field("float", "Quantity On Hand", compute="_compute_qty_available"),
        free_qty=Field("float", "Free To Use Quantity", compute="_compute_free_qty"),
        virtual_available=Field("float", "Forecasted Quantity", compute="_compute_virtual_available"),
        incoming_qty=Field("float", "Incoming", compute="_compute_incoming_qty"),
        outgoing_qty=Field("float", "Outgoing", compute="_compute_outgoing_qty"),
        active=Field("boolean", "Active", default=True),
    )

    def _compute_display_name(self, rid: int) -> str:
        rec = self.table[rid]
        code = rec.get("default_code")
        return f"[{code}] {rec.get('name') or ''}" if code else str(rec.get("name") or "")

    def _compute_lst_price(self, rid: int) -> float:
        return float(self.table[rid].get("list_price") or 0.0)

    def _in_scope(self) -> bool:
        """The context's warehouse/location scopes the figures; there is one warehouse only."""
        wh = self.context.get("warehouse") or self.context.get("warehouse_id")
        if wh and wh not in (WAREHOUSE_ID, [WAREHOUSE_ID], "WH"):
            return False
        loc = self.context.get("location")
        return not loc or loc in (STOCK_LOCATION_ID, [STOCK_LOCATION_ID], "WH/Stock")

    def _figures(self, rid: int) -> dict[str, float]:
        if not self._in_scope() or not self.table[rid].get("is_storable"):
            return {"on_hand": 0.0, "reserved": 0.0, "outgoing": 0.0}
        return self.sim.stock().get(rid, {"on_hand": 0.0, "reserved": 0.0, "outgoing": 0.0})

    def _compute_qty_available(self, rid: int) -> float:
        return self._figures(rid)["on_hand"]

    def _compute_free_qty(self, rid: int) -> float:
        fig = self._figures(rid)
        return max(0.0, fig["on_hand"] - fig["reserved"])

    def _compute_virtual_available(self, rid: int) -> float:
        fig = self._figures(rid)
        return fig["on_hand"] - fig["outgoing"]

    def _compute_incoming_qty(self, rid: int) -> float:
        return 0.0

    def _compute_outgoing_qty(self, rid: int) -> float:
        return self._figures(rid)["outgoing"]

    def before_create(self, record: dict[str, Any]) -> None:
        self._check_barcode(None, record)

    def before_write(self, rid: int, record: dict[str, Any], changed: dict[str, Any]) -> None:
        self._check_barcode(rid, record)

    def _check_barcode(self, rid: int | None, record: dict[str, Any]) -> None:
        code = record.get("barcode")
        if not code:
            return
        clash = [i for i, r in self.table.items() if i != rid and r.get("barcode") == code]
        if clash:
            names = ", ".join(self._compute_display_name(i) for i in clash)
            raise ValidationError(f'Barcode(s) already assigned:\n\n- Barcode "{code}" already assigned '
                                  f"to product(s): {names}")


class StockLocation(Model):
    _name = "stock.location"
    _description = "Inventory Locations"
    _order = "complete_name, id"
    _writable = False
    _parent_name = "location_id"
    _fields = fields(
        name=Field("char", "Location Name", required=True),
        complete_name=Field("char", "Full Location Name"),
        location_id=Field("many2one", "Parent Location", relation="stock.location"),
        usage=Field("selection", "Location Type", selection=[
            ("view", "Virtual"), ("internal", "Internal"), ("customer", "Customer"),
            ("supplier", "Vendor"), ("inventory", "Inventory Loss")]),
        warehouse_id=Field("many2one", "Warehouse", relation="stock.warehouse"),
        active=Field("boolean", "Active", default=True),
    )

    def _compute_display_name(self, rid: int) -> str:
        return str(self.table[rid].get("complete_name") or self.table[rid].get("name") or "")


class StockWarehouse(Model):
    _name = "stock.warehouse"
    _description = "Warehouse"
    _writable = False
    _fields = fields(
        name=Field("char", "Warehouse", required=True),
        code=Field("char", "Short Name"),
        lot_stock_id=Field("many2one", "Location Stock", relation="stock.location"),
        company_id=Field("many2one", "Company", relation="res.company"),
        active=Field("boolean", "Active", default=True),
    )


class StockQuant(Model):
    _name = "stock.quant"
    _description = "Quants"
    _rec_name = "product_id"
    _fields = fields(
        product_id=Field("many2one", "Product", relation="product.product", required=True),
        location_id=Field("many2one", "Location", relation="stock.location", required=True),
        quantity=Field("float", "Quantity", default=0.0, readonly=True),
        inventory_quantity=Field("float", "Counted Quantity", default=0.0),
        inventory_quantity_set=Field("boolean", "Inventory Quantity Set", default=False),
        reserved_quantity=Field("float", "Reserved Quantity", compute="_compute_reserved"),
    )
    # In inventory mode Odoo only lets these be set through create/write.
    _inventory_fields = frozenset({"product_id", "location_id", "inventory_quantity",
                                   "inventory_quantity_auto_apply", "lot_id", "package_id", "owner_id"})

    def _compute_display_name(self, rid: int) -> str:
        return self.display_name_of("product.product", self.table[rid]["product_id"])

    def _compute_reserved(self, rid: int) -> float:
        rec = self.table[rid]
        if rec.get("location_id") != STOCK_LOCATION_ID:
            return 0.0
        return self.sim.stock().get(rec["product_id"], {}).get("reserved", 0.0)

    def _inventory_mode(self) -> bool:
        return bool(self.context.get("inventory_mode"))

    @rpc_model
    def create(self, vals_list: Any) -> int | list[int]:
        single = isinstance(vals_list, dict)
        out = []
        for vals in [vals_list] if single else list(vals_list or []):
            if not self._inventory_mode() or set(vals) - self._inventory_fields:
                raise UserError("Quant's creation is restricted, you can't do this operation.")
            vals = {k: v for k, v in vals.items() if k in self._fields}
            # An existing quant for the same product and location is updated, not duplicated.
            existing = [i for i, r in self.table.items()
                        if r["product_id"] == vals.get("product_id") and r["location_id"] == vals.get("location_id")]
            vals["inventory_quantity_set"] = True
            if existing:
                self.browse(existing[:1]).write_records(vals)
                out.append(existing[0])
            else:
                out.append(self.create_record(vals))
        return out[0] if single else out

    @rpc_multi
    def write(self, vals: dict[str, Any]) -> bool:
        if not self._inventory_mode() or set(vals) - self._inventory_fields:
            raise UserError("Quant's editing is restricted, you can't do this operation.")
        self.write_records({**vals, "inventory_quantity_set": True})
        return True

    @rpc_multi
    def action_apply_inventory(self) -> None:
        self.check_exist()
        for rid in self.ids:
            rec = self.table[rid]
            if not rec.get("inventory_quantity_set"):
                continue
            # quantity is readonly for clients; the inventory adjustment is how it changes.
            self.table[rid] = {**rec, "quantity": float(rec.get("inventory_quantity") or 0.0),
                               "inventory_quantity": 0.0, "inventory_quantity_set": False,
                               "write_date": now_str()}
            self.sim.touch()
        return None


class SaleOrder(MailThread):
    _name = "sale.order"
    _description = "Sales Order"
    _order = "date_order desc, id desc"
    _fields = fields(
        name=Field("char", "Order Reference", required=True, readonly=True),
        state=Field("selection", "Status", default="draft", selection=[
            ("draft", "Quotation"), ("sent", "Quotation Sent"), ("sale", "Sales Order"),
            ("cancel", "Cancelled")]),
        partner_id=Field("many2one", "Customer", relation="res.partner", required=True),
        partner_invoice_id=Field("many2one", "Invoice Address", relation="res.partner"),
        partner_shipping_id=Field("many2one", "Delivery Address", relation="res.partner"),
        client_order_ref=Field("char", "Customer Reference"),
        origin=Field("char", "Source Document"),
        note=Field("html", "Terms and conditions"),
        commitment_date=Field("datetime", "Delivery Date"),
        date_order=Field("datetime", "Order Date", required=True, default=lambda m: now_str()),
        validity_date=Field("date", "Expiration"),
        user_id=Field("many2one", "Salesperson", relation="res.users", default=lambda m: m.sim.uid),
        company_id=Field("many2one", "Company", relation="res.company", default=1),
        currency_id=Field("many2one", "Currency", relation="res.currency", default=1),
        warehouse_id=Field("many2one", "Warehouse", relation="stock.warehouse", default=WAREHOUSE_ID),
        order_line=Field("one2many", "Order Lines", relation="sale.order.line", inverse_name="order_id"),
        amount_untaxed=Field("monetary", "Untaxed Amount", compute="_compute_untaxed"),
        amount_tax=Field("monetary", "Taxes", compute="_compute_tax"),
        amount_total=Field("monetary", "Total", compute="_compute_total"),
        locked=Field("boolean", "Locked", default=False),
        type_name=Field("char", "Type Name", compute="_compute_type_name"),
        delivery_count=Field("integer", "Delivery Orders", compute="_compute_delivery_count"),
    )

    def _lines(self, rid: int) -> list[int]:
        return self.raw(rid, "order_line")

    def _compute_untaxed(self, rid: int) -> float:
        lines = self.env("sale.order.line")
        return round(sum(lines._compute_subtotal(i) for i in self._lines(rid)), 2)

    def _compute_tax(self, rid: int) -> float:
        lines = self.env("sale.order.line")
        return round(sum(lines._compute_tax(i) for i in self._lines(rid)), 2)

    def _compute_total(self, rid: int) -> float:
        return round(self._compute_untaxed(rid) + self._compute_tax(rid), 2)

    def _compute_type_name(self, rid: int) -> str:
        return "Quotation" if self.table[rid].get("state") in ("draft", "sent", "cancel") else "Sales Order"

    def _compute_delivery_count(self, rid: int) -> int:
        return 1 if self.table[rid].get("_confirm_seq") else 0

    def before_create(self, record: dict[str, Any]) -> None:
        if not record.get("name") or record["name"] == "New":
            record["name"] = f"S{self.sim.next_sequence('sale.order'):05d}"
        partner = record.get("partner_id")
        if partner:
            record.setdefault("partner_invoice_id", partner)
            record.setdefault("partner_shipping_id", partner)

    @rpc_multi
    def message_post(self, **kwargs: Any) -> int:
        # sale.order overrides message_post in Odoo, hence "SaleOrder.message_post() takes 1
        # positional argument but 2 were given" for a positional body.
        return super().message_post(**kwargs)

    @rpc_multi
    def action_confirm(self) -> bool:
        self.check_exist()
        if any(self.table[i].get("state") not in ("draft", "sent") for i in self.ids):
            raise UserError("Some orders are not in a state requiring confirmation.")
        for rid in self.ids:
            # Confirmation does not check stock (the delivery just stays unreserved); it records the
            # order in which demand was confirmed, which decides who gets the stock on hand.
            self.table[rid] = {**self.table[rid], "state": "sale", "date_order": now_str(),
                               "_confirm_seq": self.sim.next_sequence("_confirm"),
                               "write_date": now_str()}
        self.sim.touch()
        return True

    @rpc_multi
    def action_cancel(self) -> Any:
        self.check_exist()
        if any(self.table[i].get("locked") for i in self.ids):
            raise UserError("You cannot cancel a locked order. Please unlock it first if you want to cancel it.")
        if not self.context.get("disable_cancel_warning") and any(
            self.table[i].get("state") != "draft" for i in self.ids
        ):
            rid = self.ensure_one()
            return {
                "name": f"Cancel {self._compute_type_name(rid)}",
                "view_mode": "form",
                "res_model": "sale.order.cancel",
                "view_id": 1124,
                "type": "ir.actions.act_window",
                "context": {
                    "default_template_id": 14,
                    "default_order_id": rid,
                    "mark_so_as_canceled": True,
                    "default_email_layout_xmlid": "mail.mail_notification_layout_with_responsible_signature",
                    "model_description": self._compute_type_name(rid),
                },
                "target": "new",
            }
        for rid in self.ids:
            self.table[rid] = {**self.table[rid], "state": "cancel", "write_date": now_str()}
        self.sim.touch()
        return True

    @rpc_multi
    def action_draft(self) -> bool:
        self.check_exist()
        for rid in self.ids:
            if self.table[rid].get("state") in ("cancel", "sent"):
                self.table[rid] = {**self.table[rid], "state": "draft", "_confirm_seq": False}
        self.sim.touch()
        return True

    @rpc_multi
    def action_quotation_sent(self) -> bool:
        self.check_exist()
        if any(self.table[i].get("state") != "draft" for i in self.ids):
            raise UserError("Only draft orders can be marked as sent directly.")
        for rid in self.ids:
            self.table[rid] = {**self.table[rid], "state": "sent"}
        self.sim.touch()
        return True


class SaleOrderLine(Model):
    _name = "sale.order.line"
    _description = "Sales Order Line"
    _order = "order_id, sequence, id"
    _fields = fields(
        order_id=Field("many2one", "Order Reference", relation="sale.order", required=True),
        sequence=Field("integer", "Sequence", default=10),
        product_id=Field("many2one", "Product", relation="product.product"),
        name=Field("text", "Description", required=True),
        product_uom_qty=Field("float", "Quantity", default=1.0),
        product_uom=Field("many2one", "Unit of Measure", relation="uom.uom"),
        price_unit=Field("float", "Unit Price"),
        discount=Field("float", "Discount (%)", default=0.0),
        price_subtotal=Field("monetary", "Subtotal", compute="_compute_subtotal"),
        price_tax=Field("float", "Total Tax", compute="_compute_tax"),
        price_total=Field("monetary", "Total", compute="_compute_total"),
        currency_id=Field("many2one", "Currency", relation="res.currency", default=1),
        state=Field("selection", "Order Status", compute="_compute_state", selection=[
            ("draft", "Quotation"), ("sent", "Quotation Sent"), ("sale", "Sales Order"),
            ("cancel", "Cancelled")]),
        qty_delivered=Field("float", "Delivery Quantity", default=0.0),
        free_qty_today=Field("float", "Free Qty Today", compute="_compute_free_qty_today"),
        display_type=Field("selection", "Display Type", selection=[
            ("line_section", "Section"), ("line_note", "Note")]),
    )

    def _compute_display_name(self, rid: int) -> str:
        rec = self.table[rid]
        order = self.display_name_of("sale.order", rec["order_id"])
        return f"{order} - {(rec.get('name') or '').splitlines()[0] if rec.get('name') else ''}"

    def _compute_subtotal(self, rid: int) -> float:
        rec = self.table[rid]
        price = float(rec.get("price_unit") or 0.0) * (1 - float(rec.get("discount") or 0.0) / 100)
        return round(price * float(rec.get("product_uom_qty") or 0.0), 2)

    def _compute_tax(self, rid: int) -> float:
        return round(self._compute_subtotal(rid) * TAX_RATE, 2)

    def _compute_total(self, rid: int) -> float:
        return round(self._compute_subtotal(rid) + self._compute_tax(rid), 2)

    def _compute_state(self, rid: int) -> Any:
        order = self.sim.records["sale.order"].get(self.table[rid]["order_id"], {})
        return order.get("state", False)

    def _compute_free_qty_today(self, rid: int) -> float:
        rec = self.table[rid]
        product = rec.get("product_id")
        if not product:
            return 0.0
        free = self.env("product.product")._compute_free_qty(product)
        # A confirmed line's own reservation still counts as available to it (sale_stock).
        return free + self.sim.line_reservations().get(rid, 0.0)

    def before_create(self, record: dict[str, Any]) -> None:
        product = record.get("product_id")
        products = self.sim.records["product.product"]
        if product:
            prec = products[product]
            if record.get("price_unit") in (None, False):
                record["price_unit"] = float(prec.get("list_price") or 0.0)
            if not record.get("name"):
                record["name"] = self.env("product.product")._compute_display_name(product)
            if not record.get("product_uom"):
                record["product_uom"] = prec.get("uom_id") or 1
        elif not record.get("display_type"):
            raise mandatory_field(self._description, self._name, "Product", "product_id")
        if record.get("price_unit") in (None, False):
            record["price_unit"] = 0.0
        order = self.sim.records["sale.order"].get(record.get("order_id"), {})
        if order.get("state") == "cancel":
            raise UserError("You cannot add lines to a cancelled order.")

    def delete_records(self) -> None:
        self.check_exist()
        for rid in self.ids:
            if self._compute_state(rid) == "sale":
                raise UserError("Once a sales order is confirmed, you can't remove one of its lines "
                                "(we need to track if something gets invoiced or delivered).\n"
                                "Set the quantity to 0 instead.")
        for rid in self.ids:
            del self.table[rid]
        self.sim.touch()


class MailMessageSubtype(Model):
    _name = "mail.message.subtype"
    _description = "Message subtypes"
    _writable = False
    _fields = fields(
        name=Field("char", "Message Type", required=True),
        internal=Field("boolean", "Internal Only", default=False),
    )


class MailMessage(Model):
    _name = "mail.message"
    _description = "Message"
    _order = "id desc"
    _rec_name = "record_name"
    _fields = fields(
        body=Field("html", "Contents", default=""),
        subject=Field("char", "Subject"),
        model=Field("char", "Related Document Model"),
        res_id=Field("integer", "Related Document ID"),
        record_name=Field("char", "Message Record Name", compute="_compute_record_name"),
        message_type=Field("selection", "Type", default="comment", selection=[
            ("email", "Incoming Email"), ("comment", "Comment"), ("email_outgoing", "Outgoing Email"),
            ("notification", "System notification"), ("auto_comment", "Automated Targeted Notification"),
            ("user_notification", "User Specific Notification")]),
        subtype_id=Field("many2one", "Subtype", relation="mail.message.subtype"),
        author_id=Field("many2one", "Author", relation="res.partner"),
        email_from=Field("char", "From"),
        date=Field("datetime", "Date", default=lambda m: now_str()),
        attachment_ids=Field("many2many", "Attachments", relation="ir.attachment"),
        partner_ids=Field("many2many", "Recipients", relation="res.partner"),
        parent_id=Field("many2one", "Parent Message", relation="mail.message"),
    )

    def _compute_record_name(self, rid: int) -> Any:
        rec = self.table[rid]
        model, res_id = rec.get("model"), rec.get("res_id")
        if not model or model not in self.sim.registry:
            return False
        return self.display_name_of(model, res_id) or False

    @rpc_model
    def create(self, vals_list: Any) -> int | list[int]:
        # Messages are posted through message_post so they get Odoo's defaults and escaping.
        raise NotSimulated("odoosim: create mail.message through message_post on the document")


class IrAttachment(Model):
    _name = "ir.attachment"
    _description = "Attachment"
    _order = "id desc"
    _fields = fields(
        name=Field("char", "Name", required=True),
        datas=Field("binary", "File Content (base64)"),
        res_model=Field("char", "Resource Model"),
        res_id=Field("integer", "Resource ID", default=0),
        res_name=Field("char", "Resource Name", compute="_compute_res_name"),
        mimetype=Field("char", "Mime Type"),
        file_size=Field("integer", "File Size", compute="_compute_file_size"),
        type=Field("selection", "Type", default="binary", selection=[("url", "URL"), ("binary", "File")]),
        description=Field("text", "Description"),
        public=Field("boolean", "Is public document", default=False),
    )

    def _compute_res_name(self, rid: int) -> Any:
        rec = self.table[rid]
        if rec.get("res_model") in self.sim.registry and rec.get("res_id"):
            return self.display_name_of(rec["res_model"], rec["res_id"]) or False
        return False

    def _compute_file_size(self, rid: int) -> int:
        data = self.table[rid].get("datas")
        return len(base64.b64decode(data)) if data else 0

    def _prepare(self, record: dict[str, Any]) -> None:
        data = record.get("datas")
        if data:
            try:
                base64.b64decode(data)  # Odoo decodes on write; bad padding fails the same way there
            except binascii.Error as exc:
                raise binascii.Error(str(exc)) from exc
        if not record.get("mimetype"):
            guessed = mimetypes.guess_type(record.get("name") or "")[0]
            record["mimetype"] = guessed or ("text/plain" if not data else "application/octet-stream")

    def before_create(self, record: dict[str, Any]) -> None:
        self._prepare(record)

    def before_write(self, rid: int, record: dict[str, Any], changed: dict[str, Any]) -> None:
        self._prepare(record)


class IrModel(Model):
    _name = "ir.model"
    _description = "Models"
    _order = "model"
    _writable = False
    _fields = fields(
        name=Field("char", "Model Description", required=True),
        model=Field("char", "Model", required=True),
    )


class MailActivityType(Model):
    _name = "mail.activity.type"
    _description = "Activity Type"
    _order = "sequence, id"
    _writable = False
    _fields = fields(
        name=Field("char", "Name", required=True),
        sequence=Field("integer", "Sequence", default=10),
        active=Field("boolean", "Active", default=True),
    )


class MailActivity(Model):
    _name = "mail.activity"
    _description = "Activity"
    _order = "date_deadline ASC, id ASC"
    _rec_name = "summary"
    _fields = fields(
        res_model_id=Field("many2one", "Document Model", relation="ir.model", required=True),
        res_model=Field("char", "Related Document Model"),
        res_id=Field("integer", "Related Document ID", required=True),
        res_name=Field("char", "Document Name", compute="_compute_res_name"),
        activity_type_id=Field("many2one", "Activity Type", relation="mail.activity.type",
                               default=ACTIVITY_TYPES["mail.mail_activity_data_todo"]),
        summary=Field("char", "Summary"),
        note=Field("html", "Note"),
        date_deadline=Field("date", "Due Date", required=True, default=lambda m: today_str()),
        user_id=Field("many2one", "Assigned to", relation="res.users", default=lambda m: m.sim.uid),
        state=Field("selection", "State", compute="_compute_state", selection=[
            ("overdue", "Overdue"), ("today", "Today"), ("planned", "Planned")]),
    )

    def _compute_display_name(self, rid: int) -> str:
        rec = self.table[rid]
        return str(rec.get("summary") or self.display_name_of("mail.activity.type", rec["activity_type_id"]))

    def _compute_res_name(self, rid: int) -> Any:
        rec = self.table[rid]
        if rec.get("res_model") in self.sim.registry:
            return self.display_name_of(rec["res_model"], rec["res_id"]) or False
        return False

    def _compute_state(self, rid: int) -> str:
        deadline, today = self.table[rid].get("date_deadline") or "", today_str()
        return "overdue" if deadline < today else "today" if deadline == today else "planned"

    def before_create(self, record: dict[str, Any]) -> None:
        model_id = record.get("res_model_id")
        if model_id:
            record["res_model"] = self.sim.records["ir.model"][model_id]["model"]
            if record["res_model"] in self.sim.registry and record.get("res_id"):
                self.env(record["res_model"], [record["res_id"]]).check_exist()


class ProductPackaging(Model):
    """How many units a box, a carton or a bag of a product holds (Odoo's packagings)."""

    _name = "product.packaging"
    _description = "Product Packaging"
    _order = "product_id, sequence, id"
    _fields = fields(
        name=Field("char", "Product Packaging", required=True),
        product_id=Field("many2one", "Product", relation="product.product", required=True),
        qty=Field("float", "Contained Quantity", default=1.0),
        sequence=Field("integer", "Sequence", default=1),
        barcode=Field("char", "Barcode"),
    )


MODELS: list[type[Model]] = [
    ResPartner, ResPartnerCategory, ResUsers, ResLang, ResCompany, ResCurrency, UomUom,
    ProductProduct, ProductPackaging, StockLocation, StockWarehouse, StockQuant, SaleOrder, SaleOrderLine,
    MailMessageSubtype, MailMessage, IrAttachment, IrModel, MailActivityType, MailActivity,
]
