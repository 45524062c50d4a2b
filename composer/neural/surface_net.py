"""The figure network run in numpy: the neural surface, what composing uses.

It scores the figure of one voice on one beat (`composer.surface.figures.FIGURES`) given
the voicings around it — every voice's note on this beat and the next, the chords of both
beats and the local key — the figures the voices above already take on that beat, the
meter and the beat's place in the bar and the phrase. Every input is categorical, so the
first layer is a sum of table rows (one table per field); then ReLU layers and the logits
of the figures. Voice by voice from the top, the conditionals multiply to the
probability of the beat's whole combination, which is what the sampler weighs.

The weights are NAME-surface.npz beside the chorale model NAME.pt, with its card
NAME-surface.json (`partimento train --surface` writes both; training needs torch, this
module only numpy). The same `fields` serve training and composing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from composer.errors import PartimentoError
from composer.neural.net import one_thread
from composer.neural.weights import read_npz
from composer.surface.counts import (
    StatisticalFigureScorer,
    default_figure_scorer,
    lean_to_move,
)
from composer.surface.figures import HOLD, LABELS, NAMES, FigurePlaces
from composer.texture import REST

SUFFIX = "-surface"  # NAME-surface.npz and NAME-surface.json beside NAME.pt
FORMAT = 1
VOICES = 4  # the network reads four voices; other textures keep the counts
REACH = 12  # intervals in semitones, clipped to ±REACH
UNKNOWN = len(LABELS)  # a voice whose figure is not placed (yet), or a given melody's
MAX_COUNT = 8


def _interval(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """b − a clipped to ±REACH as 0..2 REACH, or 2 REACH + 1 where either is silent."""
    d = np.clip(np.asarray(b, np.int64) - a, -REACH, REACH) + REACH
    return np.where((np.asarray(a) == REST) | (np.asarray(b) == REST), 2 * REACH + 1, d)


def _pc(midi: np.ndarray, tonic: np.ndarray) -> np.ndarray:
    """The pitch class counted from the tonic, 12 for silence."""
    return np.where(midi == REST, 12, (np.asarray(midi, np.int64) - tonic[:, None]) % 12)


# Each field's name and how many values it takes: the first layer's tables.
CONTEXT: tuple[tuple[str, int], ...] = (
    ("voice", VOICES), ("step_in", 2 * REACH + 2), ("step_out", 2 * REACH + 2),
    *((f"motion_{w}", 2 * REACH + 2) for w in range(VOICES)),
    *((f"pc_{w}", 13) for w in range(VOICES)),
    *((f"next_pc_{w}", 13) for w in range(VOICES)),
    *((f"role_{k}", 5) for k in range(12)),
    *((f"next_role_{k}", 5) for k in range(12)),
    ("minor", 2), ("beat", 4), ("meter", 3), ("to_cadence", MAX_COUNT + 1),
    ("phrase_beat", MAX_COUNT + 1), ("fermata", 2), ("next_fermata", 2),
)
OTHERS: tuple[tuple[str, int], ...] = tuple((f"figure_{w}", UNKNOWN + 1) for w in range(VOICES))


def context_fields(places: FigurePlaces) -> np.ndarray:
    """int64 [K, len(CONTEXT)]: the inputs of each place but the other voices' figures."""
    a = places.around
    assert a is not None
    v, k = np.minimum(places.voice, VOICES - 1), len(places)
    cols = [v, _interval(places.prev, places.this), _interval(places.this, places.next),
            *(_interval(a.notes[:, w], a.next_notes[:, w]) for w in range(VOICES)),
            *_pc(a.notes, a.tonic).T, *_pc(a.next_notes, a.tonic).T,
            *np.asarray(a.roles, np.int64).T, *np.asarray(a.next_roles, np.int64).T,
            a.minor, np.clip(places.beat, 0, 3), np.clip(places.beats_per_bar - 2, 0, 2),
            np.clip(places.to_cadence, 0, MAX_COUNT), np.clip(a.phrase_beat, 0, MAX_COUNT),
            a.fermata, a.next_fermata]
    return np.stack([np.broadcast_to(np.asarray(c, np.int64), (k,)) for c in cols], axis=1)


def other_fields(voice: np.ndarray, others: np.ndarray | None) -> np.ndarray:
    """int64 [K, VOICES]: the figures (LABELS) of the voices above each place's voice,
    UNKNOWN for itself, the voices below and where none is placed."""
    k = len(voice)
    out = np.full((k, VOICES), UNKNOWN, np.int64)
    if others is not None:
        out[:, :others.shape[1]] = np.where(others[:, :VOICES] < 0, UNKNOWN, others[:, :VOICES])
    out[np.arange(VOICES)[None, :] >= np.asarray(voice)[:, None]] = UNKNOWN
    return out


