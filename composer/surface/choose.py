"""The sampler's third level: a surface figure for every voice on every beat.

Once the chords and voicings are chosen, each voice on each beat takes a figure from
`composer.surface.figures` leading from its note to the next beat's; a given melody keeps its own
rhythm and a cadence chord is held. A beat's candidates are combinations of the voices'
figures, at most two voices moving. The spec's own rules judge each combination on the
finer grid of its onsets, as the checker will judge the written score and with the chord
the checker will hear there: the vertical rules on the beat and between the beats, the
horizontal rules from onset to onset, the melodic rules along each voice. Neighbouring
beats meet in pair compatibilities — the last onset of a beat against the first of the
next, the melodic windows across the border, a suspension's preparation — and the exact
sampler draws the whole chain. Holding every voice (the block chords the level above
chose) is always allowed, so the chain never empties.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from itertools import combinations

import numpy as np

from composer.errors import UnsatisfiableError
from composer.music import Note, Pitch
from composer.planning.plan import Plan, Slot
from composer.rules import Context
from composer.sample.reuse import Reuse, made
from composer.sample.sampler import Chain, sample
from composer.spec.values import Spec
from composer.surface.beat import Beat, Option
from composer.surface.counts import default_figure_scorer, moving_share, voices_per_moving_beat
from composer.surface.division import division
from composer.surface.figures import (
    FIGURES,
    GIVEN,
    HOLD,
    NAMES,
    SUSPENSION,
    FigurePlaces,
    FigureScorer,
)
from composer.surface.lean import lean_to
from composer.surface.moves import beat_division, below_climax, climax_top, may_move, moves
from composer.surface.places import around, combination_rows, with_others
from composer.surface.rules import identify, judge_beats, pair_scores, signatures
from composer.texture import REST, chord_arrays

# The figures that sound a non-chord tone within the beat: Bach's voices move together
# chiefly through these (passing notes in thirds and tenths, a suspension under a passing
# note), and the second lean raises them alone, not chord skips.
NON_CHORD = [NAMES.index(n) for n in ("passing", "upper-neighbour", "lower-neighbour",
                                      "suspension", "run", "turn")]
MAX_MOVING = 2  # voices moving within one beat (in Bach, 94% of beats move at most two)


@dataclass(frozen=True)
class Surface:
    """The figure each voice takes on each slot, and the notes they make."""

    figures: tuple[tuple[str, ...], ...]  # per slot, per voice ('given' for a melody)
    lines: tuple[tuple[Note, ...] | None, ...]  # per voice from the first slot; None: given


def choose_surface(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]],
                   rng: np.random.Generator, scorer: FigureScorer | None = None,
                   keep: Sequence[tuple[str | None, ...] | None] | None = None,
                   span: tuple[int, int] | None = None, reuse: Reuse | None = None,
                   key: Hashable | None = None) -> Surface:
    """Draw a figure for every voice on every beat, every hard rule holding. `keep`:
    per slot, the figures a revision keeps there (by voice; None where free); `span`:
    the slots to draw (a revision's region and its kept neighbours), the others' kept
    figures written again as they are (a beat meets only its neighbours, so given
    those the span's draw does not depend on the music further away). `key`: what the
    spec and the kept music are, to take each beat from `reuse` (a beat is made from its
    slot, its neighbours and their voicings: the kept beats every time, and the region's
    whenever a draw repeats its voicings, as drawing again soon does)."""
    ctx = Context(spec.voices, spec.key, spec.meter)
    first, last = span if span is not None and keep is not None else (0, len(plan.slots) - 1)
    whole = [k is not None and None not in k for k in keep] if keep else [False] * (last + 1)

    top = climax_top(spec, voicings) if key is not None else None

    def beat(t: int) -> Beat:
        again = whole[t] and not first <= t <= last
        make = partial(_beat, spec, plan, voicings, t, ctx, keep[t] if keep else None,
                       written_again=again)
        if key is None:
            return make()
        near = slice(max(t - 1, 0), t + 2)  # all a beat reads: its slot and neighbours,
        return made(reuse, ("beat", key, t, again, None if again else top,  # the climax
                            keep[t] if keep else None, plan.slots[near],
                            tuple(tuple(y) for y in voicings[near])), make)

    beats = [beat(t) for t in range(len(plan.slots))]
    drawn = beats[first:last + 1]
    tables = chord_arrays([b.chord or b.slot.chord for b in drawn], [ctx.key] * len(drawn))
    scorer = scorer or default_figure_scorer()
    allowed, penalty = judge_beats(drawn, spec.rules, ctx, tables,
                                    _scores(spec, plan, voicings, drawn, scorer, first))
    if keep is not None:  # judged as a whole first: a figure's verdict needs its peers
        allowed = [a if names is None else a & _kept(b, names)
                   for a, b, names in zip(allowed, drawn, keep[first:last + 1], strict=True)]
    drawn = [b.take(k) for b, k in zip(drawn, allowed, strict=True)]
    # Scored again, now that the figures the rules allow on each beat are known.
    scores = _scores(spec, plan, voicings, drawn, scorer, first)
    pair = pair_scores(drawn, spec.rules, ctx, tables)
    unary = _lean_to_meter(spec, [s - p[k] for s, p, k in zip(scores, penalty, allowed,
                                                              strict=True)], pair, drawn,
                           whole[first:last + 1])
    choice = sample(Chain(unary, pair), rng, temperature=spec.temperature)
    if keep is None or (first, last) == (0, len(beats) - 1):
        return _surface(spec, plan, drawn, choice)
    around = [b.take(_kept(b, names)) if names is not None else b
              for b, names in zip(beats, keep, strict=True)]  # one combination each
    return _surface(spec, plan, around[:first] + drawn + around[last + 1:],
                    [0] * first + list(choice) + [0] * (len(beats) - last - 1))


def _lean_to_meter(spec: Spec, unary: list[np.ndarray], pair: Sequence[np.ndarray],
                   beats: Sequence[Beat], kept: Sequence[bool]) -> list[np.ndarray]:
    """The scores leaned (`composer.surface.lean`) so that the beats move, in expectation
    under the chain the sampler draws from, as often as Bach's chorales in the piece's
    meter do (`counts.moving_share`, counted over every beat in which the music sounds),
    and a moving beat moves as many voices as his do. The figure scorer leans each voice
    to Bach's rate of moving; at most two voices move together here, and the rules refuse
    some figures, so the beats alone would move less often than his, one voice at a
    time. A revision's aim is its region's own beats: the `kept` ones around it, written
    again as they are, are left out, else a region between held beats would be pushed to
    move for them (and its leans to their limits)."""
    wanted = 0.0
    movers, together = [], []
    for b, fixed in zip(beats, kept, strict=True):
        meter = spec.meter.at(b.slot.offset)
        share = moving_share(meter)
        if share is None:
            return unary
        if fixed:
            movers.append(np.zeros(len(b.combos), int))
            together.append(movers[-1])
            continue
        wanted += share * float(b.slot.duration / meter.beat_length)
        given = any(o[0].figure == GIVEN and b.struck[0, 1:, v].any()
                    for v, o in enumerate(b.options))
        movers.append((b.combos > 0).sum(axis=1) + given)
        passing = sum(np.isin(b.figures(v), NON_CHORD) for v in range(len(b.options)))
        together.append(np.where(movers[-1] > 1, passing, 0))
    if not all(np.isfinite(u).any() for u in unary):
        return unary  # an empty beat: the sampler says why no surface exists
    lean = lean_to(unary, pair, movers, together, wanted, voices_per_moving_beat(),
                   spec.temperature)
    return [u + lean.moving * (b.combos > 0).any(axis=1) + lean.together * e
            for u, b, e in zip(unary, beats, together, strict=True)]


def _kept(beat: Beat, names: Sequence[str | None]) -> np.ndarray:
    """A mask: the beat's combinations that write the kept figures again."""
    ok = np.ones(len(beat.combos), bool)
    for v, name in enumerate(names):
        if name is not None:
            ok &= beat.figures(v) == (GIVEN if name == "given" else NAMES.index(name))
    if not ok.any():
        where = beat.slot.position
        raise UnsatisfiableError(f"the kept figures at bar {where.bar} beat"
                                 f" {float(where.beat):g} cannot be written again", ("fixed",))
    return ok


# One beat's candidates ---------------------------------------------------------------

def _figured(spec: Spec, plan: Plan, t: int) -> bool:
    """Figures fill the beats of a phrase where the meter's beat divides for them
    (`composer.surface.division`); cadence chords and chords before a rest are held."""
    slot = plan.slots[t]
    meter = spec.meter.at(slot.offset)
    return (division(meter) is not None and slot.duration == meter.beat_length
            and not slot.fermata and float(slot.position.beat).is_integer()
            and t + 1 < len(plan.slots)
            and plan.slots[t + 1].offset == slot.offset + slot.duration)  # not into a rest


def _beat(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]], t: int,
          ctx: Context, kept: Sequence[str | None] | None = None,
          written_again: bool = False) -> Beat:
    """Slot t's options per voice on the grid of every onset they may make (the
    sixteenths of a figured beat, the given melody's notes), and their combinations,
    each of which strikes something on the beat. A voice whose figure is `kept` is
    offered only that one besides holding; a beat `written_again` (kept whole, outside
    a revision's span) only its kept figures, as one combination, unjudged."""
    slot = plan.slots[t]
    figured = _figured(spec, plan, t)
    start, dur = slot.offset, slot.duration
    cells = beat_division(spec, slot).cells if figured else 1
    times = {Fraction(0)} | {dur * k / cells for k in range(1, cells)}
    melody = ctx.index(spec.melody.voice) if spec.melody is not None else None
    end = start + dur
    given = spec.melody.sounding_during(start, end) if spec.melody is not None else ()
    times |= {n.offset - start for n in given if n.offset > start}
    order = tuple(sorted(times))
    top = climax_top(spec, voicings) if figured else None  # (asked of every figure)
    options: list[tuple[Option, ...]] = []
    for v in range(len(ctx.voices)):
        if v == melody:
            pitches = tuple(next((n.pitch for n in given if n.offset <= start + x
                                  < n.offset + n.duration), None) for x in order)
            struck = tuple(any(n.offset == start + x and n.pitch is not None for n in given)
                           for x in order)
            options.append((Option(GIVEN, pitches, struck),))
            continue
        y = voicings[t][v]
        only = kept[v] if kept is not None else None
        opts = [Option(HOLD, (y,) * len(order), (True,) + (False,) * (len(order) - 1))]
        if figured and may_move(spec, v, ctx) and only != "hold":
            opts += [o for o in moves(spec, plan, voicings, t, v, order, only)
                     if only is not None or below_climax(spec, voicings, v, o, top)]
        options.append(tuple(opts[-1:]) if written_again else tuple(opts))
    combos = _combos(options)
    midi, diatonic, strikes = _arrays(options, combos)
    b = Beat(slot, order, tuple(options), combos, midi, diatonic, strikes, figured)
    if written_again:
        return b
    enters = np.asarray(strikes[:, 0].any(axis=1))  # the beat's first slice is on the beat
    enters[0] = True
    b = b.take(enters)
    chord = identify(signatures(b, np.zeros(1, np.int64), ctx)[0], len(options), ctx)
    return Beat(b.slot, b.times, b.options, b.combos, b.midi, b.diatonic, b.struck, figured,
                chord)


