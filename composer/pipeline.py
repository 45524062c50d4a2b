"""Composing: spec → plan → domains → Markov-constrained sampling → piece.

Every hard rule holds by construction: the vertical rules shape each slot's domain,
the horizontal and melodic rules decide which neighbouring voicings may follow one
another, and the sampler only ever chooses among sequences that can be completed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import partial
from typing import Any

import numpy as np

from composer.errors import UnsatisfiableError
from composer.grading.checker import Violation
from composer.io.write import piece_to_music21
from composer.music import Note, Piece, Pitch
from composer.neural.scorer import default_scorer, figure_scorer_of
from composer.planning.chain import HarmonyChain, harmony_chain, lone_chord, no_close
from composer.planning.keys import key_of, phrase_keys
from composer.planning.phrases import phrases_of
from composer.planning.plan import Plan, make_plan
from composer.rules import Context
from composer.rules.base import pitch_at
from composer.sample.contour import climax_automata, drawn_heights, holds
from composer.sample.copying import check_given_line, copy_guards, sample_original
from composer.sample.form import check_given_climax, form_of, sample_form
from composer.sample.kept import Kept
from composer.sample.lines import lined
from composer.sample.reuse import Reuse, made, spec_key
from composer.sample.sampler import Automaton, Chain, NoSolution
from composer.sample.scorer import Scorer
from composer.solve.candidates import Candidates, Progress, candidates, fixed_notes
from composer.solve.explain import explain, given_line_conflict
from composer.solve.given import Eased, composing_rules, melody_warnings, notes_read
from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec
from composer.surface.choose import Surface, choose_surface
from composer.surface.figures import FigureScorer


@dataclass(frozen=True, eq=False)
class Composition:
    spec: Spec
    plan: Plan
    voicings: tuple[tuple[Pitch, ...], ...]  # per slot
    piece: Piece
    surface: Surface | None = None  # the figure of each voice on each slot
    # Where the given melody itself breaks a rule of its own line (composer/given.py).
    warnings: tuple[Violation, ...] = ()

    @property
    def notes(self) -> dict[str, tuple[Note, ...]]:
        """Each voice's written notes and rests, by voice name, top voice first."""
        return dict(zip(self.piece.voices, self.piece.lines, strict=True))

    def to_music21(self) -> Any:
        """A music21 Score of the piece (`.show()` in a notebook, `.write(...)`)."""

        return piece_to_music21(self.piece)

    def to_json(self) -> dict[str, Any]:
        """The piece's JSON document, as OUT.json holds it (what revising needs)."""
        return document(self)


LENIENCE = 16  # the most times a melody's demands are eased after a conflict (a long
# reel, its repeats expanded, let go of its notes in twelve places, one after another)
REDRAWS = 20  # draws of a revision's region tried against the figures kept beside it
CADENCE_SLOTS = 2  # the last slots a strict harmony is first asked to connect at all


def compose(spec: Spec, scorer: Scorer | None = None, progress: Progress | None = None,
            kept: Kept | None = None, reuse: Reuse | None = None) -> Composition:
    """One chain over (chord, voicing) values, so that harmony and voice leading are
    sampled together and no choice of chord can leave the voices stuck. A given melody
    is the user's (composer/given.py): it is first harmonized strictly, each of its notes
    on the beat a chord tone and its leading tones and sevenths resolved; only where that
    cannot be are its accented dissonances treated, its resolutions weighed, and what no
    chord can hold let go (and reported). `kept`: what a revision keeps of a saved piece
    (composer/revision.py); `reuse`: what an earlier revision of the same piece worked out
    that this one may take again (composer/sample/reuse.py)."""
    if scorer is None:  # the shipped model (torch is imported only here, when composing)

        scorer = default_scorer()
    # Each voice's intervals and register as the chorales' (lines.py); one lined scorer
    # for every revision that reuses, so that what it scored can be reused.
    scorer = made(reuse, ("lined", scorer), partial(lined, scorer))
    try:
        return _harmonize(spec, scorer, progress, kept, reuse=reuse)
    except UnsatisfiableError as exc:
        # The user asked for their tune, not for a modulation: where reading some of its
        # phrases in related keys leaves no harmony, every phrase stays home; the first
        # conflict is the one reported if that cannot be either.
        home = _home_keys(spec, kept)
        if home is None:
            raise
        try:
            return _harmonize(spec, scorer, progress, kept, keys=home)
        except UnsatisfiableError:
            raise exc from None


def _home_keys(spec: Spec, kept: Kept | None) -> tuple[str, ...] | None:
    """Every phrase of a given melody in the home key, where some phrase was read in a
    related key (None otherwise, and for a revision, which keeps its keys)."""
    if spec.melody is None or kept is not None:
        return None
    phrases = phrases_of(spec)
    return ("",) * len(phrases) if any(phrase_keys(spec, phrases)) else None


