"""The plan: form → sections → phrases → one chord per harmonic slot, before any note.

The form grammar cuts the piece into sections and phrases and gives each phrase its
cadence; the harmony grammar's progressions, weighted by the corpus, are sampled along
the chain of slots with the cadences and the given melody as constraints. Every choice
keeps the reason it was made, so the plan can be printed and explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from composer.errors import SpecError, UnsatisfiableError, closest
from composer.music import Chord, Key, Meter, Pitch, PitchClass, Position
from composer.planning.grammar import HarmonyGrammar, form_grammar, harmony_grammar
from composer.spec.load import Melody, Spec

ANY_CADENCE = "any"  # an inner phrase of a given melody: whichever cadence its notes allow


@dataclass(frozen=True)
class Phrase:
    index: int
    section: str  # 'A', 'B', "A'"
    first_bar: int
    bars: int
    cadence: str
    reason: str
    start: Fraction = Fraction(-1)  # offsets; a melody's fermatas need not fall on bar lines
    end: Fraction = Fraction(-1)
    part: int = 0  # which section of the form, from 0 (two A sections are two parts)
    fermata: bool = False  # ends at a melody's fermata, where `cadence` asks for a cadence


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
                         f"{ph.first_bar + ph.bars - 1}): {ph.cadence} cadence — {ph.reason}")
            chords = [s for s in self.slots if s.phrase == ph.index]
            if why:
                lines += [f"   {str(s.position):>6}  {s.numeral:<8} {s.why}" for s in chords]
                continue
            bar_text: dict[int, list[str]] = {}
            for s in chords:
                bar_text.setdefault(s.position.bar, []).append(s.numeral)
            lines.append("   " + " | ".join(" ".join(v) for v in bar_text.values()))
        return "\n".join(lines)


def parse_form(form: str | None) -> tuple[list[str], dict[str, str], str]:
    """Section letters, default cadences and a description, from a form or grammar name."""
    grammar = form_grammar()
    name = (form or "chorale").strip()
    if name.lower() in grammar.forms:
        sections, cadences = grammar.forms[name.lower()]
        return sections.split(), dict(cadences), f"the {name.lower()} form"
    tokens = re.findall(r"[A-Z]['′]*", name.replace(" ", ""))
    if not tokens or "".join(tokens) != re.sub(r"\s", "", name).replace("′", "'"):
        names = list(grammar.forms)
        raise ValueError(f"'{form}' is not a form: write section letters such as 'A A B A'"
                         f" (A' marks a varied repeat) or a form name{closest(name, names)}:"
                         f" {', '.join(names)}")
    letters = [t.replace("′", "'") for t in tokens]
    return letters, {}, f"the form {' '.join(letters)}"


def _phrases(spec: Spec) -> list[Phrase]:
    try:
        letters, default_cadences, described = parse_form(spec.form)
    except ValueError as exc:
        raise SpecError(str(exc), None, "form") from None
    if spec.melody is not None and (spec.form is None
                                    or spec.form.strip().lower() == "chorale"):
        return _melody_phrases(spec)
    grammar = form_grammar()
    if spec.bars < len(letters):
        raise SpecError(f"{spec.bars} bars cannot hold {len(letters)} sections", None, "bars")
    per_phrase = grammar.phrase_bars.get(spec.meter.beats_per_bar, 2)
    base, extra = divmod(spec.bars, len(letters))
    phrases: list[Phrase] = []
    bar = 1
    start_of = spec.meter.bar_start
    for k, letter in enumerate(letters):
        bars = base + (1 if k >= len(letters) - extra else 0)
        plain = letter.rstrip("'")
        cadence = (spec.cadence_for(letter) or spec.cadence_for(plain)
                   or default_cadences.get(plain) or "authentic")
        why = f"section {letter} of {described}"
        if k == len(letters) - 1:
            cadence = _end_cadence(spec)
        # A given melody brings its own phrasing: one phrase per section.
        lengths = [bars] if spec.melody is not None else [per_phrase] * (bars // per_phrase)
        if bars % per_phrase:
            if lengths:
                lengths[-1] += bars % per_phrase
            else:
                lengths = [bars]
        for p, length in enumerate(lengths):
            last = p == len(lengths) - 1
            kind = cadence if last else grammar.inner_cadences[p % len(grammar.inner_cadences)]
            reason = f"an inner phrase of {why}"
            if last:
                reason = f"closes {why}" + (", which ends the piece"
                                            if k == len(letters) - 1 else "")
            phrases.append(Phrase(len(phrases), letter, bar, length, kind, reason,
                                  start_of(bar), start_of(bar + length), k))
            bar += length
    return phrases


def _melody_phrases(spec: Spec) -> list[Phrase]:
    """A given melody brings its own phrasing: its fermatas end its phrases, or, where
    it has none, its rests and its long notes do (`phrase_ends`). Each inner phrase
    takes the cadence its last notes allow, the last one the cadence the spec asks for."""
    assert spec.melody is not None
    meter, end = spec.meter, spec.meter.bar_start(spec.bars + 1)
    found = phrase_ends(spec.melody, meter)
    ends = [stop for stop, _ in found] + [end]
    sounding = [n.offset for n in spec.melody.notes if n.pitch is not None]
    start = sounding[0] if sounding else Fraction(0)  # a pickup's empty beats stay silent
    phrases = []
    for k, stop in enumerate(ends):
        last = k == len(ends) - 1
        first_bar = meter.position(start).bar
        bars = meter.position(stop - Fraction(1, 64)).bar - first_bar + 1
        kind = _end_cadence(spec) if last else ANY_CADENCE
        reason = "the melody's last phrase, which ends the piece" if last else found[k][1]
        phrases.append(Phrase(k, "A", first_bar, bars, kind, reason, start, stop,
                              fermata=not last and "fermata" in reason))
        start = stop
    return phrases


def phrase_ends(melody: Melody, meter: Meter) -> list[tuple[Fraction, str]]:
    """Where a melody's inner phrases end, and why: at its fermatas; without any, after
    a note followed by a rest or a long note (at least a beat, twice the melody's usual
    note and no shorter than its neighbours), each phrase at least a bar and a half. A
    figured bass ends phrases at its fermatas only: its figures, not its long notes, say
    where it closes (a long note may bear an inverted chord, which no cadence ends on)."""
    notes = [n for n in melody.notes if n.pitch is not None]
    if not notes:
        return []
    last = notes[-1].offset + notes[-1].duration
    if any(n.fermata for n in notes) or any(melody.figures):
        return [(n.offset + n.duration, f"the melody's fermata at {_where(meter, n.offset)}"
                 " ends a phrase") for n in notes if n.fermata and n.offset + n.duration < last]
    usual = sorted(n.duration for n in notes)[len(notes) // 2]
    out: list[tuple[Fraction, str]] = []
    begun = notes[0].offset
    for k, n in enumerate(notes[:-1]):
        stop = n.offset + n.duration
        rest = melody.at(stop)
        beat = meter.at(n.offset).beat_length
        long = n.duration >= max(2 * usual, beat) and n.duration >= notes[k + 1].duration \
            and (k == 0 or n.duration >= notes[k - 1].duration)
        why = (f"the rest after the melody's {n.pitch}" if rest is not None and rest.pitch is None
               else f"the melody's long {n.pitch}" if long else None)
        room = meter.bar_length * 3 / 2  # (of the meter at the phrase's start)
        if why and stop - begun >= room and last - stop >= room:
            out.append((stop, f"{why} at {_where(meter, n.offset)} ends a phrase"))
            begun = stop
    return out


def _end_cadence(spec: Spec) -> str:
    """The cadence the spec asks for at the end; without one, a given melody may close
    with any cadence the hard `cadence` rule accepts there ('authentic|plagal'), a free
    plan with an authentic cadence."""
    asked = spec.cadence_for("end")
    if asked or spec.melody is None:
        return asked or "authentic"
    ends = [u.params["end"] for u in spec.hard if u.rule.id == "cadence"]
    return "|".join(ends[-1]) if ends else "authentic"


def _where(meter: Meter, offset: Fraction) -> str:
    at = meter.position(offset)
    return f"bar {at.bar} beat {at.beat:g}"


def _slot_times(spec: Spec, phrases: list[Phrase]) -> list[tuple[int, Fraction, Fraction, bool]]:
    """(phrase, offset, duration, is_cadence_slot): a slot per beat; the cadence chord is
    held to the end of the phrase (a half note in 4/4, the whole bar otherwise)."""
    out = []
    for ph in phrases:
        start, end = ph.start, ph.end
        meter = spec.meter.at(end - Fraction(1, 64))  # the meter of the phrase's last bar
        bar_len = meter.bar_length
        last_phrase = ph.index == len(phrases) - 1
        hold = bar_len / 2 if meter.beats_per_bar == 4 and not last_phrase else bar_len
        hold = min(hold, end - start)
        cadence_at = end - hold
        if spec.melody is not None:  # the cadence chord arrives with the last melody note
            last = [n for n in spec.melody.notes
                    if start <= n.offset < end and n.pitch is not None]
            if last and (last[-1].offset + last[-1].duration > end - bar_len
                         or last_phrase):  # (rests may close the melody)
                # on the beat that holds it, a beat being heard by its first moment
                # (unless the melody enters within that beat, after a rest)
                cadence_at = last[-1].offset
                beat = max(_beat_start(spec.meter, cadence_at), start)
                if not _melody_rests(spec, beat):
                    cadence_at = beat
                hold = end - cadence_at
        t = start
        while t < cadence_at:
            beat_end = min(_next_beat(spec.meter, t), cadence_at)
            # Where the melody rests, every voice rests; a melody that enters within the
            # beat (a pickup, a phrase after a rest) is harmonized from its first note.
            onset: Fraction | None = t
            while onset is not None and onset < beat_end:
                if _melody_rests(spec, onset):
                    onset = _entry(spec, onset, beat_end)
                    continue
                length = _until_silence(spec, onset, beat_end - onset)
                out.append((ph.index, onset, length, False))
                onset += length
            t = beat_end
        out.append((ph.index, cadence_at, _until_silence(spec, cadence_at, hold), True))
    return out


def _beat_start(meter: Meter, offset: Fraction) -> Fraction:
    """Where the beat holding `offset` begins."""
    at = meter.position(offset)
    beat = meter.in_bar(at.bar).beat_length
    return meter.bar_start(at.bar) + (Fraction(offset) - meter.bar_start(at.bar)) // beat * beat


def _next_beat(meter: Meter, offset: Fraction) -> Fraction:
    """Where the beat after the one holding `offset` begins (a slot that starts off the
    beat, as a pickup does, still ends with its beat)."""
    at = meter.position(offset)
    bar = meter.in_bar(at.bar)
    into = Fraction(offset) - meter.bar_start(at.bar)
    return meter.bar_start(at.bar) + min((into // bar.beat_length + 1) * bar.beat_length,
                                         bar.bar_length)


def _entry(spec: Spec, start: Fraction, end: Fraction) -> Fraction | None:
    """The first melody note struck within (start, end) after a rest, if any."""
    if spec.melody is None:
        return None
    return next((n.offset for n in spec.melody.struck_within(start, end - start)
                 if n.pitch is not None), None)


def _until_silence(spec: Spec, offset: Fraction, duration: Fraction) -> Fraction:
    """A slot's duration, cut where the melody falls silent inside it (a rest, or its
    end): the other voices stop with it."""
    if spec.melody is None:
        return duration
    sounding = [n for n in spec.melody.notes if n.pitch is not None]
    stops = [n.offset for n in spec.melody.notes if n.pitch is None]
    stops += [sounding[-1].offset + sounding[-1].duration] if sounding else []
    return min([s - offset for s in stops if offset < s < offset + duration] + [duration])


def _melody_rests(spec: Spec, offset: Fraction) -> bool:
    note = spec.melody.at(offset) if spec.melody is not None else None
    return note is not None and note.pitch is None


def melody_at(spec: Spec, offset: Fraction) -> Pitch | None:
    """The given melody's pitch at offset (None: no melody there, or a rest)."""
    note = spec.melody.at(offset) if spec.melody is not None else None
    return note.pitch if note is not None else None


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


