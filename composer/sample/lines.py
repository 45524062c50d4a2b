"""Line weights: each voice's melodic intervals and register as the chorales have them.

The chain's score is a product of experts: the harmony grammar weighs the chords, the
scorer (the network, or the counted intervals of `--model none`) weighs the voicings,
the soft rules weigh their faults. Each is learned from the chorales, but their product
is not: it favours what all of them like at once, and the lines it draws are not Bach's.
Measured on free pieces, the soprano repeats a note on one beat in four (the chorales:
one in seven) and stays within five or six pitches, the tenor repeats on almost every
other beat, and the bass leaps on a third of its beats (the chorales: a quarter), seldom
walks down by step and repeats its note where Bach's bass almost never does.

The mend is the classic one for a product whose marginals are off: maximum entropy. For
each voice a weight per directed interval between neighbouring slots (clipped to an
octave each way) and per height (MIDI note), added to the chain's log-scores, and fitted
(`python -m composer.sample.linefit`) so that the lines the chain's drafts write have
the same interval and height distributions as the training chorales' lines: iterative
scaling, each round adding log(P_chorales / P_drafts) to the weights. No weight is set by
hand; each answers "how much more, or less, often than the chorales does the chain do
this". They are fitted per scorer (the shipped model, and `--model none`) and stored in
models/line-weights.json; a scorer with no fitted weights composes as before.

The same product bends the harmony: the grammar's progressions are counted from the
chorales, but the voicings' scores favour some chords (in major the chain looped
V–vi–ii7 and underused I; in minor it looped VI–VII–IV and struck viio ten times as often
as the chorales). So a scorer may also carry a weight per progression (mode, previous
numeral, next numeral), fitted the same way to the chorales' progressions and added
where the candidates are scored (composer/solve/candidates.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

import numpy as np

from composer.content import fitted_per_scorer
from composer.corpus import default_melody_index
from composer.music import Key
from composer.planning.grammar import HarmonyGrammar
from composer.sample.scorer import Scorer, SlotInfo, StatisticalScorer
from composer.texture import Frame

LINES_FILE = "line-weights.json"
SPAN = 12  # semitones: wider intervals share the last weight each way
HEIGHTS = 128  # MIDI notes
VOICES = ("soprano", "alto", "tenor", "bass")


@dataclass(frozen=True, eq=False)
class LineWeights:
    """Per voice (soprano to bass): log-weights of each directed interval, index
    interval + SPAN, and of each height, index its MIDI note."""

    interval: np.ndarray  # float32 [4, 2 * SPAN + 1]
    height: np.ndarray  # float32 [4, HEIGHTS]
    # (mode, previous numeral, next numeral) → log-weight of that progression; absent: 0
    progression: Mapping[tuple[str, str, str], float] = field(default_factory=dict)

    @classmethod
    def zero(cls) -> LineWeights:
        return cls(np.zeros((4, 2 * SPAN + 1), np.float32), np.zeros((4, HEIGHTS), np.float32))

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"interval": np.round(self.interval, 4).tolist(),
                               "height": np.round(self.height, 4).tolist()}
        if self.progression:
            nested: dict[str, dict[str, dict[str, float]]] = {}
            for (mode, a, b), w in sorted(self.progression.items()):
                if round(w, 4):
                    nested.setdefault(mode, {}).setdefault(a, {})[b] = round(float(w), 4)
            out["progression"] = nested
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LineWeights:
        progression = {(mode, a, b): float(w)
                       for mode, rows in data.get("progression", {}).items()
                       for a, row in rows.items() for b, w in row.items()}
        return cls(np.asarray(data["interval"], np.float32),
                   np.asarray(data["height"], np.float32), progression)

    def progressions(self, grammar: HarmonyGrammar) -> np.ndarray | None:
        """float [N, N]: the weight of each progression between the grammar's numerals, in
        the mode of their key (a keyed grammar's block of a related key in that key's);
        a change of key between them weighs 0. None where no progression is weighed."""
        if not self.progression:
            return None
        modes = [n.local[1] if n.local else grammar.mode for n in grammar.numerals]
        blocks = [n.local for n in grammar.numerals]
        n = len(grammar.numerals)
        out = np.zeros((n, n), np.float32)
        for i, a in enumerate(grammar.numerals):
            for j, b in enumerate(grammar.numerals):
                if blocks[i] == blocks[j]:
                    out[i, j] = self.progression.get((modes[j], a.name, b.name), 0.0)
        return out

    def unary(self, frame: Frame) -> np.ndarray:
        """float [K]: the height weights of each voicing's notes (a rest weighs 0)."""
        midi = frame.midi.astype(np.int64)
        rows = np.arange(min(midi.shape[1], 4))
        at = np.clip(midi[:, rows], 0, HEIGHTS - 1)
        return np.where(midi[:, rows] >= 0, self.height[rows, at], 0).sum(axis=1)

    def transition(self, a: Frame, b: Frame) -> np.ndarray:
        """float32 [K1, K2]: the interval weights of each voice moving from a[i] to b[j]."""
        out = np.zeros((len(a), len(b)), np.float32)
        wide = np.clip(np.arange(-128, 129), -SPAN, SPAN) + SPAN
        for v in range(min(a.midi.shape[1], 4)):
            table = self.interval[v, wide]
            out += table[b.midi[None, :, v] - a.midi[:, None, v] + 128]
            # (a rest, -1, gives some interval; a chain slot holds no rests)
        return out


