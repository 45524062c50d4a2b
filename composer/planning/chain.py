"""The harmony as a chain for the sampler: per slot, the numerals that may stand there
(the start, the cadences, the given melody and fixed notes, a figured bass) and how likely
each progression is; where the melody leaves no chord, what it asks is let go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from composer.chords import Chord
from composer.errors import UnsatisfiableError
from composer.music import Pitch, PitchClass
from composer.planning.figured_bass import figured_grammar, figured_slots
from composer.planning.grammar import HarmonyGrammar, harmony_grammar
from composer.planning.keys import (
    NEAPOLITAN,
    NEAPOLITANIZE,
    TONICIZE,
    TONICIZING,
    keyed_grammar,
    neapolitan,
    phrase_keys,
    tonicized,
)
from composer.planning.melody_fit import clashes, melody_fit
from composer.planning.phrases import (
    ANY_CADENCE,
    Phrase,
    Times,
    bar_beat,
    melody_at,
    phrases_of,
    slot_times,
)
from composer.rules.structure import CADENCES, OPEN
from composer.sample.sampler import Chain, NoSolution, solvable
from composer.spec.values import Spec

FINAL_WINDOW = 3  # the final tonic may arrive on any of the piece's last this many slots


@dataclass(frozen=True, eq=False)
class HarmonyChain:
    """The harmony as a chain for the sampler: per slot, which numerals may stand there
    (the start, the cadences, the given notes) and how likely each progression is."""

    phrases: tuple[Phrase, ...]
    times: tuple[tuple[int, Fraction, Fraction, bool], ...]  # phrase, offset, length, cadence
    grammar: HarmonyGrammar
    chords: tuple[Chord, ...]  # per numeral
    given: tuple[tuple[Pitch, ...], ...]  # per slot: notes the chord must contain
    unary: tuple[np.ndarray, ...]  # per slot: [numerals] log-score, −inf where forbidden
    pair: tuple[np.ndarray, ...]  # per transition: [numerals, numerals]
    window: int = FINAL_WINDOW  # the final tonic arrives within the last this many slots


EARLY = float(np.log(0.25))  # a final cadence that arrives a slot before the last note
# A phrase in a new key opens on a chord the key before it has too (the pivot chord)
# far more often than not.
PIVOT = float(np.log(0.2))
# After its pivot, a free phrase in a new key seldom sounds the home key's tonic or
# dominant, else it is heard in the home key until its cadence (a phrase in iv drawn as
# i–VI–III–V7 of home, then V–i of iv): modulation, not only a cadence there.
HOME_AWAY = float(np.log(0.25))


def _openings(phrases: Sequence[Phrase], times: Times) -> set[int]:
    """The first slot of the piece, and of each section that brings its first one back
    (A in A B A, A′): each opens as the piece does."""
    first: dict[int, int] = {}
    for k, (ph, _, _, _) in enumerate(times):
        first.setdefault(phrases[ph].part, k)
    home = phrases[0].section.rstrip("'")
    return {k for k in first.values() if phrases[times[k][0]].section.rstrip("'") == home}


def _opening(grammar: HarmonyGrammar, u: np.ndarray, fit: np.ndarray | None) -> np.ndarray:
    """The first chord is the grammar's start (the tonic) wherever the given notes allow
    one: an unlisted start only where none of the listed ones can hold them (a pickup on
    the leading tone), so that neither the voices' scores nor the model open on iii."""
    listed = np.zeros(len(u), bool)
    listed[list(grammar.start)] = True
    possible = np.isfinite(u) & (np.isfinite(fit) if fit is not None else True)
    return np.where(listed, u, -np.inf) if (listed & possible).any() else u


