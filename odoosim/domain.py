"""Odoo search domains: parsing (prefix '&', '|', '!' with implicit AND) and leaf comparison.

Only the pure parts live here; the model layer decides what a field's value is (many2one id,
many2many ids, computed stock figures) and calls :func:`compare` for scalar tests.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from odoosim.errors import OdooValueError

OPERATORS = frozenset(
    {
        "=", "!=", "<>", "<", ">", "<=", ">=", "in", "not in",
        "like", "not like", "ilike", "not ilike", "=like", "=ilike", "child_of", "parent_of",
    }
)


@dataclass(frozen=True)
class Leaf:
    field: str
    operator: str
    value: Any

    def __repr__(self) -> str:  # shown like Odoo shows a leaf tuple in its messages
        return repr((self.field, self.operator, self.value))


@dataclass(frozen=True)
class Node:
    op: str  # '&', '|', '!'
    children: tuple[Node | Leaf | bool, ...]


Tree = Node | Leaf | bool  # bool: Odoo's TRUE_LEAF (1, '=', 1) / FALSE_LEAF (0, '=', 1)


def _leaf(term: Any) -> Leaf | bool:
    if not isinstance(term, list | tuple) or len(term) != 3:
        raise OdooValueError(f"Invalid leaf {term!r}")
    field, operator, value = term
    if field in (0, 1) and operator == "=" and value == 1:
        return bool(field)
    if not isinstance(field, str) or not isinstance(operator, str):
        raise OdooValueError(f"Invalid leaf {tuple(term)!r}")
    operator = operator.lower()
    if operator == "<>":
        operator = "!="
    if operator not in OPERATORS:
        raise OdooValueError(f"Invalid leaf {tuple(term)!r}")
    if isinstance(value, list):
        value = tuple(value)  # hashable and printed like Odoo prints it
    return Leaf(field, operator, value)


def parse(domain: Any) -> Tree:
    """Turn a JSON domain into a tree; terms without an operator are AND-ed, like Odoo does."""
    if domain in (None, False):
        return True
    if not isinstance(domain, list | tuple):
        raise OdooValueError(f"Invalid domain: {domain!r}")
    stack: list[Tree] = []
    # Prefix notation is easiest to evaluate from the end: operands are pushed, operators pop them.
    for term in reversed(domain):
        if term in ("&", "|"):
            if len(stack) < 2:
                raise OdooValueError(f"Invalid domain: {list(domain)!r}")
            a, b = stack.pop(), stack.pop()
            stack.append(Node(term, (a, b)))
        elif term == "!":
            if not stack:
                raise OdooValueError(f"Invalid domain: {list(domain)!r}")
            stack.append(Node("!", (stack.pop(),)))
        else:
            stack.append(_leaf(term))
    if not stack:
        return True
    tree = stack.pop()
    while stack:  # implicit '&' between top-level terms
        tree = Node("&", (tree, stack.pop()))
    return tree


def leaves(tree: Tree) -> list[Leaf]:
    if isinstance(tree, Leaf):
        return [tree]
    if isinstance(tree, Node):
        return [leaf for child in tree.children for leaf in leaves(child)]
    return []


def evaluate(tree: Tree, leaf_fn: Callable[[Leaf], bool]) -> bool:
    if isinstance(tree, bool):
        return tree
    if isinstance(tree, Leaf):
        return leaf_fn(tree)
    if tree.op == "!":
        return not evaluate(tree.children[0], leaf_fn)
    if tree.op == "&":
        return all(evaluate(child, leaf_fn) for child in tree.children)
    return any(evaluate(child, leaf_fn) for child in tree.children)


def _like_regex(pattern: str, *, wrap: bool, ignore_case: bool) -> re.Pattern[str]:
    # SQL LIKE: % is any run, _ is one character; 'like'/'ilike' wrap the value in %...%.
    body = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    if wrap:
        body = f".*{body}.*"
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _is_null(value: Any) -> bool:
    return value is None or value is False


def compare(operator: str, field_value: Any, value: Any) -> bool:
    """One scalar comparison with SQL NULL semantics as Odoo generates them.

    ``field_value`` False/None is NULL. Odoo turns ``!=``/``not in``/``not like`` into
    ``... OR field IS NULL``, so those match NULLs; the others never do (except ``= False``).
    """
    null = _is_null(field_value)
    if operator == "=":
        if _is_null(value):
            return null
        return not null and field_value == value
    if operator == "!=":
        if _is_null(value):
            return not null
        return null or field_value != value
    if operator in ("in", "not in"):
        values = list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
        has_null = any(_is_null(v) for v in values)
        hit = (null and has_null) or (not null and field_value in [v for v in values if not _is_null(v)])
        return hit if operator == "in" else not hit
    if operator in ("like", "ilike", "=like", "=ilike", "not like", "not ilike"):
        negate = operator.startswith("not ")
        base = operator.removeprefix("not ")
        if _is_null(value) or value == "":
            # Odoo: ('f', 'ilike', False/'') matches everything; 'not ilike' nothing.
            return not negate
        if null:
            return negate
        regex = _like_regex(str(value), wrap=not base.startswith("="), ignore_case="ilike" in base)
        hit = bool(regex.match(str(field_value)))
        return hit != negate
    if operator in ("<", ">", "<=", ">="):
        if null or _is_null(value):
            return False
        try:
            if operator == "<":
                return field_value < value
            if operator == ">":
                return field_value > value
            if operator == "<=":
                return field_value <= value
            return field_value >= value
        except TypeError as exc:
            raise OdooValueError(f"Cannot compare {field_value!r} {operator} {value!r}") from exc
    raise OdooValueError(f"Invalid operator {operator!r}")


def as_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    return [value]


def sort_key_parts(order: str, valid: Sequence[str], model: str) -> list[tuple[str, bool]]:
    """Parse an ``order`` spec ("id desc, name") into (field, descending) pairs."""
    parts: list[tuple[str, bool]] = []
    for chunk in order.split(","):
        words = chunk.strip().split()
        if not words:
            continue
        field = words[0].strip('"')
        direction = words[1].lower() if len(words) > 1 else "asc"
        if field not in valid or direction not in ("asc", "desc") or len(words) > 4:
            raise OdooValueError(f"Invalid \"order\" specified ({order}). A valid \"order\" "
                                 "specification is a comma-separated list of valid field names "
                                 "(optionally followed by asc/desc for the direction)")
        parts.append((field, direction == "desc"))
    return parts
