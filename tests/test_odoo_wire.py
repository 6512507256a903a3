"""Replay the real Odoo 18 exchanges of tests/wire/ against the simulator.

Each recorded request is POSTed as recorded (same path, same JSON body) to a simulator seeded from
fixtures/catalog.json, in the recorded order. Ids the real server handed out (the order 2703, the
activity 2, the partner 22) are mapped to the ids the simulator returned before later requests
use them. Compared: HTTP status, the envelope, an error's name/message/arguments (and
exception_type when recorded), the result's type and keys, and the values that carry Odoo's
semantics (stock figures, states, amounts, relations). Not compared: ids, sequence names,
timestamps, and seed data that legitimately differs (a contact's language).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from odoosim import OdooSim
from odoosim.threaded import ThreadedSim
from orderd.catalog import Catalog

# The recorded exchanges are committed with the tests (tests/wire/README.md says where they come from).
WIRE_DIR = Path(__file__).resolve().parent / "wire"
EXCHANGES_FILE = WIRE_DIR / "exchanges.json"
CATALOG = Path(__file__).resolve().parents[1] / "fixtures" / "catalog.json"

# Result values that carry Odoo semantics and must be equal, not merely present.
SEMANTIC_FIELDS = frozenset({
    "state", "qty_available", "free_qty", "virtual_available", "amount_untaxed", "amount_tax",
    "amount_total", "price_subtotal", "free_qty_today", "product_uom_qty", "price_unit",
    "commercial_partner_id", "parent_id", "partner_id", "customer_rank", "is_storable", "type",
    "uom_id", "product_uom", "currency_id", "user_id", "default_code", "barcode", "list_price",
    "email", "is_company", "category_id", "client_order_ref", "commitment_date", "origin",
    "product_id", "res_model", "view_mode", "target", "mark_so_as_canceled", "model_description",
    "server_serie", "server_version_info", "protocol_version", "uid", "tz",
})
# Methods whose integer result is a new record id (mapped, not compared).
CREATING_METHODS = frozenset({"create", "message_post"})


def _load() -> list[dict[str, Any]]:
    if not EXCHANGES_FILE.exists():
        return []
    return json.loads(EXCHANGES_FILE.read_text(encoding="utf-8"))


EXCHANGES = _load()


def _method(exchange: dict[str, Any]) -> str:
    args = exchange["request"].get("params", {}).get("args") or []
    if exchange["request"]["params"].get("service") == "object" and len(args) >= 5:
        return str(args[4])
    return str(exchange["request"]["params"].get("method", exchange["path"]))


# Fields that hold an id of another model: recorded ids there are mapped to the simulator's.
FOREIGN_KEYS = {"order_id": "sale.order", "default_order_id": "sale.order", "partner_id": "res.partner",
                "res_id": "sale.order", "parent_id": "res.partner"}
# Model-level methods (no ids as first argument).
MODEL_METHODS = frozenset({"create", "search", "search_read", "search_count", "fields_get", "name_search",
                           "context_get", "default_get"})

IdMap = dict[str, dict[int, int]]  # model -> recorded id -> simulator id


def _map_fk(value: Any, id_map: IdMap) -> Any:
    """Map ids under foreign-key names, in values dicts and in domain leaves."""
    if isinstance(value, dict):
        return {k: _map_one(v, id_map.get(FOREIGN_KEYS[k], {})) if k in FOREIGN_KEYS else _map_fk(v, id_map)
                for k, v in value.items()}
    if isinstance(value, list):
        if len(value) == 3 and isinstance(value[0], str) and value[0] in FOREIGN_KEYS:
            return [value[0], value[1], _map_one(value[2], id_map.get(FOREIGN_KEYS[value[0]], {}))]
        return [_map_fk(v, id_map) for v in value]
    return value


def _map_one(value: Any, ids: dict[int, int]) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return ids.get(value, value)
    if isinstance(value, list) and value and isinstance(value[0], int) and not isinstance(value[0], bool):
        return [ids.get(value[0], value[0]), *value[1:]]  # many2one [id, name] or a list of ids
    return value


def _map_request(request: dict[str, Any], id_map: IdMap) -> dict[str, Any]:
    body = json.loads(json.dumps(request))
    args = body.get("params", {}).get("args") or []
    if body["params"].get("service") != "object" or len(args) < 6:
        return body
    model, method = args[3], args[4]
    call_args = args[5]
    if method not in MODEL_METHODS and call_args:
        ids = id_map.get(model, {})
        call_args[0] = [ids.get(i, i) for i in call_args[0]] if isinstance(call_args[0], list) else \
            ids.get(call_args[0], call_args[0])
    args[5:] = _map_fk(args[5:], id_map)
    return body


def _map_result(result: Any, model: str, id_map: IdMap) -> Any:
    mapped = _map_fk(result, id_map)
    ids = id_map.get(model, {})
    if isinstance(mapped, list):
        return [{**row, "id": ids.get(row["id"], row["id"])} if isinstance(row, dict) and "id" in row else row
                for row in mapped]
    return mapped


def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def _compare(expected: Any, actual: Any, path: str, problems: list[str]) -> None:
    """Same JSON type, same keys, same list lengths; equal values for semantic fields."""
    if type(expected) is not type(actual) and not (
        isinstance(expected, int | float) and isinstance(actual, int | float)
        and not isinstance(expected, bool) and not isinstance(actual, bool)
    ):
        problems.append(f"{path}: expected {type(expected).__name__} {expected!r}, got "
                        f"{type(actual).__name__} {actual!r}")
        return
    if isinstance(expected, dict):
        if set(expected) != set(actual):
            problems.append(f"{path}: keys {sorted(expected)} != {sorted(actual)}")
        for key in set(expected) & set(actual):
            sub = f"{path}.{key}"
            if key in SEMANTIC_FIELDS and expected[key] != actual[key]:
                problems.append(f"{sub}: expected {expected[key]!r}, got {actual[key]!r}")
            else:
                _compare(expected[key], actual[key], sub, problems)
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            problems.append(f"{path}: {len(expected)} items expected, got {len(actual)}")
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            _compare(e, a, f"{path}[{i}]", problems)
    elif isinstance(expected, bool) and expected != actual:
        problems.append(f"{path}: expected {expected!r}, got {actual!r}")


def check_exchange(exchange: dict[str, Any], status: int, response: Any, id_map: IdMap) -> list[str]:
    problems: list[str] = []
    recorded = exchange["response"]
    if status != exchange["http_status"]:
        return [f"HTTP {status}, recorded {exchange['http_status']}"]
    if not isinstance(response, dict):
        return [f"not a JSON-RPC response: {response!r}"]
    if response.get("jsonrpc") != "2.0" or response.get("id") != exchange["request"]["id"]:
        problems.append(f"envelope jsonrpc/id: {response.get('jsonrpc')!r}/{response.get('id')!r}")
    if "error" in recorded:
        error = response.get("error")
        if not isinstance(error, dict):
            return [*problems, f"expected an error, got {response!r}"]
        want, got = recorded["error"], error
        for key in ("code", "message"):
            if want[key] != got.get(key):
                problems.append(f"error.{key}: {want[key]!r} != {got.get(key)!r}")
        data = got.get("data") or {}
        if set(want["data"]) != set(data):
            problems.append(f"error.data keys {sorted(want['data'])} != {sorted(data)}")
        for key in ("name", "message", "arguments", "exception_type"):
            if key in want["data"] and want["data"][key] != data.get(key):
                problems.append(f"error.data.{key}: {want['data'][key]!r} != {data.get(key)!r}")
        return problems
    if "result" not in response:
        return [*problems, f"expected a result, got {response!r}"]
    expected, actual = recorded["result"], response["result"]
    method = _method(exchange)
    args = exchange["request"]["params"].get("args") or []
    model = str(args[3]) if len(args) > 3 else ""
    if method in CREATING_METHODS and isinstance(expected, int) and not isinstance(expected, bool):
        if not isinstance(actual, int) or isinstance(actual, bool):
            problems.append(f"expected a new id, got {actual!r}")
        else:
            id_map.setdefault("mail.message" if method == "message_post" else model, {})[expected] = actual
        return problems
    if isinstance(expected, list) and all(isinstance(i, int) for i in expected) and expected:
        # search results: ids, compared after mapping the ones we know
        want = [id_map.get(model, {}).get(i, i) for i in expected]
        if want != actual:
            problems.append(f"ids {want!r} != {actual!r}")
        return problems
    _compare(_map_result(expected, model, id_map), actual, "result", problems)
    return problems


@pytest.fixture(scope="module")
def replay() -> Iterator[list[list[str]]]:
    """Replays every exchange once, in order, and yields the problems found for each."""
    assert EXCHANGES_FILE.exists(), f"missing {EXCHANGES_FILE}"
    sim = OdooSim.from_catalog(Catalog.from_file(CATALOG))
    threaded = ThreadedSim(sim)
    id_map: IdMap = {}
    outcomes: list[list[str]] = []
    try:
        for exchange in EXCHANGES:
            body = _map_request(exchange["request"], id_map)
            status, response = _post(threaded.url + exchange["path"], body)
            outcomes.append(check_exchange(exchange, status, response, id_map))
        yield outcomes
    finally:
        threaded.close()


def test_wire_file_is_present() -> None:
    assert EXCHANGES_FILE.exists(), f"missing {EXCHANGES_FILE}"
    assert len(EXCHANGES) >= 32


@pytest.mark.parametrize("index", range(len(EXCHANGES)),
                         ids=[f"{i:02d}-{e['note'][:40]}" for i, e in enumerate(EXCHANGES)])
def test_exchange(replay: list[list[str]], index: int) -> None:
    exchange = EXCHANGES[index]
    problems = replay[index]
    assert not problems, f"exchange {index} ({exchange['note']}):\n  " + "\n  ".join(problems)


def test_comparison_catches_differences() -> None:
    """The checker itself must notice a wrong stock figure, a wrong error and a missing key."""
    exchange = {"request": {"id": 1, "params": {"service": "object", "method": "execute_kw",
                                                "args": ["orders", 2, "admin", "product.product", "read"]}},
                "path": "/jsonrpc", "http_status": 200,
                "response": {"jsonrpc": "2.0", "id": 1, "result": [{"id": 1, "free_qty": 0.0, "name": "x"}]}}
    assert check_exchange(exchange, 200, {"jsonrpc": "2.0", "id": 1,
                                          "result": [{"id": 1, "free_qty": 0.0, "name": "y"}]}, {}) == []
    assert check_exchange(exchange, 200, {"jsonrpc": "2.0", "id": 1,
                                          "result": [{"id": 1, "free_qty": 40.0, "name": "x"}]}, {})
    assert check_exchange(exchange, 200, {"jsonrpc": "2.0", "id": 1, "result": [{"id": 1, "free_qty": 0.0}]}, {})
    assert check_exchange(exchange, 500, "<html>", {})
