"""Do composed pieces move like Bach's chorales within the beat?

Composes every example spec in constraints/examples/ (but the unsatisfiable one) with
many seeds and reads each piece on its meter's grid (`composer.surface.division.meter_grid`:
sixteenths of a quarter beat, eighths of a half-note or dotted-quarter beat), as the
chorales were read to count their figures. Prints, per meter, the share of beats (of
those in which some voice sounds) in which some voice strikes a note within the beat,
beside Bach's chorales in the same meter (`models/chorale-meters.json`, built from
music21's corpus by `python -m composer.surface.counts meters`) or, where the corpus has
none in it, in a meter with the same beat (6/8 beside 12/8); and, over all meters, how
often each figure occurs, per voice, beside the quarter-beat chorales
(`models/chorale-figures.json`, built by `python -m composer.surface.counts`).

A third column separates the two levels of the composer: Bach's own chorales reduced to
one chord tone per voice and beat (his soprano kept as a given melody, his chords as the
plan), then figured again by `composer.surface.choose` — what the figure level does with
Bach's skeleton rather than with the one the voicing level chose.

    .venv/bin/python benchmarks/motion_share.py              # 50 seeds; writes RESULTS.md
    .venv/bin/python benchmarks/motion_share.py --seeds 3 --every 20   # a quick look

Target (from the issue): the composed share within ±15% of Bach's, per meter.
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
TITLE = "Motion within the beat (`motion_share.py`)"
EXAMPLES = ROOT / "constraints" / "examples"
UNSATISFIABLE = {"unsatisfiable"}
TOLERANCE = 0.15
VOICES = ("soprano", "alto", "tenor", "bass")


def piece_grid(piece):
    """A composed piece on its meter's grid (it starts on a downbeat), or None."""
    from composer.surface.division import meter_grid

    lines = [[(float(n.offset), float(n.duration), n.pitch.midi if n.pitch else None,
               n.fermata) for n in line] for line in piece.lines]
    return meter_grid(lines, piece.meter, 0)


def sounding(grid) -> np.ndarray:
    """bool [B]: some voice sounds in the beat."""
    from composer.surface.figures import CELLS
    from composer.texture import REST

    at = np.minimum(grid.starts[:, None] + np.arange(CELLS), len(grid.midi) - 1)
    return (grid.midi[at] != REST).any(axis=(1, 2))


def composed(names: list[str], seeds: int):
    """(label counts [voice, label], {meter: [pieces, beats, moving beats]}, seconds per
    piece, failures)."""
    from composer.errors import PartimentoError
    from composer.pipeline import compose
    from composer.spec.load import load_spec
    from composer.surface.figures import LABELS, classify_beats

    counts = np.zeros((len(VOICES), len(LABELS)), np.int64)
    meters: dict[str, list[int]] = {}
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
            if grid is None:
                continue
            labels = classify_beats(grid.midi, grid.onset, grid.starts)
            for v in range(labels.shape[1]):
                counts[v] += np.bincount(labels[:, v], minlength=len(LABELS))
            heard = sounding(grid)
            row = meters.setdefault(str(piece.meter), [0, 0, 0])
            row[0] += 1
            row[1] += int(heard.sum())
            row[2] += int((grid.moving & heard).sum())
        print(f"  {name}: {seeds} seeds", file=sys.stderr)
    pieces = len(names) * seeds - len(failures)
    return counts, meters, spent / max(pieces, 1), failures