def harmony_chain(spec: Spec, fixed: dict[Fraction, list[Pitch]] | None = None,
                  layout: HarmonyChain | None = None, strict: bool = False,
                  loose: tuple[Fraction, ...] = (), keys: Sequence[str] | None = None
                  ) -> HarmonyChain:
    """`fixed` adds given notes (offset → pitches) besides the melody; `layout` reuses
    another chain's phrases and slots (to ask what changes when notes are taken away).

    A given melody's notes need not all be chord tones: `melody_fit` says which chords
    treat each one properly. Where the melody leaves no chord at all (a note no chord
    of the grammar can hold or treat, a phrase end no cadence formula fits), that slot's
    melody or that inner phrase's cadence is let go rather than the piece refused: the
    melody is the user's, and the checker then reports the note as the melody's own.
    `strict`: every melody note on the beat a chord tone, and nothing let go; `loose`:
    melody notes (by onset) whose slots the melody's fit is let go of from the start.
    A figured bass (`figured_slots`) names the chord of each figured slot, and the final
    tonic arrives where its figures put it. `keys`: each phrase's key, as a saved piece
    had them (a revision), rather than drawn or read from the melody."""

    phrases = list(layout.phrases) if layout else phrases_of(spec)
    times = list(layout.times) if layout else slot_times(spec, phrases)
    if layout is None and keys is not None and len(keys) == len(phrases):
        phrases = _in_keys(spec, phrases, keys)
    elif layout is None:
        keyed = _in_keys(spec, phrases)
        if keyed != phrases:  # a phrase in another key, unless that loses what home keeps
            there = _chain(spec, fixed, keyed, times, strict, loose)
            if there[1] == 0:  # it lets nothing go: the home key's could not do better
                return there[0]
            home = _chain(spec, fixed, phrases, times, strict, loose)
            return there[0] if there[1] <= home[1] else home[0]
    return _chain(spec, fixed, phrases, times, strict, loose)[0]


def _in_keys(spec: Spec, phrases: list[Phrase], keys: Sequence[str] | None = None
             ) -> list[Phrase]:
    """The phrases with their keys (composer/planning/keys.py, unless given); a free
    piece's phrase in another key closes with an authentic cadence in it."""
    keys = phrase_keys(spec, phrases) if keys is None else keys
    return [ph if not where else replace(
        ph, key=where, cadence=ph.cadence if spec.melody else f"authentic in {where}")
        for ph, where in zip(phrases, keys, strict=True)]


