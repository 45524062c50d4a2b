"""Scorers: how likely each candidate is, given what comes before. They never decide
what is legal (the rules do); they only weigh what the rules allow.

`Scorer` is the interface the sampler uses; `StatisticalScorer` learns it from the
chorales' melodic intervals and bass positions. The neural model implements the same
interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from composer.texture import Frame

MAX_INTERVAL = 24


class Scorer(Protocol):
    def unary(self, cands: Frame) -> np.ndarray:
        """float [K]: log-score of each voicing of a slot on its own."""
        ...

    def transition(self, a: Frame, b: Frame) -> np.ndarray:
        """float [K1, K2]: log-score of moving from voicing a[i] to voicing b[j]."""
        ...


@dataclass(frozen=True, eq=False)
class StatisticalScorer:
    """A Markov scorer: per-voice melodic interval probabilities and the bass's chord
    tone, counted in the corpus with add-one smoothing."""

    interval_logp: np.ndarray  # [voices, 2 * MAX_INTERVAL + 1], index = interval + MAX
    bass_logp: np.ndarray  # [5]: bass on root, third, fifth, seventh (index = role code)

    @classmethod
    def from_lines(cls, lines: Sequence[tuple[str, Sequence[int]]],
                   voices: Sequence[str]) -> StatisticalScorer:
        counts = np.ones((len(voices), 2 * MAX_INTERVAL + 1))
        for voice, midi in lines:
            if voice not in voices:
                continue
            steps = np.diff(np.asarray(midi, int))
            steps = steps[np.abs(steps) <= MAX_INTERVAL]
            np.add.at(counts[voices.index(voice)], steps + MAX_INTERVAL, 1)
        logp = np.log(counts / counts.sum(axis=1, keepdims=True))
        # Root position dominates chorale basses, then first inversion (textbook
        # proportions; refined by the model).
        bass = np.log(np.array([1e-9, 0.62, 0.30, 0.05, 0.03]))
        return cls(logp, bass)

    @classmethod
    def from_corpus(cls, voices: Sequence[str]) -> StatisticalScorer:
        from composer.corpus import default_melody_index

        index = default_melody_index()
        return cls.from_lines([(line.voice, line.midi) for line in index.lines], voices)

    def unary(self, cands: Frame) -> np.ndarray:
        bass = cands.midi[:, -1].astype(np.int64) % 12
        role = cands.roles[np.arange(len(cands)), bass]
        return self.bass_logp[role]

    def transition(self, a: Frame, b: Frame) -> np.ndarray:
        step = b.midi[None, :, :].astype(np.int64) - a.midi[:, None, :].astype(np.int64)
        step = np.clip(step, -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
        voices = np.arange(a.midi.shape[1])
        return self.interval_logp[voices[None, None, :], step].sum(axis=2)
