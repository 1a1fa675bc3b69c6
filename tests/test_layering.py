"""The packages stand on each other in one order: an import never reaches up, no modules import each
other in a loop, and no package takes another's private names. Imports are read with `ast`, so
those inside functions and under TYPE_CHECKING count too.

    bot        app assembly, channels, inbox, pipeline, outbox, scheduler, CLI
    handlers   one module per capability
    nlp        storage      (side by side: neither imports the other)
    config
    core       Message, Outgoing, the clock
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# A package may import those of a lower rank and itself; never a higher or an equal other one.
RANK = {"core": 0, "config": 1, "nlp": 2, "storage": 2, "handlers": 3, "bot": 4}


def modules() -> dict[str, Path]:
    """Every module of the product packages, by dotted name."""
    found = {}
    for package in RANK:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, module: str) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names taken from it) of every import statement in the file."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the importing package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base, [alias.name for alias in node.names]))
    return found


def test_no_package_imports_a_higher_one() -> None:
    upward = []
    for module, path in modules().items():
        own = module.split(".")[0]
        for line, target, _ in imports_of(path, module):
            other = target.split(".")[0]
            if other in RANK and other != own and RANK[other] >= RANK[own]:
                upward.append(f"{path.relative_to(REPO)}:{line}: {own} imports {target}")
    assert upward == [], "imports that reach up or sideways:\n" + "\n".join(upward)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (`from pkg import module` names the module)."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        edges = graph.setdefault(module, set())
        for _, target, names in imports_of(path, module):
            for name in names or [""]:
                full = f"{target}.{name}" if name else target
                if full in known:
                    edges.add(full)
                elif target in known:
                    edges.add(target)
        edges.discard(module)
    return graph


def loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other in a loop (strongly connected, Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_modules_import_each_other_in_a_loop() -> None:
    assert loops(import_graph()) == []


def test_no_package_takes_another_packages_private_names() -> None:
    taken = []
    for module, path in modules().items():
        own = module.split(".")[0]
        for line, target, names in imports_of(path, module):
            if target.split(".")[0] in RANK and target.split(".")[0] != own:
                taken += [f"{path.relative_to(REPO)}:{line}: {target}.{n}" for n in names if n.startswith("_")]
    assert taken == []


def test_a_loop_is_found_however_long() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert loops(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(("source", "allowed"), [
    ("from bot.app import Linli", False),
    ("def f():\n    from bot.outbox import OutboxDrainer", False),
    ("from storage.models import Base", True),
])
def test_the_check_sees_imports_wherever_they_stand(tmp_path: Path, source: str, allowed: bool) -> None:
    path = tmp_path / "handlers" / "example.py"
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    targets = [target.split(".")[0] for _, target, _ in imports_of(path, "handlers.example")]
    assert all(RANK[t] < RANK["handlers"] for t in targets) is allowed
