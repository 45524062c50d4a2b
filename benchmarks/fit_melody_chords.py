"""Fit the weights of the chords Bach sets under a melody's notes
(composer/planning/melody_chords.py) on the training chorales' sopranos.

Each round harmonizes every training chorale's soprano (BWV number modulo 10: 2–9; the
spec as benchmarks/harmonize_chorales.py writes it) with the weights stored so far,
counts the chords of the drafts and Bach's own chords at the same beats per (mode,
place, degree of the melody's note), and adds log(P_Bach / P_drafts) (damped) to the
weights: iterative scaling. Writes models/melody-chords.json after every round.

    .venv/bin/python benchmarks/fit_melody_chords.py --rounds 4 --jobs 2
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import sys
import tempfile
from collections import Counter, defaultdict
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from harmonize_chorales import write_spec

SMOOTH = 0.5  # counts added to every chord seen in a context, Bach's or the drafts'
DAMP = 0.7  # the share of each round's log-ratio added
CLIP = 5.0  # the largest weight either way
MIN_BEATS = 4  # Bach's beats a context needs before its weights move


def _prepare(name: str, folder: str) -> tuple[str, str] | None:
    """The chorale and its spec file (None where it cannot be put as a spec)."""
    where = Path(folder) / name.replace("/", "_")
    where.mkdir()
    made = write_spec(name, where, 0)
    return None if isinstance(made, str) else (name, str(made[0]))


def _draft(job: tuple[str, str, int]) -> list[tuple[tuple[str, str, int], str, str | None]]:
    """((mode, place, degree), our chord, Bach's chord or None) of each slot."""
    from composer.corpus import parse_chorale
    from composer.errors import UnsatisfiableError
    from composer.neural.scorer import default_scorer
    from composer.pipeline import compose
    from composer.planning import melody_chords
    from composer.planning.analysis import analyse_chorale
    from composer.spec.load import load_spec

    name, spec_file, seed = job
    melody_chords._stored.cache_clear()
    spec = load_spec(Path(spec_file))
    try:
        comp = compose(replace(spec, seed=seed), default_scorer())
    except UnsatisfiableError:
        return []
    shift = next(n.offset for n in spec.melody.notes if n.pitch is not None)
    bach = {b.offset: b.chord for b in analyse_chorale(parse_chorale(name), name).beats
            if b.chord is not None}
    slots = comp.plan.slots
    times = [(s.phrase, s.offset, s.duration, False) for s in slots]
    where = melody_chords.places(times, [s.position.beat == 1 for s in slots])
    out = []
    for place, s in zip(where, slots, strict=True):
        theirs = bach.get(Fraction(s.offset - shift))
        context = (spec.key.mode, place, melody_chords.degree_of(s.melody, spec.key))
        out.append((context, melody_chords.chord_name(s.chord, spec.key),
                    None if theirs is None else melody_chords.chord_name(theirs, spec.key)))
    return out


def _update(weights: dict, drafts: list) -> tuple[float, float]:
    """Add each context's damped log-ratio of Bach's chords to the drafts'; the share of
    beats where the draft's chord is Bach's, and the mean total-variation distance."""
    ours: dict[Any, Counter] = defaultdict(Counter)
    theirs: dict[Any, Counter] = defaultdict(Counter)
    same = total = 0
    for context, mine, bach in drafts:
        if bach is None:
            continue
        ours[context][mine] += 1
        theirs[context][bach] += 1
        same += mine == bach
        total += 1
    tv = 0.0
    for context, b in theirs.items():
        o, nb = ours[context], sum(b.values())
        no = sum(o.values())
        tv += 0.5 * sum(abs(b[c] / nb - o[c] / no) for c in set(b) | set(o)) * nb / total
        if nb < MIN_BEATS:
            continue
        row = weights.setdefault(context, {})
        for c in set(b) | set(o):
            ratio = np.log((b[c] + SMOOTH) / (nb + SMOOTH)) \
                - np.log((o[c] + SMOOTH) / (no + SMOOTH))
            row[c] = float(np.clip(row.get(c, 0.0) + DAMP * ratio, -CLIP, CLIP))
    return same / max(total, 1), tv


def main(argv: list[str]) -> int:
    from composer.content import content_dir
    from composer.neural.data import corpus_names, split_of
    from composer.planning.melody_chords import MELODY_CHORDS_FILE

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--limit", type=int, help="only the first N training chorales")
    args = ap.parse_args(argv)
    path = content_dir("models") / MELODY_CHORDS_FILE
    names = [n for n in corpus_names() if split_of(n) == "train"][:args.limit]
    weights: dict = {}
    history = []
    with tempfile.TemporaryDirectory(prefix="melody-chords.") as folder, \
            multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        prepared = [p for p in pool.starmap(_prepare, [(n, folder) for n in names]) if p]
        for r in range(args.rounds + 1):
            _write(path, weights, args, history)
            drafts = [d for part in pool.map(_draft, [(n, s, r) for n, s in prepared])
                      for d in part]
            agree, tv = _update(weights, drafts) if r < args.rounds else _update({}, drafts)
            history.append({"round": r, "agreement": round(agree, 4), "distance": round(tv, 4)})
            print(f"round {r}: chords as Bach's {100 * agree:.1f}%, distance {tv:.3f}",
                  file=sys.stderr, flush=True)
    _write(path, weights, args, history)
    return 0


def _write(path: Path, weights: dict, args: argparse.Namespace, history: list) -> None:
    from composer.planning.melody_chords import MelodyChords

    doc = {"command": "python benchmarks/fit_melody_chords.py"
                      f" --rounds {args.rounds} --jobs {args.jobs}",
           "date": datetime.date.today().isoformat(),
           "target": "Bach's chords under the training chorales' sopranos (BWV number"
                     " modulo 10: 2–9), per mode, place in the phrase and degree of the note",
           "by_round": history,
           "scorers": {"chorale": MelodyChords(weights).to_json()}}
    path.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