def refigured(step: int):
    """(label counts [voice, label], beats, moving beats, chorales used, seconds per
    chorale): every `step`-th chorale's skeleton figured again by the composer."""
    from fractions import Fraction

    from composer.corpus import chorale_names, parse_chorale
    from composer.errors import Location
    from composer.io.read import texture_from_music21
    from composer.music import Position
    from composer.neural.scorer import default_scorer, figure_scorer_of
    from composer.planning.plan import Plan, Slot
    from composer.spec.rulesets import load_ruleset
    from composer.spec.values import Melody, MelodyNote, Spec
    from composer.surface.choose import choose_surface
    from composer.surface.figures import CELLS, LABELS, beat_grid, classify_beats, skeleton

    rules = load_ruleset("common-practice").active
    figures = figure_scorer_of(default_scorer())  # as composing scores figures by default
    counts = np.zeros((len(VOICES), len(LABELS)), np.int64)
    beats = moving = used = 0
    spent = 0.0
    for name in sorted(set(chorale_names()))[::step]:
        texture, origin = texture_from_music21(parse_chorale(name), source=name)
        meter, key = texture.meter, texture.key
        if meter.beat_length != 1 or meter.compound or len(texture.voices) != 4:
            continue
        first = texture.slices[0]
        shift = Fraction(first.position.beat - 1).limit_denominator(16) - \
            Fraction(first.offset).limit_denominator(16)
        grid = piece_grid_of(origin.events, meter.beats_per_bar, float(shift))
        labels = classify_beats(grid.midi, grid.onset, grid.starts)
        skel = skeleton(grid.midi, grid.starts, labels)
        pitches, chords, harmonic = [], [], [s for s in texture.slices if s.harmonic]
        for b, cell in enumerate(grid.starts):
            at = cell / CELLS
            row = []
            for v, events in enumerate(origin.events):
                t = at + (0.5 if labels[b, v] == LABELS.index("suspension") else 0)
                ev = next((e for e in events if e.offset <= t + 1e-6 < e.offset + e.duration),
                          None)
                row.append(ev.pitch if ev is not None and ev.pitch is not None
                           and ev.pitch.midi == skel[b, v] else None)
            pitches.append(row)
            heard = [s.chord for s in harmonic if s.offset <= at + 1e-6]
            chords.append(heard[-1] if heard else None)
        if any(p is None for row in pitches for p in row) or None in chords:
            continue  # rests or an unheard chord: no skeleton to figure
        fermata = grid.to_cadence == 0
        slots, phrase = [], 0
        for b in range(len(grid.starts)):
            metric = b + int(shift)
            slots.append(Slot(b, Fraction(b), Fraction(1),
                              Position(metric // meter.beats_per_bar + 1,
                                       float(metric % meter.beats_per_bar + 1)),
                              phrase, key, "", chords[b], None,
                              "authentic" if fermata[b] else None, bool(fermata[b])))
            phrase += bool(fermata[b])
        soprano = tuple(MelodyNote(Fraction(e.offset).limit_denominator(16),
                                   Fraction(e.duration).limit_denominator(16), e.pitch,
                                   e.fermata) for e in origin.events[0])
        spec = Spec(name, key, meter, len(slots) // meter.beats_per_bar + 1, 80, VOICES,
                    None, (), Melody("soprano", soprano, Location(name)), rules, 0, 1.0,
                    name, "")
        plan = Plan(key, meter, spec.bars, (), tuple(slots))
        start = time.perf_counter()
        surface = choose_surface(spec, plan, pitches, np.random.default_rng(0), figures)
        spent += time.perf_counter() - start
        lines = [[(float(n.offset), float(n.duration), n.pitch.midi if n.pitch else None,
                   n.fermata) for n in line] for line in surface.lines[1:]]
        again = beat_grid([grid_line(origin.events[0]), *lines], meter.beats_per_bar,
                          float(shift))
        got = classify_beats(again.midi, again.onset, again.starts)
        for v in range(len(VOICES)):
            counts[v] += np.bincount(got[:, v], minlength=len(LABELS))
        beats += len(again.starts)
        moving += int(again.moving.sum())
        used += 1
    return counts, beats, moving, used, spent / max(used, 1)


def grid_line(events) -> list[tuple[float, float, int | None, bool]]:
    """One voice's notes as read by composer.io.read, for composer.surface.figures.beat_grid."""
    return [(e.offset, e.duration, e.pitch.midi if e.pitch else None, e.fermata)
            for e in events]


def piece_grid_of(events, beats_per_bar: int, first_beat: float):
    from composer.surface.figures import beat_grid

    return beat_grid([grid_line(line) for line in events], beats_per_bar, first_beat)


