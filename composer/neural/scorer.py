"""The trained model as the sampler's scorer, and loading it from models/.

`unary(b)` is log p(b | plan), the voicing of a beat on its own (the previous beat
hidden), and `transition(a, b)` is log p(b | a, plan) − log p(b | plan), so that along
a chain the sum of all scores is exactly the model's log-likelihood of the piece,
log p(b_0) + Σ_t log p(b_t | b_t−1); the sampler then draws from the model's own
distribution, restricted to what the rules allow. The unary also ranks each chord's
voicings when a slot offers only the likeliest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from composer.content import content_dir
from composer.errors import PartimentoError
from composer.neural.features import (
    CADENCES,
    START,
    WIDTH,
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
class NeuralScorer:
    model: ChoraleNet
    path: Path

    def unary(self, cands: Frame, slot: SlotInfo) -> np.ndarray:
        with torch.inference_mode():
            return self._scores(None, cands, slot)[0].numpy().astype(np.float64)

    def transition(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        with torch.inference_mode():
            pair = self._scores(a, b, slot)
            return (pair[1:] - pair[:1]).numpy()

    def _scores(self, a: Frame | None, b: Frame, slot: SlotInfo) -> torch.Tensor:
        """[1 + K1, K2]: log p(b_j | plan), then log p(b_j | a_i, plan) for each a_i."""
        net, tonic, minor = self.model, slot.key.tonic.pc, int(slot.key.mode == "minor")
        chords, chord = np.unique(b.roles, axis=0, return_inverse=True)
        chord = chord.reshape(-1)
        rows = 1 + (0 if a is None else len(a))
        prev = np.full((rows, 1, 4), START, np.int64)
        prev_roles = np.zeros((rows, 1, 12), np.int64)
        if a is not None:
            prev[1:, 0] = tokens(a.midi, tonic)
            prev_roles[1:, 0] = relative_roles(a.roles, tonic)
        before = net.prev_side(torch.as_tensor(prev), torch.as_tensor(prev_roles),
                               torch.full((rows,), tonic), torch.full((rows,), minor))
        plan = net.plan_side(Batch.build(prev[:0], prev_roles[:0], _plan(chords, slot),
                                         np.zeros((0, 4))))
        target = torch.as_tensor(tokens(b.midi, tonic))
        after = plan[torch.as_tensor(chord)] + net.within(
            target, torch.as_tensor(relative_roles(b.roles, tonic)),
            torch.full((len(b),), tonic), torch.full((len(b),), minor))
        return net.pair_log_probs(before, after, target, chord)

    def note_log_probs(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        """float [K, 4, WIDTH + 1]: for each pair (a[k], b[k]), each voice's distribution
        over the notes of its window (then a rest), given a[k], the plan and b[k]'s
        voices before it; `window(slot)` gives the notes."""
        tonic = slot.key.tonic.pc
        batch = Batch.build(tokens(a.midi, tonic)[:, None],
                            relative_roles(a.roles, tonic)[:, None], _plan(b.roles, slot),
                            tokens(b.midi, tonic))
        with torch.inference_mode():
            return self.model(batch).numpy()

    @staticmethod
    def window(slot: SlotInfo) -> np.ndarray:
        """int [4, WIDTH]: the MIDI note of each class of `note_log_probs`."""
        return pitches(slot.key.tonic.pc)


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
        version, config = card["format_version"], ModelConfig(**card["model"]["config"])
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


__all__ = ["DEFAULT_MODEL", "WIDTH", "NeuralScorer", "default_scorer", "load_scorer"]