def harmony_chain(spec: Spec, fixed: dict[Fraction, list[Pitch]] | None = None,
                  layout: HarmonyChain | None = None, strict: bool = False,
                  loose: tuple[Fraction, ...] = ()) -> HarmonyChain:
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
    tonic arrives where its figures put it."""
    from composer.planning.figured_bass import figured_grammar, figured_slots
    from composer.planning.melody_fit import melody_fit
    from composer.sample.sampler import Chain, NoSolution, feasible

    phrases = list(layout.phrases) if layout else _phrases(spec)
    times = list(layout.times) if layout else _slot_times(spec, phrases)
    grammar = figured_grammar(spec, harmony_grammar(spec.key.mode))  # + chords figured
    chords = tuple(n.chord(spec.key) for n in grammar.numerals)
    fit = melody_fit(spec, times, chords, accented=not strict)
    figured = figured_slots(spec, times, chords)  # a figured bass names each slot's chord
    given, base = [], []
    lacking: dict[PitchClass, list[int]] = {}  # the numerals whose chord lacks a note
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
        base.append(u)
    fitted = {t for t, (_, at, length, _) in enumerate(times)  # slots the melody masks
              if not any(at <= x < at + length for x in loose)} if fit is not None else set()
    sounding = [n.pitch for n in spec.melody.notes if n.pitch] if spec.melody else []
    last = sounding[-1] if sounding else None  # the melody's last note
    last_holds = last is None or any(last.pitch_class in chords[b].tones for _, b in
                                     _formulas(grammar, phrases[-1].cadence))
    window = figured.window if figured else FINAL_WINDOW  # where the final tonic may arrive
    cadenced: set[int] = set()  # the phrases that close with a cadence
    # First the melody alone with the grammar (what it cannot be given is let go), then
    # with the cadences (of those, only a melody's inner phrase's may be let go).
    for cadenced in (set(), set(range(len(phrases)))):
        while True:
            unary, pair = _assemble(grammar, phrases, times, base, fit, cadenced, fitted,
                                    window)
            try:
                feasible(Chain(unary, pair))
                break
            except NoSolution as exc:
                if strict or not _let_go(exc.slot, phrases, times, cadenced, fitted,
                                         last_holds, window):
                    break  # the spec itself asks what cannot be: composing will say why
    return HarmonyChain(tuple(phrases), tuple(times), grammar, chords, tuple(given),
                        tuple(unary), tuple(pair), window)


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
        if p in cadenced and p < len(phrases) - 1 and phrases[p].cadence == ANY_CADENCE \
                and not phrases[p].fermata:
            cadenced.discard(p)
            return True
    final = [k for k, time in enumerate(times) if time[0] == len(phrases) - 1]
    for t in reversed(final[-window:-1] + final[-1:] * last_holds):
        if t in fitted:
            fitted.discard(t)
            return True
    return False


def _assemble(grammar: HarmonyGrammar, phrases: list[Phrase], times: list,
              base: list[np.ndarray], fit, cadenced: set[int], fitted: set[int],
              window: int = FINAL_WINDOW) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The chain's unary and pair log-scores: the grammar's progressions, the melody's
    fit where it is kept, and each kept cadence (the final one arriving within the last
    `window` slots)."""
    n = len(grammar.numerals)
    unary = [u.copy() for u in base]
    pair = [grammar.transition_logp() for _ in times[1:]]
    for k in fitted:
        unary[k] += fit.unary[k]
        if k + 1 < len(times) and fit.pair[k] is not None:
            pair[k] = np.where(fit.pair[k], pair[k], -np.inf)
    for ph in cadenced:
        slots = [k for k, time in enumerate(times) if time[0] == ph]
        if not slots:
            continue
        formulas = _formulas(grammar, phrases[ph].cadence)
        finals = sorted({b for _, b in formulas})
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
            for a, b in formulas:
                mask[a, b] = max(mask[a, b], grammar.cadence_logp((a, b)) + (width - m) * EARLY)
            pair[k - 1] = pair[k - 1] + mask
    return unary, pair


