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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from weakref import WeakKeyDictionary

import numpy as np
import torch

from composer.content import content_dir
from composer.errors import PartimentoError
from composer.neural.features import (
    CADENCES,
    START,
    PlanArrays,
    pitches,
    relative_roles,
    tokens,
)
from composer.neural.model import FORMAT, Batch, ChoraleNet, ModelConfig
from composer.scorer import SlotInfo
from composer.texture import Frame

DEFAULT_MODEL = "chorale.pt"


@dataclass(frozen=True, eq=False)
class _Voicings:
    """A frame of voicings read in one key: what the model needs of it, computed once."""

    target: torch.Tensor  # int64 [K, 4]: window index of each note
    chords: np.ndarray  # [C, 12]: the distinct chords' role rows
    chord: np.ndarray  # [K]: each voicing's chord
    within: torch.Tensor  # [K, 4, OUT]: the within-beat logits
    alone: np.ndarray  # float32 [K]: log p(voicing | chord, key)


@dataclass(frozen=True, eq=False)
class NeuralScorer:
    model: ChoraleNet
    path: Path
    # The sampler shows the same frames again (a chord's domain at every slot where
    # the chord may stand): what depends on a frame and the key alone is remembered,
    # weakly, per frame.
    _seen: WeakKeyDictionary = field(default_factory=WeakKeyDictionary, repr=False)

    def unary(self, cands: Frame, slot: SlotInfo) -> np.ndarray:
        if not len(cands):  # a slot the rules leave empty
            return np.zeros(0)
        return self._voicings(cands, slot).alone.astype(np.float64)

    def transition(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        if not len(a) or not len(b):
            return np.zeros((len(a), len(b)), np.float32)
        seen = self._voicings(b, slot)
        with _inference():
            after = self._plan_logits(_plan(seen.chords, slot), seen)
            pair = self.model.pair_log_probs(self._prev(a, slot), after, seen.target,
                                             seen.chord).numpy()
        return pair - seen.alone

    def _prev(self, a: Frame | None, slot: SlotInfo) -> list[tuple[torch.Tensor, np.ndarray]]:
        """Each voice's prev_side logits once per distinct (note, chord) of a (or for no
        previous beat at all), and each voicing's row."""
        tonic, minor = slot.key.tonic.pc, int(slot.key.mode == "minor")
        if a is None:
            notes, roles = np.full((1, 4), START), np.zeros((1, 12), np.int64)
        else:
            notes, roles = tokens(a.midi, tonic), relative_roles(a.roles, tonic)
        _, chord = np.unique(roles @ (5 ** np.arange(12)), return_inverse=True)
        picks, rows = [], []
        for v in range(4):
            _, first, row = np.unique(notes[:, v] * len(notes) + chord.reshape(-1),
                                      return_index=True, return_inverse=True)
            picks.append(first)
            rows.append(row.reshape(-1))
        pick, voice = np.concatenate(picks), np.repeat(np.arange(4), [len(p) for p in picks])
        logits = self.model.prev_side(
            torch.as_tensor(notes[pick, voice]), torch.as_tensor(voice),
            torch.as_tensor(roles[pick]), torch.full((len(pick),), tonic),
            torch.full((len(pick),), minor))
        return list(zip(torch.split(logits, [len(p) for p in picks]), rows, strict=True))

    def _voicings(self, frame: Frame, slot: SlotInfo) -> _Voicings:
        key = (slot.key.tonic.pc, slot.key.mode)
        memo = self._seen.setdefault(frame, {})
        if key not in memo:
            net, tonic, minor = self.model, slot.key.tonic.pc, int(slot.key.mode == "minor")
            code = frame.roles.astype(np.int64) @ (5 ** np.arange(12))
            _, first, chord = np.unique(code, return_index=True, return_inverse=True)
            with _inference():
                target = torch.as_tensor(tokens(frame.midi, tonic))
                within = net.within(target, torch.as_tensor(relative_roles(frame.roles, tonic)),
                                    torch.full((len(frame),), tonic),
                                    torch.full((len(frame),), minor))
                seen = _Voicings(target, frame.roles[first], chord.reshape(-1), within,
                                 np.zeros(0, np.float32))
                after = self._plan_logits(_plan(seen.chords, slot).without_place(), seen)
                alone = net.pair_log_probs(self._prev(None, slot), after, target, seen.chord)
            memo[key] = replace(seen, alone=alone[0].numpy())
        return memo[key]

    def _plan_logits(self, plan: PlanArrays, seen: _Voicings) -> torch.Tensor:
        """[K, 4, OUT]: the plan's and the within-beat logits of each voicing."""
        none = np.zeros((0, 4), np.int64)
        logits = self.model.plan_side(Batch.build(none, none, plan, none))
        return logits[torch.as_tensor(seen.chord)] + seen.within

    def note_log_probs(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        """float [K, 4, WIDTH + 1]: for each pair (a[k], b[k]), each voice's distribution
        over the notes of its window (then a rest), given a[k], the plan and b[k]'s
        voices before it; `window(slot)` gives the notes."""
        tonic = slot.key.tonic.pc
        batch = Batch.build(tokens(a.midi, tonic), relative_roles(a.roles, tonic),
                            _plan(b.roles, slot), tokens(b.midi, tonic))
        with _inference():
            return self.model(batch).numpy()

    @staticmethod
    def window(slot: SlotInfo) -> np.ndarray:
        """int [4, WIDTH]: the MIDI note of each class of `note_log_probs`."""
        return pitches(slot.key.tonic.pc)


@contextmanager
def _inference() -> Iterator[None]:
    """No autograd, and one thread: the matrices are small, and a second thread costs
    more than it gives, twenty times more when the other core is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            yield
    finally:
        torch.set_num_threads(threads)


def _plan(roles: np.ndarray, slot: SlotInfo) -> PlanArrays:
    """The slot's plan once per chord row."""
    cadence = CADENCES.index(slot.cadence) if slot.cadence in CADENCES else len(CADENCES) - 1
    return PlanArrays.build(roles, slot.key.tonic.pc, int(slot.key.mode == "minor"),
                            round(slot.beat), slot.beats_per_bar, slot.phrase_beat,
                            slot.beats_to_cadence, int(slot.fermata), cadence)


def load_scorer(path: Path) -> NeuralScorer:
    """A trained model: PATH (a state dict of tensors) with its card PATH.json beside it.
    Anything wrong with either is one PartimentoError naming the file."""
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
        state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as exc:  # torch raises many kinds for a damaged or foreign file
        reason = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else "damaged"
        raise PartimentoError(f"{path}: not a readable model file ({reason})") from None
    model = ChoraleNet(config)
    try:
        if not isinstance(state, dict) or int(state.get("format_version", -1)) != FORMAT:
            raise ValueError("format")
        model.load_state_dict(state)
    except (RuntimeError, ValueError, TypeError):
        raise PartimentoError(f"{path}: the weights do not fit the model its card"
                              " describes (a damaged file, or a card from another model)"
                              ) from None
    model.eval()
    return NeuralScorer(model, path)


@lru_cache(maxsize=1)
def default_scorer() -> NeuralScorer:
    """The shipped model, loaded once per process."""
    return load_scorer(content_dir("models") / DEFAULT_MODEL)


__all__ = ["DEFAULT_MODEL", "NeuralScorer", "default_scorer", "load_scorer"]
