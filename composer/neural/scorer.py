"""The trained model as the sampler's scorer, and loading it from models/.

`unary(b)` is log p(b | chord, key), the voicing of a chord on its own (the previous
beat and the place in bar and phrase hidden), and `transition(a, b)` is
log p(b | a, plan) − log p(b | chord, key), so that along a chain the scores add up to
exactly the model's log-likelihood of the piece, log p(b_0) + Σ_t log p(b_t | b_t−1):
the sampler draws from the model's own distribution, restricted to what the rules
allow. The unary also ranks each chord's voicings where a slot offers only the
likeliest, the same at every slot, so that the rules' verdicts on them are shared.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from weakref import WeakKeyDictionary

import numpy as np

from composer.content import content_dir
from composer.errors import PartimentoError
from composer.neural.architecture import FORMAT, ModelConfig, weight_shapes
from composer.neural.features import (
    CADENCES,
    START,
    PlanArrays,
    pitches,
    relative_roles,
    tokens,
)
from composer.neural.net import Groups, Net, Previous, one_thread
from composer.neural.surface_net import load_figure_scorer, surface_path
from composer.neural.weights import read_weights
from composer.sample.scorer import Scorer, SlotInfo, StatisticalScorer
from composer.surface.figures import FigureScorer
from composer.texture import Frame

DEFAULT_MODEL = "chorale.pt"  # read from chorale.npz, exported from it, without torch
CACHE = 4096  # frames remembered by content (each some 30 kB): a batch worker meets the same
# chords over the same melody notes in tune after tune (on 60 Essen tunes: 45% fewer reads)
PAIRS, PAIR_SIZE = 512, 128 * 128  # transitions remembered, and the largest (64 kB)
PLANS = 2048  # the plan's logits remembered by chords and place (each a few kB)

@dataclass(frozen=True, eq=False)
class _Voicings:
    """A frame of voicings read in one key: what the model needs of it, computed once."""

    target: np.ndarray  # int64 [K, 4]: window index of each note
    chords: np.ndarray  # [C, 12]: the distinct chords' role rows
    chord: np.ndarray  # [K]: each voicing's chord
    groups: Groups  # how the voicings share work in pair_log_probs
    within: np.ndarray  # float32 [K, 4, OUT]: the within-beat logits
    alone: np.ndarray  # float32 [K]: log p(voicing | chord, key)
    prev: list[Previous] | None = None  # the frame as the previous beat, once asked


@dataclass(frozen=True, eq=False)
class NeuralScorer:
    model: Net
    path: Path
    surface: FigureScorer | None = None  # the figure network beside it (NAME-surface.npz)
    # The sampler shows the same frames again (a chord's domain at every slot where
    # the chord may stand), and equal frames as other objects: what depends on a frame
    # and the key alone is remembered weakly per frame, and by content for the last
    # CACHE frames; the empty previous beat once per key.
    _seen: WeakKeyDictionary = field(default_factory=WeakKeyDictionary, repr=False)
    _by_content: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _start: dict = field(default_factory=dict, repr=False)
    # The plan's logits by chords and place: a chord's domain is read at slot after slot,
    # and an explanation's trials score the same slots again.
    _plans: OrderedDict = field(default_factory=OrderedDict, repr=False)
    # and the last PAIRS transitions between offered values, which those trials and a
    # piece composed again in sections ask again (on 60 Essen tunes one in five).
    _pairs: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def unary(self, cands: Frame, slot: SlotInfo) -> np.ndarray:
        if not len(cands):  # a slot the rules leave empty
            return np.zeros(0)
        return self._voicings(cands, slot).alone.astype(np.float64)

    def transition(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        if not len(a) or not len(b):
            return np.zeros((len(a), len(b)), np.float32)
        place = _place(slot)
        asked = (_content(a, slot), _content(b, slot), place)
        if (pair := self._pairs.get(asked)) is None:
            seen, prev = self._voicings(b, slot), self._previous(a, slot)
            with one_thread():
                after = self._plan_logits(seen, place)
                pair = self.model.pair_log_probs(prev, after, seen.groups)
            pair -= seen.alone
            if pair.size <= PAIR_SIZE:
                self._pairs[asked] = pair
                if len(self._pairs) > PAIRS:
                    self._pairs.popitem(last=False)
        return pair.copy()

    def _previous(self, a: Frame | None, slot: SlotInfo) -> list[Previous]:
        """The prev_side logits of a as the previous beat (None: no previous beat), in
        the slot's key, remembered."""
        tonic, minor = slot.key.tonic.pc, int(slot.key.mode == "minor")
        if a is None:
            if (tonic, minor) not in self._start:
                self._start[tonic, minor] = self.model.previous(
                    np.full((1, 4), START), np.zeros((1, 12), np.int64), tonic, minor)
            return self._start[tonic, minor]
        seen = self._voicings(a, slot)
        if seen.prev is None:
            with one_thread():
                seen = replace(seen, prev=self.model.previous(
                    tokens(a.midi, tonic), relative_roles(a.roles, tonic), tonic, minor))
            self._seen[a][_key(slot)] = self._by_content[_content(a, slot)] = seen
        assert seen.prev is not None
        return seen.prev

    def _voicings(self, frame: Frame, slot: SlotInfo) -> _Voicings:
        key = _key(slot)
        memo = self._seen.setdefault(frame, {})
        if key not in memo:
            content = _content(frame, slot)
            seen = self._by_content.get(content)
            if seen is None:
                with one_thread():
                    seen = self._read(frame, slot)
                self._by_content[content] = seen
                if len(self._by_content) > CACHE:
                    self._by_content.popitem(last=False)
            memo[key] = seen
        return memo[key]

    def _read(self, frame: Frame, slot: SlotInfo) -> _Voicings:
        """What the model needs of a frame in the slot's key (see `_Voicings`)."""
        net, tonic, minor = self.model, slot.key.tonic.pc, int(slot.key.mode == "minor")
        code = frame.roles.astype(np.int64) @ (5 ** np.arange(12))
        _, first, chord = np.unique(code, return_index=True, return_inverse=True)
        chord = chord.reshape(-1)
        target = tokens(frame.midi, tonic)
        within = net.within_beat(target, relative_roles(frame.roles, tonic),
                                 np.full(len(frame), tonic), np.full(len(frame), minor))
        seen = _Voicings(target, frame.roles[first], chord, net.groups(target, chord),
                         within, np.zeros(0, np.float32))
        after = self._plan_logits(seen, _place(slot, alone=True))
        alone = net.pair_log_probs(self._previous(None, slot), after, seen.groups)
        return replace(seen, alone=alone[0])

    def _plan_logits(self, seen: _Voicings, place: tuple) -> np.ndarray:
        """[K, 4, OUT]: the plan's (at `place`, see `_place`) and the within-beat
        logits of each voicing."""
        content = (seen.chords.dtype.str, seen.chords.shape, seen.chords.tobytes(), place)
        plan = self._plans.get(content)
        if plan is None:
            plan = self._plans[content] = self.model.plan_side(_plan(seen.chords, place))
            if len(self._plans) > PLANS:
                self._plans.popitem(last=False)
        return plan[seen.chord] + seen.within

    def note_log_probs(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        """float [K, 4, WIDTH + 1]: for each pair (a[k], b[k]), each voice's distribution
        over the notes of its window (then a rest), given a[k], the plan and b[k]'s
        voices before it; `window(slot)` gives the notes."""
        tonic = slot.key.tonic.pc
        with one_thread():
            return self.model.log_probs(tokens(a.midi, tonic), relative_roles(a.roles, tonic),
                                        _plan(b.roles, _place(slot)), tokens(b.midi, tonic))

    @staticmethod
    def window(slot: SlotInfo) -> np.ndarray:
        """int [4, WIDTH]: the MIDI note of each class of `note_log_probs`."""
        return pitches(slot.key.tonic.pc)


def _key(slot: SlotInfo) -> tuple[int, str]:
    return slot.key.tonic.pc, slot.key.mode


def _content(frame: Frame, slot: SlotInfo) -> tuple:
    """A frame's voicings and chords, and the key: what `_read` depends on."""
    return (frame.midi.dtype.str, frame.midi.shape, frame.midi.tobytes(),
            frame.roles.dtype.str, frame.roles.tobytes(), _key(slot))


def _place(slot: SlotInfo, alone: bool = False) -> tuple:
    """The slot's key and place as `PlanArrays.build` takes them (alone: the key only,
    the place not known, as a voicing is scored on its own)."""
    key = (slot.key.tonic.pc, int(slot.key.mode == "minor"))
    if alone:
        return key
    cadence = CADENCES.index(slot.cadence) if slot.cadence in CADENCES else len(CADENCES) - 1
    return (*key, round(slot.beat), slot.beats_per_bar, slot.phrase_beat,
            slot.beats_to_cadence, int(slot.fermata), cadence)


def _plan(roles: np.ndarray, place: tuple) -> PlanArrays:
    """The plan at `place` (see `_place`) once per chord row."""
    if len(place) == 2:
        return PlanArrays.build(roles, *place, 0, 0, 0, 0, 0, 0).without_place()
    return PlanArrays.build(roles, *place)


def load_scorer(path: Path) -> NeuralScorer:
    """A trained model: PATH (NAME.pt, or the NAME.npz exported from it) with its card
    NAME.json beside it. A .pt is read from its .npz where that was exported from it,
    through torch otherwise. Anything wrong with either file is one PartimentoError
    naming it."""
    path = Path(path)
    card_path = path.with_suffix(".json")
    if not path.is_file():
        raise PartimentoError(f"{path}: no such model file (`partimento train` makes one;"
                              " `--model none` composes without it)")
    try:
        card = json.loads(card_path.read_text())
        version = card["format_version"]
        if version == FORMAT:
            config = ModelConfig(**card["model"]["config"])
    except FileNotFoundError:
        raise PartimentoError(f"{card_path}: the model card is missing (a model is NAME.pt"
                              " with its card NAME.json beside it)") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise PartimentoError(f"{card_path}: not a readable model card") from None
    if version != FORMAT:
        raise PartimentoError(f"{path}: model format version {version}, but this Partimento"
                              f" reads version {FORMAT}; retrain it with `partimento train`")
    try:
        weights = read_weights(path)
    except Exception as exc:  # torch and numpy raise many kinds for a damaged file
        reason = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else "damaged"
        raise PartimentoError(f"{path}: not a readable model file ({reason})") from None
    shapes = weight_shapes(config)
    fits = (weights.keys() == shapes.keys()
            and all(weights[k].shape == shape for k, shape in shapes.items())
            and int(weights["format_version"]) == FORMAT)
    if not fits:
        raise PartimentoError(f"{path}: the weights do not fit the model its card"
                              " describes (a damaged file, or a card from another model)")
    surface = surface_path(path)
    return NeuralScorer(Net.from_weights(config, weights), path,
                        load_figure_scorer(surface) if surface.is_file() else None)


def figure_scorer_of(scorer: Scorer) -> FigureScorer | None:
    """The figure scorer that goes with a voicing scorer: a trained model's figure network
    where it has one; None (the figure counts) otherwise."""
    return scorer.surface if isinstance(scorer, NeuralScorer) else None


@lru_cache(maxsize=1)
def default_scorer() -> NeuralScorer:
    """The shipped model, loaded once per process."""
    return load_scorer(content_dir("models") / DEFAULT_MODEL)


__all__ = ["DEFAULT_MODEL", "NeuralScorer", "default_scorer", "figure_scorer_of", "load_scorer"]


def scorer_for(model: str | Path | None, voices: tuple[str, ...]) -> Scorer | None:
    """The scorer a model choice names: None or "default" for composing's own default
    (the shipped chorale model), "none" for the statistical scorer, else a trained
    model's file (NAME.pt or NAME.npz, its card beside it)."""
    if model is None or model == "default":
        return None
    if model == "none":
        return StatisticalScorer.from_corpus(voices)
    return load_scorer(Path(model))
