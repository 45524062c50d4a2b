"""Crafted exercises: each rule broken exactly once, and reported exactly there.

A correct four-part chorale phrase and a correct first-species counterpoint must pass
their rule sets without a remark; then, for every rule of `common-practice` and
`first-species`, a variant that changes a note or two commits that one fault (and no
other, as a harmony teacher would mark it) and the checker must report exactly that
rule, at that bar and beat, in those voices. Every exercise is graded twice: from the
music21 score, and after a round trip through MusicXML, the path `partimento check`
takes. The exercises are in TinyNotation (see `exercises.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from exercises import exercise, exercise_via_file

from composer.grading.checker import Report, check_texture
from composer.rules import RULES
from composer.spec.rulesets import RuleSet, RuleUse, load_ruleset, parse_use
from composer.spec.yamlfile import YamlDoc
from composer.texture import Texture

SATB = ("soprano", "alto", "tenor", "bass")
OUTER = ("soprano", "bass")

# D major, 4/4: I – IV – V (4-3) – V7 | I.
#   b1 I    A4 F#4 D4 D3  complete, root doubled
#   b2 IV   B4 G4  D4 G2  the tenor's D4 is held over as the preparation …
#   b3 V    A4 E4 (D4) A2 … of a 4-3 suspension resolving to C#4 on the off-beat, while
#           the soprano passes A4–B4–C#5
#   b4 V7   C#5 G4 E4 A3  complete; the bass leaps the octave
#   2:1 I   D5 F#4 D4 D3  the leading tone rises, the seventh falls: the textbook complete
#           V7 to incomplete I (tripled root), a perfect authentic cadence
CHORALE = {
    "soprano": "a4 b a8 b c'#4 | d'1",
    "alto": "f#4 g e g | f#1",
    "tenor": "d4 d~ d8 c#8 e4 | d1",
    "bass": "D4 GG AA A | D1",
}

# Fux's first-species example on his Dorian cantus firmus (counterpoint above, here an
# octave lower): fifth, third, third, fifth, third, fifth, third, third, sixth, sixth,
# octave; every perfect interval reached in contrary motion, the final by step in both.
COUNTERPOINT = {
    "upper": "A1 A G A B c c B d c# d",
    "lower": "D1 F E D G F A G F E D",
}


@dataclass(frozen=True)
class Fault:
    """One rule broken once: the notes changed from the correct exercise, and where the
    checker must say so."""

    rule: str
    bar: int
    beat: float
    voices: tuple[str, ...]
    changes: Mapping[str, str] = field(hash=False)
    remark: str  # what a teacher would write in the margin
    key: str | None = None  # another key than the correct exercise's
    severity: str = "error"


CHORALE_FAULTS = [
    Fault("chord-tones", 1, 2, ("alto",), {"alto": "f#4 a8 g e4 g | f#1"},
          "the alto's A4 on beat 2 is an appoggiatura, not a tone of IV (G B D)"),
    Fault("voice-range", 1, 2, ("bass",), {
        "soprano": "f4 g f8 g a4 | b-1", "alto": "d4 e- c e- | d1",
        "tenor": "B-4 B-~ B-8 A8 c4 | B-1", "bass": "BB-4 EE- FF F | BB-1"},
          "the same phrase a third lower, in B flat: the bass's E flat 2 is below E2",
          key="Bb major"),
    Fault("spacing", 1, 1, ("alto", "tenor"), {"tenor": "D4 d~ d8 c#8 e4 | d1"},
          "the tenor starts on D3, a tenth below the alto's F#4"),
    Fault("no-voice-crossing", 1, 1, ("soprano", "alto"),
          {"soprano": "f#4 b a8 b c'#4 | d'1", "alto": "a4 g e g | f#1"},
          "the alto's A4 lies above the soprano's F#4 in the first chord"),
    Fault("complete-chord", 1, 4, SATB, {"soprano": "a4 b a2 | a1"},
          "the soprano holds A4, so the V7 on beat 4 (A E G A) has no third"),
    Fault("no-doubled-leading-tone", 1, 4, ("soprano", "tenor"),
          {"tenor": "d4 d~ d8 c#8 c#4 | A1"},
          "the tenor keeps C#4 under the soprano's C#5: the leading tone is doubled"
          " (the tenor then falls to A3, so no octaves follow)"),
    Fault("no-parallel-fifths", 1, 2, ("tenor", "bass"),
          {"tenor": "A4 d~ d8 c#8 e4 | d1", "bass": "D4 G A2 | D1"},
          "tenor and bass move in fifths, A3/D3 to D4/G3"),
    Fault("no-parallel-octaves", 1, 3, ("alto", "bass"), {"alto": "f#4 g a g | f#1"},
          "alto and bass rise together from G to A, two octaves apart"),
    Fault("no-parallel-unisons", 1, 2, ("alto", "tenor"),
          {"tenor": "f#4 g c#4 e4 | d1", "bass": "D4 G A2 | D1"},
          "alto and tenor sing F#4–G4 together"),
    Fault("no-contrary-octaves", 1, 2, ("tenor", "bass"), {"tenor": "A4 d~ d8 c#8 e4 | d1"},
          "the tenor rises A3–D4 as the bass falls D3–G2: a fifth to a twelfth by contrary"
          " motion", severity="warning"),
    Fault("no-hidden-fifths-outer", 1, 3, OUTER, {"soprano": "a4 b e'8 d' c'#4 | d'1"},
          "soprano leaps B4–E5 while the bass rises G2–A2: similar motion into a fifth"),
    Fault("no-hidden-octaves-outer", 2, 1, OUTER,
          {"soprano": "a4 b a2 | d'1", "bass": "D4 GG AA C# | D1"},
          "over V6/5–I the soprano leaps A4–D5 while the bass rises C#3–D3: similar motion"
          " into an octave"),
    Fault("no-voice-overlap", 1, 2, ("soprano", "alto"),
          {"soprano": "a4 g'4 e'8 d' c'#4 | d'1", "alto": "f#4 b a g | f#1"},
          "the alto rises to B4, above the A4 the soprano has just left"),
    Fault("no-cross-relation", 1, 2, ("soprano", "tenor"), {
        "soprano": "c'4 e' f' f' | e'1", "alto": "g4 a a b | c'1",
        "tenor": "e4 c# d d | e1", "bass": "E4 AA D GG | C1"},
          "in C major, I6 – V/ii – ii – V7 – I: the soprano's C5 then the tenor's C#4,"
          " the chromatic step split between two voices", key="C major",
          severity="warning"),
    Fault("max-leap", 1, 3, ("bass",), {"bass": "D4 GG A2 | D1"},
          "the bass leaps a ninth, G2–A3"),
    Fault("leading-tone-resolves", 1, 4, ("soprano",),
          {"soprano": "a4 b a8 b c'#4 | a1", "bass": "D4 GG AA2 | D1"},
          "the soprano's leading tone C#5 falls to A4 at the cadence"),
    Fault("seventh-resolves-down", 1, 4, ("alto",),
          {"alto": "f#4 g e g | a1", "tenor": "d4 d~ d8 c#8 e4 | f#1"},
          "the seventh of V7, the alto's G4, rises to A4"),
    Fault("no-augmented-melodic", 1, 3, ("tenor",), {"tenor": "A4 G c#4 e4 | d1"},
          "the tenor rises an augmented fourth, G3–C#4"),
    Fault("dissonance-treatment", 1, 3.5, ("bass",), {"bass": "D4 GG AA8 D A4 | D1"},
          "the bass's D3 under V is leapt to and leapt from"),
    Fault("cadence", 2, 1, SATB, {"bass": "D4 GG AA A | F#1"},
          "the phrase ends V7–I6: the final chord needs the tonic in the bass"),
]

COUNTERPOINT_FAULTS = [
    Fault("consonant-intervals", 2, 1, ("upper", "lower"),
          {"upper": "A1 B G A B c c B d c# d"}, "B3 over F3 is a tritone"),
    Fault("perfect-ends", 1, 1, ("upper", "lower"), {"upper": "F1 A G A B c c B d c# d"},
          "the counterpoint begins on a third"),
    Fault("no-unison-inside", 7, 1, ("upper", "lower"),
          {"upper": "A1 A G A B c A B d c# d"}, "the voices meet on A3 in bar 7"),
    Fault("no-parallel-fifths", 4, 1, ("upper", "lower"),
          {"upper": "A1 A B A B c c B d c# d"}, "B3/E3 to A3/D3: fifths"),
    Fault("no-parallel-octaves", 11, 1, ("upper", "lower"),
          {"upper": "A1 A G A B c c B d e d"}, "E4/E3 to D4/D3: octaves into the final"),
    Fault("no-contrary-octaves", 2, 1, ("upper", "lower"),
          {"upper": "A1 e G A B c c B d c# d", "lower": "D1 AA E D G F A G F E D"},
          "A3/D3 to E4/A2: a fifth to a twelfth, the voices leaping apart"),
    Fault("no-parallel-unisons", 2, 1, ("upper", "lower"), {"upper": "d1 e", "lower": "d1 e"},
          "two notes sung in unison by both voices: in two voices only an exercise this"
          " short can move in unisons without a unison inside"),
    Fault("no-hidden-fifths-outer", 6, 1, ("upper", "lower"),
          {"lower": "D1 F E D D F A G F E D"},
          "both voices rise into the fifth C4/F3; in strict counterpoint a step on top"
          " does not excuse it"),
    Fault("no-hidden-octaves-outer", 4, 1, ("upper", "lower"),
          {"upper": "A1 A g d B c c B d c# d"}, "both voices fall into the octave D4/D3"),
    Fault("no-voice-crossing", 7, 1, ("upper", "lower"),
          {"upper": "A1 A G A B c F d d c# d"}, "the upper voice dips to F3, below A3"),
    Fault("no-voice-overlap", 5, 1, ("upper", "lower"),
          {"upper": "A1 A G F e d c B d c# d"},
          "the cantus rises to G3, above the F3 the upper voice has just left"),
    Fault("approach-final-by-step", 11, 1, ("upper",),
          {"upper": "A1 A G A B c c B d G d"}, "the upper voice leaps G3–D4 into the final"),
    Fault("max-leap", 5, 1, ("upper",), {"upper": "A1 A G A b a c d d c# d"},
          "the upper voice leaps a ninth, A3–B4"),
    Fault("no-augmented-melodic", 7, 1, ("lower",), {"lower": "D1 F E D G F B G F E D",
                                                      "upper": "A1 A G A B c d B d c# d"},
          "the cantus rises an augmented fourth, F3–B3"),
    Fault("repeated-notes", 5, 1, ("lower",), {"lower": "D1 F E D D D A G F E D",
                                                "upper": "A1 A G A B d c B d c# d"},
          "the cantus sings D3 three times"),
    Fault("leap-recovery", 4, 1, ("upper",), {"upper": "A1 A G d e d c B d c# d"},
          "after the leap G3–D4 the line goes on up to E4", severity="warning"),
]

# Known problems outside this test's files, to be fixed where they live.
KNOWN: dict[tuple[str, str], str] = {}  # (rule set, rule) → a known bug, marked xfail


@dataclass(frozen=True)
class Exercise:
    key: str
    meter: str
    voices: Mapping[str, str]


BASES = {
    "common-practice": Exercise("D major", "4/4", CHORALE),
    "first-species": Exercise("D minor", "4/4", COUNTERPOINT),
}
FAULTS = {"common-practice": CHORALE_FAULTS, "first-species": COUNTERPOINT_FAULTS}


@pytest.fixture(params=["music21", "musicxml"])
def read(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Turn an exercise into a Texture straight from music21 or through a MusicXML file."""

    def build(key: str, meter: str, voices: Mapping[str, str]) -> Texture:
        if request.param == "music21":
            return exercise(key, meter, **voices)
        return exercise_via_file(tmp_path, key, meter, **voices)

    return build


