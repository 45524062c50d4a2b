"""Fitting the line weights (composer/sample/lines.py) by iterative scaling.

    python -m composer.sample.linefit            # writes models/line-weights.json

The target: each voice's directed intervals between struck notes, and the heights of
those notes, over the model card's training chorales (BWV number modulo 10 = 2..9), from
the melody index (`composer.corpus`). The drafts: free pieces composed from FIT_SPECS —
keys, meters and forms of their own, not the example specs the benchmarks measure —
seeds 0..SEEDS-1, figures and all, counted on the notes they write, with the weights so
far. The weights act on the chain's notes, one per slot, while what is heard (and
counted) is the written line, figures included: so the fit asks of the chain whatever
makes the written lines come out as the chorales', and each round adds
STEP × log(P_chorales / P_drafts) per voice and bin (both counts with half a count added
wherever either has one, so that a bin the drafts never reach moves by a bounded
amount), clipped to ±LIMIT.

The progressions are fitted alongside: the target is the chorales' count of each move
from one numeral to the next in the mode of its key (grammars/harmony-weights.json, what
the grammar's own weights are counted from), the drafts' the moves of their plans within
a key; each round adds STEP × log((expected + 1) / (drafted + 1)) per move, the expected
count being the chorales' share of the move times the drafts' moves in the mode, clipped
to ±PROGRESSION_LIMIT.

    python -m composer.sample.linefit chorale --progressions
        # refits one scorer's progressions only, keeping its line weights and the others'
    python -m composer.sample.linefit chorale --repeats
        # refits its progressions and the soprano's and tenor's repeated-note weights together
    python -m composer.sample.linefit chorale --skeleton
        # refits the bass's moving intervals on the chain's own notes (`fit_skeleton`)

The bass's intervals, fitted on the written line, fed on themselves: a third the surface
leaves unfilled, or a skip within the beat, is a written third, so the fit weighed the
chain's thirds down (a third up by e^-2); with fewer thirds to fill, the surface, leaned
to move as often as Bach's bass, skipped instead (12% of the beats, Bach's 5%), writing
more thirds and leaps still. The chain's bass stepped up on 30% of its beats (Bach's 19%)
and moved a third up on 5% (his 9%). So `--skeleton` fits the bass's moving intervals
where they are made: between the chain's notes on neighbouring beats, against the
training chorales' own beat-to-beat bass (`skeleton_steps` of models/chorale-figures.json,
counted on the model card's training split alone, as every other target here is), each
given that the bass moves at all (a repeated beat note is written struck again here,
where Bach's is mostly held over: the repeat keeps the weight fitted on the written line).
Refitted so, the model's free bass climbs a third on 9% of its beats and steps up on 28%
(four examples × five seeds); the surface still skips within one beat in ten, since its
leans (composer/surface/lean.py) raise every moving figure alike.
"""

from __future__ import annotations

import datetime
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from composer.content import content_dir
from composer.planning.grammar import WEIGHTS_FILE, harmony_grammar
from composer.sample.lines import HEIGHTS, LINES_FILE, SPAN, VOICES, LinedScorer, LineWeights
from composer.sample.scorer import Scorer

if TYPE_CHECKING:
    from composer.pipeline import Composition

ROUNDS = 6
SEEDS = 10
STEP = 0.5  # half a step: the interval and height weights act on each other, and a full
# step of each overshoots (the drafts moved away from the target in a trial)
LIMIT = 4.0  # no bin weighs more than e^4 either way: a bin seen once cannot run away
PROGRESSION_LIMIT = 3.0  # a progression's weight: viio in minor was ten times too common
# (key, meter, bars, form): free pieces unlike the examples; six in minor, A minor among
# them (without it the model's i–viio–i in A minor went unseen by the fit)
FIT_SPECS = (
    ("C major", "4/4", 12, "chorale"), ("G major", "3/4", 16, "binary"),
    ("F major", "4/4", 8, "chorale"), ("Bb major", "4/4", 16, "aaba"),
    ("E minor", "4/4", 12, "chorale"), ("D minor", "3/4", 16, "binary"),
    ("G minor", "4/4", 8, "chorale"), ("A major", "4/4", 16, "ternary"),
    ("C minor", "3/2", 12, "chorale"), ("G major", "6/8", 8, "binary"),
    ("A minor", "4/4", 8, "chorale"), ("B minor", "4/4", 12, "binary"),
)

