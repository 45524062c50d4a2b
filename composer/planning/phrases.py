"""Phrases and slots: the form cut into sections and phrases, each with its cadence, and
the piece into harmonic slots (a beat, or a held cadence chord), before any chord.

The form grammar's sections, or a given melody's own phrasing (its fermatas, else its
rests and long notes), end the phrases; a slot per beat, each starting where the melody
sounds, the cadence chord held to the phrase's end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from composer.errors import SpecError, closest
from composer.music import Meter, Pitch
from composer.planning.grammar import form_grammar
from composer.spec.values import Melody, Spec

Times = list[tuple[int, Fraction, Fraction, bool]]  # per slot: phrase, offset, length, cadence


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
    key: str = ""  # '' the home key, else the related key it stands in ('V', 'vi')


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


def melody_phrased(form: str | None, melody: bool) -> bool:
    """A given melody read as a chorale brings its own phrases (the form's letters are
    not laid over the bars)."""
    return melody and (form is None or form.strip().lower() == "chorale")


def form_fault(form: str | None, bars: int, melody: bool) -> tuple[str, bool] | None:
    """What is wrong with the form for a piece of `bars` bars (None: nothing), and
    whether the bars are to blame too: a name that is no form, or more sections than
    bars."""
    try:
        letters = parse_form(form)[0]
    except ValueError as exc:
        return str(exc), False
    if not melody_phrased(form, melody) and len(letters) > bars:
        return (f"{len(letters)} sections need at least {len(letters)} bars; the piece has"
                f" {bars}"), True
    return None


def phrases_of(spec: Spec) -> list[Phrase]:
    # (a spec read from YAML was checked where its lines are known: composer/spec/load.py)
    if (fault := form_fault(spec.form, spec.bars, spec.melody is not None)) is not None:
        raise SpecError(fault[0], None, "form")
    letters, default_cadences, described = parse_form(spec.form)
    if melody_phrased(spec.form, spec.melody is not None):
        return _melody_phrases(spec)
    grammar = form_grammar()
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
        return [(n.offset + n.duration, f"the melody's fermata at {bar_beat(meter, n.offset)}"
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
            out.append((stop, f"{why} at {bar_beat(meter, n.offset)} ends a phrase"))
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


def bar_beat(meter: Meter, offset: Fraction) -> str:
    at = meter.position(offset)
    return f"bar {at.bar} beat {at.beat:g}"


def slot_times(spec: Spec, phrases: list[Phrase]) -> list[tuple[int, Fraction, Fraction, bool]]:
    """(phrase, offset, duration, is_cadence_slot): a slot per beat; the cadence chord is
    held to the end of the phrase (a half note in 4/4, the whole bar otherwise). Under a
    given melody, remembered with it: each of a piece's chains asks again."""
    if spec.melody is None:
        return _slot_times(spec, phrases)
    asked = ("slots", spec.meter, tuple(phrases))
    if (found := spec.melody.memo.get(asked)) is None:
        found = spec.melody.memo[asked] = tuple(_slot_times(spec, phrases))
    return list(found)


def _slot_times(spec: Spec, phrases: list[Phrase]) -> list[tuple[int, Fraction, Fraction, bool]]:
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
                beat = max(_beat_start(spec.meter, last[-1].offset), start)
                cadence_at = _reentry(spec, beat, last[-1].offset)
                hold = end - cadence_at
        t = start
        while t < cadence_at:
            beat_end = min(_next_beat(spec.meter, t), cadence_at)
            # Where the melody rests, every voice rests; a melody that enters within the
            # beat (a pickup, a phrase after a rest) is harmonized from its first note.
            onset: Fraction | None = t
            while onset is not None and onset < beat_end:
                if melody_rests(spec, onset):
                    onset = _entry(spec, onset, beat_end)
                    continue
                length = _until_silence(spec, onset, beat_end - onset)
                out.append((ph.index, onset, length, False))
                onset += length
            t = beat_end
        out.append((ph.index, cadence_at, _until_silence(spec, cadence_at, hold), True))
    return out


def _reentry(spec: Spec, beat: Fraction, last: Fraction) -> Fraction:
    """Where the harmony of the beat that holds the melody's note at `last` begins: the
    beat's start, or where the melody enters again after its last rest before that
    note, as the checker hears a beat's harmony anew after every silence (a final chord
    placed on the F of a last beat `z C E F` was heard as the chord under the C and E)."""
    assert spec.melody is not None
    entry: Fraction | None = beat
    for n in spec.melody.notes:
        if beat <= n.offset <= last or n.offset < beat < n.offset + n.duration:
            if n.pitch is None:
                entry = None
            elif entry is None:
                entry = max(n.offset, beat)
    return entry if entry is not None else last


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
    silent = spec.melody.next_silence(offset)
    return silent - offset if silent is not None and silent < offset + duration else duration


def melody_rests(spec: Spec, offset: Fraction) -> bool:
    note = spec.melody.at(offset) if spec.melody is not None else None
    return note is not None and note.pitch is None


def melody_at(spec: Spec, offset: Fraction) -> Pitch | None:
    """The given melody's pitch at offset (None: no melody there, or a rest)."""
    note = spec.melody.at(offset) if spec.melody is not None else None
    return note.pitch if note is not None else None
