"""The sampler's third level: a surface figure for every voice on every beat.

Once the chords and voicings are chosen, each voice on each beat takes a figure from
`composer.figures` leading from its note to the next beat's; a given melody keeps its own
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

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

import numpy as np

from composer.figures import (
    CELLS,
    FIGURES,
    HOLD,
    NAMES,
    SUSPENSION,
    FigurePlaces,
    FigureScorer,
    default_figure_scorer,
    realize,
)
from composer.harmony import ONSET_WEIGHT, identify_chord
from composer.music import STEP_PC, Chord, Note, Pitch, PitchClass
from composer.planner import Plan, Slot
from composer.rules import RULES, Context, HorizontalRule, MelodicRule, VerticalRule
from composer.rules.vertical import CompleteChord
from composer.rulesets import RuleUse
from composer.sampler import Chain, sample
from composer.solver import vertical_filter
from composer.spec import Spec
from composer.texture import REST, Frame, chord_arrays, leading_tone_of

MAX_MOVING = 2  # voices moving within one beat (in Bach, 94% of beats move at most two)
MAX_COMBINATIONS = 16  # the most likely combinations a beat offers (cf. the voicings' cap)
GIVEN = -1  # the figure of a given melody: its own rhythm
TENDENCY_FIGURES = frozenset({HOLD, NAMES.index("anticipation")})
# Judged by all that sounds in the beat, which always includes the voicing the level
# above has checked (a suspension's resolution arrives within the beat).
_WHOLE_BEAT = (CompleteChord,)
Tables = tuple[np.ndarray, np.ndarray, np.ndarray]  # roles, leading tone, root per beat


@dataclass(frozen=True)
class Surface:
    """The figure each voice takes on each slot, and the notes they make."""

    figures: tuple[tuple[str, ...], ...]  # per slot, per voice ('given' for a melody)
    lines: tuple[tuple[Note, ...] | None, ...]  # per voice from the first slot; None: given


@dataclass(frozen=True)
class _Option:
    figure: int  # index into FIGURES, or GIVEN
    pitches: tuple[Pitch | None, ...]  # at each onset time of the slot
    struck: tuple[bool, ...]


@dataclass(frozen=True, eq=False)
class _Beat:
    """One slot's candidates: options per voice, and the combinations offered."""

    slot: Slot
    times: tuple[Fraction, ...]  # where any option may strike, from the slot's start
    options: tuple[tuple[_Option, ...], ...]  # per voice; option 0 holds (or is given)
    combos: np.ndarray  # int [n, V]: an option per voice; row 0 holds every voice
    midi: np.ndarray  # int16 [n, R, V]
    diatonic: np.ndarray  # int16 [n, R, V]
    struck: np.ndarray  # bool [n, R, V]
    chord: Chord | None = None  # what the checker hears on the block chord

    def take(self, keep: np.ndarray) -> _Beat:
        k = np.flatnonzero(keep)
        return _Beat(self.slot, self.times, self.options, self.combos[k], self.midi[k],
                      self.diatonic[k], self.struck[k], self.chord)

    def figures(self, voice: int) -> np.ndarray:
        """int [n]: the figure voice takes in each combination."""
        return np.array([o.figure for o in self.options[voice]])[self.combos[:, voice]]


def choose_surface(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]],
                   rng: np.random.Generator, scorer: FigureScorer | None = None) -> Surface:
    """Draw a figure for every voice on every beat, every hard rule holding."""
    ctx = Context(spec.voices, spec.key, spec.meter)
    beats = [_beat(spec, plan, voicings, t, ctx) for t in range(len(plan.slots))]
    tables = chord_arrays([b.chord or b.slot.chord for b in beats], [ctx.key] * len(beats))
    scores = _scores(spec, plan, voicings, beats, scorer or default_figure_scorer())
    keep, penalty = _judge_beats(beats, spec.rules, ctx, tables, scores)
    beats = [b.take(k) for b, k in zip(beats, keep, strict=True)]
    unary = [(s - p)[k] for s, p, k in zip(scores, penalty, keep, strict=True)]
    pair = _pairs(beats, spec.rules, ctx, tables)
    choice = sample(Chain(unary, pair), rng, temperature=spec.temperature)
    return _surface(spec, plan, beats, choice)


