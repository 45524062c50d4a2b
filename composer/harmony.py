"""Hearing harmony in notes: the key of a score and the chord of each harmonic slot.

The checker needs a chord under every beat to judge chord tones, doublings and
resolutions in an exercise that carries no analysis. The chord is the table entry whose
tones best cover what sounds on the beat (struck or held) and, more lightly, what
sounds later in the beat, with the spelling deciding the root of symmetrical chords.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from composer.music import QUALITIES, Chord, Key, PitchClass

# Krumhansl-Kessler key profiles (probe-tone ratings), tonic first.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

_MAJOR_TONICS = ("C", "G", "D", "A", "E", "B", "F#", "C#", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb")
_SHARPS = (0, 1, 2, 3, 4, 5, 6, 7, -1, -2, -3, -4, -5, -6, -7)


def key_from_signature(sharps: int, mode: str) -> Key:
    major = Key(PitchClass.parse(_MAJOR_TONICS[_SHARPS.index(sharps)]), "major")
    if mode == "major":
        return major
    return Key(major.tonic.up(5, 9), "minor")


def find_key(weights: np.ndarray, sharps: int | None, last_bass_pc: int | None) -> Key:
    """The key of a score from its pitch-class weights, among the two keys its signature
    allows (or all 24 without one). A final bass note on either tonic decides first."""
    if sharps is not None and -7 <= sharps <= 7:
        candidates = [key_from_signature(sharps, "major"), key_from_signature(sharps, "minor")]
        for key in candidates:
            if last_bass_pc is not None and key.tonic.pc == last_bass_pc:
                return key
    else:
        candidates = [key_from_signature(s, m) for s in range(-6, 6) for m in ("major", "minor")]

    def fit(key: Key) -> float:
        profile = _MAJOR_PROFILE if key.mode == "major" else _MINOR_PROFILE
        return float(np.corrcoef(np.roll(profile, key.tonic.pc), weights)[0, 1]) if weights.any() \
            else 0.0

    return max(candidates, key=fit)


# The weight of a note sounding at the start of a harmonic slot; notes struck later in
# the slot weigh less (see io._slot_chords).
ONSET_WEIGHT = 1.0

# Spelled chord templates: (steps, semitones) of each tone above the root.
_TEMPLATES = [(name, ((0, 0), *q.tones)) for name, q in QUALITIES.items()]


@cache
def _spelled_templates(root: PitchClass) -> tuple[tuple[str, tuple[PitchClass, ...]], ...]:
    """Every chord table entry built on a root, spelled (those needing triple sharps or
    flats left out); a pure function of the root, so computed once per root."""
    out = []
    for name, tones in _TEMPLATES:
        spelled = tuple(root.up(s, c) for s, c in tones)
        if all(abs(t.alter) <= 2 for t in spelled):
            out.append((name, spelled))
    return tuple(out)


def identify_chord(
    notes: Sequence[tuple[PitchClass, float]], bass: PitchClass | None, key: Key
) -> Chord | None:
    """The chord best explaining weighted spelled pitch classes (heavier = on the beat:
    ONSET_WEIGHT for each note sounding at the start of the slot, less for one struck
    later).

    Each sounding pitch class is tried as a root; a template scores the weight of the
    notes it contains, less the weight of those it leaves out, less its missing third,
    less a little for every seventh and every tone foreign to the key. A seventh chord
    also needs its seventh and a root sounding from the start of the slot: a passing
    tone is no root. (A triad's root may arrive later, as an appoggiatura resolves.)
    """
    weight: dict[PitchClass, float] = {}
    for pc, w in notes:
        weight[pc] = weight.get(pc, 0.0) + w
    if not weight:
        return None
    total = sum(weight.values())
    by_pc: dict[int, float] = {}
    for pc, w in weight.items():
        by_pc[pc.pc] = by_pc.get(pc.pc, 0.0) + w
    scale = key.scale_pcs
    best: tuple[float, Chord] | None = None
    for root in weight:
        for name, spelled in _spelled_templates(root):
            covered = sum(weight.get(t, 0.0) for t in spelled)
            score = 2 * covered - total
            if spelled[1].pc not in by_pc:
                score -= 0.6 * total
            if len(spelled) == 4:
                score -= 0.15 * total
                if weight.get(spelled[3], 0.0) < 0.2 * total:
                    score -= total
                if weight[root] < ONSET_WEIGHT:
                    score -= 0.6 * total
            if name == "augmented":
                score -= 0.3 * total
            score -= 0.1 * total * sum(t.pc not in scale for t in spelled[:3])
            if bass is not None and root == bass:
                score += 0.1 * total
            if best is None or score > best[0]:
                best = (score, Chord(root, name))
    return best[1] if best else None