WHAT = {"progressions": "progression", "lines": "interval and height",  # what each option refits
        "repeats": "progression and repeated-note", "skeleton": "bass's moving-interval"}
Moves = dict[tuple[str, str, str], float]  # (mode, previous numeral, next numeral) → count
Counts = tuple[np.ndarray, np.ndarray, Moves]  # [4, 2 * SPAN + 1] intervals, [4, HEIGHTS]


def _add(total: Counts, voice: int, midi: Sequence[int]) -> None:
    """Count one voice's struck notes (a rest between two notes does not break it)."""
    line = np.asarray(midi, np.int64)
    np.add.at(total[0][voice], np.clip(np.diff(line), -SPAN, SPAN) + SPAN, 1)
    np.add.at(total[1][voice], np.clip(line, 0, HEIGHTS - 1), 1)


def chorale_counts() -> Counts:
    """The training chorales' struck notes, counted."""
    from composer.corpus import default_melody_index
    from composer.neural.data import split_of

    total: Counts = (np.zeros((4, 2 * SPAN + 1)), np.zeros((4, HEIGHTS)), {})
    for line in default_melody_index().lines:
        if line.voice in VOICES and split_of(line.work) == "train":
            _add(total, VOICES.index(line.voice), line.midi)
    counted = json.loads((content_dir("grammars") / WEIGHTS_FILE).read_text())
    for mode in ("major", "minor"):
        names = {n.name for n in harmony_grammar(mode).numerals}
        for a, row in counted[mode].items():
            for b, count in row.items():
                if a in names and b in names:
                    total[2][(mode, a, b)] = total[2].get((mode, a, b), 0.0) + float(count)
    return total


def draft_counts(scorer: Scorer, seeds: int = SEEDS) -> Counts:
    """The written notes of the chain's drafts of FIT_SPECS under `scorer`, counted."""
    total: Counts = (np.zeros((4, 2 * SPAN + 1)), np.zeros((4, HEIGHTS)), {})
    for comp in _drafts(scorer, seeds):
        for v, name in enumerate(VOICES):
            _add(total, v, [n.pitch.midi for n in comp.notes[name] if n.pitch is not None])
        slots = comp.plan.slots
        for a, b in zip(slots, slots[1:], strict=False):
            if a.key == b.key:
                move = (b.key.mode, a.numeral, b.numeral)
                total[2][move] = total[2].get(move, 0.0) + 1.0
    return total


def _log_ratio(target: np.ndarray, drafts: np.ndarray) -> np.ndarray:
    """Per voice, log(P_target / P_drafts) where either has a count, else 0."""
    seen = (target + drafts) > 0
    p = np.where(seen, target + 0.5, 0) / np.where(seen, target + 0.5, 0).sum(1, keepdims=True)
    q = np.where(seen, drafts + 0.5, 0) / np.where(seen, drafts + 0.5, 0).sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(seen, np.log(p) - np.log(q), 0.0)


