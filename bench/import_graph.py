"""The import graph of a package: modules, import arrows, floors, circles and upward imports.

    python -m bench.import_graph [PACKAGE_DIR]     (default: orderd)

An arrow is one module naming another of the same package in an import statement, wherever the
statement stands (a function-level import is still a dependency). A circle is a strongly connected
group of two or more modules. An upward import is a module importing a package that contains it (its
own `__init__`, or an ancestor's): the package then depends on its parts and its parts on it. Floors
are the longest chain of arrows below a module, plus one. Exit status 1 when there is a circle or an
upward import, so a test can hold the line.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Graph:
    modules: list[str]
    arrows: set[tuple[str, str]]

    def circles(self) -> list[list[str]]:
        """Strongly connected groups of more than one module (Tarjan), each sorted."""
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        found: list[list[str]] = []
        successors = {m: sorted(b for a, b in self.arrows if a == m) for m in self.modules}

        def visit(module: str) -> None:
            index[module] = low[module] = len(index)
            stack.append(module)
            on_stack.add(module)
            for nxt in successors[module]:
                if nxt not in index:
                    visit(nxt)
                    low[module] = min(low[module], low[nxt])
                elif nxt in on_stack:
                    low[module] = min(low[module], index[nxt])
            if low[module] == index[module]:
                group = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    group.append(top)
                    if top == module:
                        break
                if len(group) > 1:
                    found.append(sorted(group))

        for module in self.modules:
            if module not in index:
                visit(module)
        return found

    def upward(self) -> list[tuple[str, str]]:
        return sorted((a, b) for a, b in self.arrows if a.startswith(b + "."))

    def floors(self) -> int:
        """The longest chain of arrows, counted in modules (circles are cut where they close)."""
        depth: dict[str, int] = {}
        successors = {m: [b for a, b in self.arrows if a == m] for m in self.modules}

        def height(module: str, path: frozenset[str]) -> int:
            if module in depth:
                return depth[module]
            below = [height(n, path | {module}) for n in successors[module] if n not in path and n != module]
            depth[module] = 1 + max(below, default=0)
            return depth[module]

        return max((height(m, frozenset()) for m in self.modules), default=0)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def build(root: Path) -> Graph:
    files = sorted(root.rglob("*.py"))
    names = {module_name(root, f): f for f in files}
    arrows: set[tuple[str, str]] = set()
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from . import x, from ..a import b
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from pkg import sub` names the submodule when there is one, else pkg itself
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in node.names]
            for target in targets:
                while target and target not in names:  # `import a.b.c` of a non-module attribute
                    target = target.rpartition(".")[0]
                if target and target != name:
                    arrows.add((name, target))
    return Graph(sorted(names), arrows)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "orderd").resolve()
    graph = build(root)
    circles, upward = graph.circles(), graph.upward()
    print(f"{root.name}: {len(graph.modules)} modules, {len(graph.arrows)} import arrows, "
          f"{graph.floors()} floors, {len(circles)} circles, {len(upward)} upward imports")
    for group in circles:
        print("circle: " + " ⇄ ".join(group))
    for a, b in upward:
        print(f"upward: {a} → {b}")
    return 1 if circles or upward else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
