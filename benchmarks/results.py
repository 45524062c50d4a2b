"""benchmarks/RESULTS.md holds one section per benchmark between its markers; each full
run replaces its own section and keeps every other."""

from __future__ import annotations

from pathlib import Path


def write_section(path: Path, name: str, title: str, body: str) -> None:
    begin, end = f"<!-- begin: {name} -->", f"<!-- end: {name} -->"
    section = f"{begin}\n## {title}\n\n{body}{end}\n"
    old = path.read_text() if path.exists() else "# Benchmark results\n"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        new = head + section + ("\n" + tail if tail else "")
    else:
        new = old.rstrip("\n") + "\n\n" + section
    path.write_text(new)
