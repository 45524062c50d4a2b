"""Bach's figures counted, and the statistical figure scorer that reads the counts.

`python -m composer.surface.counts` reads every chorale of music21's corpus whose beat is
a quarter note onto the sixteenth grid, labels each voice's figure on each beat
(`composer.surface.figures.classify_beats`) and counts the labels by voice, by the intervals to
and from the beat's chord tone, by the place in the bar and by the distance to the next
fermata, into `models/chorale-figures.json`; composing reads that file, never the corpus.
`python -m composer.surface.counts meters` counts, per time signature of the chorales,
how many of their beats move within the beat, into `models/chorale-meters.json`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from composer.content import content_dir
from composer.corpus import chorale_names, parse_chorale
from composer.io.read import texture_from_music21
from composer.music import Meter
from composer.surface.figures import (
    FIGURES,
    HOLD,
    LABELS,
    METRIC,
    SILENT,
    STEP_IN,
    STEP_OUT,
    TO_CADENCE,
    BeatGrid,
    FigurePlaces,
    beat_grid,
    classify_beats,
    skeleton,
)
from composer.texture import REST

COUNTS_COMMAND = "python -m composer.surface.counts"

COUNTS_FILE = "chorale-figures.json"
SHAPE = (4, len(STEP_IN), len(STEP_OUT), len(METRIC), len(TO_CADENCE), len(LABELS))
LEAN_LIMIT = 3.0  # nats: the most the statistical scorer leans a voice towards moving


def counts_path() -> Path:
    return content_dir("models") / COUNTS_FILE


@dataclass(frozen=True, eq=False)
class StatisticalFigureScorer:
    """How often Bach's voices take each figure in each context, smoothed towards the
    same voice's figures for the same interval out (and those towards the voice's).

    Where a piece's beat notes leave a voice fewer chances to move than Bach's left his
    (fewer thirds to fill: the voicing level does not choose its notes for their
    figures), the counts alone would make it move less often than Bach's voice does.
    Given the figures offered at each place, the scorer therefore adds to every figure
    but holding the one log-odds (per voice, at most LEAN_LIMIT) that makes the voice move,
    on average over the places, as often as Bach's voice moves within a beat away from
    the cadence: how often a voice moves is Bach's; which figure it takes, and where, is
    still the contexts' choice.
    """

    logp: np.ndarray  # [voice, step in, step out, metric, cadence, figure]
    rate: np.ndarray  # [voice]: the share of Bach's voice-beats, cadences aside, that move
    reads_other_voices = False

    @classmethod
    def from_counts(cls, counts: np.ndarray, strength: float = 8.0) -> StatisticalFigureScorer:
        n = counts[..., :len(FIGURES)].astype(np.float64)
        voice = n.sum(axis=(1, 2, 3, 4)) + 1.0
        p = voice / voice.sum(axis=-1, keepdims=True)
        out = n.sum(axis=(1, 3, 4))
        p = (out + strength * p[:, None]) / (out.sum(-1, keepdims=True) + strength)
        p = (n + strength * p[:, None, :, None, None]) / (n.sum(-1, keepdims=True) + strength)
        away = counts[:, :, :, :, 1:].sum(axis=(1, 2, 3, 4)).astype(np.float64)  # [voice, label]
        sounding = away.sum(axis=1) - away[:, SILENT]
        return cls(np.log(p), (sounding - away[:, HOLD]) / sounding)

    @classmethod
    def load(cls, path: Path | None = None) -> StatisticalFigureScorer:
        return cls.from_counts(load_counts(path)[0])

    def log_scores(self, places: FigurePlaces) -> np.ndarray:
        scores = self.logp[places.classes()]
        if places.offered is None:
            return scores
        return lean_to_move(scores, places.voice, places.offered, self.rate)


def lean_to_move(scores: np.ndarray, voice: np.ndarray, offered: np.ndarray,
                 rate: np.ndarray, basis: np.ndarray | None = None) -> np.ndarray:
    """The scores [K, figures] with each voice's moving figures raised (or lowered) by
    the one log-odds that makes it move, on average over its places (the rows `basis`
    marks, where it marks any) and the figures offered there, as often as Bach's voice
    does (`rate`, per voice)."""
    moving = np.arange(len(FIGURES)) != HOLD
    lean = np.zeros(len(scores))
    weight = np.exp(scores - scores.max(axis=1, keepdims=True)) * offered
    still, move = weight[:, ~moving].sum(axis=1), weight[:, moving].sum(axis=1)
    for v in np.unique(voice):
        rows = voice == v
        if basis is not None and (rows & basis).any():
            rows &= basis
        lean[voice == v] = _lean(still[rows], move[rows], float(rate[min(v, len(rate) - 1)]))
    return scores + lean[:, None] * moving


def _lean(still: np.ndarray, move: np.ndarray, rate: float) -> float:
    """The log-odds β, within ±LEAN_LIMIT, at which the mean over places of
    move·e^β / (still + move·e^β) is `rate` (bisection: the mean grows with β)."""
    low, high = -LEAN_LIMIT, LEAN_LIMIT
    for _ in range(40):
        mid = (low + high) / 2
        grown = move * np.exp(mid)
        if np.mean(grown / np.maximum(still + grown, 1e-300)) < rate:
            low = mid
        else:
            high = mid
    return (low + high) / 2


@lru_cache(maxsize=1)
def default_figure_scorer() -> StatisticalFigureScorer:
    return StatisticalFigureScorer.load()


def chorale_grids(names: list[str] | None = None) -> Iterator[tuple[str, BeatGrid | None]]:
    """Each chorale's grid, or None for one whose beat is not a quarter note."""

    for name in names or sorted(set(chorale_names())):
        texture, origin = texture_from_music21(parse_chorale(name), source=name)
        meter = texture.meter
        if meter.beat_length != 1 or meter.compound or len(texture.voices) != 4:
            yield name, None
            continue
        first = texture.slices[0]
        into = (first.position.beat - 1) - first.offset  # a pickup starts inside its bar
        lines = [[(ev.offset, ev.duration, ev.pitch.midi if ev.pitch else None, ev.fermata)
                  for ev in events] for events in origin.events]
        yield name, beat_grid(lines, meter.beats_per_bar, into)