def _combos(options: Sequence[Sequence[Option]]) -> np.ndarray:
    """Every voice holding, then one voice moving, then two (at most one suspension)."""
    movers = [(w, k) for w in range(len(options)) for k in range(1, len(options[w]))]
    groups: list[tuple[tuple[int, int], ...]] = [()] + [(m,) for m in movers]
    groups += [pair for pair in combinations(movers, MAX_MOVING) if pair[0][0] != pair[1][0]
               and (options[pair[0][0]][pair[0][1]].figure,
                    options[pair[1][0]][pair[1][1]].figure) != (SUSPENSION, SUSPENSION)]
    out = np.zeros((len(groups), len(options)), np.int64)
    for row, group in enumerate(groups):
        for w, k in group:
            out[row, w] = k
    return out


def _arrays(options: Sequence[Sequence[Option]], combos: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    midi, diatonic, struck = [], [], []
    for v, opts in enumerate(options):
        m = np.array([[p.midi if p else REST for p in o.pitches] for o in opts], np.int16)
        d = np.array([[p.diatonic if p else 0 for p in o.pitches] for o in opts], np.int16)
        s = np.array([o.struck for o in opts], bool)
        midi.append(m[combos[:, v]])
        diatonic.append(d[combos[:, v]])
        struck.append(s[combos[:, v]])
    return np.stack(midi, -1), np.stack(diatonic, -1), np.stack(struck, -1)


# Scores and the written notes --------------------------------------------------------

def _scores(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]],
            beats: Sequence[Beat], scorer: FigureScorer, first: int = 0) -> list[np.ndarray]:
    """Per beat (the first at slot `first`), the summed log-score of each combination's
    figures. The scorer sees every beat where a voice could move, with the figures its
    combinations offer (and, if it reads them, the figures of the voices above)."""
    slots = plan.slots
    places = [(t, v) for t, b in enumerate(beats, first) if b.figured
              for v in range(len(b.options)) if b.options[v][0].figure == HOLD]
    if not places:
        return [np.zeros(len(b.combos)) for b in beats]
    cadence = {s.phrase: s.index for s in slots if s.fermata}
    t, v = (np.array(x) for x in zip(*places, strict=True))

    def note(ts: np.ndarray) -> np.ndarray:
        return np.array([voicings[a][b].midi if 0 <= a < len(slots) else REST
                         for a, b in zip(ts, v, strict=True)])

    at = FigurePlaces(
        v, note(t - 1), note(t), note(t + 1),
        np.array([int(slots[a].position.beat) - 1 for a in t]),
        np.array([spec.meter.at(slots[a].offset).beats_per_bar for a in t]),
        np.array([cadence.get(slots[a].phrase, a) - a for a in t]),
        _offered(beats, [(t - first, v) for t, v in places]),
        around(plan, voicings, t))
    reads = getattr(scorer, "reads_other_voices", False)
    rows, combo_rows = combination_rows(beats, places, first, reads,
                                        spec.melody.notes if spec.melody else ())
    logp = scorer.log_scores(with_others(at, rows) if rows else at)
    index = {p: k for k, p in enumerate(places)}
    out = []
    for a, b in enumerate(beats, first):
        score = np.zeros(len(b.combos))
        for voice in range(len(b.options)):
            if (a, voice) in index:
                k = index[(a, voice)]
                row = combo_rows[k] if rows else np.full(len(b.combos), k)
                score += logp[row, b.figures(voice)]
        out.append(score)
    return out


