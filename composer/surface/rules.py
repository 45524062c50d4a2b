"""The spec's rules on the surface's finer grid, and the chord the checker will hear.

`composer.surface.choose` offers, per beat, combinations of the voices' figures; here the very
rules the checker runs judge them on the slices their onsets cut — the vertical rules
on the beat and between beats, the horizontal rules from onset to onset, the melodic
rules along each voice — and `harmony.identify_chord` hears each beat as the checker
will, so that a figure never changes the harmony it decorates. Each beat's combinations
are judged in one vectorised call per rule; neighbouring beats meet where the last slice
of one moves to the first of the next, judged once per distinct pair of slices.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from composer.chords import Chord
from composer.grading.chord_batch import CODES, chord_code, identify_chords
from composer.grading.harmony import ONSET_WEIGHT, identify_chord
from composer.music import STEP_PC, Key, PitchClass
from composer.rules import RULES, Context, HorizontalRule, MelodicRule, VerticalRule
from composer.rules.vertical import CompleteChord
from composer.solve.domains import vertical_filter
from composer.spec.rulesets import RuleUse
from composer.surface.beat import Beat
from composer.surface.figures import CELLS, GIVEN, SUSPENSION
from composer.texture import REST, Frame

MAX_COMBINATIONS = 16  # the most likely combinations a beat offers (cf. the voicings' cap)
# Judged by all that sounds in the beat, which always includes the voicing the level
# above has checked (a suspension's resolution arrives within the beat).
_WHOLE_BEAT = (CompleteChord,)
Tables = tuple[np.ndarray, np.ndarray, np.ndarray]  # roles, leading tone, root per beat


# What the checker will hear ----------------------------------------------------------

def signatures(b: Beat, rows: np.ndarray, ctx: Context) -> np.ndarray:
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


def identify(sig: np.ndarray, v: int, ctx: Context) -> Chord | None:
    """The chord `harmony.identify_chord` hears in one signature."""
    return _identify(sig.astype(np.float64).tobytes(), v, ctx.key)


@lru_cache(maxsize=65536)
def _identify(sig_bytes: bytes, v: int, key: Key) -> Chord | None:
    """A pure function of the signature: beats of every piece share it."""
    def pc(code: float) -> PitchClass:
        return PitchClass(int(code) // 8, int(code) % 8 - 3)

    sig = np.frombuffer(sig_bytes, np.float64)
    notes = [(pc(c), ONSET_WEIGHT) for c in sig[:v] if c >= 0]
    r = (len(sig) - v - 1) // (v + 1)
    later = sig[v + 1:v + 1 + r * v].reshape(r, v)
    for row, w in zip(later, sig[v + 1 + r * v:], strict=True):
        notes += [(pc(c), float(w)) for c in row if c >= 0]
    return identify_chord(notes, pc(sig[v]) if sig[v] >= 0 else None, key)


def _heard(b: Beat, rows: np.ndarray, ctx: Context) -> np.ndarray:
    """bool [len(rows)]: the checker hears the block chord under these combinations."""
    sig = signatures(b, rows, ctx) if len(rows) else np.zeros((0, 1))
    # each distinct signature heard once (most combinations share theirs)
    sig = np.ascontiguousarray(sig, np.float64)
    names = sig.view(np.dtype((np.void, 8 * sig.shape[1]))).ravel().tolist()
    heard = {name: _identify(name, len(b.options), ctx.key) == b.chord
             for name in dict.fromkeys(names)}
    return np.array([heard[name] for name in names], bool).reshape(len(names))


def _heard_beats(beats: Sequence[Beat], rows: Sequence[np.ndarray], ctx: Context
                 ) -> list[np.ndarray]:
    """`_heard` of each beat's rows; the beats whose signatures are alike in one
    `identify_chords` call (the very verdicts of `identify_chord`, in numpy)."""
    out = [np.zeros(len(r), bool) for r in rows]
    alike: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
    for k, (b, r) in enumerate(zip(beats, rows, strict=True)):
        if len(r):
            sig = signatures(b, r, ctx)
            alike.setdefault((len(b.options), sig.shape[1]), []).append((k, sig))
    for (v, width), those in alike.items():
        sig = np.concatenate([s for _, s in those])
        later = (width - v - 1) // (v + 1)  # the later onsets (see `signatures`)
        codes = np.concatenate([sig[:, :v], sig[:, v + 1:v + 1 + later * v]], axis=1)
        if (codes > CODES - 2).any():  # a code no spelled note has: heard one by one
            for k, _ in those:
                out[k] = _heard(beats[k], rows[k], ctx)
            continue
        weights = np.concatenate([np.full((len(sig), v), ONSET_WEIGHT),
                                  np.repeat(sig[:, v + 1 + later * v:], v, axis=1)], axis=1)
        root, quality = identify_chords(np.maximum(codes, -1).astype(np.int64), weights,
                                        sig[:, v].astype(np.int64), ctx.key)
        at = 0
        for k, s in those:
            want = chord_code(beats[k].chord)
            out[k] = (root[at:at + len(s)] == want[0]) & (quality[at:at + len(s)] == want[1])
            at += len(s)
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


def judge_beats(beats: Sequence[Beat], uses: Sequence[RuleUse], ctx: Context,
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
    mines, movings = [], []
    for k, b in enumerate(beats):
        mine = ok[first[k]:first[k] + len(b.combos)]  # a view: written through
        value = np.where(mine, scores[k] - penalty[first[k]:first[k] + len(b.combos)], -np.inf)
        value[0] = np.inf
        mine[np.argsort(-value, kind="stable")[MAX_COMBINATIONS:]] = False
        mines.append(mine)
        movings.append(np.count_nonzero(b.combos, axis=1))
    # Each beat on its own, but every beat's single movers heard at once, then every
    # beat's pairs of movers (a pair needs the verdicts on its singles).
    single = [np.flatnonzero(m & (moving == 1)) for m, moving in zip(mines, movings, strict=True)]
    for mine, rows, heard in zip(mines, single, _heard_beats(beats, single, ctx), strict=True):
        mine[rows] = heard
    for b, mine, moving in zip(beats, mines, movings, strict=True):
        mine &= _singles_allowed(b, mine, moving)
    double = [np.flatnonzero(m & (moving > 1)) for m, moving in zip(mines, movings, strict=True)]
    for mine, rows, heard in zip(mines, double, _heard_beats(beats, double, ctx), strict=True):
        mine[rows] = heard
    return ([ok[a:a + n] for a, n in zip(first, sizes, strict=True)],
            [penalty[a:a + n] for a, n in zip(first, sizes, strict=True)])


def _singles_allowed(b: Beat, ok: np.ndarray, moving: np.ndarray) -> np.ndarray:
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
    rule: Any = RULES["consonant-intervals"]  # a vertical rule
    clash = rule.test(f, ctx, rule.defaults())  # [rows, pairs]
    pcs = np.where(f.sounding, f.midi % 12, 0).astype(np.int64)
    foreign = (np.take_along_axis(f.roles, pcs, axis=1) == 0) & f.sounding
    i, j = zip(*ctx.pairs(), strict=True)
    both = f.attacks[:, i] & f.attacks[:, j] & foreign[:, i] & foreign[:, j]
    return ~(clash & both).any(axis=1)


# Neighbouring beats ------------------------------------------------------------------

def pair_scores(beats: Sequence[Beat], uses: Sequence[RuleUse], ctx: Context, tables: Tables
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
        if m.size and not np.isfinite(m[0, 0]) and not a.combos[0].any() \
                and not b.combos[0].any():  # block chords on both beats: the level above's
            m[0, 0] = 0.0
        out.append(m)
    return out


def _borders(beats: Sequence[Beat], uses: Sequence[RuleUse], ctx: Context, tables: Tables
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
    if not parts:  # a piece of one beat: no border to judge
        return []
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


def _lines(beats: Sequence[Beat], uses: Sequence[RuleUse], ctx: Context, tables: Tables
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
    melodic = [(u, u.rule) for u in uses if isinstance(u.rule, MelodicRule)]
    for w in (2, 3):
        for k in range(CELLS):
            valid = ((k < here) & (k + w <= here + ahead))[..., 0] & (ahead[..., 0] > 0)
            at_t, at_v, at_i, at_j = np.nonzero(valid)
            for voice in range(voices):
                sel = at_v == voice
                if not sel.any():
                    continue
                rows = (at_t[sel], at_v[sel], at_i[sel], at_j[sel])
                frames = tuple(_frame(seq_m[(*rows, k + q)][:, None],
                                      seq_d[(*rows, k + q)][:, None],
                                      np.ones((int(sel.sum()), 1), bool),
                                      np.broadcast_to(beat, seq_m.shape)[(*rows, k + q)],
                                      tables, True, (voice,)) for q in range(w))
                good, pen = _tally(len(frames[0]), [
                    (u, rule.test(frames, ctx, u.params).astype(np.int64)) for u, rule in melodic
                    if rule.window == w
                    and u.rule.applies(voice, ctx, u.params)  # type: ignore[attr-defined]
                    and u.judges((ctx.voices[voice],))])
                np.logical_and.at(ok, rows, good)
                np.add.at(penalty, rows, pen)
    return ok, penalty