def _progression_step(target: Moves, drafts: Moves) -> Moves:
    """Per (mode, previous, next) that either counts: log((expected + 1) / (drafted + 1)),
    the expected count being the chorales' share of that move among all moves in the
    mode, times the drafts' moves in it. The count added keeps a rare move that the drafts
    happened not to make (as the chorales would not have either, in so few moves) from
    being pushed up. The move as a whole is fitted, not the next numeral given the
    previous one: a weight on a move also makes its first chord likelier to be reached."""
    made: dict[str, float] = {}
    counted: dict[str, float] = {}
    for counts, into in ((drafts, made), (target, counted)):
        for (mode, _, _), c in counts.items():
            into[mode] = into.get(mode, 0.0) + c
    out: Moves = {}
    for move in {*target, *drafts}:
        mode = move[0]
        if made.get(mode) and counted.get(mode):
            expected = made[mode] * target.get(move, 0.0) / counted[mode]
            out[move] = float(np.log((expected + 1) / (drafts.get(move, 0.0) + 1)))
    return out


def progression_distance(target: Moves, drafts: Moves) -> float:
    """The total-variation distance between the numerals the drafts move to and the
    chorales', per mode, averaged over the modes."""
    out = []
    for mode in ("major", "minor"):
        p: dict[str, float] = {}
        q: dict[str, float] = {}
        for counts, into in ((target, p), (drafts, q)):
            for (m, _, b), c in counts.items():
                if m == mode:
                    into[b] = into.get(b, 0.0) + c
        if q:
            out.append(sum(abs(p.get(b, 0.0) / sum(p.values()) - q.get(b, 0.0)
                               / sum(q.values())) for b in set(p) | set(q)) / 2)
    return float(np.mean(out)) if out else 0.0


def distance(target: Counts, drafts: Counts) -> float:
    """The mean total-variation distance over the voices' interval distributions."""
    p = target[0] / target[0].sum(1, keepdims=True)
    q = drafts[0] / drafts[0].sum(1, keepdims=True)
    return float(np.abs(p - q).sum(1).mean() / 2)


SKELETON_VOICES = (3,)  # the bass