def _chain(spec: Spec, fixed: dict[Fraction, list[Pitch]] | None, phrases: list[Phrase],
           times: list, strict: bool, loose: tuple[Fraction, ...]
           ) -> tuple[HarmonyChain, int]:
    """The chain, and how many of the melody's demands it let go (a million more where
    it is infeasible even so), to compare a chain in several keys with the home key's."""
    wheres = tuple(sorted({ph.key for ph in phrases} - {""}))
    home = keyed_grammar(spec.key.mode, wheres) if wheres else harmony_grammar(spec.key.mode)
    grammar = figured_grammar(spec, home)  # + chords figured
    chords = tuple(n.chord(spec.key) for n in grammar.numerals)
    fit = melody_fit(spec, times, chords, accented=not strict)
    figured = figured_slots(spec, times, chords)  # a figured bass names each slot's chord
    given, base = [], []
    # A given melody's returning section opens as its notes ask (the tonic forced there
    # can leave a note no voicing); its first chord is still the tonic where it can be.
    openings = _openings(phrases, times) if spec.melody is None else {0}
    lacking: dict[PitchClass, list[int]] = {}  # the numerals whose chord lacks a note
    clashing: dict[PitchClass, list[int]] = {}  # and whose chord alters it
    for k, (_, t, _, _) in enumerate(times):
        melody, extra = melody_at(spec, t), (fixed or {}).get(t, [])
        given.append(tuple(p for p in [melody, *extra] if p is not None))
        u = np.zeros(len(chords)) if figured is None else figured.unary[k].copy()
        if k == 0:
            u += grammar.start_logp()
        for note in [*extra, *([melody] if fit is None and melody is not None else [])]:
            pc = note.pitch_class
            if pc not in lacking:
                lacking[pc] = [i for i, c in enumerate(chords) if pc not in c.tones]
            u[lacking[pc]] = -np.inf
        if melody is not None and fit is not None:  # (fitted or let go)
            if melody.pitch_class not in clashing:
                clashing[melody.pitch_class] = [i for i, c in enumerate(chords)
                                                if clashes(melody.pitch_class, c)]
            u[clashing[melody.pitch_class]] = -np.inf
        if k in openings:
            u = _opening(grammar, u, None if fit is None else fit.unary[k])
        if spec.melody is None and len(grammar.free) == len(chords):
            u = u + grammar.free  # (a figured bass is a given melody: its figures rule)
        base.append(u + _in_key(grammar, chords, phrases, times, k,
                                free=spec.melody is None))
    names = [n.name for n in grammar.numerals[:grammar.blocks[1] if grammar.blocks else None]]
    # The slot before a tonicized half cadence's dominant favours V/V; the slot before
    # an authentic cadence's V, where `neapolitan` draws it, the Neapolitan.
    for chosen, back, wanted, weight in ((tonicized(spec, phrases), 2, TONICIZING, TONICIZE),
                                         (neapolitan(spec, phrases), 3, (NEAPOLITAN,),
                                          NEAPOLITANIZE)):
        columns = [names.index(n) for n in wanted if n in names]
        for ph in chosen:
            slots = [k for k, time in enumerate(times) if time[0] == ph]
            if len(slots) > back and columns:
                base[slots[-back]][columns] += weight
    fitted = {t for t, (_, at, length, _) in enumerate(times)  # slots the melody masks
              if not any(at <= x < at + length for x in loose)} if fit is not None else set()
    sounding = [n.pitch for n in spec.melody.notes if n.pitch] if spec.melody else []
    last = sounding[-1] if sounding else None  # the melody's last note
    last_holds = last is None or any(last.pitch_class in chords[b].tones for _, b in
                                     cadence_formulas(grammar, phrases[-1].cadence,
                                                      phrases[-1].key))
    window = figured.window if figured else FINAL_WINDOW  # where the final tonic may arrive
    cadenced: set[int] = set()  # the phrases that close with a cadence
    demands = 0
    # First the melody alone with the grammar (what it cannot be given is let go), then
    # with the cadences (of those, only a melody's inner phrase's may be let go).
    for cadenced in (set(), set(range(len(phrases)))):
        demands += len(fitted) + len(cadenced)
        while True:
            unary, pair = _assemble(grammar, phrases, times, base, fit, cadenced, fitted,
                                    window, free=spec.melody is None)
            try:
                solvable(Chain(unary, pair))
                break
            except NoSolution as exc:
                if strict or not _let_go(exc.slot, phrases, times, cadenced, fitted,
                                         last_holds, window):
                    demands += 10 ** 6  # the spec itself asks what cannot be: composing
                    break  # will say why
        demands -= len(fitted) + len(cadenced)
    return HarmonyChain(tuple(phrases), tuple(times), grammar, chords, tuple(given),
                        tuple(unary), tuple(pair), window), demands


def _in_key(grammar: HarmonyGrammar, chords: tuple[Chord, ...], phrases: list[Phrase],
            times: list, k: int, free: bool = False) -> np.ndarray | float:
    """A slot's numerals outside its phrase's key forbidden; the first slot of a phrase
    in a new key prefers a chord the key before it has too (the pivot); `free` (no
    melody given): its later slots shun the home tonic and dominant (HOME_AWAY)."""
    if not grammar.blocks:
        return 0.0
    ph = times[k][0]
    wheres = ["", *sorted({p.key for p in phrases} - {""})]
    block = wheres.index(phrases[ph].key)
    lo, hi = grammar.blocks[block], grammar.blocks[block + 1]
    out = np.full(len(chords), -np.inf)
    out[lo:hi] = 0.0
    if k and times[k - 1][0] != ph and phrases[ph - 1].key != phrases[ph].key:
        before = wheres.index(phrases[ph - 1].key)
        shared = {chords[i] for i in range(grammar.blocks[before], grammar.blocks[before + 1])
                  if grammar.region[i] != "applied"}
        out[lo:hi] = [0.0 if chords[i] in shared else PIVOT for i in range(lo, hi)]
    elif free and phrases[ph].key:
        home = {chords[i] for i in range(grammar.blocks[0], grammar.blocks[1])
                if grammar.numerals[i].degree in (1, 5) and grammar.region[i] != "applied"}
        out[lo:hi] = [HOME_AWAY if chords[i] in home else 0.0 for i in range(lo, hi)]
    return out


