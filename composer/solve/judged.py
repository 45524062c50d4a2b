"""The rules' verdicts on voicings and on pairs of them, shared by every piece composed
under equal rules in one key: a batch's tunes pose the same chords over the same melody
notes, and an explanation's trials that leave the vertical or pair rules the same ask
the same questions again (composer/solve/candidates.py reads them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from composer.chords import Chord
from composer.music import Key
from composer.rules import Context, HorizontalRule, MelodicRule, VerticalRule
from composer.solve.domains import Domain, SlotProblem, Solver
from composer.solve.pairs import PairVerdicts
from composer.spec.rulesets import RuleUse
from composer.texture import Frame


def _sounds_foreign_tones(key: Key, chord: Chord, midi: np.ndarray) -> np.ndarray:
    """bool [voicings]: each voicing of the chord sounds every tone of it foreign to the
    home key. The checker hears a piece in its home key: a chord of a phrase in another
    key that leaves out the tone that makes it that key's (iiø7 of B minor, C# E G B,
    without its G) is heard as a chord of the home key (C# E B: iii7 in A major), and its
    voices are then judged against that chord."""
    out = np.ones(len(midi), bool)
    foreign = {t.pc for t in chord.tones} - key.scale_pcs
    if not foreign:  # (most chords: their notes need not be looked at)
        return out
    pcs = np.where(midi >= 0, midi.astype(np.int64) % 12, -1)
    for pc in foreign:
        out &= (pcs == pc).any(axis=1)
    return out


@dataclass(frozen=True, eq=False)
class Judged:
    """What the rules conclude of voicings alone and of pairs of them: the slots'
    domains (by the vertical rules, with each distinct problem), the verdicts between
    neighbours (by the pair rules, on those domains) and on a voicing held under a
    melody's quicker notes (by all of them, by domain and notes). None of it depends on
    the piece beyond those rules, its voices and key, so it is shared: by a batch's
    pieces in one key (tune after tune poses the same chords over the same melody
    notes), and by an explanation's trials that leave the same vertical or pair rules."""

    solver: Solver
    problems: dict[tuple, SlotProblem]
    verdicts: PairVerdicts
    within: dict[tuple, tuple[np.ndarray, np.ndarray, Frame]]
    vertical: tuple  # what the vertical rules judge (the domains'), compared by value
    foreign: dict[SlotProblem, np.ndarray]  # per domain: `_sounds_foreign_tones`

    def sounds_foreign_tones(self, problem: SlotProblem) -> np.ndarray:
        """`_sounds_foreign_tones` of the problem's domain in the home key."""
        if (found := self.foreign.get(problem)) is None:
            found = self.foreign[problem] = _sounds_foreign_tones(
                self.solver.ctx.key, problem.chord, self.solver.domain(problem).frame.midi)
        return found


@dataclass(frozen=True)
class _Asked:
    """Rule uses and a context, compared by what the rules judge (not by where they are
    written) and by the voices and key: no rule reads the meter."""

    uses: tuple[RuleUse, ...] = field(compare=False)
    ctx: Context = field(compare=False)
    judging: tuple
    voices: tuple[str, ...]
    key: Key


@dataclass(frozen=True, eq=False)
class _Domains:
    cache: dict[SlotProblem, Domain]
    problems: dict[tuple, SlotProblem]
    foreign: dict[SlotProblem, np.ndarray]


JUDGED = 8  # rule sets and keys whose verdicts are kept (a batch: one or two per key)


def _judging(uses: Sequence[RuleUse]) -> tuple:
    return tuple((u.rule.id, repr(sorted(u.params.items())), u.severity, u.weight,
                  u.exempt) for u in uses)


def judged_under(uses: Sequence[RuleUse], ctx: Context) -> Judged:
    """The verdicts of these rules in ctx's voices and key, shared by every call that
    asks for equal rules there (see `Judged`)."""
    vertical = tuple(u for u in uses if isinstance(u.rule, VerticalRule))
    pair = tuple(u for u in uses if isinstance(u.rule, HorizontalRule)
                 or (isinstance(u.rule, MelodicRule) and u.rule.window == 2))
    by_vertical = _judging(vertical)
    domains = _domains(_Asked(vertical, ctx, by_vertical, ctx.voices, ctx.key))
    verdicts = _verdicts(_Asked(pair, ctx, (by_vertical, _judging(pair)), ctx.voices,
                                ctx.key))
    return _judged(_Asked(tuple(uses), ctx, _judging(uses), ctx.voices, ctx.key), domains,
                   verdicts, by_vertical)


@lru_cache(maxsize=JUDGED)
def _domains(asked: _Asked) -> _Domains:
    return _Domains({}, {}, {})


@lru_cache(maxsize=JUDGED)
def _verdicts(asked: _Asked) -> PairVerdicts:
    """(Its voicings are named by their domains: the vertical rules are in its key.)"""
    return PairVerdicts(asked.uses, asked.ctx)


@lru_cache(maxsize=JUDGED)
def _judged(asked: _Asked, domains: _Domains, verdicts: PairVerdicts, vertical: tuple
            ) -> Judged:
    return Judged(Solver(asked.uses, asked.ctx, domains.cache), domains.problems, verdicts,
                  {}, vertical, domains.foreign)
