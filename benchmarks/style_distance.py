"""How far a piece's style lies from the Bach chorales: distribution distances.

For each piece, eight distributions are counted from its MusicXML (read by music21, as
every source is: Bach's own chorales from the corpus, Partimento's pieces from the files
it wrote): pitch classes relative to the home key's tonic, note durations, the directed
melodic intervals of soprano, alto, tenor and bass (each its own feature), the harmonic
interval classes between every pair of voices (weighted by how long they sound), and the
chord numerals of `composer.planning.analysis` (with the mode of their local key). Each
is compared with the same distribution pooled over the model card's TRAINING chorales in
the piece's mode (major or minor home key), and a piece's total is the mean over its
features. Lower is closer.

The distance is the Jensen–Shannon distance (the square root of the divergence, base 2):
it is a metric, lies between 0 (the same distribution) and 1 (no event in common), needs
no smoothing where a piece lacks an event the chorales have (KL divergence would be
infinite), and it weighs a share that differs in a rare event (a tritone leap, a
diminished seventh) more than the same mass moved between two common ones, which total
variation does not. A short piece lies further from any reference than a long one by
chance alone; Bach's own test chorales, measured the same way, are the yardstick.

Sources: Bach's test chorales; their sopranos harmonized by `compose` (the spec as
benchmarks/harmonize_chorales.py writes it, seed 0) with the shipped model and with
`--model none`; every example spec except the unsatisfiable one × 10 seeds, both ways.

    .venv/bin/python benchmarks/style_distance.py --jobs 2   # all of it; writes RESULTS.md
    .venv/bin/python benchmarks/style_distance.py --quick    # a few pieces; writes nothing

Targets (from the issue): Partimento's median within Bach's own p90; every feature's
median at most 1.3× Bach's, the bass's at most 1.5×.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from examples_seeds import EXAMPLES, UNSATISFIABLE
from harmonize_chorales import write_spec
from results import write_section

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
VOICES = ("soprano", "alto", "tenor", "bass")
FEATURES = {  # feature: how the report names it
    "pitch": "pitch class in the key", "duration": "note duration",
    **{v: f"{v}'s melodic intervals" for v in VOICES},
    "harmonic": "harmonic interval classes", "numeral": "chord numerals",
}
RATIO, BASS_RATIO = 1.3, 1.5  # the targets: a feature's median over Bach's
MAX_LEAP = 13  # semitones; wider melodic intervals share one bin each way
SOURCES = {  # source: how the report names it
    "bach": "Bach, test chorales", "harm-model": "Partimento, model: test sopranos",
    "harm-none": "Partimento, `--model none`: test sopranos",
    "free-model": "Partimento, model: examples × seeds",
    "free-none": "Partimento, `--model none`: examples × seeds",
}


LINES = {  # line feature: how the report names it (each voice's struck notes)
    "soprano range": "soprano: range (semitones)",
    "soprano step": "soprano: share of steps", "soprano leap": "soprano: share of leaps (4th+)",
    "soprano repeat": "soprano: share of repeated notes",
    "soprano peaks": "soprano: strokes of its highest note",
    "tenor repeat": "tenor: share of repeated notes", "tenor step": "tenor: share of steps",
    "bass range": "bass: range (semitones)",
    "bass step": "bass: share of steps", "bass leap": "bass: share of leaps (4th+)",
    "bass octave": "bass: share of octave leaps", "bass repeat": "bass: share of repeated notes",
    "bass descent": "bass: stepwise descents (3+ steps) per 100 notes",
}


@dataclass(frozen=True)
class Profile:
    """One piece's counts of each feature, the mode of its home key, and its lines'
    shapes (LINES)."""

    mode: str
    counts: dict[str, Counter]
    lines: dict[str, float] = field(default_factory=dict)


def line_shape(voice: str, midi: Sequence[int]) -> dict[str, float]:
    """The LINES features of one voice's struck notes."""
    steps = np.diff(np.asarray(midi, int))
    if not len(steps):
        return {}
    size = np.abs(steps)
    runs, run = 0, 0
    for s in steps:  # a descent: three or more steps down in a row
        run = run + 1 if -2 <= s <= -1 else 0
        runs += run == 3
    shape = {"range": float(max(midi) - min(midi)), "step": float(((size >= 1) & (size <= 2))
                                                                    .mean()),
             "leap": float((size >= 5).mean()), "octave": float((size == 12).mean()),
             "repeat": float((size == 0).mean()), "peaks": float(list(midi).count(max(midi))),
             "descent": 100 * runs / len(midi)}
    return {f"{voice} {k}": v for k, v in shape.items() if f"{voice} {k}" in LINES}


