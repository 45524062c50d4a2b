"""The form while composing: sections that come back, and a line with a single climax.

Both are rules no neighbouring pair of slots can see, so they ride along the chain as
extra state (`composer.sample.sampler`'s automata) or as conditioned domains, never as
rejection loops over whole pieces.

**Repeats.** A section whose letter came before (the second A of `A A B A`) repeats the
first one's chords and voicings slot for slot; a primed letter (A′) varies the first
section of its plain letter: at most `max_changes` of its slots take another value, and
at least `min_changes` (1: otherwise it would not be a variation). Slots correspond
phrase by phrase, a phrase to the phrase of the model with as many bars, and inside it
slot by slot where the two are laid out alike: the same place in the phrase and length,
the same cadence role and allowed chords, the same given notes. Where they are not (the
piece's last cadence is held a whole bar; a melody that changes; an A′ that closes with
another cadence) the repeat is free, and the plan's reason says so. Sections of unequal
length do not repeat at all.

**What is sampled.** A tie joins a slot to one far before it, which a chain cannot
carry exactly (the model section's values would have to be part of the state). So the
piece is drawn in stages, each exact given the one before:

1. the whole chain, with every model slot restricted to the values its copies are also
   offered (so that a tie can always be written), and, for a single climax, the climax
   height h kept out of the repeated slots; keep the slots before the first repeat;
2. at the first slot r of each repeat whose model is now known: keep x_<r and draw x_≥r
   from P(x_≥r | x_<r, every such repeat kept) — the copies' domains reduced to the
   model's value, each A′ carried by `change_budget_automaton` (differs[t][v]: value v
   is not the model's value at the corresponding slot), the climax at h by
   `single_climax_automaton`, max-order by its own automaton.

So the music before the first repeat follows the chain's marginal under the hard rules
(and under the two conditions of step 1), and everything from the first repeat on is
drawn exactly from the chain conditioned on that beginning and on the repeats. It is
not P(x | repeats) over the whole piece: the first A does not know the cost of coming
back (that would need A's whole value sequence as state). When a beginning leaves no
way to repeat (the end of A cannot lead back to its start, say), that draft is thrown
away and another drawn, at most DRAFTS times; then composing fails naming the form.

**Single climax.** With the voice written by the chain, the height h is drawn with
probability ∝ exp(log Z_h), Z_h the mass of the pieces whose highest note is h, struck
once (the events are disjoint, so without repeats or max-order this is exact), then the
piece from the automaton for h. A given melody is checked once, up front.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from composer.errors import UnsatisfiableError
from composer.planning.chain import HarmonyChain
from composer.planning.grammar import form_grammar
from composer.planning.plan import Plan
from composer.sample.contour import climax_automata, climax_heights, shaped_climax
from composer.sample.copying import sample_original
from composer.sample.sampler import (
    Automaton,
    Chain,
    NoSolution,
    backward,
    change_budget_automaton,
)
from composer.spec.rulesets import RuleUse
from composer.spec.values import Spec

if TYPE_CHECKING:
    from composer.sample.copying import CopyGuard
    from composer.solve.candidates import Candidates

__all__ = ["DRAFTS", "Form", "Repeat", "check_given_climax", "form_of", "sample_form"]

DRAFTS = 16  # beginnings drawn before a repeat that cannot be joined is given up


@dataclass(frozen=True)
class Repeat:
    """A later section that repeats (or, `varied`, varies) an earlier one."""

    section: str
    model: str
    start: int  # the repeat's first slot
    model_end: int  # one past the model's last slot
    pairs: tuple[tuple[int, int], ...]  # (model slot, repeat slot), laid out alike
    varied: bool
    max_changes: int = 0
    min_changes: int = 0


@dataclass(frozen=True)
class Form:
    repeats: tuple[Repeat, ...]
    climaxes: tuple[RuleUse, ...]  # hard single-climax uses on voices the chain writes
    notes: tuple[tuple[int, str], ...]  # (phrase, what the form asks of it)
    offsets: tuple[Fraction, ...] = ()  # per slot, where it stands
    # The voice given a single climax by default (`climax: single`), its height drawn
    # from the chorales' climaxes (composer/sample/contour.py); None: no such voice.
    shaped: str | None = None

    def annotate(self, plan: Plan) -> Plan:
        """The plan, each phrase's reason saying what it repeats."""
        said = dict(self.notes)
        return replace(plan, phrases=tuple(
            replace(p, reason=f"{p.reason}; {said[p.index]}") if p.index in said else p
            for p in plan.phrases))


