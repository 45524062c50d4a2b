"""The same music, whatever the code's layout: every example spec composed for seeds 0–2,
with the shipped model and with the statistical scorer, writes exactly the bytes recorded
in tests/golden/outputs.json (MusicXML, MIDI and JSON, by SHA-256).

The record is taken before a change that must not change a composed note, and a changed
hash says which piece moved. `PARTIMENTO_WRITE_GOLDEN=1 pytest tests/test_golden.py`
writes it anew, on purpose.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "tests" / "golden" / "outputs.json"
SEEDS = (0, 1, 2)
SCORERS = ("model", "none")


def _examples() -> list[str]:
    """Every example spec that composes (one is unsatisfiable on purpose)."""
    names = sorted(p.stem for p in (ROOT / "constraints" / "examples").glob("*.yaml"))
    return [n for n in names if n != "unsatisfiable"]


def _hashes(name: str, scorer_name: str, seed: int, folder: Path) -> dict[str, str]:
    from composer.io.write import write_outputs
    from composer.pipeline import compose, document
    from composer.spec.load import load_spec

    spec = load_spec(Path("constraints") / "examples" / f"{name}.yaml")  # as a user types it
    comp = compose(replace(spec, seed=seed), _scorer(scorer_name))
    written = write_outputs(comp.piece, folder / f"{name}-{scorer_name}-{seed}", document(comp))
    return {p.suffix: hashlib.sha256(p.read_bytes()).hexdigest() for p in written}


_SCORERS: dict[str, object] = {}


def _scorer(name: str):
    if name not in _SCORERS:
        if name == "none":
            from composer.sample.scorer import StatisticalScorer

            _SCORERS[name] = StatisticalScorer.from_corpus(("soprano", "alto", "tenor", "bass"))
        else:
            from composer.neural.scorer import default_scorer

            _SCORERS[name] = default_scorer()
    return _SCORERS[name]


CASES = [(n, s, k) for n in _examples() for s in SCORERS for k in SEEDS]


@pytest.fixture(scope="module")
def record() -> dict:
    if os.environ.get("PARTIMENTO_WRITE_GOLDEN"):
        return {}
    assert RECORD.exists(), f"{RECORD} is missing: write it with PARTIMENTO_WRITE_GOLDEN=1"
    return json.loads(RECORD.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("name, scorer_name, seed", CASES)
def test_the_same_spec_and_seed_write_the_recorded_bytes(name, scorer_name, seed, record,
                                                          tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    got = _hashes(name, scorer_name, seed, tmp_path)
    key = f"{name} {scorer_name} {seed}"
    if os.environ.get("PARTIMENTO_WRITE_GOLDEN"):
        RECORD.parent.mkdir(exist_ok=True)
        old = json.loads(RECORD.read_text()) if RECORD.exists() else {}
        RECORD.write_text(json.dumps({**old, key: got}, indent=1, sort_keys=True) + "\n")
        return
    assert got == record[key], f"{key}: the composed files changed"