def _formulas(grammar: HarmonyGrammar, kind: str) -> tuple[tuple[int, int], ...]:
    return tuple(f for k in _kinds(grammar, kind) for f in grammar.cadence_pairs(k))


def _kinds(grammar: HarmonyGrammar, kind: str) -> list[str]:
    """The cadences a phrase's cadence field allows: one, several ('authentic|plagal'),
    or any in the home key or a closely related one."""
    if kind == ANY_CADENCE:
        return list(grammar.cadence_kinds())
    return kind.split("|")


def cadence_kind(grammar: HarmonyGrammar, before: int, last: int, kind: str) -> str:
    """The name of the cadence a pair of numerals makes, of those `kind` allows ('open'
    where the melody let the phrase end without one)."""
    return next((k for k in _kinds(grammar, kind) if (before, last) in grammar.cadence_pairs(k)),
                "open" if kind == ANY_CADENCE else kind)


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
            kind = cadence_kind(chain.grammar, choice[a - 1], choice[a], choices)
            phrases[ph] = replace(phrases[ph], cadence=kind)
    firsts = {a - 1 for a in arrivals.values()}
    slots = []
    melody_voice = spec.melody is not None
    for k, ((ph, t, dur, cadence_slot), i) in enumerate(zip(chain.times, choice, strict=True)):
        melody = melody_at(spec, t) if melody_voice else None
        why = [chain.grammar.why(choice[k - 1] if k else None, i)]
        if cadence_slot:
            why.append(f"closes the {phrases[ph].cadence} cadence")
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
        slots.append(Slot(k, t, dur, spec.meter.position(t), ph, spec.key,
                          chain.grammar.numerals[i].name, chain.chords[i], melody,
                          phrases[ph].cadence if cadence_slot else None,
                          cadence_slot and _held(spec, t),
                          "; ".join(why)))
    return Plan(spec.key, spec.meter, spec.bars, tuple(phrases), tuple(slots))


