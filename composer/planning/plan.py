"""The plan: one chord per harmonic slot, each with the reason it was chosen, before any
note.

The form grammar cuts the piece into sections and phrases and gives each phrase its
cadence (composer/planning/phrases.py); the harmony grammar's progressions, weighted by
the corpus, are sampled along the chain of slots with the cadences and the given melody
as constraints (composer/planning/chain.py). Every choice keeps the reason it was made,
so the plan can be printed and explained.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from composer.chords import Chord
from composer.errors import UnsatisfiableError
from composer.music import Key, Meter, Pitch, Position
from composer.planning.chain import ANY_CADENCE, HarmonyChain, cadence_kind, harmony_chain
from composer.planning.keys import key_of
from composer.planning.phrases import Phrase, melody_at
from composer.rules.structure import OPEN
from composer.sample.sampler import Chain, NoSolution, sample
from composer.spec.values import Spec


@dataclass(frozen=True)
class Slot:
    """One harmonic slot: a beat (or the held cadence chord) with its chord."""

    index: int
    offset: Fraction
    duration: Fraction
    position: Position
    phrase: int
    key: Key
    numeral: str
    chord: Chord
    melody: Pitch | None  # the given melody's note at this slot, if any
    cadence: str | None = None  # the cadence this slot completes
    fermata: bool = False
    why: str = ""  # the grammar rule that put the chord here


@dataclass(frozen=True)
class Plan:
    key: Key
    meter: Meter
    bars: int
    phrases: tuple[Phrase, ...]
    slots: tuple[Slot, ...]

    def to_text(self, why: bool = False) -> str:
        """The phrases and their chords bar by bar; with `why`, a line per chord saying
        which grammar rule put it there."""
        lines = [f"{self.key}, {self.meter}, {self.bars} bars, {len(self.phrases)} phrases"]
        for ph in self.phrases:
            lines.append(f"phrase {ph.index + 1} (section {ph.section}, bars {ph.first_bar}–"
                         f"{ph.first_bar + ph.bars - 1}, in {key_of(self.key, ph.key)}): "
                         f"{ph.cadence} cadence — {ph.reason}")
            chords = [s for s in self.slots if s.phrase == ph.index]
            if why:
                lines += [f"   {str(s.position):>6}  {s.numeral:<8} {s.why}" for s in chords]
                continue
            bar_text: dict[int, list[str]] = {}
            for s in chords:
                bar_text.setdefault(s.position.bar, []).append(s.numeral)
            lines.append("   " + " | ".join(" ".join(v) for v in bar_text.values()))
        return "\n".join(lines)


def _held(spec: Spec, offset: Fraction) -> bool:
    """A cadence chord is held under a fermata: in a free piece always, under a given
    melody where the melody's note has one (a folk tune's phrases end without)."""
    note = spec.melody.at(offset) if spec.melody is not None else None
    return spec.melody is None or (note is not None and note.fermata)


def _arrivals(chain: HarmonyChain, choice: list[int]) -> dict[int, int]:
    """Per phrase, the slot where its last chord arrives (it may be held from before the
    last note, within the final window)."""
    out = {}
    for k, (ph, _, _, cadence_slot) in enumerate(chain.times):
        if cadence_slot:
            a, width = k, chain.window if ph == len(chain.phrases) - 1 else 1
            while a > 0 and k - a + 1 < width and chain.times[a - 1][0] == ph \
                    and choice[a - 1] == choice[k]:
                a -= 1
            out[ph] = a
    return out


def make_plan(spec: Spec, chain: HarmonyChain, choice: list[int]) -> Plan:
    phrases = list(chain.phrases)
    arrivals = _arrivals(chain, choice)
    for ph, a in arrivals.items():
        choices = phrases[ph].cadence
        if (choices == ANY_CADENCE or "|" in choices) and a > 0:
            kind = cadence_kind(chain.grammar, choice[a - 1], choice[a], choices,
                                phrases[ph].key)
            phrases[ph] = replace(phrases[ph], cadence=kind)
    firsts = {a - 1 for a in arrivals.values()}
    slots = []
    melody_voice = spec.melody is not None
    for k, ((ph, t, dur, cadence_slot), i) in enumerate(zip(chain.times, choice, strict=True)):
        melody = melody_at(spec, t) if melody_voice else None
        why = [chain.grammar.why(choice[k - 1] if k else None, i)]
        if cadence_slot:
            why.append("ends the phrase open, on no cadence" if phrases[ph].cadence == OPEN
                       else f"closes the {phrases[ph].cadence} cadence")
        elif k in firsts:
            why.append("the cadence's first chord")
        elif arrivals.get(ph, k + 1) <= k:
            why.append("the cadence's last chord, arriving before the last note")
        figure = spec.melody.figure_at(t) if spec.melody is not None else None
        if figure is not None:  # a figured bass: its figure names the chord
            why.append(f"the figure {figure.text} over the bass's {melody}")
        elif melody is not None:
            why.append(f"holds the melody's {melody}" if melody.pc in chain.chords[i].pcs
                       else f"under the melody's {melody}, a non-chord tone")
        slots.append(Slot(k, t, dur, spec.meter.position(t), ph,
                          key_of(spec.key, phrases[ph].key),
                          chain.grammar.numerals[i].name, chain.chords[i], melody,
                          phrases[ph].cadence if cadence_slot else None,
                          cadence_slot and _held(spec, t),
                          "; ".join(why)))
    return Plan(spec.key, spec.meter, spec.bars, tuple(phrases), tuple(slots))


def grammar_plan(spec: Spec, rng: np.random.Generator) -> Plan:
    """The harmony alone, drawn from the grammar without voicing it: the grammar's own
    choices (`partimento plan` prints the plan of the piece compose writes)."""

    chain = harmony_chain(spec)
    try:
        choice = sample(Chain(chain.unary, chain.pair), rng)
    except NoSolution as exc:
        raise no_harmony(spec, chain, exc.slot) from None
    return make_plan(spec, chain, choice)


def no_harmony(spec: Spec, chain: HarmonyChain, slot: int) -> UnsatisfiableError:
    t = chain.times[min(slot, len(chain.times) - 1)][1]
    where = spec.meter.position(t)
    note = melody_at(spec, t)
    given = f" under the melody note {note}" if note else ""
    return UnsatisfiableError(
        f"{spec.source}: no progression of the {spec.key.mode} harmony grammar reaches bar"
        f" {where.bar} beat {where.beat:g}{given} with the cadences the form asks for"
    )