def _harmonize(spec: Spec, scorer: Scorer, progress: Progress | None, kept: Kept | None,
               keys: tuple[str, ...] | None = None, reuse: Reuse | None = None
               ) -> Composition:
    """A given melody strictly first, then ever more leniently (`compose`); `keys`: the
    key of each phrase, where it is not the one the melody is read in."""
    if spec.melody is not None:
        try:
            return _compose(spec, composing_rules(spec, weigh=False), scorer, progress,
                            kept, strict=True, keys=keys, reuse=reuse)
        except UnsatisfiableError:
            pass  # the melody asks for more than the strict harmony gives
    eased = Eased()
    for _ in range(LENIENCE):
        try:
            return _compose(spec, eased.rules(spec), scorer, progress, kept, loose=eased.loose,
                            keys=keys, reuse=reuse, notes_wanted=None if spec.melody is None
                            else partial(notes_read, eased.spread))
        except UnsatisfiableError as exc:
            if spec.melody is None or (more := eased.after(spec, exc)) is None:
                # the conflict is the spec's (or the melody's, its close let open in vain)
                raise (eased.unclosed or exc).with_traceback(None) from None
            eased = more
    return _compose(spec, eased.rules(spec), scorer, progress, kept, loose=eased.loose,
                    keys=keys, reuse=reuse)


def _compose(asked: Spec, rules: tuple[RuleUse, ...], scorer: Scorer,
             progress: Progress | None, kept: Kept | None = None, strict: bool = False,
             loose: tuple[Fraction, ...] = (), keys: tuple[str, ...] | None = None,
             reuse: Reuse | None = None,
             notes_wanted: Callable[[tuple[str, ...]], bool] | None = None) -> Composition:
    """Compose under these rules; `strict` gives up at once where the lenient way might
    still find a piece (it neither explains nor lets the melody's demands go); `loose`:
    where the melody's notes need not fit the chords (composer/melody_fit.py); `keys`:
    each phrase's key (a revision's are those it keeps); `notes_wanted`: whether the
    caller reads the notes of a conflict of these rules (`explain`)."""

    spec = replace(asked, rules=rules + (kept.notes if kept else ()))
    rng = np.random.default_rng(spec.seed)
    ctx = Context(spec.voices, spec.key, spec.meter)
    fixed = fixed_notes(spec, ctx)
    keys = kept.keys if kept else keys
    # The chain is drawn from the spec alone, but for the phrases' keys where none are kept.
    chain_key = None if reuse is None or (skey := spec_key(spec)) is None else reuse.token((
        "chain", skey, strict, loose, keys, spec.seed if keys is None else None,
        kept.numerals if kept else None))

    def chained() -> HarmonyChain:
        chain = harmony_chain(spec, fixed, strict=strict, loose=loose, keys=keys)
        return kept.on_chain(spec, chain) if kept is not None else chain

    chain = made(reuse, None if chain_key is None else ("chain", chain_key), chained, big=True)
    if (lone := lone_chord(spec, chain)) is not None:
        raise lone
    if not strict and (close := made(reuse, None if chain_key is None else (
            "close", chain_key), partial(no_close, spec, chain, fixed))) is not None:
        raise close.with_traceback(None)  # (a reused one: its last traceback dropped)
    check_given_line(spec)
    check_given_climax(spec)
    if (conflict := given_line_conflict(spec)) is not None:
        raise conflict
    form = form_of(spec, chain)  # repeated sections and single climaxes (composer/form.py)
    if kept is not None and (span := kept.local(spec, form)) is not None:
        # The figures kept beside the region meet the redrawn notes only at the surface:
        # a draw they cannot meet is drawn again (conditioning on the surface, by rejection).
        for _ in range(REDRAWS):
            drawn_here = _draw_span(spec, chain, scorer, kept, span, rng, form.shaped,
                                    reuse, None if chain_key is None
                                    else ("span", chain_key, scorer, span))
            if drawn_here is None:
                break
            try:
                return _finish(asked, spec, rules, form.annotate(
                    make_plan(spec, chain, drawn_here[0])), drawn_here[1], rng, kept,
                    figure_scorer_of(scorer), reuse, chain_key)
            except NoSolution:
                continue
    memo: dict = {}  # every offer of voicings reuses what the melody was heard to make
    # the chain an explanation starts from, where it is this one (harmony_chain's defaults)
    plain = chain if not (strict or loose or keys is not None or kept is not None) else None
    if strict:
        if any(not np.isfinite(u).any() for u in chain.unary):
            # A beat where no chord of the strict harmony holds the melody's note: the
            # lenient way is taken (at once, where finding that slot's voicings would
            # score every slot before it first).
            raise UnsatisfiableError("the strict harmony leaves a beat no chord")
        # Most melodies that strict harmony cannot serve fail at their final cadence:
        # with every voicing of its last slots and no scorer, that is found before the
        # whole piece is scored (and a window with no way through leaves the piece none,
        # so the lenient way is taken exactly where it would be after scoring it all).
        n = len(chain.times)
        candidates(spec, chain, None, slots=range(max(n - CADENCE_SLOTS, 0), n), cap=None,
                   memo=memo, connect_only=True)
    cands = candidates(spec, chain, scorer, progress=progress, memo=memo)
    drawn = form if kept is None else kept.on_form(form)
    try:
        choice = sample_form(spec, drawn, cands, rng, copy_guards(spec, cands.frames))
    except NoSolution as exc:

        # Either the rules truly conflict near the break (then say which), or only the
        # most likely voicings failed to connect: then offer every voicing.
        conflict = None if strict else explain(spec, exc.slot, full=plain,
                                                 notes_wanted=notes_wanted)
        if conflict is not None:
            raise conflict from None
        if strict:  # where it broke, two slots with no way through leave the piece none
            candidates(spec, chain, None, slots=range(max(exc.slot - 1, 0), exc.slot + 1),
                       cap=None, memo=memo, connect_only=True)
        try:
            cands = candidates(spec, chain, scorer, cap=None, memo=memo, connected=strict)
            choice = sample_form(spec, drawn, cands, rng, copy_guards(spec, cands.frames))
        except NoSolution as again:
            if strict:
                raise
            found = explain(spec, again.slot, whole=True, full=plain,
                            notes_wanted=notes_wanted)
            assert found is not None  # (the whole piece always gets an explanation)
            raise found from None
    numerals, voicings = _decode(cands, choice, len(ctx.voices))
    try:
        return _finish(asked, spec, rules, form.annotate(make_plan(spec, chain, numerals)),
                       voicings, rng, kept, figure_scorer_of(scorer), reuse, chain_key)
    except NoSolution:  # (only kept figures can leave a beat nothing to write)
        raise UnsatisfiableError("the figures kept beside the region cannot be written again"
                                 " around any redrawn music; widen the region by a bar",
                                 ("fixed",)) from None


