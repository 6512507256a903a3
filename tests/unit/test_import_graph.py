"""orderd's import graph: no circle, and no module importing a package that contains it."""

from __future__ import annotations

from pathlib import Path

from bench.import_graph import build

ROOT = Path(__file__).resolve().parents[2]


def test_orderd_imports_have_no_circle_and_nothing_upward() -> None:
    graph = build(ROOT / "orderd")
    assert graph.circles() == []
    assert graph.upward() == []


def test_reading_depends_on_no_peer() -> None:
    """understand/ and extract/ are pure: nothing they import, however indirectly, reaches Odoo, the store,
    the mail composer or the intake."""
    graph = build(ROOT / "orderd")
    reached: set[str] = set()
    todo = [m for m in graph.modules if m.startswith(("orderd.understand", "orderd.extract"))]
    while todo:
        module = todo.pop()
        for a, b in graph.arrows:
            if a == module and b not in reached:
                reached.add(b)
                todo.append(b)
    peers = ("orderd.odoo", "orderd.store", "orderd.reply", "orderd.outbox", "orderd.intake", "orderd.smtp")
    assert sorted(m for m in reached if m.startswith(peers)) == []
