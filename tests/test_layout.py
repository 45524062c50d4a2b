"""The package is laid out as its pipeline: no module imports another that imports it back
(however indirectly, and wherever in the module the import stands), and no module is
longer than a reader can hold in mind."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "composer"
MAX_LINES = 400


def modules(root: Path) -> dict[str, Path]:
    """Every module of the package under root, by dotted name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules this module imports, by any `import` or `from … import`
    anywhere in it (a function's body, a TYPE_CHECKING block): `from a import b` imports
    a.b where that is a module, else a."""
    top = name.split(".")[0]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == top}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            if base.split(".")[0] != top:
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                out.add(sub if sub in known else base)
    return {m for m in out if m in known and m != name}


def cycles(root: Path) -> list[list[str]]:
    """Every strongly connected set of modules larger than one, each as a cycle."""
    known = modules(root)
    graph = {name: imports(name, path, known) for name, path in known.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(_as_cycle(sorted(part), graph))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _as_cycle(part: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One path around a strongly connected set, from its first module back to it."""
    inside = set(part)
    path, seen = [part[0]], {part[0]}
    while True:
        nxt = sorted(graph[path[-1]] & inside)
        back = part[0] in nxt
        if back and len(path) > 1:
            return [*path, part[0]]
        step = next((w for w in nxt if w not in seen), part[0])
        if step == part[0]:
            return [*path, part[0]]
        path.append(step)
        seen.add(step)


def long_modules(root: Path) -> Iterator[tuple[str, int]]:
    for name, path in modules(root).items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_LINES:
            yield name, n


def test_the_package_imports_in_one_direction():
    found = cycles(PACKAGE)
    assert not found, "import cycles: " + "; ".join(" → ".join(c) for c in found)


def test_no_module_is_longer_than_400_lines():
    assert not list(long_modules(PACKAGE)), list(long_modules(PACKAGE))


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_a_planted_cycle_is_found_and_named(tmp_path):
    """A tiny package whose cycle hides in a function body and a TYPE_CHECKING block."""
    pkg = _write(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/a.py": "from pkg.b import f\n",
        "pkg/b.py": "def f():\n    from pkg import c\n    return c\n",
        "pkg/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .a import x\n",
        "pkg/d.py": "import pkg.a\n",
    })
    found = cycles(pkg)
    assert len(found) == 1 and set(found[0]) == {"pkg.a", "pkg.b", "pkg.c"}
    assert found[0][0] == found[0][-1]  # named as a path that comes back


def test_a_package_without_cycles_passes(tmp_path):
    pkg = _write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": "from pkg import b\n",
                            "pkg/b.py": "import os\n"})
    assert cycles(pkg) == []


def test_a_long_module_is_found(tmp_path):
    pkg = _write(tmp_path, {"pkg/__init__.py": "", "pkg/long.py": "x = 1\n" * 401})
    assert list(long_modules(pkg)) == [("pkg.long", 401)]
