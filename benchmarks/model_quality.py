"""How well the shipped model knows Bach's chorales it never saw: the test split.

1. Negative log-likelihood per note of Bach's own notes: at every beat (after the
   first), every voice that sounds there and at the beat before, given the beat before
   and the plan (chord, key, place), under the shipped model and under the statistical
   scorer trained on the same training split — once on the melodic intervals of the
   training chorales' voices (how it ships), once on their beat-to-beat intervals (the
   very events measured here).
2. Harmonizing each test chorale's soprano with `compose` (the spec as
   benchmarks/harmonize_chorales.py writes it): how often the chord at a beat is Bach's
   (the same pitch classes) and how often the alto, tenor and bass sing Bach's very note,
   with the model and with the statistical scorer (melodic intervals, training split).

    .venv/bin/python benchmarks/model_quality.py            # prints; writes RESULTS.md
    .venv/bin/python benchmarks/model_quality.py --limit 3 --temperatures 1  # a quick look

Target (from the issue): the model's NLL at least 10% below the statistical scorer's.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from harmonize_chorales import write_spec
from results import write_section

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
TARGET = 10.0  # percent below the statistical scorer
VOICES = ("soprano", "alto", "tenor", "bass")


@dataclass
class Agreement:
    """Beats where a harmonization and Bach can be compared, and how often they agree."""

    pieces: int = 0
    failed: int = 0
    beats: int = 0
    chords: int = 0
    notes: np.ndarray = field(default_factory=lambda: np.zeros(3, int))  # alto, tenor, bass
    seconds: float = 0.0


def statistical(train: list[Any]) -> tuple[Any, Any]:
    """The statistical scorer from the training chorales: on the melodic intervals of
    their voices (as it ships, from the whole corpus), and on their beat-to-beat ones."""
    from composer.corpus import default_melody_index
    from composer.sample.scorer import StatisticalScorer
    from composer.texture import REST

    works = {c.name.split("/")[-1] for c in train}
    melodic = StatisticalScorer.from_lines(
        [(line.voice, line.midi) for line in default_melody_index().lines
         if line.work in works], VOICES)
    beat_lines = [(v, [int(m) for m in c.beats.midi[:, i] if m != REST])
                  for c in train for i, v in enumerate(VOICES)]
    return melodic, StatisticalScorer.from_lines(beat_lines, VOICES)


def note_log_likelihoods(chorales: list[Any], melodic: Any, beats: Any
                         ) -> dict[str, np.ndarray]:
    """Per note, log p under each scorer, and which notes count: [beats, 4] each."""
    from composer.neural.features import PlanArrays
    from composer.neural.scorer import default_scorer
    from composer.neural.train import examples
    from composer.sample.scorer import MAX_INTERVAL
    from composer.texture import REST

    arrays = examples(chorales, transpose=False)
    plan = PlanArrays(**{f: arrays[f] for f in PlanArrays.__dataclass_fields__})
    logp = np.take_along_axis(default_scorer().model.log_probs(
        arrays["prev"], arrays["prev_roles"], plan, arrays["target"]),
        arrays["target"][..., None], -1)[..., 0]
    before = np.concatenate([np.roll(c.beats.midi, 1, axis=0) for c in chorales]).astype(int)
    after = np.concatenate([c.beats.midi for c in chorales]).astype(int)
    first = np.concatenate([np.arange(len(c.beats)) == 0 for c in chorales])
    counts = (before != REST) & (after != REST) & ~first[:, None]
    step = np.clip(after - before, -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
    return {"model": logp, "melodic": melodic.interval_logp[np.arange(4), step],
            "beat": beats.interval_logp[np.arange(4), step], "counts": counts}


def harmonize(chorales: list[Any], scorer: Any, seed: int, temperature: float) -> Agreement:
    """Compose each chorale's soprano and compare each beat with Bach's."""
    from composer.corpus import parse_chorale
    from composer.errors import UnsatisfiableError
    from composer.pipeline import compose
    from composer.planning.analysis import analyse_chorale
    from composer.spec.load import load_spec

    out = Agreement()
    for ch in chorales:
        bach = {b.offset: b for b in analyse_chorale(parse_chorale(ch.name), ch.name).beats}
        with tempfile.TemporaryDirectory(prefix="quality.") as tmp:
            made = write_spec(ch.name, Path(tmp), seed)
            if isinstance(made, str):
                continue
            spec = load_spec(made[0])
            out.pieces += 1
            started = time.perf_counter()
            try:
                comp = compose(replace(spec, seed=seed, temperature=temperature), scorer)
            except UnsatisfiableError:
                out.failed += 1
                continue
            out.seconds += time.perf_counter() - started
        # The spec's melody fills a pickup's bar with a rest: Bach's offsets start later.
        shift = next(n.offset for n in spec.melody.notes if n.pitch is not None)
        for slot, voicing in zip(comp.plan.slots, comp.voicings, strict=True):
            beat = bach.get(Fraction(slot.offset - shift))
            if beat is None or beat.chord is None:
                continue
            out.beats += 1
            out.chords += slot.chord.pcs == beat.chord.pcs
            ours = np.array([p.midi if p is not None else -1 for p in voicing[1:]])
            out.notes += ours == np.array(beat.midi[1:])
    return out


def report(args: argparse.Namespace, nll: dict[str, np.ndarray], agree: dict[str, Agreement],
           chorales: int, card: dict, wall: float) -> str:
    counts = nll["counts"]
    means = {k: -float(nll[k][counts].mean()) for k in ("model", "melodic", "beat")}
    lower = 100 * (1 - means["model"] / means["beat"])
    lower_shipped = 100 * (1 - means["model"] / means["melodic"])
    lines = [
        f"Command: `python benchmarks/model_quality.py{''.join(' ' + a for a in args.argv)}`  ",
        f"Date: {datetime.date.today().isoformat()}  ",
        f"Machine: {platform.machine()}, Python {platform.python_version()}  ",
        f"Model: `models/chorale.pt` ({card['model']['parameters']:,} parameters, trained"
        f" with `{card['training']['command']}` in {card['training']['seconds']:.0f} s);"
        f" test split: {chorales} chorales ({card['data']['split_rule']})",
        "",
        "### Negative log-likelihood of Bach's notes (nats per note, lower is better)",
        "",
        f"{int(counts.sum())} notes: every voice at every beat after the first where it sounds"
        " and sounded at the beat before.",
        "",
        "| voice | model | statistical, melodic intervals (shipped) |"
        " statistical, beat-to-beat intervals |",
        "| --- | ---: | ---: | ---: |",
    ]
    for v, name in enumerate(VOICES):
        m = counts[:, v]
        lines.append(f"| {name} | {-nll['model'][m, v].mean():.3f} |"
                     f" {-nll['melodic'][m, v].mean():.3f} | {-nll['beat'][m, v].mean():.3f} |")
    lines.append(f"| **all** | **{means['model']:.3f}** | {means['melodic']:.3f} |"
                 f" {means['beat']:.3f} |")
    verdict = "met" if min(lower, lower_shipped) >= TARGET else "NOT met"
    lines += ["", f"The model is {lower:.0f}% below the statistical scorer trained on the same"
              f" beats ({lower_shipped:.0f}% below the one trained on melodic intervals):"
              f" {verdict} (target: at least {TARGET:.0f}% lower).", ""]
    lines += ["### Harmonizing the test chorales' sopranos, compared with Bach", "",
              "| scorer | composed | beats compared | chord as Bach's | alto | tenor | bass |"
              " compose (s, mean) |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, a in agree.items():
        done = a.pieces - a.failed
        share = [100 * x / max(a.beats, 1) for x in (a.chords, *a.notes)]
        lines.append(f"| {name} | {done}/{a.pieces} | {a.beats} | {share[0]:.1f}% |"
                     f" {share[1]:.1f}% | {share[2]:.1f}% | {share[3]:.1f}% |"
                     f" {a.seconds / max(done, 1):.2f} |")
    lines += ["", "A chord is Bach's when its pitch classes are those of the chord"
              " `composer.planning.analysis` hears at that beat; a note is Bach's when it is the"
              " very"
              f" MIDI note. Seed {args.seed}; every piece is sampled, at temperature 1 from"
              " the scorer's own distribution. Wall time of the whole benchmark:"
              f" {wall:.0f} s.", ""]
    if "tried" in card:
        lines += ["### Architectures measured (from the model card)", "",
                  "| variant | parameters | validation NLL | note |",
                  "| --- | ---: | ---: | --- |"]
        lines += [f"| {t['variant']} | {t['parameters']:,} | {t['validation_nll']:.3f} |"
                  f" {t['note']} |" for t in card["tried"]]
        lines.append("")
    return "\n".join(lines)


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, help="only the first N test chorales; writes nothing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temperatures", default="1,0.3",
                    help="of the harmonizations, comma-separated (1: the scorer's own"
                         " distribution; lower: nearer its likeliest piece)")
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    args.argv = argv
    return args


def main(argv: list[str]) -> int:
    from composer.content import content_dir
    from composer.neural.data import load_chorales
    from composer.neural.scorer import default_scorer

    args = parse_args(argv)
    started = time.perf_counter()
    chorales = load_chorales()
    test = [c for c in chorales if c.split == "test"][:args.limit]
    melodic, beats = statistical([c for c in chorales if c.split == "train"])
    nll = note_log_likelihoods(test, melodic, beats)
    agree = {}
    for temperature in map(float, args.temperatures.split(",")):
        for name, scorer in (("model", default_scorer()), ("statistical, melodic", melodic)):
            agree[f"{name}, temperature {temperature:g}"] = harmonize(test, scorer, args.seed,
                                                                      temperature)
            print(f"harmonized with the {name} scorer at {temperature:g}", file=sys.stderr)
    card = json.loads((content_dir("models") / "chorale.json").read_text())
    text = report(args, nll, agree, len(test), card, time.perf_counter() - started)
    print(text)
    if args.limit is None:
        write_section(args.results, "model_quality.py", "The chorale model on the test split"
                      " (`model_quality.py`)", text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