def remarks(report: Report) -> list[tuple[str, str, int, float, tuple[str, ...]]]:
    return [(v.rule, v.severity, v.bar, v.beat, v.voices) for v in report.violations]


@pytest.mark.parametrize("name", list(BASES))
def test_the_correct_exercise_passes_its_rule_set(name: str, read: Any) -> None:
    base = BASES[name]
    texture = read(base.key, base.meter, base.voices)
    report = check_texture(texture, load_ruleset(name))
    assert remarks(report) == [], report.to_text(explain=False)


def _fault_params() -> list[Any]:
    out = []
    for name, faults in FAULTS.items():
        for fault in faults:
            marks = []
            if (name, fault.rule) in KNOWN:
                marks.append(pytest.mark.xfail(reason=KNOWN[name, fault.rule], strict=True))
            out.append(pytest.param(name, fault, id=f"{name}:{fault.rule}", marks=marks))
    return out


@pytest.mark.parametrize(("name", "fault"), _fault_params())
def test_a_fault_is_reported_once_where_it_is(name: str, fault: Fault, read: Any) -> None:
    base = BASES[name]
    texture = read(fault.key or base.key, base.meter, {**base.voices, **fault.changes})
    report = check_texture(texture, load_ruleset(name))
    expected = [(fault.rule, fault.severity, fault.bar, fault.beat, fault.voices)]
    assert remarks(report) == expected, f"{fault.remark}\n{report.to_text(explain=False)}"