MAX_SKELETON_STEP = 24  # semitones; wider moves between beat notes are not counted


def count_figures(grids: list[BeatGrid]) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(counts in SHAPE, skeleton intervals [voice, 2 * MAX_SKELETON_STEP + 1], beats,
    beats in which some voice moves within the beat)."""
    counts = np.zeros(SHAPE, np.int64)
    steps = np.zeros((SHAPE[0], 2 * MAX_SKELETON_STEP + 1), np.int64)
    beats = moving = 0
    for grid in grids:
        labels = classify_beats(grid.midi, grid.onset, grid.starts)
        places = grid.places(labels)
        np.add.at(counts, (*places.classes(), labels.reshape(-1)), 1)
        skel = skeleton(grid.midi, grid.starts, labels)
        for v in range(skel.shape[1]):
            d = np.diff(skel[:, v])
            d = d[(skel[:-1, v] != REST) & (skel[1:, v] != REST) & (np.abs(d) <= MAX_SKELETON_STEP)]
            np.add.at(steps[v], d + MAX_SKELETON_STEP, 1)
        beats += len(grid.starts)
        moving += int(grid.moving.sum())
    return counts, steps, beats, moving


def build_counts(target: Path) -> dict:
    """The figures of every chorale with a quarter-note beat; the skeleton steps of those
    in the model card's training split only, since `linefit --skeleton` fits the model's
    bass to them and the test chorales are what the style benchmark measures it on."""
    from composer.neural.data import split_of  # (the model card's split; numpy only)

    grids, skipped, trained, train_grids = [], [], [], []
    for name, grid in chorale_grids():
        if grid is None:
            skipped.append(name)
            continue
        grids.append(grid)
        if split_of(name) == "train":
            trained.append(name)
            train_grids.append(grid)
    counts, _, beats, moving = count_figures(grids)
    steps = count_figures(train_grids)[1]
    nonzero = np.argwhere(counts)
    data = {
        "source": "music21 corpus: Bach chorales (corpus.chorales.Iterator)",
        "command": COUNTS_COMMAND, "chorales": len(grids),
        "skipped": sorted(set(skipped)), "beats": beats, "moving_beats": moving,
        "axes": {"voice": ["soprano", "alto", "tenor", "bass"], "step_in": list(STEP_IN),
                 "step_out": list(STEP_OUT), "metric": list(METRIC),
                 "to_cadence": list(TO_CADENCE), "label": list(LABELS)},
        "counts": [[*map(int, i), int(counts[tuple(i)])] for i in nonzero],
        # How each voice's chord tone moves from beat to beat, in semitones from
        # -MAX_SKELETON_STEP: what a voicing chooses, before figures fill the beat; in the
        # training chorales named.
        "skeleton_chorales": sorted(set(trained)),
        "skeleton_steps": steps.tolist(),
    }
    target.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    return data


METERS_FILE = "chorale-meters.json"
METERS_COMMAND = "python -m composer.surface.counts meters"


def meters_path() -> Path:
    return content_dir("models") / METERS_FILE


def build_meters(target: Path) -> dict:
    """How often Bach's chorales move within the beat, per time signature: of the beats
    in which some voice sounds, those in which some voice strikes a note within the beat
    (for a half-note beat, quarters; for a dotted-quarter beat, eighths), read on each
    meter's own grid (`composer.surface.division.meter_grid`). Composing leans each
    meter's pieces towards its share (`composer.surface.choose`)."""
    from composer.surface.division import meter_grid

    meters: dict[str, dict] = {}
    for name in sorted(set(chorale_names())):
        texture, origin = texture_from_music21(parse_chorale(name), source=name)
        meter = texture.meter
        first = texture.slices[0]
        into = (first.position.beat - 1) - first.offset / float(meter.beat_length)
        lines = [[(ev.offset, ev.duration, ev.pitch.midi if ev.pitch else None, ev.fermata)
                  for ev in events] for events in origin.events]
        grid = meter_grid(lines, meter, into)
        if grid is None or len(texture.voices) != 4 or meter.changes:
            continue
        at = grid.starts[:, None] + np.arange(4)
        sounding = (grid.midi[np.minimum(at, len(grid.midi) - 1)] != REST).any(axis=(1, 2))
        row = meters.setdefault(str(meter), {"beat_length": str(meter.beat_length),
                                             "chorales": [], "beats": 0, "moving": 0})
        row["chorales"].append(name)
        row["beats"] += int(sounding.sum())
        row["moving"] += int((grid.moving & sounding).sum())
    data = {"source": "music21 corpus: Bach chorales (corpus.chorales.Iterator), four voices",
            "command": METERS_COMMAND, "meters": meters}
    target.write_text(json.dumps(data, indent=1) + "\n")
    return data