def form_of(spec: Spec, chain: HarmonyChain) -> Form:
    """The repeats the form asks for, slot by slot, and the climaxes to carry."""
    melody = spec.melody.voice if spec.melody is not None else None
    climaxes = tuple(u for u in spec.hard if u.rule.id == "single-climax"
                     and u.params.get("voice") in spec.voices and u.params["voice"] != melody)
    parts: dict[int, list[int]] = {}
    for p in chain.phrases:
        parts.setdefault(p.part, []).append(p.index)
    slots = {ph: [t for t, time in enumerate(chain.times) if time[0] == ph]
             for ph in range(len(chain.phrases))}
    exact: dict[str, int] = {}
    plain: dict[str, int] = {}
    repeats, notes = [], []
    grammar = form_grammar()
    for part, phrases in parts.items():
        letter = chain.phrases[phrases[0]].section
        base = letter.rstrip("'")
        model = exact.get(letter, plain.get(base))
        exact.setdefault(letter, part)
        plain.setdefault(base, part)
        if model is None:
            continue
        mine = [chain.phrases[i] for i in phrases]
        theirs = [chain.phrases[i] for i in parts[model]]
        name = chain.phrases[parts[model][0]].section
        where = f"section {name} (bars {theirs[0].first_bar}–" \
                f"{theirs[-1].first_bar + theirs[-1].bars - 1})"
        if sum(p.bars for p in mine) != sum(p.bars for p in theirs):
            notes.append((mine[0].index, f"does not repeat {where}: it has"
                          f" {sum(p.bars for p in mine)} bars, not {sum(p.bars for p in theirs)}"))
            continue
        pairs: list[tuple[int, int]] = []
        for a, b in zip(theirs, mine, strict=False):
            if a.bars == b.bars:
                roles = {_role(spec, chain, t): t for t in slots[a.index]}
                pairs += [(roles[r], t) for t in slots[b.index]
                          if (r := _role(spec, chain, t)) in roles]
        tied = {b for _, b in pairs}
        free = [_place(spec, chain, t) for p in mine for t in slots[p.index] if t not in tied]
        varied = letter != name
        rest = f", except at {', '.join(free)}, laid out otherwise and composed afresh" \
            if free else ""
        if not pairs:
            notes.append((mine[0].index, f"does not repeat {where}: no slot is laid out"
                          " alike"))
            continue
        if varied:
            low = min(grammar.min_changes, len(pairs))
            high = max(low, int(grammar.max_share * len(pairs)))
            repeats.append(Repeat(letter, name, slots[mine[0].index][0],
                                  slots[theirs[-1].index][-1] + 1, tuple(pairs), True,
                                  high, low))
            notes.append((mine[0].index, f"varies {where}: {low} to {high} of its"
                          f" {len(pairs)} slots change{rest}"))
        else:
            repeats.append(Repeat(letter, name, slots[mine[0].index][0],
                                  slots[theirs[-1].index][-1] + 1, tuple(pairs), False))
            notes.append((mine[0].index, f"repeats {where} slot for slot{rest}"))
    return Form(tuple(repeats), climaxes, tuple(notes),
                tuple(time[1] for time in chain.times), _shaped_voice(spec, melody))


def _shaped_voice(spec: Spec, melody: str | None) -> str | None:
    """The soprano, when the chain writes it and nothing in the spec speaks of its climax
    (a hard `single-climax` on it is drawn as the rule says)."""
    if spec.climax != "single" or "soprano" not in spec.voices or melody == "soprano":
        return None
    asked = any(u.rule.id == "single-climax" and u.params.get("voice") == "soprano"
                for u in spec.rules)
    return None if asked else "soprano"


def _place(spec: Spec, chain: HarmonyChain, t: int) -> str:
    at = spec.meter.position(chain.times[t][1])
    return f"bar {at.bar} beat {at.beat:g}"