def js_distance(p: Counter, q: Counter) -> float:
    """Jensen–Shannon distance (base 2) between two distributions given as counts."""
    keys = sorted(set(p) | set(q), key=str)
    a = np.array([p.get(k, 0) for k in keys], float)
    b = np.array([q.get(k, 0) for k in keys], float)
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        x_, m_ = x[x > 0], m[x > 0]
        return float((x_ * np.log2(x_ / m_)).sum())

    return float(np.sqrt(max((kl(a) + kl(b)) / 2, 0.0)))


def profile(score: Any, source: str) -> Profile:
    """Count the features of a four-part score (a music21 Score)."""
    from composer.io.read import texture_from_music21
    from composer.planning.analysis import analyse_chorale
    from composer.texture import REST

    texture, origin = texture_from_music21(score, source=source)
    analysis = analyse_chorale(score, source=source)
    tonic = analysis.key.tonic.pc
    counts: dict[str, Counter] = {f: Counter() for f in FEATURES}
    lines: dict[str, float] = {}
    for name, events in zip(texture.voices, origin.events, strict=True):
        notes = [ev for ev in events if ev.pitch is not None]
        counts["pitch"].update((ev.pitch.pc - tonic) % 12 for ev in notes)
        counts["duration"].update(str(Fraction(ev.duration).limit_denominator(48))
                                  for ev in notes)
        if name in VOICES:
            counts[name].update(melodic_intervals(events))
            lines.update(line_shape(name, [ev.pitch.midi for ev in notes]))
    midi = texture.frame.midi
    for k, s in enumerate(texture.slices):
        row = midi[k]
        for i in range(len(row)):
            for j in range(i + 1, len(row)):
                if row[i] != REST and row[j] != REST:
                    counts["harmonic"][int(row[i] - row[j]) % 12] += s.duration
    counts["numeral"].update(f"{b.key.mode} {b.numeral or 'unnamed'}" for b in analysis.beats)
    return Profile(analysis.key.mode, {f: c for f, c in counts.items() if c}, lines)


def melodic_intervals(events: Sequence[Any]) -> Iterator[int]:
    """Directed semitones between a voice's consecutive notes (a rest breaks the line);
    leaps wider than MAX_LEAP counted as MAX_LEAP."""
    for a, b in zip(events, events[1:], strict=False):
        if a.pitch is not None and b.pitch is not None:
            yield int(np.clip(b.pitch.midi - a.pitch.midi, -MAX_LEAP, MAX_LEAP))


def reference(profiles: Sequence[Profile]) -> dict[str, dict[str, Counter]]:
    """Each feature's counts pooled over the training chorales, per mode."""
    out: dict[str, dict[str, Counter]] = {"major": {}, "minor": {}}
    for p in profiles:
        for f, c in p.counts.items():
            out[p.mode].setdefault(f, Counter()).update(c)
    return out


def distances(piece: Profile, ref: dict[str, dict[str, Counter]]) -> dict[str, float]:
    """Per feature the piece has, its distance to the training chorales of its mode;
    'total': their mean."""
    out = {f: js_distance(c, ref[piece.mode][f]) for f, c in piece.counts.items()
           if f in ref[piece.mode]}
    out["total"] = float(np.mean(list(out.values())))
    return out


# Making the pieces ------------------------------------------------------------------------

@functools.cache
def scorer(kind: str, voices: tuple[str, ...]) -> Any:
    """None: compose's default (the shipped model); 'none': the statistical scorer."""
    from composer.neural.scorer import scorer_for

    return scorer_for(None if kind == "model" else "none", voices)


def composed(spec: Any, kind: str, folder: Path) -> Any:
    """Compose, write the files as `partimento compose` does, and parse the MusicXML back."""
    from composer.io.read import parse_score
    from composer.io.write import write_outputs
    from composer.pipeline import compose, document

    comp = compose(spec, scorer(kind, spec.voices))
    written = write_outputs(comp.piece, folder / "out", document(comp))
    return parse_score(written[0])


