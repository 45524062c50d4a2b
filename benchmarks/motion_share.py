"""Do composed pieces move like Bach's chorales within the beat?

Composes every example spec in constraints/examples/ (but the unsatisfiable one) with
many seeds and reads each piece on a sixteenth-note grid with `composer.figures`, as the
chorales were read to count their figures. Prints, side by side with Bach's chorales
(`models/chorale-figures.json`, built from music21's corpus by `python -m
composer.figures counts`): the share of beats in which some voice strikes a note within
the beat (eighth notes or faster), and how often each figure occurs, per voice.

    .venv/bin/python benchmarks/motion_share.py              # 50 seeds; writes RESULTS.md
    .venv/bin/python benchmarks/motion_share.py --seeds 5    # a quick look; writes nothing

Target (from the issue): the composed share within ±30% of Bach's.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
BEGIN = "<!-- begin: motion_share.py -->"
END = "<!-- end: motion_share.py -->"
EXAMPLES = ROOT / "constraints" / "examples"
UNSATISFIABLE = {"unsatisfiable"}
TOLERANCE = 0.30
VOICES = ("soprano", "alto", "tenor", "bass")


def piece_grid(piece):
    """A composed piece on the sixteenth grid (it starts on a downbeat)."""
    from composer.figures import beat_grid

    lines = [[(float(n.offset), float(n.duration), n.pitch.midi if n.pitch else None,
               n.fermata) for n in line] for line in piece.lines]
    return beat_grid(lines, piece.meter.beats_per_bar, 0)


def composed(names: list[str], seeds: int):
    """(label counts [voice, label], beats, moving beats, seconds per piece, failures)."""
    from composer.compose import compose
    from composer.errors import PartimentoError
    from composer.figures import LABELS, classify_beats
    from composer.spec import load_spec

    counts = np.zeros((len(VOICES), len(LABELS)), np.int64)
    beats = moving = 0
    failures, spent = [], 0.0
    for name in names:
        spec = load_spec(EXAMPLES / f"{name}.yaml")
        for seed in range(seeds):
            start = time.perf_counter()
            try:
                piece = compose(replace(spec, seed=seed)).piece
            except PartimentoError as exc:
                failures.append(f"{name} seed {seed}: {exc}")
                continue
            spent += time.perf_counter() - start
            grid = piece_grid(piece)
            labels = classify_beats(grid.midi, grid.onset, grid.starts)
            for v in range(labels.shape[1]):
                counts[v] += np.bincount(labels[:, v], minlength=len(LABELS))
            beats += len(grid.starts)
            moving += int(grid.moving.sum())
        print(f"  {name}: {seeds} seeds", file=sys.stderr)
    pieces = len(names) * seeds - len(failures)
    return counts, beats, moving, spent / max(pieces, 1), failures


def report(names: list[str], seeds: int) -> tuple[str, bool]:
    from composer.figures import LABELS, load_counts

    bach_counts, meta = load_counts()
    bach = bach_counts.sum(axis=(1, 2, 3, 4))  # [voice, label]
    ours, beats, moving, per_piece, failures = composed(names, seeds)
    share_bach = meta["moving_beats"] / meta["beats"]
    share = moving / max(beats, 1)
    met = abs(share - share_bach) <= TOLERANCE * share_bach
    low, high = (1 - TOLERANCE) * share_bach, (1 + TOLERANCE) * share_bach
    lines = [
        "## Motion within the beat (`motion_share.py`)",
        "",
        f"Command: `python benchmarks/motion_share.py --seeds {seeds}`  ",
        f"Date: {datetime.date.today()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}  ",
        f"Composed: {', '.join(names)} × seeds 0–{seeds - 1}"
        f" ({len(names) * seeds - len(failures)} pieces, {beats} beats,"
        f" {per_piece:.2f} s per piece in process); Bach: {meta['chorales']} chorales of"
        f" music21's corpus with a quarter-note beat ({meta['beats']} beats), counted by"
        f" `{meta['command']}`",
        "",
        "| beats in which some voice moves in eighths or faster | composed | Bach |",
        "| --- | ---: | ---: |",
        f"| share | {share:.1%} | {share_bach:.1%} |",
        "",
        f"Composed share {share:.1%} against Bach's {share_bach:.1%}: target"
        f" {low:.1%}–{high:.1%} (±{TOLERANCE:.0%}) — {'met' if met else 'NOT met'}.",
        "",
        "Figures per voice-beat, composed · Bach (% of each voice's beats; a given melody"
        " counts as composed):",
        "",
        "| figure | " + " | ".join(VOICES) + " | all |",
        "| --- |" + " ---: |" * (len(VOICES) + 1),
    ]
    for k, label in enumerate(LABELS):
        cells = [f"{ours[v, k] / max(ours[v].sum(), 1):.1%} ·"
                 f" {bach[v, k] / max(bach[v].sum(), 1):.1%}" for v in range(len(VOICES))]
        cells.append(f"{ours[:, k].sum() / max(ours.sum(), 1):.1%} ·"
                     f" {bach[:, k].sum() / max(bach.sum(), 1):.1%}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if failures:
        lines += ["", f"{len(failures)} piece(s) not composed:"]
        lines += [f"- {f}" for f in failures]
    return "\n".join(lines), met


def write_results(text: str) -> None:
    old = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in old and END in old:
        new = old[:old.index(BEGIN)] + block + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(new, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50, help="seeds 0..N-1 (default 50)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    names = sorted(p.stem for p in EXAMPLES.glob("*.yaml") if p.stem not in UNSATISFIABLE)
    text, met = report(names, args.seeds)
    print(text)
    if args.seeds >= 50:
        write_results(text)
        print(f"\nwrote {RESULTS}", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