# One beat's candidates ---------------------------------------------------------------

def _figured(spec: Spec, plan: Plan, t: int) -> bool:
    """Figures fill quarter-note beats inside a phrase; cadence chords are held."""
    slot, meter = plan.slots[t], spec.meter
    return (meter.beat_length == 1 and not meter.compound and slot.duration == 1
            and not slot.fermata and float(slot.position.beat).is_integer()
            and t + 1 < len(plan.slots))


def _beat(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]], t: int,
          ctx: Context) -> _Beat:
    slot = plan.slots[t]
    figured = _figured(spec, plan, t)
    start, dur = slot.offset, slot.duration
    times = {Fraction(0)} | ({dur * k / CELLS for k in range(1, CELLS)} if figured else set())
    melody = ctx.index(spec.melody.voice) if spec.melody is not None else None
    given = [n for n in spec.melody.notes if n.offset < start + dur
             and n.offset + n.duration > start] if spec.melody is not None else []
    times |= {n.offset - start for n in given if n.offset > start}
    order = tuple(sorted(times))
    options = []
    for v in range(len(ctx.voices)):
        if v == melody:
            pitches = tuple(next((n.pitch for n in given if n.offset <= start + x
                                  < n.offset + n.duration), None) for x in order)
            struck = tuple(any(n.offset == start + x and n.pitch is not None for n in given)
                           for x in order)
            options.append((_Option(GIVEN, pitches, struck),))
            continue
        y = voicings[t][v]
        opts = [_Option(HOLD, (y,) * len(order), (True,) + (False,) * (len(order) - 1))]
        if figured and _may_move(spec, v, ctx):
            opts += _moves(spec, plan, voicings, t, v, order)
        options.append(tuple(opts))
    combos = _combos(options)
    midi, diatonic, struck = _arrays(options, combos)
    b = _Beat(slot, order, tuple(options), combos, midi, diatonic, struck)
    enters = struck[:, 0].any(axis=1)  # the beat's first slice is on the beat
    enters[0] = True
    b = b.take(enters)
    chord = _identify(_signatures(b, np.zeros(1, np.int64), ctx)[0], len(options), ctx)
    return _Beat(b.slot, b.times, b.options, b.combos, b.midi, b.diatonic, b.struck, chord)


def _may_move(spec: Spec, v: int, ctx: Context) -> bool:
    """A voice whose line max-order compares with the corpus keeps its block notes (the
    check after composing judges those)."""
    return not any(u.rule.id == "max-order" and ctx.index(u.params.get("voice") or "") == v
                   for u in spec.hard)


def _moves(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]], t: int, v: int,
           times: tuple[Fraction, ...]) -> list[_Option]:
    """The figures other than holding that voice v can take on slot t."""
    slot = plan.slots[t]
    this, nxt = voicings[t][v], voicings[t + 1][v]
    same_phrase = t > 0 and plan.slots[t - 1].phrase == slot.phrase
    prev = voicings[t - 1][v] if same_phrase else None
    tendency = (this.pc == leading_tone_of(slot.chord, spec.key)
                or slot.chord.role(this.pc) == "seventh")
    cell = slot.duration / CELLS
    at = [min(int(x / cell), CELLS - 1) for x in times]
    on_cell = [x == k * cell for k, x in zip(at, times, strict=True)]
    out = []
    for f, figure in enumerate(FIGURES):
        if f == HOLD or (tendency and f not in TENDENCY_FIGURES):
            continue  # a tendency tone goes straight to its resolution
        if f == SUSPENSION and not _may_suspend(spec, voicings[t], v, prev, slot):
            continue
        cells = realize(figure.name, prev, this, nxt, slot.chord, slot.key)
        if cells is not None:
            out.append(_Option(f, tuple(cells[k] for k in at),
                               tuple(figure.onsets[k] and o for k, o in zip(at, on_cell,
                                                                            strict=True))))
    return out


