"""orderd's import graph: no circle, and no module importing a package that contains it."""

from __future__ import annotations

from pathlib import Path

from bench.import_graph import build

ROOT = Path(__file__).resolve().parents[2]


def test_orderd_imports_have_no_circle_and_nothing_upward() -> None:
    graph = build(ROOT / "orderd")
    assert graph.circles() == []
    assert graph.upward() == []
