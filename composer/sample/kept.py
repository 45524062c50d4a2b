"""What a revision keeps of a saved piece: the chords, notes and figures outside the region.

Keeping is conditioning, not rejection: a kept chord leaves its slot one numeral, a kept
note is a `fixed` rule (so a conflict names it as the user's lock, as any given note is
named), and a kept figure leaves its beat only the combinations that write it again. The
sampler then draws the region exactly from the model given the rules and the kept music.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from composer.errors import UnsatisfiableError
from composer.music import Pitch
from composer.planning.chain import HarmonyChain
from composer.sample.form import Form
from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec


@dataclass(frozen=True)
class Kept:
    numerals: tuple[str | None, ...]  # per slot: the numeral kept there (None: free)
    notes: tuple[RuleUse, ...]  # the kept notes, each a `fixed` rule
    figures: tuple[tuple[str | None, ...] | None, ...]  # per slot, per voice (None: free)
    # The saved voicings, and the slots from the region's kept neighbour before to the one
    # after: where nothing reaches further than a neighbour, only they need drawing.
    voicings: tuple[tuple[Pitch, ...], ...] = ()
    span: tuple[int, int] | None = None
    keys: tuple[str, ...] | None = None  # per phrase, its key as the chain names it
    region: tuple[int, int] | None = None  # the first and last slot redrawn

    def local(self, spec: Spec, form: Form) -> tuple[int, int] | None:
        """The span to draw alone, or None: a single-climax rule or max-order judges a
        whole line, so then the whole chain is drawn (the kept slots each one value)."""
        if self.span is None or form.climaxes \
                or any(u.rule.id == "max-order" for u in spec.hard):
            return None
        return self.span

    def tops(self, spec: Spec, voice: str) -> tuple[int, int] | None:
        """The highest note (MIDI) of a voice outside the region and inside it, as saved;
        None where the region covers everything."""
        if self.region is None or voice not in spec.voices:
            return None
        v, (first, last) = spec.voices.index(voice), self.region
        outside = [y[v].midi for t, y in enumerate(self.voicings) if not first <= t <= last]
        inside = [y[v].midi for y in self.voicings[first:last + 1]]
        return (max(outside), max(inside, default=0)) if outside else None

    def numeral_indices(self, chain: HarmonyChain) -> list[int]:
        return [_index(chain, t, n) if n is not None else -1
                for t, n in enumerate(self.numerals)]

    def on_chain(self, spec: Spec, chain: HarmonyChain) -> HarmonyChain:
        """The harmony chain with each kept slot left only its numeral."""
        unary = []
        for t, (u, name) in enumerate(zip(chain.unary, self.numerals, strict=True)):
            if name is None:
                unary.append(u)
                continue
            i = _index(chain, t, name)
            if i < 0 or not np.isfinite(u[i]):
                raise self._no_chord(spec, chain.times[t][1], name)
            only = np.full_like(u, -np.inf)
            only[i] = u[i]
            unary.append(only)
        return replace(chain, unary=tuple(unary))

    def _no_chord(self, spec: Spec, offset: Fraction, name: str) -> UnsatisfiableError:
        at = spec.meter.position(offset)
        notes = [u.describe() for u in self.notes
                 if (u.params["bar"], u.params["beat"]) == (at.bar, float(at.beat))]
        return UnsatisfiableError(
            f"bar {at.bar} beat {float(at.beat):g}: the kept chord {name} cannot stand there"
            + (f" with the kept notes ({'; '.join(notes)})" if notes else ""),
            ("fixed",), (offset,))

    @staticmethod
    def on_form(form: Form) -> Form:
        """A revision imposes no repeat: the music it keeps already is what it is, and a
        region inside a repeated section is the user's variation of it."""
        return replace(form, repeats=())

    def without_notes(self, rules: Sequence[RuleUse]) -> tuple[RuleUse, ...]:
        """The rules without the kept notes: the surface keeps figures, not beats (a kept
        suspension strikes its preparation on the beat, not the kept chord tone)."""
        kept = {id(u) for u in self.notes}
        return tuple(u for u in rules if id(u) not in kept)


def _index(chain: HarmonyChain, slot: int, name: str) -> int:
    """The numeral of that name that may stand at the slot (a phrase in another key
    names its chords in that key: 'I' is the home tonic or the new key's), else the
    first of that name; -1 where the grammar has none."""
    named = [i for i, n in enumerate(chain.grammar.numerals) if n.name == name]
    return next((i for i in named if np.isfinite(chain.unary[slot][i])),
                named[0] if named else -1)