def offsets(fields: tuple[tuple[str, int], ...]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum([n for _, n in fields])[:-1]]).astype(np.int64)


@dataclass(frozen=True, eq=False)
class SurfaceNet:
    """The network's arrays: `embed` [sum of field sizes, hidden] holds every field's
    table (CONTEXT, then OTHERS), then (weight, bias) per later layer."""

    embed: np.ndarray
    bias: np.ndarray
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]  # the last gives the logits

    @classmethod
    def from_weights(cls, w: Mapping[str, np.ndarray]) -> SurfaceNet:
        depth = sum(1 for k in w if k.startswith("layers.") and k.endswith(".weight"))
        return cls(np.asarray(w["embed.weight"], np.float32), np.asarray(w["bias"], np.float32),
                   tuple((np.ascontiguousarray(w[f"layers.{i}.weight"].T, np.float32),
                          np.asarray(w[f"layers.{i}.bias"], np.float32))
                         for i in range(depth)))

    def first_layer(self, context: np.ndarray) -> np.ndarray:
        """[K, hidden]: the context's share of the first layer, bias included."""
        return self.embed[context + offsets(CONTEXT)].sum(axis=1) + self.bias

    def log_probs(self, first: np.ndarray, others: np.ndarray) -> np.ndarray:
        """[R, figures] log-probabilities from the context's first-layer rows (one per
        row) and the other voices' figures (OTHERS fields)."""
        start = sum(n for _, n in CONTEXT)
        h = first + self.embed[others + start + offsets(OTHERS)].sum(axis=1)
        for weight, bias in self.layers:
            h = np.maximum(h, 0) @ weight + bias
        h -= h.max(axis=1, keepdims=True)
        return h - np.log(np.exp(h).sum(axis=1, keepdims=True))


@dataclass(frozen=True, eq=False)
class NeuralFigureScorer:
    """The figure network as a `FigureScorer`. Places without the voicings around them,
    or in a texture of other than four voices, are scored by the counts instead. Where
    the figures offered are known, each voice leans towards moving as often as Bach's
    voice does (as the counts do: `lean_to_move`): the voicings composing chooses leave
    fewer figures than Bach's did, and the network, which knows how seldom a voice
    moves where few are offered, would otherwise let the surface go still."""

    net: SurfaceNet
    counts: StatisticalFigureScorer
    reads_other_voices = True

    def log_scores(self, places: FigurePlaces) -> np.ndarray:
        a = places.around
        if a is None or a.notes.shape[1] != VOICES:
            return self.counts.log_scores(places)
        row = np.arange(len(places)) if a.of is None else a.of
        with one_thread():  # small matrices: BLAS's helper threads only slow them down
            first = self.net.first_layer(context_fields(places))
            scores = self.net.log_probs(first[row], other_fields(places.voice[row], a.others))
        if places.offered is None:
            return scores
        # The lean is measured where the voices above hold, as if the voice were alone.
        alone = ((a.others == -1) | (a.others == HOLD)).all(axis=1) if a.others is not None \
            else None
        return lean_to_move(scores, places.voice[row], places.offered[row], self.counts.rate,
                            alone)


def surface_path(model: Path) -> Path:
    """NAME-surface.npz beside the chorale model NAME.pt (or NAME.npz)."""
    model = Path(model)
    return model.with_name(model.stem + SUFFIX + ".npz")


def load_figure_scorer(path: Path) -> NeuralFigureScorer:
    """The figure network at PATH (NAME-surface.npz, its card NAME-surface.json beside
    it); anything wrong is one PartimentoError naming the file."""
    path = Path(path)
    try:
        weights, _ = read_npz(path)
        card = json.loads(path.with_suffix(".json").read_text())
        fits = (card["format_version"] == FORMAT
                and [str(x) for x in weights.pop("figures")] == list(NAMES)
                and weights["embed.weight"].shape[0]
                == sum(n for _, n in CONTEXT + OTHERS))
        net = SurfaceNet.from_weights(weights)
    except (OSError, ValueError, KeyError, TypeError):
        raise PartimentoError(f"{path}: not a readable figure network (`partimento train"
                              " --surface` writes one)") from None
    if not fits or net.layers[-1][0].shape[1] != len(NAMES):
        raise PartimentoError(f"{path}: the figure network was trained on another figure"
                              " vocabulary or format; retrain it with `partimento train"
                              " --surface`")
    return NeuralFigureScorer(net, default_figure_scorer())


__all__ = ["NeuralFigureScorer", "SurfaceNet", "context_fields", "load_figure_scorer",
           "other_fields", "surface_path"]