def skeleton_target() -> np.ndarray:
    """float [4, 2 * SPAN + 1]: the training chorales' intervals from each voice's note on
    one beat to its note on the next (composer.surface.counts), wider ones clipped to SPAN."""
    from composer.surface.counts import counts_path

    steps = np.asarray(json.loads(counts_path().read_text())["skeleton_steps"], float)
    wide = np.clip(np.arange(steps.shape[1]) - steps.shape[1] // 2, -SPAN, SPAN) + SPAN
    out = np.zeros((4, 2 * SPAN + 1))
    for v in range(4):
        np.add.at(out[v], wide, steps[v])
    return out


def skeleton_drafts(scorer: Scorer, seeds: int = SEEDS) -> np.ndarray:
    """float [4, 2 * SPAN + 1]: the intervals between the chain's notes on neighbouring
    slots, in the drafts of FIT_SPECS under `scorer`."""
    out = np.zeros((4, 2 * SPAN + 1))
    for comp in _drafts(scorer, seeds):
        midi = np.array([[p.midi for p in v] for v in comp.voicings], np.int64)
        for v in range(4):
            np.add.at(out[v], np.clip(np.diff(midi[:, v]), -SPAN, SPAN) + SPAN, 1)
    return out


def _drafts(scorer: Scorer, seeds: int) -> Iterator[Composition]:
    """The free pieces of FIT_SPECS × seeds composed under `scorer` (one a spec refuses
    is left out)."""
    from composer.errors import PartimentoError
    from composer.pipeline import compose
    from composer.spec.load import spec_from_text

    for key, meter, bars, form in FIT_SPECS:
        spec = spec_from_text(f"key: {key}\nmeter: {meter}\nbars: {bars}\nform: {form}\n"
                              "rules: {include: [common-practice]}\n")
        for seed in range(seeds):
            try:
                yield compose(replace(spec, seed=seed), scorer)
            except PartimentoError:
                continue


def moving_distance(target: np.ndarray, drafts: np.ndarray, voice: int) -> float:
    """The total-variation distance between one voice's moving intervals (repeats left
    out) in the target and the drafts."""
    p, q = (np.delete(x[voice], SPAN) for x in (target, drafts))
    return float(np.abs(p / p.sum() - q / q.sum()).sum() / 2)


def fit_skeleton(scorer: Scorer, start: LineWeights, rounds: int = ROUNDS,
                 seeds: int = SEEDS, say: Callable[[str], None] = print
                 ) -> tuple[LineWeights, list[float]]:
    """`start` with the moving-interval weights of SKELETON_VOICES refitted on the chain's
    notes (see the module's docstring) by the same iterative scaling, averaged over the
    second half of the rounds; and the bass's moving-interval distance before each round
    and with the averaged weights."""
    target = skeleton_target()
    stepped = np.zeros_like(start.interval)
    stepped[list(SKELETON_VOICES)] = 1.0
    stepped[:, SPAN] = 0.0  # a repeat: kept
    weights, kept, trace = start, [], []

    def measure(drafts: np.ndarray, when: str) -> None:
        trace.append(moving_distance(target, drafts, SKELETON_VOICES[-1]))
        say(f"{when}: the bass's moving intervals on the beats, distance {trace[-1]:.3f}")

    for r in range(rounds):
        drafts = skeleton_drafts(LinedScorer(scorer, weights), seeds)
        measure(drafts, f"round {r}")
        moving = target.copy(), drafts.copy()
        for x in moving:
            x[:, SPAN] = 0.0
        weights = replace(weights, interval=np.clip(
            weights.interval + stepped * STEP * _log_ratio(*moving), -LIMIT, LIMIT
        ).astype(np.float32))
        if r >= rounds // 2:
            kept.append(weights)
    weights = replace(weights, interval=np.mean([w.interval for w in kept], axis=0)
                      .astype(np.float32))
    measure(skeleton_drafts(LinedScorer(scorer, weights), seeds), "averaged")
    return weights, trace


def fit(scorer: Scorer, target: Counts, rounds: int = ROUNDS, seeds: int = SEEDS,
        say: Callable[[str], None] = print, start: LineWeights | None = None,
        lines: bool = True, progressions: bool = True, repeats: bool = False
        ) -> tuple[LineWeights, dict[str, list[float]]]:
    """The weights after `rounds` of iterative scaling from `start` (else zero), averaged
    over the second half of the rounds (each round's drafts are a sample: the average
    steadies what their noise moves), and the interval and progression distances of the
    drafts before each round and with the averaged weights. `lines` False: the interval
    and height weights are kept as `start` has them; `progressions` False: the
    progressions are. (Refitting the model's lines alone from its fitted weights did not
    settle in a trial: the drafts' interval distance went from 0.113 to 0.12–0.13 and
    their progressions drifted from 0.045 to about 0.2; the progressions alone did.)
    `repeats`: of the interval weights only the soprano's and tenor's repeated note are
    fitted (with `lines` False), the heights kept: two weights that move the lines without
    unsettling the harmony as a refit of every interval did (the progressions fitted
    after the lines made the harmony repeat its chord as often as the chorales do, and
    the soprano repeated a quarter of its notes, the chorales' one in seven)."""
    weights, kept = start or LineWeights.zero(), []
    bins = np.zeros((4, 2 * SPAN + 1))
    bins[[0, 2], SPAN] = 1.0  # the soprano's and the tenor's: the bass's, fitted with
    # them, left it leaping on a third of its steps (the chorales: a quarter), and the
    # alto's brought its intervals no closer to the chorales' (0.288 against 0.263-0.285)
    stepped = np.ones_like(bins) if lines else bins if repeats else np.zeros_like(bins)
    trace: dict[str, list[float]] = {"interval": [], "progression": []}

    def measure(drafts: Counts, when: str) -> None:
        trace["interval"].append(distance(target, drafts))
        trace["progression"].append(progression_distance(target[2], drafts[2]))
        say(f"{when}: interval distance {trace['interval'][-1]:.3f}, progression distance"
            f" {trace['progression'][-1]:.3f}")

    for r in range(rounds):
        drafts = draft_counts(LinedScorer(scorer, weights), seeds)
        measure(drafts, f"round {r}")
        moved = _progression_step(target[2], drafts[2])
        weights = LineWeights(
            np.clip(weights.interval + stepped * STEP * _log_ratio(target[0], drafts[0]),
                    -LIMIT, LIMIT).astype(np.float32),
            np.clip(weights.height + lines * STEP * _log_ratio(target[1], drafts[1]),
                    -LIMIT, LIMIT).astype(np.float32),
            {k: float(np.clip(weights.progression.get(k, 0.0)
                              + progressions * STEP * moved.get(k, 0.0),
                              -PROGRESSION_LIMIT, PROGRESSION_LIMIT))
             for k in set(weights.progression) | set(moved)})
        if r >= rounds // 2:
            kept.append(weights)
    weights = LineWeights(np.mean([w.interval for w in kept], axis=0).astype(np.float32),
                          np.mean([w.height for w in kept], axis=0).astype(np.float32),
                          {k: float(np.mean([w.progression.get(k, 0.0) for w in kept]))
                           for k in set().union(*(w.progression for w in kept))})
    measure(draft_counts(LinedScorer(scorer, weights), seeds), "averaged")
    return weights, trace


def main(argv: list[str]) -> int:
    """Refit the scorers named in argv (all of them where none is named); the others
    keep the weights stored. `--progressions` or `--lines`: only their progressions, or
    only their interval and height weights, from the weights stored; `--repeats`: their
    progressions and the soprano's and tenor's repeated-note weights, from the weights stored."""
    from composer.music import SATB
    from composer.neural.scorer import default_scorer
    from composer.sample.scorer import StatisticalScorer

    target = chorale_counts()
    makers: dict[str, Callable[[], Scorer]] = {
        "chorale": default_scorer, "none": lambda: StatisticalScorer.from_corpus(SATB)}
    path = content_dir("models") / LINES_FILE
    stored = json.loads(path.read_text()) if path.exists() else {}
    out = dict(stored.get("scorers", {}))
    traces = {name: {"interval": trace} if isinstance(trace, list) else trace
              for name, trace in stored.get("distance_by_round",
                                            stored.get("interval_distance_by_round", {})).items()}
    only = next((a[2:] for a in argv
                 if a in ("--progressions", "--lines", "--repeats", "--skeleton")), None)
    names = [a for a in argv if not a.startswith("--")] or list(makers)
    for name in names:
        print(f"fitting the {WHAT.get(only or '', 'line and progression')} weights of {name}",
              file=sys.stderr)
        start = LineWeights.from_json(out[name]) if only and name in out else None
        if only == "skeleton":
            weights, traces.setdefault(name, {})["skeleton"] = fit_skeleton(
                makers[name](), start or LineWeights.zero(),
                say=lambda s: print(s, file=sys.stderr))
            out[name] = weights.to_json()
            continue
        weights, traces[name] = fit(makers[name](), target, start=start,
                                    lines=only is None or only == "lines",
                                    progressions=only != "lines",
                                    repeats=only == "repeats",
                                    say=lambda s: print(s, file=sys.stderr))
        out[name] = weights.to_json()
    data = {"command": f"python -m composer.sample.linefit {' '.join(argv)}".strip(),
            "date": datetime.date.today().isoformat(),
            "target": "the struck notes of the model card's training chorales; the"
                      " progressions the harmony grammar counts from the chorales",
            "drafts": f"{len(FIT_SPECS)} free specs × seeds 0–{SEEDS - 1}, {ROUNDS} rounds"
                      + (f" (the {WHAT[only]} weights only, from the weights stored before)"
                         if only else ""),
            "refitted": names, "only": only, "distance_by_round": traces,
            "scorers": out}
    path.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