def _offered(beats: Sequence[Beat], places: list[tuple[int, int]]) -> np.ndarray:
    """bool [K, len(FIGURES)]: the figures some combination gives each place (and hold)."""
    out = np.zeros((len(places), len(FIGURES)), bool)
    out[:, HOLD] = True
    for k, (t, v) in enumerate(places):
        out[k, beats[t].figures(v)] = True
    return out


def _surface(spec: Spec, plan: Plan, beats: Sequence[Beat], choice: Sequence[int]) -> Surface:
    voices = range(len(spec.voices))
    chosen = [[b.options[v][int(b.combos[c, v])] for v in voices]
              for b, c in zip(beats, choice, strict=True)]
    figures = tuple(tuple("given" if o.figure == GIVEN else NAMES[o.figure] for o in row)
                    for row in chosen)
    end = plan.slots[-1].offset + plan.slots[-1].duration
    lines: list[tuple[Note, ...] | None] = []
    for v in voices:
        if chosen[0][v].figure == GIVEN:
            lines.append(None)
            continue
        lines.append(_line([(b.slot, b.times, row[v]) for b, row in zip(beats, chosen,
                                                                          strict=True)], end))
    return Surface(figures, tuple(lines))


def _line(cells: Sequence[tuple[Slot, tuple[Fraction, ...], Option]], end: Fraction
          ) -> tuple[Note, ...]:
    """One voice's notes: each lasts to the next onset, or to the end of the last slot it
    sounds in (a suspension ties it over the beat; a rest after a slot cuts it)."""
    starts: list[list] = []  # [offset, pitch, fermata, stop]
    for slot, times, option in cells:
        stop = slot.offset + slot.duration
        for x, p, struck in zip(times, option.pitches, option.struck, strict=True):
            if p is None:
                continue
            if struck or not starts:
                starts.append([slot.offset + x, p, slot.fermata and x == 0, stop])
            else:  # held over from before
                starts[-1][3] = stop
    ends = [s[0] for s in starts[1:]] + [end]
    return tuple(Note(o, min(e, stop) - o, p, f) for (o, p, f, stop), e in zip(starts, ends,
                                                                              strict=True))