def _let_go(slot: int, phrases: list[Phrase], times: list, cadenced: set[int],
            fitted: set[int], last_holds: bool, window: int = FINAL_WINDOW) -> bool:
    """Let go of one of the melody's demands near the slot where the harmony breaks: the
    melody's fit there or just before (while no cadence is asked), else the cadence of a
    melody's inner phrase there, else the fit of the notes before the last one in the
    final cadence's `window` (a melody falling 3–1 keeps an authentic close, its 3 sounding
    against the dominant) — its last slot's too where the melody's last note is a tone of
    a chord that may close (`last_holds`). False when nothing is left to let go."""
    if not cadenced:
        for t in (slot, slot - 1, slot + 1):
            if t in fitted:
                fitted.discard(t)
                return True
        return False
    ph = times[min(slot, len(times) - 1)][0]
    for p in (ph, ph - 1, ph + 1):
        if p in cadenced and ((p < len(phrases) - 1 and phrases[p].cadence == ANY_CADENCE
                               and not phrases[p].fermata) or _open(phrases[p])):
            cadenced.discard(p)
            return True
    final = [k for k, time in enumerate(times) if time[0] == len(phrases) - 1]
    for t in reversed(final[-window:-1] + final[-1:] * last_holds):
        if t in fitted:
            fitted.discard(t)
            return True
    return False


def _open(phrase: Phrase) -> bool:
    """A phrase that may end on no cadence: the piece's, where the `cadence` rule accepts
    an open end."""
    return OPEN in phrase.cadence.split("|")


