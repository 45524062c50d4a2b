"""A figured bass: the chord each figure names above its bass note, as the harmony chain
must place it.

A figure lists intervals above the bass (`6`, `6/5`, `4/2`), the rest understood as
continuo players understand them (`6` is 6/3, `7` is 7/5/3, `2` is 6/4/2). Each interval
is the note of the key signature that many steps above the bass, altered by the
accidental written on it (`#6`, `b7`, `n3`); an accidental alone alters the third. Over
one note, figures joined by `-` follow one another (`4-3`, `7-6`, `6/4-5/3`, `5-6`): over
a note that lasts several beats each takes its beat, the last one holding; within one
beat a suspension (a 4, 7 or 9 falling by step, the 6 of a 6/4 with it) gives way to the
chord it resolves to, and another succession keeps its first chord. `_` holds the chord
of the note before (a passing note in the bass).

The figures decide the harmony: the chain allows, in each slot, only the numerals whose
chord is the figured one, and a chord that no numeral of the grammar spells (a
diminished triad on the raised fourth degree, an augmented sixth) joins the grammar for
the piece, its progressions weighed as the grammar's `unlisted` ones.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from composer.chords import Chord
from composer.music import Key
from composer.planning.grammar import HarmonyGrammar, Numeral
from composer.spec.figures import HOLD, figure_error, notes_of

if TYPE_CHECKING:
    from composer.spec.values import Spec




Times = Sequence[tuple[int, Fraction, Fraction, bool]]  # phrase, offset, length, cadence


def figured_grammar(spec: Spec, grammar: HarmonyGrammar) -> HarmonyGrammar:
    """The grammar with a numeral for every figured chord it lacks (the grammar itself
    without figures)."""
    if spec.melody is None or not any(spec.melody.figures):
        return grammar
    known = {n.chord(spec.key) for n in grammar.numerals}
    extra: dict[Chord, None] = {}
    for note, figure in zip(spec.melody.notes, spec.melody.figures, strict=True):
        if figure is None or note.pitch is None:
            continue
        for stage in figure.stages:
            chord = stage.chord(note.pitch.pitch_class, spec.key)
            if chord is not None and chord not in known:
                extra[chord] = None
    if not extra:
        return grammar
    return _extended(grammar, tuple(_numeral(c, spec.key, grammar) for c in extra))


def _numeral(chord: Chord, key: Key, grammar: HarmonyGrammar) -> Numeral:
    """The numeral of a chord in the key: its root's degree, raised or lowered."""
    degree = (chord.root.step - key.tonic.step) % 7 + 1
    raise_root = (chord.root.pc - key.degree(degree).pc + 6) % 12 - 6
    name = chord.roman(key)
    if any(n.name == name for n in grammar.numerals):
        name = f"{name} ({chord.name})"
    return Numeral(name, degree, chord.quality, raise_root)


@lru_cache(maxsize=64)
def _extended(grammar: HarmonyGrammar, extra: tuple[Numeral, ...]) -> HarmonyGrammar:
    """The grammar with more numerals, every progression to or from them unlisted.
    Cached, since the cadence pairs are computed once per grammar object."""
    n, m = len(grammar.numerals), len(grammar.numerals) + len(extra)
    allowed = np.zeros((m, m), bool)
    allowed[:n, :n] = grammar.allowed
    weights = np.full((m, m), grammar.unlisted)
    weights[:n, :n] = grammar.weights
    return replace(grammar, numerals=grammar.numerals + extra,
                   region=grammar.region + ("figured",) * len(extra), allowed=allowed,
                   weights=weights)


@dataclass(frozen=True, eq=False)
class Figuring:
    """What a figured bass asks of the harmony chain."""

    unary: tuple[np.ndarray, ...]  # per slot: 0 for the figured chord's numerals, else −inf
    window: int  # the final tonic arrives within the last this many slots: where it stands


def figured_slots(spec: Spec, times: Times, chords: Sequence[Chord]) -> Figuring | None:
    """The figured chord of each slot as a mask over the numerals (None without figures).
    The final tonic arrives where the figures put it on its root and keep it to the end
    (a cadential 6/4 is no early arrival). A figure that would change the chord within a
    slot is a SpecError at the figure."""
    if spec.melody is None or not any(spec.melody.figures):
        return None
    figured = figured_chords(spec, times)
    unary = tuple(np.where([c == chord for c in chords], 0.0, -np.inf)
                  if chord is not None else np.zeros(len(chords)) for chord in figured)
    window = 0
    for (_, offset, _, _), chord in zip(reversed(times), reversed(figured), strict=True):
        bass = spec.melody.at(offset)
        if chord != figured[-1] or bass is None or bass.pitch is None \
                or chord is None or bass.pitch.pc != chord.root.pc:
            break
        window += 1
    return Figuring(unary, max(window, 1))


def figured_chords(spec: Spec, times: Times) -> list[Chord | None]:
    """The chord the figures name in each slot (None: the bass there is unfigured)."""
    melody = spec.melody
    assert melody is not None
    index = {id(n): k for k, n in enumerate(melody.notes)}
    onsets = [s[1] for s in times]
    out: list[Chord | None] = []
    for t, (_, offset, length, _) in enumerate(times):
        note = melody.at(offset)
        figure = melody.figures[index[id(note)]] if note is not None else None
        if note is None or note.pitch is None or figure is None:
            out.append(None)
            continue
        bass, key = note.pitch.pitch_class, spec.key
        first = bisect_left(onsets, note.offset)  # the note's slots: first to last
        last = bisect_left(onsets, note.offset + note.duration)
        if figure.holds:
            chord = out[-1] if out else None
        elif last - first == 1:
            chord = figure.principal(bass, key)
        else:
            chord = figure.on_beat(t - first, bass, key)
        out.append(chord)
        _check_within(spec, offset, length, chord, index)
    return out


def _check_within(spec: Spec, offset: Fraction, length: Fraction, chord: Chord | None,
                  index: dict[int, int]) -> None:
    """A note struck within a slot keeps its chord: its figure is `_` or names it."""
    melody = spec.melody
    assert melody is not None
    for note in melody.struck_within(offset, length):
        figure = melody.figures[index[id(note)]]
        if figure is None or figure.holds or note.pitch is None:
            continue
        if figure.principal(note.pitch.pitch_class, spec.key) != chord:
            at = spec.meter.position(note.offset)
            raise figure_error(figure,
                         f"'{figure.text}' over {note.pitch} at bar {at.bar} beat {at.beat:g}"
                         " changes the chord within a beat, where the harmony holds one"
                         f" chord: write '{HOLD}' for a passing note, or a figure of the"
                         f" beat's chord ({notes_of(chord) if chord else 'none'})")


