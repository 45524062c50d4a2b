"""The places a figure scorer is asked about, beyond the voice's own notes: the beat
around it (`Around`: the voicings, chords and key of this slot and the next, the place
in the phrase) and, for a scorer that reads them, the figures of the voices above in
each of the beat's combinations — asked once per distinct figures above, not once per
combination."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from composer.music import Pitch
from composer.planning.plan import Plan
from composer.spec.values import MelodyNote
from composer.surface.beat import Beat
from composer.surface.figures import CELLS, GIVEN, Around, FigurePlaces, classify_beats
from composer.texture import REST, chord_arrays

LABEL_CODES = 32  # more than the labels and −1: a row of labels as one integer


def around(plan: Plan, voicings: Sequence[Sequence[Pitch]], t: np.ndarray) -> Around:
    """The beat around each place (slot t): the voicings, chords and key there and on
    the next slot, and the place in the phrase."""
    slots = plan.slots
    n = len(slots)
    first: dict[int, int] = {}
    for s in slots:
        first.setdefault(s.phrase, s.index)
    tonic = np.array([slots[a].key.tonic.pc for a in t])
    roles = chord_arrays([s.chord for s in slots], [s.key for s in slots])[0].astype(np.int64)
    turn = (np.arange(12)[None, :] + tonic[:, None]) % 12
    after = np.minimum(t + 1, n - 1)
    rest = np.array([[REST] * len(voicings[0])])
    notes = np.array([[p.midi for p in voicing] for voicing in voicings])
    return Around(notes[t], np.where((t + 1 < n)[:, None], notes[after], rest),
                  roles[t[:, None], turn], roles[after[:, None], turn], tonic,
                  np.array([int(slots[a].key.mode == "minor") for a in t]),
                  np.array([a - first[slots[a].phrase] for a in t]),
                  np.array([int(slots[a].fermata) for a in t]),
                  np.array([int(a + 1 < n and slots[a + 1].fermata) for a in t]))


def combination_rows(beats: Sequence[Beat], places: list[tuple[int, int]], first: int,
                     others: bool, melody: Sequence[MelodyNote] = ()
                     ) -> tuple[tuple[np.ndarray, np.ndarray] | None, list[np.ndarray]]:
    """For a scorer that reads the other voices: the rows it is asked (the place, and
    the figures of the voices above it, as LABELS, −1 where unknown), one per distinct
    figures above, and for each place the row of each of its beat's combinations."""
    if not others:
        return None, []
    place_of: list[int] = []
    above: list[np.ndarray] = []
    combo_rows: list[np.ndarray] = []
    labels: np.ndarray | None = None
    for k, (a, v) in enumerate(places):
        b = beats[a - first]
        if k == 0 or places[k - 1][0] != a:  # a new beat: its figures, voice by voice
            given = given_label(b, melody)
            labels = np.stack([b.figures(w) for w in range(len(b.options))], axis=1)
            labels = np.where(labels == GIVEN, given, labels)
            codes = np.cumsum((labels + 1) * LABEL_CODES ** np.arange(labels.shape[1]), axis=1)
        assert labels is not None
        code = codes[:, v - 1] if v else np.zeros(len(labels), np.int64)
        _, one, inverse = np.unique(code, return_index=True, return_inverse=True)
        combo_rows.append(len(place_of) + inverse.reshape(-1))
        place_of += [k] * len(one)
        above.append(np.where(np.arange(labels.shape[1]) < v, labels[one], -1))
    return (np.array(place_of), np.concatenate(above)), combo_rows


def given_label(b: Beat, melody: Sequence[MelodyNote]) -> int:
    """The figure (LABELS) a given melody makes on beat b, read off its notes on the
    sixteenth grid as Bach's are (−1 where the beat is not on that grid)."""
    voice = next((v for v, o in enumerate(b.options) if o[0].figure == GIVEN), None)
    if voice is None or len(b.times) < CELLS:
        return -1
    option = b.options[voice][0]
    cell = b.slot.duration / CELLS
    midi = np.full((CELLS + 2, 1), REST, np.int64)
    onset = np.zeros((CELLS + 2, 1), bool)
    for x, p, struck in zip(b.times, option.pitches, option.struck, strict=True):
        k = int(x / cell)
        if x == k * cell and p is not None:
            midi[1 + k, 0] = p.midi
        onset[1 + k, 0] |= struck
    start, end = b.slot.offset, b.slot.offset + b.slot.duration
    before = [n for n in melody if n.offset < start <= n.offset + n.duration]
    after = [n for n in melody if n.offset <= end < n.offset + n.duration]
    for to, notes in ((0, before), (CELLS + 1, after)):
        if notes and notes[-1].pitch is not None:
            midi[to, 0] = notes[-1].pitch.midi
    return int(classify_beats(midi, onset, np.array([1]))[0, 0])


def with_others(places: FigurePlaces, rows: tuple[np.ndarray, np.ndarray]) -> FigurePlaces:
    """The places with the rows of the voices above that `combination_rows` found."""
    assert places.around is not None
    return replace(places, around=replace(places.around, of=rows[0], others=rows[1]))