@pytest.mark.parametrize("name", list(BASES))
def test_every_rule_of_the_set_has_a_crafted_fault(name: str) -> None:
    used = {use.rule.id for use in load_ruleset(name).active}
    assert used == {fault.rule for fault in FAULTS[name]}


def test_every_rule_there_is_has_a_crafted_exercise() -> None:
    crafted = {fault.rule for faults in FAULTS.values() for fault in faults}
    # fixed and max-order: tests below; single-climax: tests/test_form.py
    assert crafted | {"fixed", "max-order", "single-climax"} == set(RULES)


# Rules used with parameters in a spec ---------------------------------------------------

def rule_use(entry: dict[str, Any]) -> RuleUse:
    return parse_use(YamlDoc({"rules": [entry]}, "test"), ("rules", 0))


def only(*uses: RuleUse, voices: tuple[str, ...] = SATB) -> RuleSet:
    return RuleSet("test", "", (len(voices),), voices, uses)


@pytest.mark.parametrize(("bar", "beat", "voice", "pitch"), [
    (1, 1, "soprano", "A4"),
    (1, 3.5, "soprano", "B4"),  # the passing tone
    (1, 3.5, "tenor", "C#4"),  # the suspension's resolution
    (2, 3, "bass", "D3"),  # inside the final whole note
])
def test_fixed_notes_that_are_there_pass(bar: int, beat: float, voice: str, pitch: str,
                                         read: Any) -> None:
    texture = read("D major", "4/4", CHORALE)
    entry = {"rule": "fixed", "voice": voice, "bar": bar, "beat": beat, "pitch": pitch}
    ruleset = load_ruleset("common-practice").with_overrides([rule_use(entry)])
    assert remarks(check_texture(texture, ruleset)) == []