def _may_suspend(spec: Spec, voicing: Sequence[Pitch], v: int, prev: Pitch | None,
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


def _combos(options: Sequence[Sequence[_Option]]) -> np.ndarray:
    """Every voice holding, then one voice moving, then two (at most one suspension)."""
    movers = [(w, k) for w in range(len(options)) for k in range(1, len(options[w]))]
    groups = [()] + [(m,) for m in movers]
    groups += [pair for pair in combinations(movers, MAX_MOVING) if pair[0][0] != pair[1][0]
               and (options[pair[0][0]][pair[0][1]].figure,
                    options[pair[1][0]][pair[1][1]].figure) != (SUSPENSION, SUSPENSION)]
    out = np.zeros((len(groups), len(options)), np.int64)
    for row, group in enumerate(groups):
        for w, k in group:
            out[row, w] = k
    return out


def _arrays(options: Sequence[Sequence[_Option]], combos: np.ndarray
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


# What the checker will hear ----------------------------------------------------------

def _signatures(b: _Beat, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """float [len(rows), L]: for each combination, what `harmony.slot_notes` makes of the
    slot's first beat as the checker cuts it — the spelled notes sounding on the beat
    and their bass, then per later onset the notes struck and their weight. Equal rows
    are heard alike."""
    midi = b.midi[rows].astype(np.int64)
    dia = b.diatonic[rows].astype(np.int64)
    struck = b.struck[rows]
    n, r, _ = midi.shape
    start = float(b.slot.offset)
    at = np.array([round(start + float(x), 6) for x in b.times])
    end = round(start + float(b.slot.duration), 6)
    onset = struck.any(axis=2)
    onset[:, 0] = True
    # Each onset slice lasts until the next one (the next slot begins with an onset).
    when = np.where(onset, at[None, :], np.inf)
    after = np.minimum.accumulate(when[:, ::-1], axis=1)[:, ::-1]
    nxt = np.minimum(np.concatenate([after[:, 1:], np.full((n, 1), end)], axis=1), end)
    first = np.array([x < ctx.meter.beat_length for x in b.times])
    used = onset & first[None, :]
    length = np.where(used, nxt - at[None, :], 0.0)
    span = np.zeros(n)
    for k in range(r):  # in order, as the checker sums them
        span = span + length[:, k]
    weight = np.where(used, 0.5 * length / span[:, None], 0.0)
    step = dia % 7
    alter = midi - (12 * (dia // 7 + 1) + np.array(STEP_PC)[step])
    code = np.where(midi != REST, 8 * step + alter + 3, -1)
    lowest = np.where(midi[:, 0] != REST, midi[:, 0] * 100 + dia[:, 0], 1 << 30).argmin(axis=1)
    later = np.where(struck[:, 1:] & used[:, 1:, None], code[:, 1:], -1)
    return np.concatenate([code[:, 0], code[np.arange(n), 0, lowest][:, None],
                           later.reshape(n, -1), weight[:, 1:]], axis=1).astype(np.float64)


def _identify(sig: np.ndarray, v: int, ctx: Context) -> Chord | None:
    """The chord `harmony.identify_chord` hears in one signature."""
    def pc(code: float) -> PitchClass:
        return PitchClass(int(code) // 8, int(code) % 8 - 3)

    notes = [(pc(c), ONSET_WEIGHT) for c in sig[:v] if c >= 0]
    r = (len(sig) - v - 1) // (v + 1)
    later = sig[v + 1:v + 1 + r * v].reshape(r, v)
    for row, w in zip(later, sig[v + 1 + r * v:], strict=True):
        notes += [(pc(c), float(w)) for c in row if c >= 0]
    return identify_chord(notes, pc(sig[v]) if sig[v] >= 0 else None, ctx.key)


def _heard(b: _Beat, rows: np.ndarray, ctx: Context, cache: dict) -> np.ndarray:
    """bool [len(rows)]: the checker hears the block chord under these combinations."""
    if not len(rows):
        return np.zeros(0, bool)
    sig = _signatures(b, rows, ctx)
    out = np.zeros(len(rows), bool)
    for k, row in enumerate(sig):
        key = (row.tobytes(), b.chord)
        if key not in cache:
            cache[key] = _identify(row, len(b.options), ctx) == b.chord
        out[k] = cache[key]
    return out


# Judging one beat's candidates -------------------------------------------------------

def _frame(midi: np.ndarray, diatonic: np.ndarray, struck: np.ndarray, beat: np.ndarray,
           tables: Tables, harmonic: bool, columns: tuple[int, ...]) -> Frame:
    roles, leading, root = tables
    n = len(midi)
    return Frame(midi.astype(np.int16), diatonic.astype(np.int16), struck, roles[beat],
                 leading[beat], root[beat], columns, np.arange(n, dtype=np.int32),
                 np.full(n, harmonic))


def _tally(n: int, verdicts: list[tuple[RuleUse, np.ndarray]]
           ) -> tuple[np.ndarray, np.ndarray]:
    """(unbroken, soft penalty) per row from each use's count of broken targets."""
    ok, penalty = np.ones(n, bool), np.zeros(n)
    for use, broken in verdicts:
        if use.severity == "error":
            ok &= broken == 0
        else:
            penalty += use.weight * broken
    return ok, penalty


def _motion(a: Frame, b: Frame, uses: Sequence[RuleUse], ctx: Context
            ) -> tuple[np.ndarray, np.ndarray]:
    """(unbroken, penalty) of each row of a moving to the same row of b."""
    return _tally(len(a), [(u, u.rule.test(a, b, ctx, u.params).sum(axis=1)) for u in uses
                           if isinstance(u.rule, HorizontalRule)])


def _judge_beats(beats: Sequence[_Beat], uses: Sequence[RuleUse], ctx: Context,
                 tables: Tables, scores: Sequence[np.ndarray]
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per beat, (keep [n], soft penalty [n]) of each combination: the vertical rules on
    and off the beat, the horizontal rules from onset to onset, and the chord heard —
    asked of the MAX_COMBINATIONS most likely that pass the rules."""
    sizes = np.array([len(b.combos) for b in beats])
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    cols = tuple(range(len(ctx.voices)))
    n_all = int(sizes.sum())
    ok, penalty = np.ones(n_all, bool), np.zeros(n_all)

    def gather(rows: slice) -> list[np.ndarray]:
        """The given rows of every combination of every beat, stacked, with the beat
        and the combination each row is of."""
        parts = []
        for k, b in enumerate(beats):
            m, d, s = b.midi[:, rows], b.diatonic[:, rows], b.struck[:, rows]
            r = m.shape[1]
            parts.append((m.reshape(-1, len(cols)), d.reshape(-1, len(cols)),
                          s.reshape(-1, len(cols)), np.full(len(b.combos) * r, k),
                          np.repeat(first[k] + np.arange(len(b.combos)), r)))
        return [np.concatenate(x) for x in zip(*parts, strict=True)]

    def add(combo: np.ndarray, verdict: tuple[np.ndarray, np.ndarray]) -> None:
        good, pen = verdict
        ok[:] &= np.bincount(combo[~good], minlength=n_all) == 0
        penalty[:] += np.bincount(combo, weights=pen, minlength=n_all)

    vertical = [u for u in uses if isinstance(u.rule, VerticalRule)
                and not isinstance(u.rule, _WHOLE_BEAT)]
    m, d, s, beat, combo = gather(slice(0, 1))
    add(combo, vertical_filter(_frame(m, d, s, beat, tables, True, cols), vertical, ctx))
    between = [u for u in vertical if not u.rule.harmonic_only]  # type: ignore[attr-defined]
    m, d, s, beat, combo = gather(slice(1, None))
    off = _frame(m, d, s, beat, tables, False, cols)
    add(combo, vertical_filter(off, between, ctx))
    add(combo, (_consonant_together(off, ctx), np.zeros(len(off))))
    ma, da, sa, beat, combo = gather(slice(None, -1))
    mb, db, sb, _, _ = gather(slice(1, None))
    add(combo, _motion(_frame(ma, da, sa, beat, tables, False, cols),
                       _frame(mb, db, sb, beat, tables, False, cols), uses, ctx))
    ok[first] = True  # the block chords: the level above answers for them
    cache: dict = {}
    for k, b in enumerate(beats):
        mine = ok[first[k]:first[k] + len(b.combos)]  # a view: written through
        value = np.where(mine, scores[k] - penalty[first[k]:first[k] + len(b.combos)], -np.inf)
        value[0] = np.inf
        mine[np.argsort(-value, kind="stable")[MAX_COMBINATIONS:]] = False
        moving = np.count_nonzero(b.combos, axis=1)
        single = np.flatnonzero(mine & (moving == 1))
        mine[single] = _heard(b, single, ctx, cache)
        mine &= _singles_allowed(b, mine, moving)
        double = np.flatnonzero(mine & (moving > 1))
        mine[double] = _heard(b, double, ctx, cache)
    return ([ok[a:a + n] for a, n in zip(first, sizes, strict=True)],
            [penalty[a:a + n] for a, n in zip(first, sizes, strict=True)])


def _singles_allowed(b: _Beat, ok: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Two voices move together only in figures each may take alone."""
    voices = b.combos.shape[1]
    alone = np.zeros((voices, int(b.combos.max()) + 1), bool)
    alone[:, 0] = True
    single = moving == 1
    alone[b.combos[single].argmax(axis=1), b.combos[single].max(axis=1)] = ok[single]
    return (moving < 2) | alone[np.arange(voices)[None, :], b.combos].all(axis=1)


def _consonant_together(f: Frame, ctx: Context) -> np.ndarray:
    """Two notes foreign to the chord struck together off the beat are consonant with
    each other (the consonant-intervals rule's verdict): passing tones move together in
    thirds and sixths."""
    rule = RULES["consonant-intervals"]
    clash = rule.test(f, ctx, rule.defaults())  # [rows, pairs]
    pcs = np.where(f.sounding, f.midi % 12, 0).astype(np.int64)
    foreign = (np.take_along_axis(f.roles, pcs, axis=1) == 0) & f.sounding
    i, j = zip(*ctx.pairs(), strict=True)
    both = f.attacks[:, i] & f.attacks[:, j] & foreign[:, i] & foreign[:, j]
    return ~(clash & both).any(axis=1)


# Neighbouring beats ------------------------------------------------------------------

def _pairs(beats: Sequence[_Beat], uses: Sequence[RuleUse], ctx: Context, tables: Tables
           ) -> list[np.ndarray]:
    """[n_t, n_t+1] per transition: −inf where a hard rule breaks across the border of
    the two beats, else minus the soft penalty."""
    line_ok, line_penalty = _lines(beats, uses, ctx, tables)
    out = []
    for t, (ok, penalty) in enumerate(_borders(beats, uses, ctx, tables)):
        a, b = beats[t], beats[t + 1]
        for v in range(len(ctx.voices)):
            if a.options[v][0].figure == GIVEN:
                continue
            ia, ib = a.combos[:, v][:, None], b.combos[:, v][None, :]
            ok &= line_ok[t, v][ia, ib]
            penalty += line_penalty[t, v][ia, ib]
            # A suspension is prepared: the voice held its note through the beat before.
            ok &= (b.figures(v) != SUSPENSION)[None, :] | (a.combos[:, v] == 0)[:, None]
        m = np.where(ok, -penalty, -np.inf).astype(np.float32)
        if not np.isfinite(m[0, 0]):  # block chords on both beats: the level above's
            m[0, 0] = 0.0
        out.append(m)
    return out


def _borders(beats: Sequence[_Beat], uses: Sequence[RuleUse], ctx: Context, tables: Tables
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per transition, (unbroken, penalty) [n_t, n_t+1] of the last slice of each
    combination of one beat moving to the first slice of each of the next, judged once
    per distinct pair of slices."""
    v, cols = len(ctx.voices), tuple(range(len(ctx.voices)))
    parts, maps = [], []
    for t in range(len(beats) - 1):
        a, b = beats[t], beats[t + 1]
        exits, ei = _unique_rows(np.concatenate([a.midi[:, -1], a.diatonic[:, -1]], axis=1))
        entries, ni = _unique_rows(np.concatenate([b.midi[:, 0], b.diatonic[:, 0],
                                                   b.struck[:, 0]], axis=1))
        x = np.repeat(np.arange(len(exits)), len(entries))
        y = np.tile(np.arange(len(entries)), len(exits))
        parts.append((exits[x], entries[y], np.full(len(x), t)))
        maps.append((ei.ravel(), ni.ravel(), len(exits), len(entries)))
    ea, eb, beat = (np.concatenate(p) for p in zip(*parts, strict=True))
    fa = _frame(ea[:, :v], ea[:, v:], np.zeros((len(ea), v), bool), beat, tables, False, cols)
    fb = _frame(eb[:, :v], eb[:, v:2 * v], eb[:, 2 * v:].astype(bool), beat + 1, tables,
                True, cols)
    good, pen = _motion(fa, fb, uses, ctx)
    out, at = [], 0
    for ei, ni, n_exit, n_entry in maps:
        size = n_exit * n_entry
        g = good[at:at + size].reshape(n_exit, n_entry)
        p = pen[at:at + size].reshape(n_exit, n_entry)
        out.append((g[ei[:, None], ni[None, :]], p[ei[:, None], ni[None, :]]))
        at += size
    return out


def _unique_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, index of each row's), through a bytes view (faster than axis=0)."""
    x = np.ascontiguousarray(x, np.int16)
    keys = x.view(np.dtype((np.void, x.dtype.itemsize * x.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return x[first], inverse.ravel()


def _lines(beats: Sequence[_Beat], uses: Sequence[RuleUse], ctx: Context, tables: Tables
           ) -> tuple[np.ndarray, np.ndarray]:
    """(unbroken, penalty) [T-1, V, I, I] of voice v's melodic windows that begin on beat
    t, with option i there and option j on beat t+1. A voice's events are its notes
    struck and the note sounding on each beat (a suspension held over is one). A window
    reaching past beat t+1 centres on a struck chord tone, which dissonance-treatment
    never flags: it is left out."""
    size, voices = len(beats), len(ctx.voices)
    width = max(len(o) for b in beats for o in b.options)
    midi = np.full((size, voices, width, CELLS), REST, np.int64)
    dia = np.zeros((size, voices, width, CELLS), np.int64)
    count = np.zeros((size, voices, width), np.int64)
    for t, b in enumerate(beats):
        for v, opts in enumerate(b.options):
            if opts[0].figure == GIVEN:
                continue
            for i, o in enumerate(opts):
                ev = [p for r, (p, s) in enumerate(zip(o.pitches, o.struck, strict=True))
                      if p is not None and (s or r == 0)]
                count[t, v, i] = len(ev)
                midi[t, v, i, :len(ev)] = [p.midi for p in ev]
                dia[t, v, i, :len(ev)] = [p.diatonic for p in ev]
    # The events of option i on beat t followed by the first two of option j on t+1.
    here = count[:-1, :, :, None, None]  # [T-1, V, I, 1, 1]
    ahead = np.minimum(count[1:], 2)[:, :, None, :, None]  # [T-1, V, 1, J, 1]
    pos = np.arange(CELLS + 2)
    mine = pos < here
    theirs = np.clip(pos - here, 0, 1)

    def joined(x: np.ndarray) -> np.ndarray:
        a = x[:-1][:, :, :, None, :][..., np.minimum(pos, CELLS - 1)]
        b = np.where(theirs == 0, x[1:][:, :, None, :, 0:1], x[1:][:, :, None, :, 1:2])
        return np.where(mine, a, b)

    seq_m, seq_d = joined(midi), joined(dia)
    beat = np.where(mine, np.arange(size - 1)[:, None, None, None, None],
                    np.arange(1, size)[:, None, None, None, None])
    shape = (size - 1, voices, width, width)
    ok, penalty = np.ones(shape, bool), np.zeros(shape)
    melodic = [u for u in uses if isinstance(u.rule, MelodicRule)]
    for w in (2, 3):
        for k in range(CELLS):
            valid = ((k < here) & (k + w <= here + ahead))[..., 0] & (ahead[..., 0] > 0)
            t, v, i, j = np.nonzero(valid)
            for voice in range(voices):
                sel = v == voice
                if not sel.any():
                    continue
                rows = (t[sel], v[sel], i[sel], j[sel])
                frames = tuple(_frame(seq_m[(*rows, k + q)][:, None],
                                      seq_d[(*rows, k + q)][:, None],
                                      np.ones((int(sel.sum()), 1), bool),
                                      np.broadcast_to(beat, seq_m.shape)[(*rows, k + q)],
                                      tables, True, (voice,)) for q in range(w))
                good, pen = _tally(len(frames[0]), [
                    (u, u.rule.test(frames, ctx, u.params).astype(np.int64)) for u in melodic
                    if u.rule.window == w  # type: ignore[attr-defined]
                    and u.rule.applies(voice, ctx, u.params)])  # type: ignore[attr-defined]
                np.logical_and.at(ok, rows, good)
                np.add.at(penalty, rows, pen)
    return ok, penalty


# Scores and the written notes --------------------------------------------------------

def _scores(spec: Spec, plan: Plan, voicings: Sequence[Sequence[Pitch]],
            beats: Sequence[_Beat], scorer: FigureScorer) -> list[np.ndarray]:
    """Per beat, the summed log-score of each combination's figures."""
    slots = plan.slots
    places = [(t, v) for t, b in enumerate(beats) for v in range(len(b.options))
              if len(b.options[v]) > 1]
    if not places:
        return [np.zeros(len(b.combos)) for b in beats]
    cadence = {s.phrase: s.index for s in slots if s.fermata}
    t, v = (np.array(x) for x in zip(*places, strict=True))

    def note(ts: np.ndarray) -> np.ndarray:
        return np.array([voicings[a][b].midi if 0 <= a < len(slots) else REST
                         for a, b in zip(ts, v, strict=True)])

    logp = scorer.log_scores(FigurePlaces(
        v, note(t - 1), note(t), note(t + 1),
        np.array([int(slots[a].position.beat) - 1 for a in t]),
        np.full(len(t), spec.meter.beats_per_bar),
        np.array([cadence.get(slots[a].phrase, a) - a for a in t])))
    index = {p: k for k, p in enumerate(places)}
    out = []
    for a, b in enumerate(beats):
        score = np.zeros(len(b.combos))
        for voice in range(len(b.options)):
            if (a, voice) in index:
                score += logp[index[(a, voice)], b.figures(voice)]
        out.append(score)
    return out


def _surface(spec: Spec, plan: Plan, beats: Sequence[_Beat], choice: Sequence[int]) -> Surface:
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
        starts = [(b.slot.offset + x, p, b.slot.fermata and x == 0)
                  for b, row in zip(beats, chosen, strict=True)
                  for x, p, s in zip(b.times, row[v].pitches, row[v].struck, strict=True)
                  if s and p is not None]
        ends = [s[0] for s in starts[1:]] + [end]
        lines.append(tuple(Note(o, e - o, p, f)
                           for (o, p, f), e in zip(starts, ends, strict=True)))
    return Surface(figures, tuple(lines))