def _role(spec: Spec, chain: HarmonyChain, t: int) -> tuple:
    """What makes slot t what it is, but for where its phrase stands."""
    ph, offset, duration, cadence = chain.times[t]
    phrase = chain.phrases[ph]
    penultimate = t + 1 < len(chain.times) and chain.times[t + 1][3] \
        and chain.times[t + 1][0] == ph
    inner = tuple((n.offset - offset, n.pitch) for n in spec.melody.notes
                  if offset <= n.offset < offset + duration) if spec.melody else ()
    return (offset - phrase.start, duration, cadence, penultimate,
            phrase.cadence if cadence or penultimate else None,
            np.isfinite(chain.unary[t]).tobytes(), chain.given[t], inner)


def check_given_climax(spec: Spec) -> None:
    """A given melody that strikes its highest note twice cannot keep `single-climax`."""
    if spec.melody is None:
        return
    for use in spec.hard:
        if use.rule.id == "single-climax" and use.params.get("voice") == spec.melody.voice:
            notes = [(n.offset, n.pitch) for n in spec.melody.notes if n.pitch is not None]
            top = max((p.midi for _, p in notes), default=None)
            peaks = [(at, p) for at, p in notes if p.midi == top]
            if len(peaks) > 1:
                bars = ", ".join(str(spec.meter.position(at).bar) for at, _ in peaks)
                raise UnsatisfiableError(
                    f"{use.place}rule {use.describe()}: the given melody strikes its"
                    f" highest note, {peaks[0][1]}, {len(peaks)} times (bars {bars})",
                    ("single-climax",))


def sample_form(spec: Spec, form: Form, cands: Candidates, rng: np.random.Generator,
                guards: Sequence[CopyGuard]) -> list[int]:
    """One piece that keeps the form's repeats and climaxes (see the module's docstring).

    The default climax of a composed soprano, and the floor drawn with it, are
    preferences, not rules: where the repeats cannot be joined with both, the piece is
    drawn with the climax alone, then without either.

    Raises NoSolution when the chain itself has no valid piece (as without a form),
    UnsatisfiableError when only the repeats or a climax make it impossible."""
    for floored in (True, False) if form.shaped is not None else ():
        try:
            return _sample_form(spec, form, cands, rng, guards, floored)
        except NoSolution:
            raise
        except UnsatisfiableError:
            pass
    return _sample_form(spec, replace(form, shaped=None), cands, rng, guards)


def _sample_form(spec: Spec, form: Form, cands: Candidates, rng: np.random.Generator,
                 guards: Sequence[CopyGuard], floored: bool = False) -> list[int]:
    chain = Chain(cands.unary, cands.pair)
    temperature = spec.temperature
    if not form.repeats and not form.climaxes and form.shaped is None:
        return sample_original(chain, rng, guards, temperature=temperature)
    keys = _keys(cands)
    first = _offered(chain, form.repeats, keys)
    quiet = np.zeros(chain.length, bool)  # where stage 1 keeps the climax out
    for rep in form.repeats:
        for a, b in rep.pairs:
            quiet[a] = True
            quiet[b] |= not rep.varied
    heights = [[f.midi[:, spec.voices.index(u.params["voice"])].astype(np.int64)
                for f in cands.frames] for u in form.climaxes]
    failed: NoSolution | None = None
    for _ in range(DRAFTS):
        lines, top = heights, climax_heights(spec, form.climaxes, first, heights, quiet, rng)
        floor: list[Automaton] = []
        if form.shaped is not None:
            lines, top, floor = shaped_climax(spec, form.shaped, cands, first, lines, top,
                                              quiet, rng, floored)
        try:
            x = sample_original(first, rng, guards, temperature=temperature,
                                also=[*climax_automata(lines, top, quiet), *floor])
        except NoSolution as exc:
            backward(chain, temperature=temperature)  # NoSolution: the rules alone fail
            failed = exc  # only the repeats' model values, as offered, do
            break
        try:
            for r, imposed in _stages(form.repeats):
                x = sample_original(_conditioned(first, x, r, imposed, keys), rng, guards,
                                    temperature=temperature,
                                    also=[*_budgets(x, r, imposed, keys),
                                          *climax_automata(lines, top, None), *floor])
        except NoSolution as exc:
            failed = exc
            continue
        return x
    assert failed is not None
    last: Repeat | None = max((r for r in form.repeats if r.start <= failed.slot),
              key=lambda r: r.start, default=form.repeats[0] if form.repeats else None)
    if last is None:  # only the default climax failed: the caller draws without it
        raise UnsatisfiableError(f"{spec.source}: no single climax", ("single-climax",))
    rep = last
    how = "varied" if rep.varied else "repeated"
    raise UnsatisfiableError(
        f"{spec.source}: form {spec.form}: no draft of section {rep.model} could be {how}"
        f" as section {rep.section} without breaking a hard rule near"
        f" {_where(spec, form, failed.slot)} (where the repeat joins the music around it);"
        " loosen the rules" + ("" if rep.varied else ", or vary the section (A')"))


