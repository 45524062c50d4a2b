"""The spec as the rest of the pipeline sees it: one immutable `Spec`, with its melody
(notes, lyrics, figures, how it was transposed) and its rules."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property

from composer.errors import Location
from composer.music import Key, Meter, Pitch
from composer.spec.figures import Figure
from composer.spec.rulesets import RuleUse
from composer.spec.transposition import Transposition


@dataclass(frozen=True)
class MelodyNote:
    offset: Fraction  # quarter notes from the start of the piece
    duration: Fraction
    pitch: Pitch | None  # None: a rest
    fermata: bool = False  # ends a phrase
    lyric: str | None = None  # its syllable, one that goes on with its hyphen: 'Hal-', 'jah'


@dataclass(frozen=True)
class Melody:
    voice: str
    notes: tuple[MelodyNote, ...]  # in time order
    origin: Location
    transposed: Transposition | None = None  # how it was moved from what was written
    figures: tuple[Figure | None, ...] = ()  # a figured bass: per note (None: a rest)

    def transposition(self) -> str | None:
        """'the melody is transposed down an octave to fit the soprano's range C4–A5'."""
        return self.transposed.note() if self.transposed is not None else None

    def at(self, offset: Fraction) -> MelodyNote | None:
        """The note (or rest) sounding at offset; None before or after the melody."""
        try:  # asked many times at each beat (a Fraction's comparisons are slow)
            return self._sounding[offset]
        except KeyError:
            pass
        k = bisect_right(self._starts, offset) - 1
        note = self.notes[k] if k >= 0 else None
        found = self._sounding[offset] = (note if note is not None
                                          and offset < note.offset + note.duration else None)
        return found

    def figure_at(self, offset: Fraction) -> Figure | None:
        """The figure over the note sounding at offset (None: a rest, or no figures)."""
        k = bisect_right(self._starts, offset) - 1
        return self.figures[k] if self.figures and self.at(offset) is not None else None

    def struck_within(self, offset: Fraction, duration: Fraction) -> tuple[MelodyNote, ...]:
        """The notes and rests that begin inside (offset, offset + duration)."""
        if (found := self._sounding.get((offset, duration))) is None:
            lo = bisect_right(self._starts, offset)
            hi = bisect_left(self._starts, offset + duration)
            found = self._sounding[(offset, duration)] = self.notes[lo:hi]
        return found

    def sounding_during(self, start: Fraction, end: Fraction) -> tuple[MelodyNote, ...]:
        """The notes and rests sounding in [start, end): begun before `end`, ending after
        `start` (a surface's every beat asks; found by bisection, not a scan)."""
        if (found := self._sounding.get(("during", start, end))) is None:
            lo = bisect_right(self._latest_ends, start)  # every note before it ends by start
            hi = bisect_left(self._starts, end)
            found = self._sounding[("during", start, end)] = tuple(
                n for n in self.notes[lo:hi] if n.offset + n.duration > start)
        return found

    def next_silence(self, offset: Fraction) -> Fraction | None:
        """The first moment after offset where the melody falls silent: a rest begins, or
        its last sounding note ends (None: never)."""
        k = bisect_right(self._silences, offset)
        return self._silences[k] if k < len(self._silences) else None

    @cached_property
    def _silences(self) -> tuple[Fraction, ...]:  # where a rest begins or the sound ends
        sounding = [n for n in self.notes if n.pitch is not None]
        ends = [sounding[-1].offset + sounding[-1].duration] if sounding else []
        return tuple(sorted([n.offset for n in self.notes if n.pitch is None] + ends))

    @cached_property
    def _latest_ends(self) -> tuple[Fraction, ...]:  # per note: the latest end up to it
        out, latest = [], None
        for n in self.notes:
            end = n.offset + n.duration
            latest = end if latest is None or end > latest else latest
            out.append(latest)
        return tuple(out)

    @cached_property
    def memo(self) -> dict:
        """What the planning works out of this melody alone, by what it asked (its
        arrays only read): a piece's every chain asks it again."""
        return {}

    @cached_property
    def _sounding(self) -> dict:  # what `at` found by offset, `struck_within` by span
        return {}

    @cached_property
    def _starts(self) -> tuple[Fraction, ...]:  # asked at every slot: looked up by bisection
        return tuple(n.offset for n in self.notes)


@dataclass(frozen=True)
class Spec:
    title: str
    key: Key
    meter: Meter
    bars: int
    tempo: int
    voices: tuple[str, ...]
    form: str | None
    cadences: tuple[tuple[str, str], ...]
    melody: Melody | None
    rules: tuple[RuleUse, ...]  # severity 'error' = hard, 'warning' = soft (weighted)
    seed: int
    temperature: float
    source: str  # the spec file
    text: str  # the YAML as written, kept in OUT.json
    surface: str = "figured"  # 'figured' or 'plain' (block chords)
    climax: str = "single"  # 'single': a composed soprano peaks once; 'free'

    @property
    def hard(self) -> tuple[RuleUse, ...]:
        return tuple(u for u in self.rules if u.severity == "error")

    @property
    def soft(self) -> tuple[RuleUse, ...]:
        return tuple(u for u in self.rules if u.severity == "warning")

    def cadence_for(self, section: str) -> str | None:
        return dict(self.cadences).get(section)