def _decode(cands: Candidates, choice: Sequence[int], voices: int
            ) -> tuple[list[int], list[tuple[Pitch, ...]]]:
    """The numeral and the voicing each drawn value stands for."""
    numerals: list[int] = []
    voicings: list[tuple[Pitch, ...]] = []
    for block, frame, value in zip(cands.blocks, cands.frames, choice, strict=True):
        k = max(j for j, s in enumerate(block.starts) if s <= value)
        numerals.append(block.numerals[k])
        voicings.append(tuple(pitch_at(frame, value, v) for v in range(voices)))
    return numerals, voicings


def _draw_span(spec: Spec, chain: HarmonyChain, scorer: Scorer, kept: Kept,
               span: tuple[int, int], rng: np.random.Generator, shaped: str | None,
               reuse: Reuse | None = None, key: tuple | None = None
               ) -> tuple[list[int], list[tuple[Pitch, ...]]] | None:
    """A revision's region drawn alone, between its kept neighbours: every score is of a
    slot or of two neighbours, so given them the region's distribution does not depend
    on the music further away — the same draw as the whole chain's, in a fraction of the
    time. `shaped`: the voice with a single climax by default (`_shaped_region`). None
    where it finds nothing (the whole chain then decides, and explains). `key`: what the
    region's candidates are made from, to reuse them."""
    first, last = span
    cands = made(reuse, key, partial(candidates, spec, chain, scorer,
                                     slots=range(first, last + 1)), big=True)
    also: list[Automaton] = []
    if shaped is not None:
        cands, also = _shaped_region(spec, shaped, kept, cands, first, rng)
    try:
        choice = sample_original(Chain(cands.unary, cands.pair), rng, (),
                                 temperature=spec.temperature, also=also)
    except NoSolution:
        return None
    numerals, voicings = kept.numeral_indices(chain), list(kept.voicings)
    here, voiced = _decode(cands, choice, len(spec.voices))
    numerals[first:last + 1], voicings[first:last + 1] = here, voiced
    return numerals, voicings


