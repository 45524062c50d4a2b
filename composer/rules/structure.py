"""Rules about the piece as a whole: its cadences, its beginning and end, given notes."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from composer.chords import Chord
from composer.music import Key, Pitch, interval_words
from composer.rules.base import Context, Finding, GlobalRule, Param, Params
from composer.texture import Slice, Texture

CADENCES = ("authentic", "half", "plagal", "deceptive")
OPEN = "open"  # an end that needs no cadence: a tune whose written end leads back
_DOMINANT = ("major", "dominant-seventh")


def classify_cadence(
    before: Chord | None, last: Chord, bass_pc: int | None, key: Key
) -> str | None:
    """The kind of cadence two chords make in a key, or None."""
    tonic, dominant, subdominant, submediant, leading = _cadence_degrees(key)
    triad = last.quality in ("major", "minor")
    root_position = bass_pc == last.root.pc
    from_dominant = before is not None and (
        (before.root.pc == dominant and before.quality in _DOMINANT)
        or (before.root.pc == leading and "diminished" in before.quality)
    )
    if last.root.pc == tonic and triad and root_position:
        if from_dominant:
            return "authentic"
        if before is not None and before.root.pc == subdominant:
            return "plagal"
    if last.root.pc == dominant and last.quality == "major":
        return "half"
    if from_dominant and last.root.pc == submediant and triad:
        return "deceptive"
    return None


@lru_cache(maxsize=64)
def _cadence_degrees(key: Key) -> tuple[int, int, int, int, int]:
    """The pitch classes of a key's tonic, dominant, subdominant, submediant and leading
    tone: a grammar's every pair of chords is classified in a key at once."""
    return (key.tonic.pc, key.degree(5).pc, key.degree(4).pc, key.degree(6).pc,
            key.leading_tone.pc)


def related_keys(key: Key) -> list[Key]:
    """The home key and its closely related keys (the other diatonic triads' keys)."""
    out = [key]
    for degree in (2, 3, 4, 5, 6, 7):
        tonic = key.degree(degree)
        third = (key.degree((degree + 1) % 7 + 1).pc - tonic.pc) % 12
        fifth = (key.degree((degree + 3) % 7 + 1).pc - tonic.pc) % 12
        if fifth == 7:
            out.append(Key(tonic, "major" if third == 4 else "minor"))
    return out


def _harmonic_slots(texture: Texture) -> list[int]:
    return [i for i, s in enumerate(texture.slices) if s.harmonic and s.chord is not None]


def _bass_pc(s: Slice) -> int | None:
    sounding = [p for p in s.voicing.pitches if p is not None]
    return min(sounding).pc if sounding else None


class Cadence(GlobalRule):
    id = "cadence"
    summary = "The piece ends with an authentic (or plagal) cadence; each fermata ends a phrase"
    summary += " with a cadence."
    explanation = (
        "A cadence closes a phrase: authentic (V–I, the tonic in the bass), plagal (IV–I),"
        " half (ending on V) or deceptive (V–vi). The last phrase must close in the home key;"
        " inner phrases may cadence in a closely related key."
    )
    params = (
        Param("end", "choices", ("authentic", "plagal"), "cadences allowed at the end"
              " ('open': the piece may also end on no cadence, as a tune that leads back"
              " into its repeat does)", CADENCES + (OPEN,)),
        Param("phrases", "choices", CADENCES, "cadences allowed at fermatas", CADENCES),
    )
    example = "A chorale that ends V–I6 has no final cadence: the tonic must be in the bass."

    def findings(self, texture: Texture, ctx: Context, p: Params) -> Iterator[Finding]:
        slots = _harmonic_slots(texture)
        if not slots:
            return
        ends = {i for i in slots if texture.slices[i].fermata or _fermata_in_slot(texture, i)}
        final = slots[-1]
        for i in sorted(ends | {final}):
            allowed = tuple(p["end"] if i == final else p["phrases"])
            if OPEN in allowed:  # (no cadence needed)
                continue
            k = slots.index(i)
            before = _previous_chord(texture, slots[:k], texture.slices[i].chord)
            last = texture.slices[i].chord
            assert last is not None
            bass = _bass_pc(texture.slices[i])
            keys = [ctx.key] if i == final else related_keys(ctx.key)
            found = [classify_cadence(before, last, bass, key) for key in keys]
            if any(kind in allowed for kind in found):
                continue
            label = last.roman(ctx.key, bass)
            prior = f"{before.roman(ctx.key)}–" if before else ""
            where = "the piece ends" if i == final else "the phrase ends"
            yield Finding((i,), tuple(range(len(ctx.voices))),
                          f"{where} on {prior}{label} in {ctx.key}: not an accepted cadence"
                          f" ({', '.join(allowed)})")


def _fermata_in_slot(texture: Texture, i: int) -> bool:
    for s in texture.slices[i:]:
        if s is not texture.slices[i] and s.harmonic:
            return False
        if s.fermata:
            return True
    return False