@pytest.mark.parametrize(("bar", "beat", "voice", "pitch"), [
    (2, 1, "soprano", "F#4"),  # the soprano ends on D5
    (1, 3.5, "tenor", "D4"),  # the suspension has resolved by then
])
def test_a_fixed_note_that_is_not_there_is_reported(bar: int, beat: float, voice: str,
                                                    pitch: str, read: Any) -> None:
    texture = read("D major", "4/4", CHORALE)
    entry = {"rule": "fixed", "voice": voice, "bar": bar, "beat": beat, "pitch": pitch}
    ruleset = load_ruleset("common-practice").with_overrides([rule_use(entry)])
    assert remarks(check_texture(texture, ruleset)) == [("fixed", "error", bar, beat, (voice,))]


# Copying the corpus ----------------------------------------------------------------------

# "Aus meines Herzens Grunde" (BWV 269), its first ten notes moved from G to A major.
FROM_BWV_269 = "a4 a e' c'# | b a a b | c'# b2."
# The same tune with its seventh note changed: no run of nine notes is Bach's any more.
NOT_BACH = "a4 a e' c'# | b a f# b | c'# b2."


def test_a_melody_copied_from_a_chorale_breaks_max_order(read: Any) -> None:
    texture = read("A major", "4/4", {"soprano": FROM_BWV_269})
    ruleset = only(rule_use({"rule": "max-order", "voice": "soprano", "order": 8}),
                   voices=("soprano",))
    report = check_texture(texture, ruleset)
    assert remarks(report) == [("max-order", "error", 1, 1, ("soprano",))]
    assert "copies 10 consecutive notes from bwv269" in report.violations[0].message


def test_a_melody_of_ones_own_keeps_max_order(read: Any) -> None:
    texture = read("A major", "4/4", {"soprano": NOT_BACH})
    ruleset = only(rule_use({"rule": "max-order", "voice": "soprano", "order": 8}),
                   voices=("soprano",))
    assert remarks(check_texture(texture, ruleset)) == []


def test_max_order_counts_notes_not_chance(read: Any) -> None:
    """With a higher order the copied run is short enough to be allowed."""
    texture = read("A major", "4/4", {"soprano": FROM_BWV_269})
    ruleset = only(rule_use({"rule": "max-order", "voice": "soprano", "order": 10}),
                   voices=("soprano",))
    assert remarks(check_texture(texture, ruleset)) == []


def test_a_chromatic_step_within_one_voice_is_no_cross_relation(read: Any) -> None:
    """The tenor itself moves C4–C#4: the soprano's C5 before it is no cross relation."""
    texture = read("C major", "4/4", {"soprano": "c'4 e' f' f' | e'1",
                                      "alto": "g4 a a b | c'1", "tenor": "c4 c# d d | e1",
                                      "bass": "E4 AA D GG | C1"})
    assert remarks(check_texture(texture, load_ruleset("common-practice"))) == []