def load_meters(path: Path | None = None) -> dict[str, dict]:
    """Per time signature ('3/2'): beat_length, chorales, beats (with a voice
    sounding) and moving (beats in which some voice moves within the beat)."""
    return dict(json.loads((path or meters_path()).read_text())["meters"])


def moving_share(meter: Meter) -> float | None:
    """The share of beats in which Bach's chorales in this meter move within the beat
    (`build_meters`): those in the meter itself where the corpus has some, else those
    with a beat of the same length (6/8 is read beside 12/8, 2/2 beside 3/2), else
    None."""
    shares = _shares()
    return shares.get(str(meter.first), shares.get(f"beat {meter.beat_length}"))


@lru_cache(maxsize=1)
def _shares() -> dict[str, float]:
    """By time signature ('3/2') and by beat length in quarter notes ('beat 3/2')."""
    meters = load_meters()
    out = {name: r["moving"] / r["beats"] for name, r in meters.items()}
    for length in {r["beat_length"] for r in meters.values()}:
        rows = [r for r in meters.values() if r["beat_length"] == length]
        out[f"beat {length}"] = sum(r["moving"] for r in rows) / sum(r["beats"] for r in rows)
    return out


@lru_cache(maxsize=1)
def voices_per_moving_beat() -> float:
    """How many voices a moving beat of Bach's quarter-beat chorales moves on average:
    the voice-beats that move within the beat over the beats in which some voice does."""
    counts, meta = load_counts()
    n = counts.sum(axis=(1, 2, 3, 4))
    return float((n.sum() - n[:, HOLD].sum() - n[:, SILENT].sum()) / meta["moving_beats"])


def load_counts(path: Path | None = None) -> tuple[np.ndarray, dict]:
    """(counts in SHAPE, the file's other fields)."""
    path = path or counts_path()
    data = json.loads(path.read_text())
    if data["axes"]["label"] != list(LABELS):
        raise ValueError(f"{path} counts other figures; rebuild it with `{COUNTS_COMMAND}`")
    counts = np.zeros(SHAPE, np.int64)
    rows = np.array(data["counts"], np.int64).reshape(-1, len(SHAPE) + 1)
    counts[tuple(rows[:, :-1].T)] = rows[:, -1]
    return counts, {k: v for k, v in data.items() if k != "counts"}


def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:]) == ["meters"]:
        meters = build_meters(meters_path())["meters"]
        print(f"wrote the motion of {sum(len(m['chorales']) for m in meters.values())}"
              f" chorales in {len(meters)} meters to {meters_path()}")
        return 0
    data = build_counts(counts_path())
    print(f"wrote figure counts of {data['chorales']} chorales ({data['beats']} beats) to"
          f" {counts_path()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
