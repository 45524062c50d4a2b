"""What a rule is: one definition that grades a score and constrains the composer.

A rule's core is a vectorised test over a `Frame` (a batch of slices): one frame for a
vertical rule, two neighbouring frames for a horizontal rule, two or three successive
events of one voice for a melodic rule. The checker turns the flagged entries into
located violations with messages; the solver keeps the candidates where nothing is
flagged. Nothing is written twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

import numpy as np

from composer.music import Key, Meter, Pitch, interval_words
from composer.texture import Frame, Texture

Severity = Literal["error", "warning"]
SEVERITIES = ("error", "warning", "off")


class Scope(StrEnum):
    VERTICAL = "vertical"  # one slice
    HORIZONTAL = "horizontal"  # two neighbouring slices
    MELODIC = "melodic"  # one voice over time
    GLOBAL = "global"  # the whole piece


ParamKind = Literal["int", "float", "bool", "pitch", "voice", "choices", "str"]


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind
    default: Any
    doc: str
    choices: tuple[str, ...] = ()


Params = Mapping[str, Any]


@dataclass(frozen=True)
class Context:
    """What every rule may know about the piece besides the notes."""

    voices: tuple[str, ...]
    key: Key
    meter: Meter

    def index(self, voice: str) -> int | None:
        return self.voices.index(voice) if voice in self.voices else None

    def pairs(self, adjacent: bool = False) -> list[tuple[int, int]]:
        n = len(self.voices)
        if adjacent:
            return [(i, i + 1) for i in range(n - 1)]
        return [(i, j) for i in range(n) for j in range(i + 1, n)]

    @property
    def outer(self) -> tuple[int, int]:
        return (0, len(self.voices) - 1)


@dataclass(frozen=True)
class Finding:
    """A broken rule before it is placed in the score: which row(s) of the frame and
    which voices. `rows` are texture slice indices (first is where it is reported)."""

    rows: tuple[int, ...]
    voices: tuple[int, ...]
    message: str


class Rule:
    """Base of every rule. Subclasses set the class attributes and implement the test
    of their scope (see VerticalRule, HorizontalRule, MelodicRule, GlobalRule)."""

    id: ClassVar[str]
    scope: ClassVar[Scope]
    summary: ClassVar[str]
    explanation: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    example: ClassVar[str] = ""
    severity: ClassVar[Severity] = "error"
    # Where a rule set leaves the severity to the rule: what composing holds it to, if
    # stricter than what checking reports (a style the composer keeps, that a student's
    # or Bach's score may still break now and then).
    composing: ClassVar[Severity | None] = None
    # Under a given melody, composing weighs such a rule heavily instead of holding it:
    # the melody's own notes may leave a chord no way to keep it (a cross relation).
    melody_weighs: ClassVar[bool] = False
    # Voices a rule instance is about, if it has a 'voice' parameter: used to tell two
    # instances of one rule apart (voice-range for the soprano and for the bass).
    keyed_by: ClassVar[str | tuple[str, ...] | None] = None

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def findings(self, texture: Texture, ctx: Context, p: Params) -> Iterator[Finding]:
        raise NotImplementedError


def _hits(mask: np.ndarray) -> Iterator[tuple[int, int]]:
    for r, k in np.argwhere(mask):
        yield int(r), int(k)


class VerticalRule(Rule):
    scope = Scope.VERTICAL
    harmonic_only: ClassVar[bool] = False  # judge only slices that begin a harmonic slot

    def targets(self, ctx: Context, p: Params) -> list[tuple[int, ...]]:
        return [(i,) for i in range(len(ctx.voices))]

    def test(self, f: Frame, ctx: Context, p: Params) -> np.ndarray:
        """bool [rows, targets]: True where the rule is broken."""
        raise NotImplementedError

    def message(self, f: Frame, row: int, target: tuple[int, ...], ctx: Context,
                p: Params) -> str:
        raise NotImplementedError

    def findings(self, texture: Texture, ctx: Context, p: Params) -> Iterator[Finding]:
        f = texture.frame
        if self.harmonic_only:
            f = f.take(np.flatnonzero(f.harmonic))
        targets = self.targets(ctx, p)
        if not targets or not len(f):
            return
        for r, k in _hits(self.test(f, ctx, p)):
            yield Finding((int(f.rows[r]),), targets[k], self.message(f, r, targets[k], ctx, p))


class HorizontalRule(Rule):
    """Motion between voices from one slice to the next."""

    scope = Scope.HORIZONTAL

    def targets(self, ctx: Context, p: Params) -> list[tuple[int, ...]]:
        return list(ctx.pairs())

    def test(self, a: Frame, b: Frame, ctx: Context, p: Params) -> np.ndarray:
        raise NotImplementedError

    def message(self, a: Frame, b: Frame, row: int, target: tuple[int, ...], ctx: Context,
                p: Params) -> str:
        raise NotImplementedError

    def findings(self, texture: Texture, ctx: Context, p: Params) -> Iterator[Finding]:
        f = texture.frame
        n = len(f)
        targets = self.targets(ctx, p)
        if n < 2 or not targets:
            return
        a, b = f.take(np.arange(n - 1)), f.take(np.arange(1, n))
        for r, k in _hits(self.test(a, b, ctx, p)):
            yield Finding((int(b.rows[r]), int(a.rows[r])), targets[k],
                          self.message(a, b, r, targets[k], ctx, p))


class MelodicRule(Rule):
    """One voice's successive events: `window` of them at a time (2 or 3). Frames have
    one column; the voice is `f.columns[0]`."""

    scope = Scope.MELODIC
    window: ClassVar[int] = 2
    report_at: ClassVar[int] = 1  # which event of the window the violation is placed at

    def applies(self, voice: int, ctx: Context, p: Params) -> bool:
        return True

    def test(self, frames: tuple[Frame, ...], ctx: Context, p: Params) -> np.ndarray:
        """bool [rows]: True where the events frames[0][r], frames[1][r], … break it."""
        raise NotImplementedError

    def message(self, frames: tuple[Frame, ...], row: int, ctx: Context, p: Params) -> str:
        raise NotImplementedError

    def findings(self, texture: Texture, ctx: Context, p: Params) -> Iterator[Finding]:
        w = self.window
        for voice in range(len(ctx.voices)):
            if not self.applies(voice, ctx, p):
                continue
            line = texture.line(voice)
            n = len(line) - w + 1
            if n <= 0:
                continue
            frames = tuple(line.take(np.arange(i, i + n)) for i in range(w))
            order = [self.report_at] + [i for i in range(w) if i != self.report_at]
            for row in np.flatnonzero(self.test(frames, ctx, p)).tolist():
                yield Finding(tuple(int(frames[i].rows[row]) for i in order), (voice,),
                              self.message(frames, row, ctx, p))


class GlobalRule(Rule):
    scope = Scope.GLOBAL


# Shared vocabulary for messages ------------------------------------------------------

_LIFT = 420  # a multiple of 7 and 12 that lifts every |x| < 256 above 0
_RECIPROCAL = {m: -(-(1 << 20) // m) for m in (7, 12)}  # ⌈2**20 / m⌉: y // m = y·r >> 20


def mod(x: np.ndarray, m: int) -> np.ndarray:
    """x % m (m: 7 or 12) of pitches, steps and intervals (|x| < 256), as int16: numpy's
    integer modulo is some twenty times slower than a multiplication, and the rules take
    it of every pair of voices of every candidate move. Lifted above 0 by a multiple of m,
    the quotient is a multiplication and a shift, exact for every y < 676."""
    y = x.astype(np.int32)
    y += _LIFT
    q = y * _RECIPROCAL[m]
    q >>= 20
    q *= m
    y -= q
    return y.astype(np.int16)


def pitch_at(f: Frame, row: int, col: int) -> Pitch:
    p = f.pitch(row, col)
    assert p is not None
    return p


def between(f: Frame, row: int, i: int, j: int) -> str:
    """'fifth D5/G4' — the interval between two voices, named as a teacher would."""
    hi, lo = pitch_at(f, row, i), pitch_at(f, row, j)
    return f"{interval_words(hi.diatonic - lo.diatonic, hi.midi - lo.midi)} {hi}/{lo}"


def voice_pair(ctx: Context, target: tuple[int, ...]) -> str:
    return "–".join(ctx.voices[v] for v in target)