def _where(spec: Spec, form: Form, t: int) -> str:
    at = spec.meter.position(form.offsets[min(t, len(form.offsets) - 1)])
    return f"bar {at.bar} beat {at.beat:g}"


def _keys(cands: Candidates) -> list[np.ndarray]:
    """Per slot, a number per value that names its numeral and its voicing, spelled: two
    values of any slots have the same number when they are the same chord and voicing."""
    ids: dict[bytes, int] = {}
    out = []
    for block, f in zip(cands.blocks, cands.frames, strict=True):
        rows = np.column_stack([block.numeral_of_values(), f.midi, f.diatonic]).astype(np.int64)
        out.append(np.array([ids.setdefault(r.tobytes(), len(ids)) for r in rows], np.int64))
    return out


def _offered(chain: Chain, repeats: Sequence[Repeat], keys: list[np.ndarray]) -> Chain:
    """The chain with each tied model slot's values kept only where every copy is also
    offered that value (a copy can only be written with a value its slot offers)."""
    unary = [u.copy() for u in chain.unary]
    for rep in repeats:
        if rep.varied:
            continue
        for a, b in rep.pairs:
            unary[a] = np.where(np.isin(keys[a], keys[b]), unary[a], -np.inf)
    return Chain(unary, chain.pair)


def _stages(repeats: Sequence[Repeat]) -> list[tuple[int, tuple[Repeat, ...]]]:
    """(r, the repeats kept from slot r on): a stage where a repeat's model has just become
    known; none where nothing new can be kept."""
    out: list[tuple[int, tuple[Repeat, ...]]] = []
    done: set[Repeat] = set()
    for r in sorted({rep.start for rep in repeats}):
        imposed = tuple(rep for rep in repeats if rep.model_end <= r <= rep.start)
        if imposed and not set(imposed) <= done:
            out.append((r, imposed))
            done |= set(imposed)
    return out


def _conditioned(chain: Chain, x: Sequence[int], r: int, imposed: Sequence[Repeat],
                 keys: list[np.ndarray]) -> Chain:
    """The chain given x_<r and the plain repeats among `imposed`: each such slot keeps
    one value (the same log-scores, so the rest is drawn as the chain says)."""
    unary = [u.copy() for u in chain.unary]
    keep: dict[int, int] = {s: int(x[s]) for s in range(r)}
    for rep in imposed:
        if not rep.varied:
            for a, b in rep.pairs:
                hit = np.flatnonzero(keys[b] == keys[a][x[a]])
                keep[b] = int(hit[0]) if len(hit) else -1
    for s, v in keep.items():
        only = np.full(len(unary[s]), -np.inf)
        if v >= 0:
            only[v] = unary[s][v]
        unary[s] = only
    return Chain(unary, chain.pair)


def _budgets(x: Sequence[int], r: int, imposed: Sequence[Repeat], keys: list[np.ndarray]
             ) -> list[Automaton]:
    out = []
    for rep in imposed:
        if rep.varied and rep.start >= r:
            differs = [np.zeros(len(k), bool) for k in keys]
            for a, b in rep.pairs:
                differs[b] = keys[b] != keys[a][x[a]]
            out.append(change_budget_automaton(differs, rep.max_changes, rep.min_changes))
    return out
