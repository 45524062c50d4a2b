"""The figures a voice may take on one beat, before any rule judges them: what its chord
tones, its neighbours and its tendency allow, under the soprano's single climax."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

from composer.music import Pitch
from composer.planning.plan import Plan, Slot
from composer.rules import Context
from composer.spec.values import Spec
from composer.surface.beat import Option
from composer.surface.division import Division, division
from composer.surface.figures import HOLD, NAMES, SUSPENSION
from composer.texture import leading_tone_of

TENDENCY_FIGURES = frozenset({HOLD, NAMES.index("anticipation")})


def beat_division(spec: Spec, slot: Slot) -> Division:
    """How the slot's beat divides (only asked of a figured slot)."""
    found = division(spec.meter.at(slot.offset))
    assert found is not None
    return found


def below_climax(spec: Spec, voicings: Sequence[Sequence[Pitch]], v: int, o: Option,
                 top: int | None = None) -> bool:
    """A composed soprano with a single climax (`climax: single`, the default) keeps its
    figures below the chain's highest note, so that the climax is struck once (a figure
    a revision keeps is written again as it was). `top`: `climax_top`, if known."""
    top = climax_top(spec, voicings) if top is None else top
    if top is None or spec.voices[v] != "soprano":
        return True
    return all(p is None or p.midi < top for p in o.pitches[1:])


def climax_top(spec: Spec, voicings: Sequence[Sequence[Pitch]]) -> int | None:
    """The chain's highest soprano note, which a single climax keeps the figures under
    (the one thing a free beat reads from beyond its neighbours); None without one."""
    if spec.climax != "single" or "soprano" not in spec.voices:
        return None
    v = spec.voices.index("soprano")
    return max(voicing[v].midi for voicing in voicings)


def may_move(spec: Spec, v: int, ctx: Context) -> bool:
    """A voice whose line max-order compares with the corpus, or whose climax is struck
    once, keeps its block notes (the chain's notes, which the sampler's automaton judges,
    are then the written notes)."""
    return not any(u.rule.id in ("max-order", "single-climax")
                   and ctx.index(u.params.get("voice") or "") == v for u in spec.hard)


def moves(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]], t: int, v: int,
           times: tuple[Fraction, ...], only: str | None = None) -> list[Option]:
    """The figures other than holding that voice v can take on slot t (`only`: that
    one, if it can)."""
    slot = plan.slots[t]
    this, nxt = voicings[t][v], voicings[t + 1][v]
    before = plan.slots[t - 1] if t > 0 else None  # the slot before, if it leads here
    joined = before is not None and before.phrase == slot.phrase \
        and before.offset + before.duration == slot.offset  # (not across a rest)
    prev = voicings[t - 1][v] if joined else None
    tendency = (this.pc == leading_tone_of(slot.chord, spec.key)
                or slot.chord.role(this.pc) == "seventh")
    grid = beat_division(spec, slot)
    at, on_cell = _cells_at(times, slot.duration, grid.cells)
    each = grid.realize_each(prev, this, nxt, slot.chord, slot.key)
    out = []
    for f, figure in enumerate(grid.figures):
        if f == HOLD or (tendency and f not in TENDENCY_FIGURES) or \
                (only is not None and figure.name != only):
            continue  # a tendency tone goes straight to its resolution
        if f == SUSPENSION and not may_suspend(spec, voicings[t], v, prev, slot):
            continue
        if (cells := each[f]) is not None:
            struck = tuple(figure.onsets[k] and o for k, o in zip(at, on_cell, strict=True))
            out.append(Option(f, tuple(cells[k] for k in at), struck))
    return out


@lru_cache(maxsize=256)
def _cells_at(times: tuple[Fraction, ...], duration: Fraction, cells: int
              ) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    """The cell of the beat each time falls in, and whether it falls on the cell's start
    (a beat's times are a few, asked of every voice: worked out once)."""
    cell = duration / cells
    at = tuple(min(int(x / cell), cells - 1) for x in times)
    return at, tuple(x == k * cell for k, x in zip(at, times, strict=True))


def may_suspend(spec: Spec, voicing: Sequence[Pitch], v: int, prev: Pitch | None,
                 slot: Slot) -> bool:
    """A suspension needs a preparation in the same phrase, an upper voice, no given note
    on the beat, and a resolution that no other voice sounds already (9–8 over the bass
    excepted)."""
    if prev is None or v == len(voicing) - 1:
        return False
    here = (slot.position.bar, slot.position.beat)
    if any(u.rule.id == "fixed" and u.params.get("voice") == spec.voices[v]
           and (u.params["bar"], float(u.params["beat"])) == here for u in spec.hard):
        return False
    bass = len(voicing) - 1
    nine_eight = (prev.diatonic - voicing[bass].diatonic) % 7 == 1
    return not any(w != v and other.pc == voicing[v].pc and (w != bass or not nine_eight)
                   for w, other in enumerate(voicing))