def _assemble(grammar: HarmonyGrammar, phrases: list[Phrase], times: list,
              base: list[np.ndarray], fit, cadenced: set[int], fitted: set[int],
              window: int = FINAL_WINDOW, free: bool = False
              ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The chain's unary and pair log-scores: the grammar's progressions, the melody's
    fit where it is kept, and each kept cadence (the final one arriving within the last
    `window` slots); `free`: no melody is given."""
    n = len(grammar.numerals)
    unary = [u.copy() for u in base]
    moves = grammar.transition_logp()  # the same at every slot: worked out once
    pair = [moves.copy() for _ in times[1:]]
    for k in fitted:
        unary[k] += fit.unary[k]
        if k + 1 < len(times) and fit.pair[k] is not None:
            pair[k] = np.where(fit.pair[k], pair[k], -np.inf)
    for ph in cadenced:
        slots = [k for k, time in enumerate(times) if time[0] == ph]
        kinds = tuple(cadence_kinds(grammar, phrases[ph].cadence, phrases[ph].key))
        if not slots or not kinds:
            continue
        table = grammar.cadence_table(kinds)
        finals = table.finals
        # A free inner phrase in a minor related key closes on its own minor tonic: its
        # major tonic (the Picardy third, which the grammar keeps for a piece's end)
        # would be heard as a chord of the home key (in v: the home dominant, the phrase
        # a home half cadence) and, as the next key's pivot, escape that end. Under a
        # given melody the phrase's key is read from its notes, and its major close is
        # often what the chorales sound there (fewer of Bach's chords without it).
        if free and phrases[ph].key and ph < len(phrases) - 1:
            finals = [i for i in finals if grammar.resolutions.get(i) != frozenset()]
        unary[slots[-1]][[i for i in range(n) if i not in finals]] = -np.inf
        # The last chord may arrive before the last note and be held (V7–I under the
        # melody's 4–3, then I under its 1): within the window, every change into a
        # final chord is a cadence formula, the later the likelier.
        width = min(window if ph == len(phrases) - 1 else 1, len(slots))
        for m, k in enumerate(slots[-width:], 1):
            if k == 0:
                continue
            mask = np.full((n, n), -np.inf)
            if m < width:
                mask[:, [j for j in range(n) if j not in finals]] = 0.0
            if m > 1:
                mask[finals, finals] = 0.0  # the final chord held
            np.maximum.at(mask, (table.before, table.last), table.logp + (width - m) * EARLY)
            pair[k - 1] = pair[k - 1] + mask
    return unary, pair


def cadence_formulas(grammar: HarmonyGrammar, kind: str, where: str = ""
                     ) -> tuple[tuple[int, int], ...]:
    return tuple(f for k in cadence_kinds(grammar, kind, where)
                 for f in grammar.cadence_pairs(k))


def cadence_kinds(grammar: HarmonyGrammar, kind: str, where: str = "") -> list[str]:
    """The cadences a phrase's cadence field allows: one, several ('authentic|plagal'),
    or any in the home key or a closely related one (in the phrase's key `where`, any
    cadence in that key)."""
    if kind == ANY_CADENCE:
        return [f"{k} in {where}" for k in CADENCES] if where else list(grammar.cadence_kinds())
    return [k for k in kind.split("|") if k != OPEN]  # (an open end: no cadence is needed)


def cadence_kind(grammar: HarmonyGrammar, before: int, last: int, kind: str,
                 where: str = "") -> str:
    """The name of the cadence a pair of numerals makes, of those `kind` allows ('open'
    where the melody let the phrase end without one)."""
    return next((k for k in cadence_kinds(grammar, kind, where)
                 if (before, last) in grammar.cadence_pairs(k)),
                OPEN if kind == ANY_CADENCE or OPEN in kind.split("|") else kind)


def _either(words: list[str]) -> str:
    return " or ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} or {words[-1]}"


def lone_chord(spec: Spec, chain: HarmonyChain) -> UnsatisfiableError | None:
    """A piece of a single chord where the cadence rule must hold: a cadence is a move
    from one chord to another, so no harmony of one chord can close (the checker would
    find the piece ending on a chord no cadence leads to)."""
    if len(chain.times) > 1 or not any(u.rule.id == "cadence" for u in spec.hard):
        return None
    where = bar_beat(spec.meter, chain.times[0][1]) if chain.times else "its start"
    return UnsatisfiableError(
        f"{spec.source}: the piece holds a single chord (at {where}), and a cadence needs"
        " two: give it more bars, or more melody notes to harmonize", ("cadence",))


def no_close(spec: Spec, chain: HarmonyChain, fixed: dict[Fraction, list[Pitch]] | None
             ) -> UnsatisfiableError | None:
    """Where the harmony cannot even close a phrase as the spec asks (a half cadence
    under a melody ending on its tonic), say so in a cadence's words, with the cadences
    the melody's close does allow; None where the harmony alone can be composed."""

    def closes(layout: HarmonyChain) -> bool:
        try:
            solvable(Chain(layout.unary, layout.pair))
            return True
        except NoSolution:
            return False

    if closes(chain):
        return None
    for ph, phrase in enumerate(chain.phrases):
        if phrase.cadence == ANY_CADENCE:
            continue
        others = [replace(phrase, cadence=kind) for kind in (ANY_CADENCE, *CADENCES)]
        trials = [harmony_chain(spec, fixed, replace(chain, phrases=tuple(
            p if k != ph else other for k, p in enumerate(chain.phrases)))) for other in others]
        if not closes(trials[0]):
            continue  # another phrase, or no cadence at all, is what fails
        allowed = [kind for kind, trial in zip(CADENCES, trials[1:], strict=True)
                   if closes(trial)]
        slots = [t for t, time in enumerate(chain.times) if time[0] == ph][-2:]
        notes = [n for n in (melody_at(spec, chain.times[t][1]) for t in slots) if n]
        where = bar_beat(spec.meter, chain.times[slots[-1]][1])
        asked = " or ".join(phrase.cadence.split("|"))
        source = "the spec's cadences ask" if spec.cadence_for("end") or ph < len(
            chain.phrases) - 1 else "the cadence rule asks"
        return UnsatisfiableError(
            f"{spec.source}: the melody's close {'–'.join(map(str, notes))} at {where} allows"
            f" no {asked} cadence in {spec.key}, which {source} for; it allows"
            f" {_either(allowed) if allowed else 'none of them'}", ("cadence",),
            tuple(chain.times[t][1] for t in slots))
    return None
