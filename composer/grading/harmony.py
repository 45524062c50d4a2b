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

from composer.chords import QUALITIES, Chord
from composer.music import Key, Pitch, PitchClass

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


def find_key(weights: np.ndarray, sharps: int | None, last_bass_pc: int | None,
             mode: str | None = None) -> Key:
    """The key of a score from its pitch-class weights, among the two keys its signature
    allows (or all 24 without one). A final bass note on either tonic decides first; then
    the mode the file states (a piece ending on a half cadence, whose pitch content may
    lean to the relative key); then the pitch content."""
    if sharps is not None and -7 <= sharps <= 7:
        candidates = [key_from_signature(sharps, "major"), key_from_signature(sharps, "minor")]
        for key in candidates:
            if last_bass_pc is not None and key.tonic.pc == last_bass_pc:
                return key
        if mode in ("major", "minor"):
            return key_from_signature(sharps, mode)
    else:
        candidates = [key_from_signature(s, m) for s in range(-6, 6) for m in ("major", "minor")]
    return max(candidates, key=lambda key: key_fit(key, weights))


def key_fit(key: Key, weights: np.ndarray) -> float:
    """How well pitch-class weights match the key's profile (a correlation)."""
    profile = _MAJOR_PROFILE if key.mode == "major" else _MINOR_PROFILE
    return float(np.corrcoef(np.roll(profile, key.tonic.pc), weights)[0, 1]) if weights.any() \
        else 0.0


# The weight of a note sounding at the start of a harmonic slot; notes struck later in
# the slot weigh less (see slot_notes).
ONSET_WEIGHT = 1.0

# One onset slice of a harmonic slot: (duration, pitch per voice or None, struck or not).
SliceNotes = tuple[float, Sequence[Pitch | None], Sequence[bool]]


def slot_notes(rows: Sequence[SliceNotes]) -> tuple[list[tuple[PitchClass, float]],
                                                     PitchClass | None]:
    """(weighted notes, bass) of one harmonic slot from its onset slices, the one on the
    beat first: all that sounds there weighs ONSET_WEIGHT, a note struck later half its
    share of the slot's time. The composer weighs its surface figures the same way."""
    span = sum(r[0] for r in rows) or 1.0
    first = rows[0][1]
    notes = [(p.pitch_class, ONSET_WEIGHT) for p in first if p is not None]
    notes += [(p.pitch_class, 0.5 * d / span) for d, pitches, struck in rows[1:]
              for p, a in zip(pitches, struck, strict=True) if p is not None and a]
    sounding = [p for p in first if p is not None]
    return notes, (min(sounding).pitch_class if sounding else None)


# Spelled chord templates: (steps, semitones) of each tone above the root.
_TEMPLATES = [(name, ((0, 0), *q.tones), q.bass) for name, q in QUALITIES.items()]


@cache
def _spelled_templates(root: PitchClass
                       ) -> tuple[tuple[str, tuple[int, ...], tuple[int, ...], int | None], ...]:
    """Every chord table entry built on a root, spelled (those needing triple sharps or
    flats left out), as the codes (`pc_code`) and pitch classes of its tones and the code
    of the one tone it must be heard over, if any; a pure function of the root, so
    computed once per root."""
    out = []
    for name, tones, over in _TEMPLATES:
        spelled = tuple(root.up(s, c) for s, c in tones)
        if all(abs(t.alter) <= 2 for t in spelled):
            codes = tuple(pc_code(t) for t in spelled)
            out.append((name, codes, tuple(t.pc for t in spelled),
                        None if over is None else codes[over]))
    return tuple(out)


def pc_code(pc: PitchClass) -> int:
    """A spelled pitch class as a small int: hashed in C, where a PitchClass is not."""
    return 8 * pc.step + pc.alter + 3


def identify_chord(
    notes: Sequence[tuple[PitchClass, float]], bass: PitchClass | None, key: Key
) -> Chord | None:
    """The chord best explaining weighted spelled pitch classes (heavier = on the beat:
    ONSET_WEIGHT for each note sounding at the start of the slot, less for one struck
    later).

    Each sounding pitch class is tried as a root; a template scores the weight of the
    notes it contains, less the weight of those it leaves out, less its missing third,
    less a little for every seventh and every tone foreign to the key (or, in minor, for
    a raised sixth degree the notes do not sound). A seventh chord
    also needs its seventh and a root sounding from the start of the slot: a passing
    tone is no root. (A triad's root may arrive later, as an appoggiatura resolves.)
    """
    weight: dict[int, float] = {}
    spelled: dict[int, PitchClass] = {}
    for pc, w in notes:
        c = pc_code(pc)
        weight[c] = weight.get(c, 0.0) + w
        spelled.setdefault(c, pc)
    if not weight:
        return None
    total = sum(weight.values())
    by_pc: dict[int, float] = {}
    for c, w in weight.items():
        by_pc[spelled[c].pc] = by_pc.get(spelled[c].pc, 0.0) + w
    scale = key.scale_pcs
    # Minor's raised sixth is heard where it sounds; a chord lacking its fifth (C# E B in
    # B minor) is the diatonic one (the half-diminished ii7, not C# E G# B).
    raised_sixth = (key.tonic.pc + 9) % 12 if key.mode == "minor" else None
    bass_code = pc_code(bass) if bass is not None else None
    best: tuple[float, int, str] | None = None
    # The same products of the total for every template (the very floats, hoisted).
    seventh, missing, faint, augmented = 0.15 * total, 0.6 * total, 0.2 * total, 0.3 * total
    foreign, sixth, get = 0.1 * total, 0.05 * total, weight.get
    for root in weight:
        for name, tones, pcs, over in _spelled_templates(spelled[root]):
            if over is not None and over != bass_code:  # an augmented sixth: over its bass
                continue
            covered = get(tones[0], 0.0) + get(tones[1], 0.0) + get(tones[2], 0.0)
            if len(tones) == 4:
                covered += get(tones[3], 0.0)
            score = 2 * covered - total
            if pcs[1] not in by_pc:
                score -= missing
            if len(tones) == 4:
                score -= seventh
                if get(tones[3], 0.0) < faint:
                    score -= total
                if weight[root] < ONSET_WEIGHT:
                    score -= missing
            if name == "augmented":
                score -= augmented
            score -= foreign * ((pcs[0] not in scale) + (pcs[1] not in scale)
                                + (pcs[2] not in scale))
            if root == bass_code:
                score += foreign
            if raised_sixth in pcs and raised_sixth not in by_pc:
                score -= sixth
            if best is None or score > best[0]:
                best = (score, root, name)
    return Chord(spelled[best[1]], best[2]) if best else None
