"""A small ORM with Odoo's RPC-visible semantics: fields, search/read/create/write, defaults.

Each RPC call instantiates a model class on a set of ids, the way Odoo binds a recordset
(``SaleOrder(sim, [7], ctx).action_confirm()``). Methods exposed over RPC are marked with
:func:`rpc_model` (no ids, Odoo's ``@api.model``) or :func:`rpc_multi` (first RPC argument is the
ids). Python's own argument binding then produces Odoo's TypeErrors word for word, e.g.
``SaleOrder.message_post() takes 1 positional argument but 2 were given``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

import odoosim.domain as dom
from odoosim.errors import (
    NotSimulated,
    OdooValueError,
    ValidationError,
    mandatory_field,
    missing,
)


class Database(Protocol):
    """What a model needs from the simulator that binds it (odoosim.sim.OdooSim): the ORM sits below
    the simulator and never imports it."""

    uid: int
    records: dict[str, Any]  # model name -> {id: record}
    registry: ClassVar[dict[str, type[Model]]]

    def model(self, name: str, ids: Any = (), context: dict[str, Any] | None = None) -> Model: ...

    def next_id(self, model: str) -> int: ...

    def next_sequence(self, name: str) -> int: ...

    def touch(self) -> None: ...

    def stock(self) -> dict[int, dict[str, float]]: ...

    def line_reservations(self) -> dict[int, float]: ...

F = TypeVar("F", bound=Callable[..., Any])

DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2})?$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Methods a real Odoo model has but this simulator does not implement: they are refused with a
# NotImplementedError envelope instead of the AttributeError an unknown name gets, so a caller
# relying on one learns it from the first test run.
ODOO_METHODS_NOT_SIMULATED = frozenset(
    {
        "unlink", "copy", "name_create", "read_group", "web_read", "web_search_read", "web_save",
        "onchange", "export_data", "load", "get_metadata", "check_access_rights", "check_access",
        "toggle_active", "action_archive", "action_unarchive", "message_subscribe",
        "message_unsubscribe", "search_fetch", "name_get", "fields_view_get", "get_views",
    }
)


def rpc_model(fn: F) -> F:
    """Callable over RPC without ids (Odoo's ``@api.model``)."""
    fn._rpc = "model"  # type: ignore[attr-defined]
    return fn


def rpc_multi(fn: F) -> F:
    """Callable over RPC on records: the first RPC argument is the ids."""
    fn._rpc = "multi"  # type: ignore[attr-defined]
    return fn


@dataclass
class Field:
    type: str  # char text html integer float monetary boolean selection date datetime binary many2one ...
    string: str
    relation: str | None = None
    required: bool = False
    readonly: bool = False
    compute: str | None = None  # method name: fn(self, rid) -> raw value; such fields are not stored
    default: Any = None  # a value, or a callable(model) -> value
    selection: list[tuple[str, str]] | str | None = None  # list, or a method name for dynamic ones
    inverse_name: str | None = None  # one2many: the many2one on the comodel
    translate: bool = False  # one value per language; the context's `lang` reads and writes that one

    @property
    def stored(self) -> bool:
        return self.compute is None and self.type != "one2many"

    @property
    def relational(self) -> bool:
        return self.type in ("many2one", "one2many", "many2many")


def base_fields() -> dict[str, Field]:
    return {
        "id": Field("integer", "ID", readonly=True),
        "display_name": Field("char", "Display Name", compute="_compute_display_name", readonly=True),
        "create_date": Field("datetime", "Created on", readonly=True),
        "write_date": Field("datetime", "Last Updated on", readonly=True),
        "create_uid": Field("many2one", "Created by", relation="res.users", readonly=True),
        "write_uid": Field("many2one", "Last Updated by", relation="res.users", readonly=True),
    }


def now_str() -> str:
    return datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def today_str() -> str:
    return datetime.now().strftime("%Y-%m-%d")


def class_name(model: str) -> str:
    return "".join(part.capitalize() for part in model.split("."))


class BaseModel:
    _name: ClassVar[str] = ""
    _description: ClassVar[str] = ""
    _order: ClassVar[str] = "id"
    _rec_name: ClassVar[str] = "name"
    _fields: ClassVar[dict[str, Field]] = {}
    _writable: ClassVar[bool] = True  # False: reference data seeded by the simulator (create/write refused)
    _parent_name: ClassVar[str | None] = None  # for child_of / parent_of

    def __init__(self, sim: Database, ids: Iterable[int] = (), context: dict[str, Any] | None = None) -> None:
        self.sim = sim
        self.ids = list(ids)
        self.context: dict[str, Any] = dict(context or {})

    def __repr__(self) -> str:
        shown = ", ".join(str(i) for i in self.ids) + ("," if len(self.ids) == 1 else "")
        return f"{self._name}({shown})"

    # ---- storage helpers ------------------------------------------------------------------
    @property
    def table(self) -> dict[int, dict[str, Any]]:
        return self.sim.records.setdefault(self._name, {})

    def env(self, model: str, ids: Iterable[int] = ()) -> BaseModel:
        return self.sim.model(model, ids, self.context)

    def browse(self, ids: Iterable[int]) -> BaseModel:
        return type(self)(self.sim, ids, self.context)

    def ensure_one(self) -> int:
        if len(self.ids) != 1:
            raise OdooValueError(f"Expected singleton: {self!r}")
        return self.ids[0]

    def check_exist(self) -> None:
        absent = [i for i in self.ids if i not in self.table]
        if absent:
            raise missing(self._name, absent, self.sim.uid)

    def field(self, name: str) -> Field:
        f = self._fields.get(name)
        if f is None:
            raise OdooValueError(f"Invalid field {name!r} on model {self._name!r}")
        return f

    def raw(self, rid: int, name: str) -> Any:
        """A field's internal value: many2one id or False, x2many list of ids, scalars."""
        f = self._fields[name]
        if name == "id":
            return rid
        if f.compute:
            return getattr(self, f.compute)(rid)
        lang = self.context.get("lang")
        if f.translate and lang and lang != "en_US":
            translated = self.table[rid].get("_translations", {}).get(lang, {}).get(name)
            if translated:
                return translated
        if f.type == "one2many":
            assert f.relation and f.inverse_name
            co = self.sim.records.get(f.relation, {})
            return sorted(i for i, r in co.items() if r.get(f.inverse_name) == rid)
        value = self.table[rid].get(name, False)
        if f.type == "many2many":
            return list(value or [])
        return value

    def _compute_display_name(self, rid: int) -> str:
        return str(self.table[rid].get(self._rec_name) or "")

    def display_name_of(self, model: str, rid: int) -> str:
        co = self.env(model)
        if rid not in co.table:
            return ""
        return co._compute_display_name(rid)

    def selection_values(self, f: Field) -> list[tuple[str, str]]:
        if isinstance(f.selection, str):
            return getattr(self, f.selection)()
        return list(f.selection or [])

    # ---- value conversion (write side) -------------------------------------------------------
    def convert(self, name: str, value: Any) -> Any:
        f = self.field(name)
        if f.type in ("char", "text", "html"):
            return str(value) if value not in (None, False) else False
        if f.type == "integer":
            return int(value or 0)
        if f.type in ("float", "monetary"):
            return float(value or 0.0)
        if f.type == "boolean":
            return bool(value)
        if f.type == "selection":
            if value in (None, False):
                return False
            if value not in [k for k, _ in self.selection_values(f)]:
                raise OdooValueError(f"Wrong value for {self._name}.{name}: {value!r}")
            return value
        if f.type == "date":
            return self._convert_date(value, DATE_RE, "%Y-%m-%d")
        if f.type == "datetime":
            converted = self._convert_date(value, DATETIME_RE, "%Y-%m-%d %H:%M:%S")
            if converted and len(converted) == 10:  # a bare date means midnight, as in Odoo
                converted += " 00:00:00"
            return converted
        if f.type == "many2one":
            if value in (None, False, 0):
                return False
            if isinstance(value, list | tuple) and value:  # [id, name] as read returns it
                value = value[0]
            if not isinstance(value, int) or isinstance(value, bool):
                raise OdooValueError(f"Wrong value for {self._name}.{name}: {value!r}")
            assert f.relation
            if value not in self.sim.records.get(f.relation, {}):
                # Odoo lets PostgreSQL's foreign key refuse it, then wraps the IntegrityError.
                raise ValidationError(
                    "The operation cannot be completed: another model requires the record being "
                    "deleted. If possible, archive it instead.\n\n"
                    f"Model: {self._description} ({self._name})\n"
                    f"Constraint: {self._name.replace('.', '_')}_{name}_fkey\n"
                )
            return value
        if f.type == "binary":
            return value or False
        raise NotSimulated(f"odoosim: writing {f.type} field {self._name}.{name} is not simulated")

    @staticmethod
    def _convert_date(value: Any, pattern: re.Pattern[str], fmt: str) -> Any:
        if value in (None, False, ""):
            return False
        if not isinstance(value, str) or not pattern.match(value):
            raise OdooValueError(f"time data {value!r} does not match format '{fmt}'")
        try:
            datetime.strptime(value, fmt[: len(value) - 2] if len(value) == 10 and "H" in fmt else fmt)
        except ValueError as exc:
            raise OdooValueError(str(exc)) from exc
        return value

    def apply_x2many(self, name: str, current: list[int], commands: Any) -> list[int]:
        """Many2many commands: (6,0,ids) (4,id) (3,id) (5,) or a plain list of ids."""
        f = self.field(name)
        assert f.relation
        ids = list(current)
        if not isinstance(commands, list | tuple):
            raise OdooValueError(f"Wrong value for {self._name}.{name}: {commands!r}")
        comodel = self.sim.records.get(f.relation, {})
        for cmd in commands:
            if isinstance(cmd, int):
                cmd = (4, cmd)
            if not isinstance(cmd, list | tuple) or not cmd:
                raise OdooValueError(f"Wrong value for {self._name}.{name}: {commands!r}")
            code = cmd[0]
            if code == 6:
                ids = list(cmd[2] or [])
            elif code == 4:
                if cmd[1] not in ids:
                    ids.append(cmd[1])
            elif code == 3:
                ids = [i for i in ids if i != cmd[1]]
            elif code == 5:
                ids = []
            else:
                raise NotSimulated(f"odoosim: x2many command {code} on {self._name}.{name} is not simulated")
        for i in ids:
            if i not in comodel:
                raise missing(f.relation, [i], self.sim.uid)
        return ids

    # ---- generic create / write ------------------------------------------------------------
    def default_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, f in self._fields.items():
            if f.default is not None and f.stored:
                values[name] = f.default(self) if callable(f.default) else f.default
        return values

    def prepare_vals(self, vals: dict[str, Any], current: dict[str, Any] | None) -> tuple[dict, dict]:
        """Split vals into stored values and one2many commands, converting and validating."""
        if not isinstance(vals, dict):
            raise OdooValueError(f"Invalid values for {self._name}: {vals!r}")
        stored: dict[str, Any] = {}
        o2m: dict[str, Any] = {}
        for name, value in vals.items():
            f = self.field(name)
            if name == "id" or f.compute:
                continue  # Odoo ignores values for computed fields without an inverse
            if f.type == "one2many":
                o2m[name] = value
            elif f.type == "many2many":
                stored[name] = self.apply_x2many(name, (current or {}).get(name, []), value)
            else:
                stored[name] = self.convert(name, value)
        return stored, o2m

    def check_required(self, record: dict[str, Any]) -> None:
        for name, f in self._fields.items():
            if f.required and f.stored and record.get(name) in (None, False):
                raise mandatory_field(self._description, self._name, f.string, name)

    def create_record(self, vals: dict[str, Any]) -> int:
        if not self._writable:
            raise NotSimulated(f"odoosim: creating {self._name} records is not simulated")
        stored, o2m = self.prepare_vals(vals, None)
        record = self.default_values()
        record.update(stored)
        self.before_create(record)
        self.check_required(record)
        rid = self.sim.next_id(self._name)
        stamp = now_str()
        record.update(create_date=stamp, write_date=stamp, create_uid=self.sim.uid, write_uid=self.sim.uid)
        self.table[rid] = record
        self.sim.touch()
        self.apply_one2many(rid, o2m)
        self.browse([rid]).after_write(rid, set(stored) | set(o2m), created=True)
        return rid

    def write_records(self, vals: dict[str, Any]) -> None:
        if not self._writable:
            raise NotSimulated(f"odoosim: writing {self._name} records is not simulated")
        self.check_exist()
        lang = self.context.get("lang")
        translated = {k: v for k, v in vals.items() if k in self._fields and self._fields[k].translate}
        if lang and lang != "en_US" and translated:
            # Odoo 18 writes a translatable field in the context's language, leaving the others as they are
            vals = {k: v for k, v in vals.items() if k not in translated}
            for rid in self.ids:
                per_lang = self.table[rid].setdefault("_translations", {}).setdefault(lang, {})
                per_lang.update(translated)
            self.sim.touch()
        for rid in self.ids:
            stored, o2m = self.prepare_vals(vals, self.table[rid])
            merged = {**self.table[rid], **stored}
            self.before_write(rid, merged, stored)
            self.check_required(merged)
            merged.update(write_date=now_str(), write_uid=self.sim.uid)
            self.table[rid] = merged
            self.sim.touch()
            self.apply_one2many(rid, o2m)
            self.after_write(rid, set(stored) | set(o2m), created=False)

    def apply_one2many(self, rid: int, o2m: dict[str, Any]) -> None:
        for name, commands in o2m.items():
            f = self._fields[name]
            assert f.relation and f.inverse_name
            co = self.env(f.relation)
            for cmd in commands or []:
                if not isinstance(cmd, list | tuple) or not cmd:
                    raise OdooValueError(f"Wrong value for {self._name}.{name}: {commands!r}")
                code = cmd[0]
                if code == 0:
                    co.create_record({**(cmd[2] or {}), f.inverse_name: rid})
                elif code == 1:
                    co.browse([cmd[1]]).write_records(cmd[2] or {})
                elif code == 2:
                    co.browse([cmd[1]]).delete_records()
                else:
                    raise NotSimulated(
                        f"odoosim: one2many command {code} on {self._name}.{name} is not simulated"
                    )

    def delete_records(self) -> None:
        raise NotSimulated(f"odoosim: deleting {self._name} records is not simulated")

    # Hooks for business rules; ``record`` is the full stored dict being created/updated.
    def before_create(self, record: dict[str, Any]) -> None:
        pass

    def before_write(self, rid: int, record: dict[str, Any], changed: dict[str, Any]) -> None:
        pass

    def after_write(self, rid: int, changed: set[str], *, created: bool) -> None:
        pass

    # ---- search ------------------------------------------------------------------------------
    def _active_filter(self, tree: dom.Tree) -> bool:
        if "active" not in self._fields or not self.context.get("active_test", True):
            return False
        return not any(leaf.field.split(".")[0] == "active" for leaf in dom.leaves(tree))

    def search_ids(self, domain: Any, offset: int = 0, limit: int | None = None,
                   order: str | None = None) -> list[int]:
        tree = dom.parse(domain)
        for leaf in dom.leaves(tree):  # validate before scanning, so errors do not depend on data
            self._leaf_field(leaf)
        active_only = self._active_filter(tree)
        hits = [
            rid for rid in self.table
            if (not active_only or self.table[rid].get("active", True))
            and dom.evaluate(tree, lambda leaf, rid=rid: self.match_leaf(rid, leaf))
        ]
        hits = self.sort_ids(hits, order or self._order)
        offset = int(offset or 0)
        hits = hits[offset:]
        if limit not in (None, False):
            hits = hits[: int(limit)]
        return hits

    def _leaf_field(self, leaf: dom.Leaf) -> Field:
        """The leaf's first field; the whole dotted path is checked so a typo fails on any data."""
        model: BaseModel = self
        names = leaf.field.split(".")
        fields_on_path: list[Field] = []
        for i, name in enumerate(names):
            f = model._fields.get(name)
            if f is None:
                raise OdooValueError(f"Invalid field {model._name}.{name} in leaf {leaf!r}")
            fields_on_path.append(f)
            if i < len(names) - 1:
                if not f.relation:
                    raise OdooValueError(f"Invalid field {model._name}.{'.'.join(names[i:])} in leaf {leaf!r}")
                model = self.env(f.relation)
        return fields_on_path[0]

    def match_leaf(self, rid: int, leaf: dom.Leaf) -> bool:
        f = self._leaf_field(leaf)
        path = leaf.field.split(".")
        name, op, value = path[0], leaf.operator, leaf.value
        raw = self.raw(rid, name)
        if len(path) > 1:
            if not f.relational:
                raise OdooValueError(f"Invalid field {self._name}.{leaf.field} in leaf {leaf!r}")
            assert f.relation
            ids = dom.as_list(raw) if raw else []
            sub = dom.Leaf(".".join(path[1:]), op, value)
            co = self.env(f.relation)
            return any(co.match_leaf(i, sub) for i in ids if i in co.table)
        if op in ("child_of", "parent_of"):
            return self._match_hierarchy(name, f, raw, op, value)
        if f.type == "many2one":
            if isinstance(value, str) or op.endswith("like") or (
                isinstance(value, tuple) and any(isinstance(v, str) for v in value)
            ):
                shown = self.display_name_of(f.relation or "", raw) if raw else False
                return dom.compare(op, shown, value)
            return dom.compare(op, raw, value)
        if f.type in ("one2many", "many2many"):
            return self._match_x2many(f, raw, op, value)
        if f.type in ("float", "monetary") and isinstance(value, int | float) and not isinstance(value, bool):
            raw = float(raw or 0.0)
        return dom.compare(op, raw, value)

    def _match_x2many(self, f: Field, ids: list[int], op: str, value: Any) -> bool:
        if value in (None, False) and op in ("=", "!="):
            return (not ids) == (op == "=")
        negative = op in ("!=", "not in", "not like", "not ilike")
        positive_op = {"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}.get(op, op)
        if op.endswith("like") or isinstance(value, str):
            hit = any(dom.compare(positive_op, self.display_name_of(f.relation or "", i), value) for i in ids)
        else:
            wanted = set(dom.as_list(value))
            hit = bool(wanted & set(ids))
        return hit != negative

    def _match_hierarchy(self, name: str, f: Field, raw: Any, op: str, value: Any) -> bool:
        co = self if name == "id" else self.env(f.relation or "")
        parent = co._parent_name
        if not parent or not (name == "id" or f.relational):
            raise NotSimulated(f"odoosim: {op} on {self._name}.{name} is not simulated")
        roots: set[int] = set()
        for v in dom.as_list(value):
            if isinstance(v, str):
                roots.update(i for i, _ in co.name_search(v, operator="ilike", limit=0))
            elif v:
                roots.add(int(v))
        targets = set(roots)
        if op == "child_of":
            frontier = set(roots)
            while frontier:
                frontier = {i for i, r in co.table.items() if r.get(parent) in frontier} - targets
                targets |= frontier
        else:
            for rid in roots:
                while rid in co.table and co.table[rid].get(parent):
                    rid = co.table[rid][parent]
                    targets.add(rid)
        values = dom.as_list(raw) if isinstance(raw, list) else ([raw] if raw else [])
        return any(v in targets for v in values)

    def sort_ids(self, ids: list[int], order: str) -> list[int]:
        parts = dom.sort_key_parts(order, list(self._fields), self._name)
        result = list(ids)
        # Stable sorts from the last key to the first; PostgreSQL puts NULLs last ascending and
        # first descending, which reversing the (is_null, value) key reproduces.
        for name, desc in reversed(parts):
            def key(rid: int, name: str = name) -> tuple[int, Any]:
                value = self.raw(rid, name)
                if isinstance(value, list):
                    value = value[0] if value else None
                if value is None or (value is False and self._fields[name].type != "boolean"):
                    return (1, 0)
                if isinstance(value, str):
                    return (0, value.casefold())
                return (0, value)
            result.sort(key=key, reverse=desc)
        return result

    # ---- read ----------------------------------------------------------------------------------
    def format_value(self, rid: int, name: str, load: str | None = "_classic_read") -> Any:
        f = self._fields[name]
        value = self.raw(rid, name)
        if f.type == "many2one":
            if not value:
                return False
            if load == "_classic_write":
                return value
            return [value, self.display_name_of(f.relation or "", value)]
        if f.type in ("one2many", "many2many"):
            return list(value or [])
        if f.type in ("float", "monetary"):
            return float(value or 0.0)
        if f.type == "integer":
            return int(value or 0)
        if f.type == "boolean":
            return bool(value)
        if value is None:
            return False
        return value

    def read_fields(self, fields: Any) -> list[str]:
        if not fields:
            return [n for n in self._fields if n != "id"]
        if isinstance(fields, str):
            fields = [fields]
        for name in fields:
            self.field(name)
        return [n for n in fields if n != "id"]

    def read_records(self, fields: Any = None, load: str | None = "_classic_read") -> list[dict[str, Any]]:
        names = self.read_fields(fields)
        rows = []
        for rid in self.ids:
            if rid not in self.table:
                continue  # Odoo 18 drops ids that do not exist (the wire shows `[]`)
            row: dict[str, Any] = {"id": rid}
            for name in names:
                row[name] = self.format_value(rid, name, load)
            rows.append(row)
        return rows

    # ---- the generic RPC surface ------------------------------------------------------------------
    @rpc_model
    def search(self, domain: Any, offset: int = 0, limit: int | None = None, order: str | None = None
               ) -> list[int]:
        # Odoo 17 removed search(count=True); passing it is a TypeError there as here.
        return self.search_ids(domain, offset, limit, order)

    @rpc_model
    def search_count(self, domain: Any, limit: int | None = None) -> int:
        return len(self.search_ids(domain, 0, limit))

    @rpc_model
    def search_read(self, domain: Any = None, fields: Any = None, offset: int = 0,
                    limit: int | None = None, order: str | None = None,
                    load: str = "_classic_read") -> list[dict[str, Any]]:
        self.read_fields(fields)  # unknown fields fail even when nothing matches, as in Odoo
        ids = self.search_ids(domain or [], offset, limit, order)
        return self.browse(ids).read_records(fields, load)

    @rpc_multi
    def read(self, fields: Any = None, load: str = "_classic_read") -> list[dict[str, Any]]:
        return self.read_records(fields, load)

    @rpc_model
    def create(self, vals_list: Any) -> int | list[int]:
        if isinstance(vals_list, dict):
            return self.create_record(vals_list)
        if not isinstance(vals_list, list):
            raise OdooValueError(f"Invalid values for {self._name}: {vals_list!r}")
        return [self.create_record(vals) for vals in vals_list]

    @rpc_multi
    def write(self, vals: dict[str, Any]) -> bool:
        self.write_records(vals)
        return True

    @rpc_model
    def fields_get(self, allfields: list[str] | None = None, attributes: list[str] | None = None
                   ) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for name, f in self._fields.items():
            if allfields and name not in allfields:
                continue
            desc: dict[str, Any] = {
                "type": f.type, "string": f.string, "required": f.required,
                "readonly": f.readonly or bool(f.compute), "store": f.stored,
                "searchable": True, "sortable": f.stored,
            }
            if f.relation:
                desc["relation"] = f.relation
            if f.type == "one2many":
                desc["relation_field"] = f.inverse_name
            if f.type == "selection":
                desc["selection"] = [list(p) for p in self.selection_values(f)]
            if attributes:
                desc = {k: v for k, v in desc.items() if k in attributes}
            result[name] = desc
        return result

    @rpc_model
    def default_get(self, fields_list: list[str]) -> dict[str, Any]:
        defaults = self.default_values()
        out = {}
        for name in fields_list:
            self.field(name)
            if name in defaults:
                out[name] = defaults[name]
        return out

    @rpc_model
    def name_search(self, name: str = "", domain: Any = None, operator: str = "ilike",
                    limit: int = 100) -> list[list[Any]]:
        ids = self.search_ids(domain or [], 0, None)
        hits = [i for i in ids if not name or dom.compare(operator, self._compute_display_name(i), name)]
        return [[i, self._compute_display_name(i)] for i in hits[: limit or None]]


# Named BaseModel like Odoo's class, so TypeErrors from the generic methods read as Odoo's
# ("BaseModel.search() got an unexpected keyword argument 'count'").
Model = BaseModel
