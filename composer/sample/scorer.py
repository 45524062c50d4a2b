"""Scorers: how likely each candidate is, given what comes before. They never decide
what is legal (the rules do); they only weigh what the rules allow.

`Scorer` is the interface the sampler uses; `StatisticalScorer` learns it from the
chorales' melodic intervals and bass positions. The neural model implements the same
interface.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from composer.content import content_dir
from composer.corpus import default_melody_index
from composer.music import Key
from composer.planning.analysis import bass_position_counts
from composer.planning.grammar import WEIGHTS_FILE
from composer.texture import Frame

MAX_INTERVAL = 24


@dataclass(frozen=True)
class SlotInfo:
    """Where a slot stands in the plan: what a scorer may condition on besides the notes
    (each candidate's chord travels in its Frame row)."""

    key: Key  # the local key
    beat: float  # beat in the bar, from 1
    beats_per_bar: int
    phrase_beat: int  # beats since the phrase began
    beats_to_cadence: int  # 0 on the phrase's last chord
    fermata: bool
    cadence: str  # the kind of cadence that closes the phrase


class Scorer(Protocol):
    def unary(self, cands: Frame, slot: SlotInfo) -> np.ndarray:
        """float [K]: log-score of each voicing of a slot on its own."""
        ...

    def transition(self, a: Frame, b: Frame, slot: SlotInfo) -> np.ndarray:
        """float [K1, K2]: log-score of moving from voicing a[i] to voicing b[j] at slot
        (the slot of b)."""
        ...


# Root position dominates chorale basses, then first inversion: the textbook proportions
# of root, third, fifth and seventh, for when the learned weights hold no bass counts.
TEXTBOOK_BASS = (0.62, 0.30, 0.05, 0.03)


def bass_position_logp() -> np.ndarray:
    """float [5]: log P(the bass is the chord's root, third, fifth, seventh), indexed by
    role code (0, no chord tone, all but excluded): counted over every chord of the
    analysed chorales (`partimento learn-grammar`), add-one smoothed, pooled over modes."""


    learned = content_dir("grammars") / WEIGHTS_FILE
    counts = bass_position_counts(json.loads(learned.read_text())) if learned.exists() else None
    p = np.array(TEXTBOOK_BASS) if counts is None else (counts[1:] + 1) / (counts[1:] + 1).sum()
    return np.log(np.concatenate([[1e-9], p]))


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
        return cls(logp, bass_position_logp())

    @classmethod
    def from_corpus(cls, voices: Sequence[str]) -> StatisticalScorer:

        index = default_melody_index()
        return cls.from_lines([(line.voice, line.midi) for line in index.lines], voices)

    def unary(self, cands: Frame, slot: SlotInfo | None = None) -> np.ndarray:
        bass = cands.midi[:, -1].astype(np.int64) % 12
        role = cands.roles[np.arange(len(cands)), bass]
        return self.bass_logp[role]

    def transition(self, a: Frame, b: Frame, slot: SlotInfo | None = None) -> np.ndarray:
        out = np.zeros((len(a), len(b)), np.float32)
        # Every difference of two MIDI notes (or rests, -1) indexes the table directly,
        # intervals wider than MAX_INTERVAL weighing as the widest counted.
        wide = np.clip(np.arange(-128, 129), -MAX_INTERVAL, MAX_INTERVAL) + MAX_INTERVAL
        logp = self.interval_logp.astype(np.float32)[:, wide]
        for v in range(a.midi.shape[1]):  # int16 holds every such difference
            out += logp[v, b.midi[None, :, v] - a.midi[:, None, v] + 128]
        return out

