"""The benchmarks run end to end on a few items and print their figures.

They are scripts, not tests: what they measure is judged in benchmarks/RESULTS.md. Here
they only have to run — each smoke mode in a process of its own, as a person runs it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_compose_speed_prints_all_three_side_by_side(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    out = run("compose_speed.py", "--quick", "--lengths", "4,8", "--constraint-cap", "2",
              "--results", str(results))
    assert "### Partimento in process (s)" in out
    assert "8 bars take" in out
    assert "A whole `partimento compose` process" in out
    assert "MB." in out
    assert "music21's figured-bass realizer" in out
    assert "| 4 |" in out.split("music21's figured-bass realizer")[1]
    assert "as fast as music21's realizer" in out
    assert "Plain python-constraint" in out
    section = results.read_text()
    assert section.count("<!-- begin: compose_speed.py -->") == 1
    assert "<!-- end: compose_speed.py -->" in section


@pytest.mark.slow
def test_harmonize_chorales_sorts_every_chorale_into_one_category(tmp_path: Path) -> None:
    out = run("harmonize_chorales.py", "--names", "bwv281,bwv41.6", "--jobs", "2")
    assert "| **all** | 2 |" in out
    assert "Composed without a hard violation:" in out
    assert "| not expressible as a spec | 0 |" in out  # bwv41.6's change to 3/4 is stated
    rows = [line for line in out.splitlines() if line.startswith("| ") and "%" in line]
    assert sum(int(row.split("|")[2]) for row in rows) == 2


@pytest.mark.slow
def test_explain_speed_prints_both_searches_side_by_side() -> None:
    out = run("explain_speed.py", "--quick")
    assert "| QuickXplain (s) | checks | deletion filter (s) | checks |" in out
    rows = [line for line in out.splitlines() if line.startswith("| leap across phrases")]
    assert len(rows) == 1 and rows[0].rstrip().endswith("| 1 |")  # compose exits 1
    assert "rule max-leap (semitones: 9) conflicts with" in out
    assert "32 bars explained in" in out and "by a whole process" in out


@pytest.mark.slow
def test_revise_latency_prints_revise_beside_compose() -> None:
    out = run("revise_latency.py", "--quick", "--requests", "2")
    assert "| compose 16 bars, with the SVG | 3 |" in out
    assert "revise bars 7–8, piece JSON only" in out
    assert "compose p50 piece JSON only" in out


@pytest.mark.slow
def test_style_distance_prints_bach_and_both_scorers_side_by_side(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    out = run("style_distance.py", "--quick", "--results", str(results))
    rows = [line for line in out.splitlines() if line.startswith("| Bach, test chorales |")
            or line.startswith("| Partimento")]
    assert len(rows) == 5 and all(row.split("|")[2].strip() in ("3", "1") for row in rows)
    assert "| bass's melodic intervals | " in out and "| chord numerals | " in out
    assert out.count(" — met.") + out.count(" — NOT met.") == 4
    assert "harmonized by Bach is closer than" in out
    assert not results.exists()  # a quick look writes nothing


@pytest.mark.slow
def test_write_speed_prints_both_ways_side_by_side(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    out = run("write_speed.py", "--quick", "--rounds", "1", "--results", str(results))
    assert "| music21 (before) |" in out and "| direct writers (now) |" in out
    assert "3 Essen tunes harmonized" in out and "faster)" in out
    assert results.read_text().count("<!-- begin: write_speed.py -->") == 1