def make(task: tuple[str, str, int]) -> tuple[tuple[str, str, int], Profile | str]:
    """One piece's profile, or why it has none: (source, chorale or example, seed)."""
    from composer.corpus import parse_chorale
    from composer.errors import PartimentoError
    from composer.spec.load import load_spec

    source, name, seed = task
    try:
        if source in ("bach", "train"):
            return task, profile(parse_chorale(name), name)
        with tempfile.TemporaryDirectory(prefix="style.") as tmp:
            kind = source.split("-")[1]
            if source.startswith("harm"):
                made = write_spec(name, Path(tmp), seed)
                if isinstance(made, str):
                    return task, made
                spec = load_spec(made[0])
            else:
                spec = replace(load_spec(EXAMPLES / f"{name}.yaml"), seed=seed)
            return task, profile(composed(spec, kind, Path(tmp)), name)
    except PartimentoError as exc:
        return task, f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug: named in the report, the other pieces still measured
        return task, f"crashed (a bug), {type(exc).__name__}: {exc}"


def run(tasks: list[tuple[str, str, int]], jobs: int) -> Iterator[tuple[tuple[str, str, int],
                                                                     Profile | str]]:
    if jobs <= 1:
        yield from map(make, tasks)
        return
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap_unordered(make, tasks, chunksize=1)


# The report -------------------------------------------------------------------------------

def summary(values: Sequence[float]) -> tuple[float, float, float]:
    """Median, p10, p90."""
    a = np.array(values, float)
    return float(np.median(a)), float(np.percentile(a, 10)), float(np.percentile(a, 90))


def judge(rows: dict[str, list[dict[str, float]]], source: str) -> tuple[bool, list[str]]:
    """Whether a source meets the targets against Bach's test chorales, and how."""
    bach = {f: summary([r[f] for r in rows["bach"] if f in r])[0] for f in (*FEATURES, "total")}
    ours = rows[source]
    median = summary([r["total"] for r in ours])[0]
    p90 = summary([r["total"] for r in rows["bach"]])[2]
    over = []
    for f in FEATURES:
        values = [r[f] for r in ours if f in r]
        limit = BASS_RATIO if f == "bass" else RATIO
        if values and summary(values)[0] > limit * bach[f]:
            over.append(f"{f} {summary(values)[0] / bach[f]:.3f}× (target {limit:g}×)")
    met = median <= p90 and not over
    text = (f"{SOURCES[source]}: median {median:.3f} {'within' if median <= p90 else 'beyond'}"
            f" Bach's p90 {p90:.3f}; features over their target: {', '.join(over) or 'none'}"
            f" — {'met' if met else 'NOT met'}.")
    return met, [text]


def report(args: argparse.Namespace, rows: dict[str, list[dict[str, float]]],
           paired: dict[str, list[tuple[float, float]]], failed: dict[str, list[str]],
           train: int, wall: float, shapes: dict[str, list[Profile]]) -> str:
    import music21

    present = [s for s in SOURCES if rows.get(s)]
    lines = [
        f"Command: `python benchmarks/style_distance.py{''.join(' ' + a for a in args.argv)}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python"
        f" {platform.python_version()}, music21 {music21.__version__}; {args.jobs} job(s);"
        f" {wall:.0f} s in all  ",
        f"Reference: {train} training chorales of the model card's split (BWV number modulo"
        " 10: 2–9); each piece against those of its own mode. Distance: Jensen–Shannon"
        " (base 2, 0 = the same distribution, 1 = nothing in common); lower is closer."
        " `--model none` is the statistical scorer as it ships (counted from the whole"
        " corpus, test chorales included).",
        "",
        "### Per piece, the mean over the features",
        "",
        "| source | pieces | median | p10 | p90 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in present:
        med, p10, p90 = summary([r["total"] for r in rows[s]])
        lines.append(f"| {SOURCES[s]} | {len(rows[s])} | {med:.3f} | {p10:.3f} | {p90:.3f} |")
    lines += ["", "### Per feature, the median (and its ratio to Bach's median)", "",
              "| feature | " + " | ".join(SOURCES[s] for s in present) + " |",
              "| --- |" + " ---: |" * len(present)]
    for f in (*FEATURES, "total"):
        bach = summary([r[f] for r in rows["bach"] if f in r])[0]
        cells = []
        for s in present:
            values = [r[f] for r in rows[s] if f in r]
            med = summary(values)[0] if values else float("nan")
            cells.append(f"{med:.3f}" if s == "bach" else f"{med:.3f} ({med / bach:.2f}×)")
        label = FEATURES.get(f, "**mean of the features**")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "### Lines: each voice's struck notes, the median over the pieces", "",
              "| line | Bach, training chorales | " + " | ".join(SOURCES[s] for s in present)
              + " |", "| --- |" + " ---: |" * (len(present) + 1)]
    for f, label in LINES.items():
        cells = [f"{np.median(v):.2f}" if (v := [p.lines[f] for p in shapes[s] if f in p.lines])
                 else "–" for s in ("train", *present)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "### Targets", ""]
    for s in present[1:]:
        lines += [f"- {judge(rows, s)[1][0]}"]
    for s, pairs in paired.items():
        closer = sum(b < o for b, o in pairs)
        lines.append(f"- The same soprano harmonized by Bach is closer than {SOURCES[s]}"
                     f" in {closer} of {len(pairs)} chorales.")
    for s, why in failed.items():
        lines += ["", f"Not measured, {SOURCES.get(s, s)}: {len(why)} — "
                  + "; ".join(why[:5]) + (" …" if len(why) > 5 else "")]
    return "\n".join(lines) + "\n"