def _shaped_region(spec: Spec, voice: str, kept: Kept, cands: Candidates, first: int,
                   rng: np.random.Generator) -> tuple[Candidates, list[Automaton]]:
    """A region of a voice that strikes its highest note once (the default of a composed
    soprano): where the climax lies outside, the region stays below it; where the region
    held it, the region strikes the one climax again, at a height above every kept note
    drawn as a piece's is (composer/sample/contour.py), or stays below the kept ones
    where no such height fits."""
    tops = kept.tops(spec, voice)
    if tops is None or kept.region is None:
        return cands, []
    outside, inside = tops
    lo, hi = kept.region
    v = spec.voices.index(voice)
    line = [f.midi[:, f.columns.index(v)].astype(np.int64) for f in cands.frames]
    if inside > outside:
        heights = np.unique(np.concatenate(line[lo - first:hi - first + 1]))
        chain = Chain(cands.unary, cands.pair)
        for h in drawn_heights(spec.key, heights[heights > outside], False, rng):
            automata = climax_automata([line], (h,), None)
            if holds(spec, chain, automata):
                return cands, automata
    return replace(cands, unary=tuple(
        np.where(y < outside, u, -np.inf) if lo <= t <= hi else u
        for t, y, u in zip(range(first, first + len(line)), line, cands.unary,
                           strict=True))), []


def _finish(asked: Spec, spec: Spec, rules: tuple[RuleUse, ...], the_plan: Plan,
            voicings: Sequence[tuple[Pitch, ...]], rng: np.random.Generator,
            kept: Kept | None, figures: FigureScorer | None = None,
            reuse: Reuse | None = None, key: int | None = None) -> Composition:
    """The third level (figures within each beat, on the chosen voicings, scored by
    `figures` or else the counts) and the piece; `key`: the spec's and the kept
    music's, to reuse the beats made before."""
    surface = choose_surface(
        replace(spec, rules=kept.without_notes(spec.rules)) if kept else spec, the_plan,
        voicings, rng, figures, keep=kept.figures if kept else None,
        span=kept.span if kept else None, reuse=reuse, key=key) \
        if spec.surface == "figured" else None
    piece = build_piece(spec, the_plan, tuple(voicings), surface)
    return Composition(asked, the_plan, tuple(voicings),
                       piece, surface, melody_warnings(asked, piece, rules))


def build_piece(spec: Spec, the_plan: Plan, voicings: tuple[tuple[Pitch, ...], ...],
                surface: Surface | None = None) -> Piece:
    """The written notes: the melody as given, the other voices' block chords or, with a
    surface, their figures."""
    lines = []
    for v, voice in enumerate(spec.voices):
        if spec.melody is not None and spec.melody.voice == voice:
            fermatas = {s.offset for s in the_plan.slots if s.fermata}
            notes = tuple(Note(n.offset, n.duration, n.pitch,
                               n.pitch is not None and (n.fermata or n.offset in fermatas),
                               n.lyric) for n in spec.melody.notes)
            end = spec.meter.bar_start(the_plan.bars + 1)
            last = notes[-1].offset + notes[-1].duration if notes else Fraction(0)
            if last < end:
                notes += (Note(last, end - last, None),)
        else:
            figured = surface.lines[v] if surface is not None else None
            notes = _with_rests(figured or tuple(Note(s.offset, s.duration,
                                                      voicings[s.index][v], s.fermata)
                                                 for s in the_plan.slots))
        lines.append(notes)
    harmony = tuple((s.offset, s.numeral) for s in the_plan.slots)
    return Piece(spec.title, spec.key, spec.meter, spec.tempo, spec.voices, tuple(lines),
                 harmony)


def _with_rests(notes: tuple[Note, ...]) -> tuple[Note, ...]:
    """Rests where the slots leave time empty: before a pickup, under the melody's rests."""
    out: list[Note] = []
    at = Fraction(0)
    for note in notes:
        if note.offset > at:
            out.append(Note(at, note.offset - at, None))
        out.append(note)
        at = note.offset + note.duration
    return tuple(out)


def document(comp: Composition) -> dict:
    """Everything `revise` needs: the spec as written, the plan, the voicings, the seed."""
    spec = comp.spec
    return {
        "format": "partimento-piece",
        "version": 1,
        "spec": {"file": spec.source, "yaml": spec.text},
        "seed": spec.seed,
        "key": str(spec.key),
        "meter": str(spec.meter),
        "voices": list(spec.voices),
        "phrases": [{"section": p.section, "first_bar": p.first_bar, "bars": p.bars,
                     "cadence": p.cadence, "reason": p.reason,
                     "key": str(key_of(spec.key, p.key))} for p in comp.plan.phrases],
        "slots": [{"bar": s.position.bar, "beat": s.position.beat, "offset": str(s.offset),
                   "duration": str(s.duration), "phrase": s.phrase, "numeral": s.numeral,
                   "chord": s.chord.name, "cadence": s.cadence, "why": s.why,
                   "voicing": [p.name for p in comp.voicings[s.index]],
                   **({"figures": dict(zip(spec.voices, comp.surface.figures[s.index],
                                           strict=True))} if comp.surface else {})}
                  for s in comp.plan.slots],
        **({"warnings": [w.to_json() for w in comp.warnings]} if comp.warnings else {}),
        **({"melody_transposed": spec.melody.transposed.words()}
           if spec.melody and spec.melody.transposed else {}),
    }