def plan(spec: Spec, rng: np.random.Generator) -> Plan:
    """The harmony alone, sampled from the grammar (what `partimento plan` prints)."""
    from composer.sample.sampler import Chain, NoSolution, sample

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


def _either(words: list[str]) -> str:
    return " or ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} or {words[-1]}"


def no_close(spec: Spec, chain: HarmonyChain, fixed: dict[Fraction, list[Pitch]] | None
             ) -> UnsatisfiableError | None:
    """Where the harmony cannot even close a phrase as the spec asks (a half cadence
    under a melody ending on its tonic), say so in a cadence's words, with the cadences
    the melody's close does allow; None where the harmony alone can be composed."""
    from composer.rules.structure import CADENCES
    from composer.sample.sampler import Chain, NoSolution, feasible

    def closes(layout: HarmonyChain) -> bool:
        try:
            feasible(Chain(layout.unary, layout.pair))
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
        where = _where(spec.meter, chain.times[slots[-1]][1])
        asked = " or ".join(phrase.cadence.split("|"))
        source = "the spec's cadences ask" if spec.cadence_for("end") or ph < len(
            chain.phrases) - 1 else "the cadence rule asks"
        return UnsatisfiableError(
            f"{spec.source}: the melody's close {'–'.join(map(str, notes))} at {where} allows"
            f" no {asked} cadence in {spec.key}, which {source} for; it allows"
            f" {_either(allowed) if allowed else 'none of them'}", ("cadence",))
    return None
