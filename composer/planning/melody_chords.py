"""Which chord Bach sets under a given melody note: a weight per (mode, place in the
phrase, the note's degree, chord), for harmonizing a given melody only.

The chain's chords are a product of experts: the grammar's progressions, the melody's
fit (which chords may hold the note at all), the voicings' scores. None of them knows
which of the chords that hold a note Bach takes for it, and where: under the tonic at a
phrase's close he sets vi once in five (the chain did once in three), the dominant
before a close as a triad on the beat more often than V7, and a minor chorale closes on
the major tonic. So, as for the line weights
(composer/sample/lines.py), the mend is maximum entropy: for each (mode, place, degree of
the melody's note relative to the tonic) a log-weight per chord (its root relative to
the tonic, and its quality), added to the chain's scores where a melody is given, fitted
(`benchmarks/fit_melody_chords.py`) so that the chords of the chain's drafts under the
training chorales' sopranos are distributed as Bach's own chords under them: iterative
scaling, each round adding log(P_Bach / P_drafts). Fitted per scorer, stored in
models/melody-chords.json; a scorer with none fitted (or a free piece) composes as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from composer.chords import Chord
from composer.content import fitted_per_scorer
from composer.music import Key
from composer.planning.phrases import melody_at
from composer.sample.lines import LinedScorer, scorer_name

MELODY_CHORDS_FILE = "melody-chords.json"
REST_DEGREE = 12  # the melody rests at the slot's onset
# Where a slot stands: the piece's last slot, a phrase's last (its cadence), the one
# before it, a slot on a bar's first beat, any other.
PLACES = ("end", "close", "approach", "downbeat", "inside")


def chord_name(chord: Chord, key: Key) -> str:
    """'7 dominant-seventh': the chord's root in semitones above the tonic, its quality."""
    return f"{(chord.root.pc - key.tonic.pc) % 12} {chord.quality}"


def degree_of(pitch: Any, key: Key) -> int:
    """The melody note's semitones above the tonic (REST_DEGREE where it rests)."""
    return REST_DEGREE if pitch is None else (pitch.pitch_class.pc - key.tonic.pc) % 12


def places(times: Sequence[tuple[int, Fraction, Fraction, bool]], downbeats: Sequence[bool]
           ) -> list[str]:
    """Each slot's place (PLACES) from the chain's slots (phrase, offset, length, cadence)
    and whether each begins a bar."""
    last: dict[int, int] = {}
    for k, (ph, *_) in enumerate(times):
        last[ph] = k
    closes = set(last.values())
    out = []
    for k in range(len(times)):
        out.append("end" if k == len(times) - 1 else "close" if k in closes
                   else "approach" if k + 1 in closes else "downbeat" if downbeats[k]
                   else "inside")
    return out


@dataclass(frozen=True, eq=False)
class MelodyChords:
    """(mode, place, degree) → chord name → log-weight; absent: 0."""

    weights: Mapping[tuple[str, str, int], Mapping[str, float]]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (mode, place, degree), row in sorted(self.weights.items()):
            kept = {c: round(float(w), 3) for c, w in sorted(row.items()) if round(w, 3)}
            if kept:
                out.setdefault(mode, {}).setdefault(place, {})[str(degree)] = kept
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MelodyChords:
        return cls({(mode, place, int(degree)): dict(row)
                    for mode, by_place in data.items() for place, by_degree in by_place.items()
                    for degree, row in by_degree.items()})

    def slot_weights(self, key: Key, chords: Sequence[Chord], contexts: Sequence[tuple[str, int]]
                     ) -> list[np.ndarray]:
        """float [numerals] per slot: each chord's weight at a slot of (place, degree)."""
        names = [chord_name(c, key) for c in chords]
        made: dict[tuple[str, int], np.ndarray] = {}
        out = []
        for place, degree in contexts:
            if (place, degree) not in made:
                row = self.weights.get((key.mode, place, degree), {})
                made[(place, degree)] = np.array([row.get(n, 0.0) for n in names])
            out.append(made[(place, degree)])
        return out


@lru_cache(maxsize=1)
def _stored() -> dict[str, MelodyChords]:
    fitted = fitted_per_scorer(MELODY_CHORDS_FILE)
    return {name: MelodyChords.from_json(w) for name, w in fitted.items()}


def stored_melody_chords(name: str | None) -> MelodyChords | None:
    """The weights fitted for the scorer of this name ('chorale', 'none'), if any."""
    return _stored().get(name) if name is not None else None


def melody_chord_weights(spec: Any, times: Sequence[tuple[int, Fraction, Fraction, bool]],
                         chords: Sequence[Chord], scorer: Any) -> list[np.ndarray] | None:
    """float [numerals] per slot: the weights fitted for this scorer of each chord under
    the spec's given melody (None for a free piece, or a scorer with none fitted)."""
    if spec.melody is None or scorer is None:
        return None
    table = stored_melody_chords(scorer_name(
        scorer.inner if isinstance(scorer, LinedScorer) else scorer))
    if table is None:
        return None
    where = places(times, [spec.meter.position(t).beat == 1 for _, t, _, _ in times])
    return table.slot_weights(spec.key, chords, [
        (place, degree_of(melody_at(spec, t), spec.key))
        for place, (_, t, _, _) in zip(where, times, strict=True)])