def _previous_chord(texture: Texture, slots: list[int], last: Chord | None) -> Chord | None:
    for j in reversed(slots):
        chord = texture.slices[j].chord
        if chord is not None and chord != last:
            return chord
    return None


def slice_at(texture: Texture, bar: int, beat: float) -> int | None:
    """The index of the slice sounding at a bar and beat."""
    found = None
    for i, s in enumerate(texture.slices):
        if (s.position.bar, s.position.beat) <= (bar, beat + 1e-6):
            found = i
        else:
            break
    return found


class Fixed(GlobalRule):
    id = "fixed"
    summary = "A given voice has a given pitch at a given bar and beat."
    explanation = (
        "Some notes are given: a cantus firmus, a melody note, a note the composer has"
        " chosen. They must sound exactly where they are written."
    )
    params = (
        Param("voice", "voice", None, "the voice"),
        Param("bar", "int", None, "the bar, as printed"),
        Param("beat", "float", 1.0, "the beat, from 1"),
        Param("pitch", "pitch", None, "the pitch it must have"),
    )
    example = "{rule: fixed, voice: soprano, bar: 1, beat: 1, pitch: F#4}"
    keyed_by = ("voice", "bar", "beat")

    def findings(self, texture, ctx, p):
        voice = ctx.index(p["voice"])
        if voice is None:
            return
        i = slice_at(texture, p["bar"], p["beat"])
        want: Pitch = p["pitch"]
        got = None if i is None else texture.slices[i].voicing.pitches[voice]
        if got != want:
            yield Finding((i if i is not None else 0,), (voice,),
                          f"{p['voice']} must be {want} at bar {p['bar']} beat"
                          f" {p['beat']:g}, but is {got or 'silent'}")


def _interval(hi: Pitch, lo: Pitch) -> tuple[int, int]:
    return hi.diatonic - lo.diatonic, hi.midi - lo.midi


class PerfectEnds(GlobalRule):
    id = "perfect-ends"
    summary = "Begin on a unison, fifth or octave; end on a unison or octave."
    explanation = (
        "Counterpoint opens and closes on perfect consonances so that the key is clear;"
        " the last interval is the most stable of all, a unison or octave."
    )
    example = "Ending on a third (E4 over C4) leaves the exercise unfinished."

    def findings(self, texture, ctx, p):
        full = [i for i, s in enumerate(texture.slices) if None not in s.voicing.pitches]
        if not full:
            return
        hi, lo = ctx.outer
        for i, allowed, name in ((full[0], {0, 4}, "begins"), (full[-1], {0}, "ends")):
            ph, pl = texture.slices[i].voicing.pitches[hi], texture.slices[i].voicing.pitches[lo]
            assert ph and pl
            steps, semis = _interval(ph, pl)
            perfect = steps % 7 in allowed and semis % 12 == {0: 0, 4: 7}[steps % 7]
            if not perfect:
                yield Finding((i,), (hi, lo), f"the exercise {name} on a"
                              f" {interval_words(steps, semis)} ({ph}/{pl})")


class ApproachFinalByStep(GlobalRule):
    id = "approach-final-by-step"
    summary = "Every voice reaches its final note by step."
    explanation = (
        "The close of a counterpoint is made by stepwise motion into the final (the leading"
        " tone rising in one voice, the second degree falling in the other)."
    )
    example = "A cantus ending G3–C3 leaps into the final."

    def findings(self, texture, ctx, p):
        for v in range(len(ctx.voices)):
            line = texture.line(v)
            notes = [r for r in range(len(line)) if line.midi[r, 0] != -1 and line.attacks[r, 0]]
            if len(notes) < 2:
                continue
            a, b = line.pitch(notes[-2], 0), line.pitch(notes[-1], 0)
            assert a and b
            if abs(b.diatonic - a.diatonic) != 1:
                yield Finding((int(line.rows[notes[-1]]),), (v,),
                              f"{ctx.voices[v]} reaches its final {b} from {a}, not by step")


class NoUnisonInside(GlobalRule):
    id = "no-unison-inside"
    summary = "Two voices meet in unison only at the beginning or the end."
    explanation = (
        "A unison in the middle of a two-voice counterpoint makes one voice disappear;"
        " keep unisons for the first and last notes."
    )
    example = "Both voices on G4 in bar 3."

    def findings(self, texture, ctx, p):
        last = len(texture.slices) - 1
        for i, s in enumerate(texture.slices):
            if i in (0, last):
                continue
            for a, b in ctx.pairs():
                pa, pb = s.voicing.pitches[a], s.voicing.pitches[b]
                if pa is not None and pa == pb and (s.attacks[a] or s.attacks[b]):
                    yield Finding((i,), (a, b), f"{ctx.voices[a]} and {ctx.voices[b]} meet in"
                                  f" unison on {pa}")


STRUCTURE_RULES = (Cadence(), Fixed(), PerfectEnds(), ApproachFinalByStep(), NoUnisonInside())