@dataclass(frozen=True, eq=False)
class LinedScorer:
    """A scorer with line weights added to its log-scores."""

    inner: Scorer
    weights: LineWeights
    # A chord's domain is offered at slot after slot: its heights weighed once.
    _heights: WeakKeyDictionary = field(default_factory=WeakKeyDictionary, repr=False)

    def unary(self, cands: Frame, slot: SlotInfo) -> np.ndarray:
        base = self.inner.unary(cands, slot)
        if not len(cands):
            return base
        if (heights := self._heights.get(cands)) is None:
            heights = self._heights[cands] = self.weights.unary(cands)
        return base + heights

    def transition(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        base = self.inner.transition(a, b, slot)
        if not len(a) or not len(b):
            return base
        return base + self.weights.transition(a, b)


def progression_weights(scorer: Scorer | None, grammar: HarmonyGrammar) -> np.ndarray | None:
    """float [N, N]: the fitted weight of each progression of the grammar for this scorer
    (None where it has none)."""
    return scorer.weights.progressions(grammar) if isinstance(scorer, LinedScorer) else None


def scorer_name(scorer: Scorer) -> str | None:
    """'none' for the statistical scorer, a trained model's file stem ('chorale' for the
    shipped one), None for anything else."""
    if isinstance(scorer, StatisticalScorer):
        return "none"
    path = getattr(scorer, "path", None)
    return Path(path).stem if path is not None else None


@lru_cache(maxsize=1)
def _stored() -> dict[str, LineWeights]:
    return {name: LineWeights.from_json(w) for name, w in fitted_per_scorer(LINES_FILE).items()}


def lined(scorer: Scorer) -> Scorer:
    """The scorer with the line weights fitted for it, where some were (else itself)."""
    if isinstance(scorer, LinedScorer):
        return scorer
    name = scorer_name(scorer)
    weights = _stored().get(name) if name is not None else None
    return scorer if weights is None else LinedScorer(scorer, weights)


@lru_cache(maxsize=1)
def closing_counts() -> dict[int, int]:
    """Degree (semitones above the tonic, read as the bass's last note) → training
    chorales whose soprano closes on it: the tonic in 279 of 290."""
    from composer.neural.data import split_of

    lines: dict[str, dict[str, tuple[int, ...]]] = {}
    for line in default_melody_index().lines:
        lines.setdefault(line.work, {})[line.voice] = line.midi
    out: Counter[int] = Counter()
    for work, voices in lines.items():
        soprano, bass = voices.get("soprano"), voices.get("bass")
        if soprano and bass and split_of(work) == "train":
            out[(soprano[-1] - bass[-1]) % 12] += 1
    return dict(out)


def closing_log_prior(key: Key, heights: np.ndarray) -> np.ndarray:
    """float [N]: log P(a chorale soprano closes on each MIDI height's degree), up to a
    constant (add-one smoothed `closing_counts`). A composed soprano's last note is
    weighed by it: the network, which weighs each voicing given its neighbours, closed a
    free soprano on the third or the fifth in half the pieces, where the chorales'
    melodies close on the tonic in 96 of 100."""
    counts = closing_counts()
    degree = (np.asarray(heights, np.int64) - key.tonic.pc) % 12
    return np.log(np.array([counts.get(int(d), 0) + 1.0 for d in degree]))