def tasks_for(args: argparse.Namespace) -> tuple[list[tuple[str, str, int]], int]:
    """Everything to measure, and how many of it are training chorales."""
    from composer.content import content_dir

    card = json.loads((content_dir("models") / "chorale.json").read_text())
    splits = card["data"]["splits"]
    train = [f"bach/{n}" for n in splits["train"]][:args.train_limit]
    test = [f"bach/{n}" for n in splits["test"]][:args.limit]
    examples = sorted(p.stem for p in EXAMPLES.glob("*.yaml") if p.stem not in UNSATISFIABLE)
    examples = examples[:args.examples]
    tasks = [("train", n, 0) for n in train] + [("bach", n, 0) for n in test]
    tasks += [(f"harm-{k}", n, args.seed) for k in ("model", "none") for n in test]
    tasks += [(f"free-{k}", e, seed) for k in ("model", "none") for e in examples
              for seed in range(args.seeds)]
    return tasks, len(train)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="3 test chorales, 12 training ones, 1 example × 1 seed; writes nothing")
    ap.add_argument("--limit", type=int, help="only the first N test chorales")
    ap.add_argument("--train-limit", type=int, help="only the first N training chorales")
    ap.add_argument("--examples", type=int, help="only the first N example specs")
    ap.add_argument("--seeds", type=int, default=10, help="per example (default 10)")
    ap.add_argument("--seed", type=int, default=0, help="of the harmonizations (default 0)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if args.quick:
        args.limit, args.train_limit, args.examples, args.seeds = 3, 12, 1, 1
    args.argv = argv
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    tasks, train = tasks_for(args)
    profiles: dict[tuple[str, str, int], Profile] = {}
    failed: dict[str, list[str]] = {}
    for i, (task, got) in enumerate(run(tasks, args.jobs), 1):
        if isinstance(got, str):
            failed.setdefault(task[0], []).append(f"{task[1]} seed {task[2]}: {got[:200]}")
        else:
            profiles[task] = got
        if i % 25 == 0 or i == len(tasks):
            print(f"{i}/{len(tasks)} pieces", file=sys.stderr, flush=True)
    ref = reference([p for t, p in profiles.items() if t[0] == "train"])
    measured = {t: distances(p, ref) for t, p in profiles.items() if t[0] != "train"}
    rows = {s: [d for t, d in sorted(measured.items()) if t[0] == s] for s in SOURCES}
    paired = {s: [(measured[("bach", n, 0)]["total"], d["total"])
                  for (src, n, _), d in sorted(measured.items())
                  if src == s and ("bach", n, 0) in measured] for s in ("harm-model", "harm-none")}
    failed.pop("train", None)
    shapes = {s: [p for t, p in sorted(profiles.items(), key=lambda tp: tp[0])
                  if t[0] == s] for s in (*SOURCES, "train")}
    text = report(args, rows, paired, failed, train, time.perf_counter() - started, shapes)
    print(text)
    full = not (args.quick or args.limit or args.train_limit or args.examples) \
        and args.seeds == 10
    if full:
        write_section(args.results, "style_distance.py",
                      "Style distance to the chorales (`style_distance.py`)", text + "\n")
        print(f"wrote {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