def report(names: list[str], seeds: int, step: int) -> tuple[str, bool]:
    from composer.surface.counts import load_counts, load_meters
    from composer.surface.figures import LABELS

    bach_counts, meta = load_counts()
    bach = bach_counts.sum(axis=(1, 2, 3, 4))  # [voice, label]
    ours, meters, per_piece, failures = composed(names, seeds)
    beats = sum(row[1] for row in meters.values())
    again, again_beats, again_moving, used, per_chorale = refigured(step)
    share_again = again_moving / max(again_beats, 1)
    table, met = meter_table(meters, load_meters())

    passing = LABELS.index("passing")

    def pct(table: np.ndarray, k: int, v: int | None = None) -> str:
        row = table.sum(axis=0) if v is None else table[v]
        return f"{row[k] / max(row.sum(), 1):.1%}"

    lines = [
        f"Command: `python benchmarks/motion_share.py --seeds {seeds}`  ",
        f"Date: {datetime.date.today()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}  ",
        f"Composed: {', '.join(names)} × seeds 0–{seeds - 1}"
        f" ({len(names) * seeds - len(failures)} pieces, {beats} beats,"
        f" {per_piece:.2f} s per piece in process)  ",
        f"Bach: the four-part chorales of music21's corpus, per meter, counted by"
        f" `python -m composer.surface.counts meters`; their figures, by"
        f" `{meta['command']}` ({meta['chorales']} chorales with a quarter-note beat)  ",
        f"Bach refigured: every {step}th of them whose skeleton has a note in every voice"
        f" and a chord on every beat ({used} chorales, {again_beats} beats), reduced to one"
        f" chord tone per voice and beat (his soprano kept as given) and figured again by"
        f" `composer.surface.choose` ({per_chorale:.2f} s per chorale)",
        "",
        "Beats (of those in which some voice sounds) in which some voice strikes a note"
        " within the beat:",
        "",
        *table,
        "",
        f"Bach refigured (quarter-beat chorales): {share_again:.1%} of beats move.",
        "",
        f"Bach refigured isolates the figure level: on Bach's own skeletons it writes"
        f" passing notes on {pct(again, passing)} of voice-beats against his"
        f" {pct(bach, passing)}; on the composed ones on {pct(ours, passing)} — passing notes"
        f" need thirds between beat notes, and the voicing level chooses those. Both"
        f" columns score figures as composing does by default: with the shipped model's"
        f" figure network (`composer.neural.surface_net`) where it ships, else the counts"
        f" (`composer.surface.counts.StatisticalFigureScorer`).",
        "",
        "Figures, % of all voice-beats:",
        "",
        "| figure | composed | Bach refigured | Bach |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {label} | {pct(ours, k)} | {pct(again, k)} | {pct(bach, k)} |"
              for k, label in enumerate(LABELS)]
    lines += ["", "Per voice, composed · Bach (a given melody counts as composed):", "",
              "| figure | " + " | ".join(VOICES) + " |",
              "| --- |" + " ---: |" * len(VOICES)]
    lines += [f"| {label} | " + " | ".join(f"{pct(ours, k, v)} · {pct(bach, k, v)}"
                                           for v in range(len(VOICES))) + " |"
              for k, label in enumerate(LABELS)]
    if failures:
        lines += ["", f"{len(failures)} piece(s) not composed:"]
        lines += [f"- {f}" for f in failures]
    return "\n".join(lines) + "\n", met


def meter_table(meters: dict[str, list[int]], bach: dict[str, dict]) -> tuple[list[str], bool]:
    """The rows of the per-meter table, and whether every meter with a Bach reference is
    within TOLERANCE of it."""
    from fractions import Fraction

    from composer.music import Meter

    rows = ["| meter | composed pieces | beats | composed | Bach | Bach's chorales (beats) |"
            " target | |", "| --- | ---: | ---: | ---: | ---: | --- | --- | --- |"]
    met = True
    for name, (pieces, beats, moving) in sorted(meters.items()):
        share = moving / max(beats, 1)
        ref = bach.get(name)
        label = name
        if ref is None:  # a meter with the same beat
            length = str(Fraction(Meter.parse(name).beat_length))
            label, ref = next(((n, r) for n, r in sorted(bach.items())
                               if r["beat_length"] == length), (None, None))
        if ref is None:
            rows.append(f"| {name} | {pieces} | {beats} | {share:.1%} | — | none | — | |")
            continue
        theirs = ref["moving"] / ref["beats"]
        ok = abs(share - theirs) <= TOLERANCE * theirs
        met &= ok
        rows.append(f"| {name} | {pieces} | {beats} | {share:.1%} | {theirs:.1%} |"
                    f" {len(ref['chorales'])} in {label} ({ref['beats']}) |"
                    f" {(1 - TOLERANCE) * theirs:.1%}–{(1 + TOLERANCE) * theirs:.1%} |"
                    f" {'met' if ok else 'NOT met'} |")
    return rows, met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=50, help="seeds 0..N-1 (default 50)")
    parser.add_argument("--every", type=int, default=4,
                        help="refigure every N-th chorale (default 4)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    names = sorted(p.stem for p in EXAMPLES.glob("*.yaml") if p.stem not in UNSATISFIABLE)
    text, met = report(names, args.seeds, args.every)
    print(f"## {TITLE}\n\n{text}")
    if args.seeds >= 50:
        from results import write_section

        write_section(RESULTS, "motion_share.py", TITLE, text)
        print(f"\nwrote {RESULTS}", file=sys.stderr)
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
