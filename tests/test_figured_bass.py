"""A figured bass realized in four parts: every figure of the shorthand over a short bass in
C major and in A minor, and two partimenti of eight bars, composed, written, read back
from disk and graded by `partimento check` under common-practice — no error, and on every
beat the chord the checker hears is the one the figure names (as a harmony teacher
names it: roman numeral and inversion)."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

from composer.errors import SpecError
from composer.grading.checker import check_file
from composer.io.write import write_outputs
from composer.music import SATB, Key, Pitch
from composer.pipeline import compose, document
from composer.sample.scorer import StatisticalScorer
from composer.spec.figures import parse_figure
from composer.spec.load import load_spec
from composer.spec.rulesets import load_ruleset

# name: (key, bass in TinyNotation, figures, the chord heard on each beat)
CASES = {
    "octave up (C)": ("C major", "C4 D E F G A B c G2 C2", "- 6/4/3 6 6/5 5/3 6 6/5 5 - -",
                      "I V43 I6 ii65 V IV6 V65 I V V I"),
    "octave down (C)": ("C major", "c4 B A G F E D C", "- 6 #6/4/3 - 4/2 6 4/3 -",
                        "I V6 II43 V V42 I6 V43 I"),
    "sixths (C)": ("C major", "C4 AA BB C", "- 6/3 6 -", "I IV6 V6 I"),
    "passing and cadential 6/4 (C)": ("C major", "C4 D E F G2 C2", "- 6/4 6 6 6/4-5/3 -",
                                      "I V64 I6 ii6 I64 V I"),
    "sevenths (C)": ("C major", "C4 D G F E F G C", "- 7 7 2 6 6/5 - -",
                     "I ii7 V7 V42 I6 ii65 V I"),
    "sharp alone (C)": ("C major", "C4 AA D G C", "- # - - -", "I VI ii V I"),
    "flat alone (C)": ("C major", "C4 F F C", "- - b -", "I IV iv I"),
    "flats on numbers (C)": ("C major", "C4 C F G C", "- b7 b6/b - -", "I I7 bII6 V I"),
    "naturals (C)": ("C major", "C4 E F G C", "- n6 - n -", "I I6 IV V I"),
    "suspensions (C)": ("C major", "C4 E2 F4 G2 C2", "- 7-6 6/5 4-3 9-8",
                        "I iii7 I6 ii65 V V I"),
    "5-6 (C)": ("C major", "C2 F4 G4 C1", "5-6 - - -", "I vi6 IV V I"),
    "passing bass (C)": ("C major", "C4 C8 D E4 F G2 C2", "- - _ 6 6/5 - -",
                         "I I I6 ii65 V V I"),
    "a chord the grammar lacks (C)": ("C major", "C4 AA GG C", "- #6 - -", "I #ivo6 V I"),
    "a sharp inside a figure (C)": ("C major", "C4 D C F G2 C2", "- 6/#4 6 - - -",
                                    "I #vo64 vi6 IV V V I"),
    "octave up (a)": ("A minor", "AA4 BB C D E F# G# A E2 AA2",
                      "- #6/4/3 6 6/5 # 6 6/5 - # -", "i V43 i6 iiø65 V IV6 V65 i V V i"),
    "octave down (a)": ("A minor", "A4 G F E D C BB AA", "- n6 6 # #4/2 6 #6/4/3 -",
                        "i v6 iv6 V V42 i6 V43 i"),
    "sixths and cadential 6/4 (a)": ("A minor", "C4 D E2 AA2", "6 6/3 6/4-5/#3 -",
                                     "i6 iio6 i64 V i"),
    "a 4/3 to the relative major (a)": ("A minor", "AA4 D E E AA1", "5 4/3 6 # 5/3",
                                        "i VII43 III6 V i"),
    "passing 6/4 (a)": ("A minor", "AA4 D E F E2 AA2", "- - 6/4 6 # -",
                        "i iv i64 iv6 V V i"),
    "sevenths (a)": ("A minor", "AA4 D E E AA AA GG# AA", "- 7 # 7/# - 2 6/5 -",
                     "i iv7 V V7 i iiø42 V65 i"),
    "flat on a number (a)": ("A minor", "AA4 D E AA", "- b6 # -", "i bII6 V i"),
    "flat alone (a)": ("A minor", "AA4 GG AA D E2 AA2", "- b # - # -", "i vii I iv V V i"),
    "natural alone (a)": ("A minor", "AA4 E D E AA1", "- n 6 # -", "i v iio6 V i"),
    "suspensions (a)": ("A minor", "AA4 C2 D4 E2 AA2", "- 7-6 6/5 4-#3 9-8",
                        "i IIIM7 i6 iiø65 V V i"),
    "5-6 (a)": ("A minor", "AA2 D4 E4 AA1", "5-6 - # -", "i VI6 iv V i"),
    "passing bass (a)": ("A minor", "AA4 AA8 BB C4 D E2 AA2", "- - _ 6 6/5 # -",
                         "i i i6 iiø65 V V i"),
    "augmented sixths (C)": ("C major", "C4 AA- G2 C4 AA- G2 C1", "- #6 - - #6/4/3 - -",
                             "I It+6 V V I Fr+6 V V I"),
    "augmented sixths (a)": ("A minor", "AA4 F E2 AA4 F E2 AA4 F E2 AA1",
                             "- #6 # - #6/4/3 # - #6/5 6/4-# -",
                             "i It+6 V V i Fr+6 V V i Ger+6 i64 V i"),
    "natural that raises (c)": ("C minor", "C4 D E- F G2 C2", "- n6/4/3 6 6/5 n -",
                                "i V43 i6 iiø65 V V i"),
}
# Two partimenti of eight bars: the rule of the octave up and down, a Monte (each step
# tonicized by its 6/5), and a cadence through the 6/4.
PARTIMENTI = {
    "C major": ("C4 D E F G A B c c B A G F E D C E F F# G G# A F2 G2 G2 C1",
                "- 6/4/3 6 6/5 - 6 6/5 - - 6 #6/4/3 - 4/2 6 4/3 - 6/b5 - 6/5 - 6/5 - 6/5"
                " 6/4-5/3 7 -",
                "I V43 I6 ii65 V IV6 V65 I I V6 II43 V V42 I6 V43 I I65 IV II65 V III65 vi"
                " ii65 ii65 I64 V V7 V7 I"),
    "A minor": ("AA4 BB C D E F# G# A A G F E D C BB AA F E D# E C AA D E F D E2 AA1",
                "- #6/4/3 6 6/5 # 6 6/5 - - n6 6 # #4/2 6 #6/4/3 - 6 # 6/5/# # 6 - 6/5 #"
                " 6 6/5 6/4-# -",
                "i V43 i6 iiø65 V IV6 V65 i i v6 iv6 V V42 i6 V43 i iv6 V II65 V i6 i iiø65"
                " V iv6 iiø65 i64 V i"),
}


@pytest.fixture(scope="module")
def scorer() -> StatisticalScorer:
    return StatisticalScorer.from_corpus(SATB)


@pytest.fixture(scope="module")
def common_practice():
    return load_ruleset("common-practice")


def _spec(folder: Path, key: str, bass: str, figures: str, bars: int | None = None):
    """A spec of `bars` bars, or of as many as the bass fills (4/4)."""
    path = folder / "figured.yaml"

    def written(length: int):
        path.write_text(f"key: {key}\nbars: {length}\nmelody:\n  voice: bass\n"
                        f"  tinynotation: \"{bass}\"\n  figures: \"{figures}\"\n")
        return load_spec(path)

    if bars is None:
        bars = math.ceil(sum(n.duration for n in written(16).melody.notes) / 4)
    return written(bars)


def _heard(spec, scorer, ruleset, folder: Path) -> tuple[list[str], list[str]]:
    """(the errors the checker finds in the written score, the chord it hears on each
    beat of the plan), the score composed, written and read back from disk."""
    comp = compose(spec, scorer)
    written = write_outputs(comp.piece, folder / "out", document(comp))
    report, texture, _ = check_file(written[0], ruleset)
    heard = {}
    for s in texture.slices:
        if s.harmonic and s.chord is not None:
            bass = min(p for p in s.voicing.pitches if p is not None)
            heard[s.offset] = s.chord.roman(texture.key, bass.pc)
    errors = [f"{v.bar}:{v.beat} {v.rule} {v.message}" for v in report.violations
              if v.severity == "error"]
    return errors, [heard.get(float(s.offset), "?") for s in comp.plan.slots]


@pytest.mark.parametrize("name", list(CASES))
def test_each_figure_is_realized_as_its_chord(name, scorer, common_practice, tmp_path):
    key, bass, figures, chords = CASES[name]
    errors, heard = _heard(_spec(tmp_path, key, bass, figures), scorer, common_practice,
                           tmp_path)
    assert errors == []
    assert heard == chords.split()


def _shape(token: str) -> str:
    """A figure without its accidentals; an accidental alone stands for the 3."""
    return "/".join(re.sub("[#bn]", "", c) or "3" for c in token.split("/")) \
        if token not in ("-", "_") else token


SHORTHAND = ("-", "5", "5/3", "6", "6/3", "6/4", "7", "6/5", "4/3", "6/4/3", "4/2", "2", "4-3",
             "7-6", "9-8", "6/4-5/3", "5-6", "_")  # every spelling the README's table gives


@pytest.mark.parametrize("key", ["C major", "A minor"])
def test_every_figure_of_the_shorthand_is_tried_in_both_keys(key):
    tokens = [t for k, _, figures, _ in CASES.values() if k == key for t in figures.split()]
    shapes = {"-".join(_shape(s) for s in t.split("-")) if t != "-" else t for t in tokens}
    assert set(SHORTHAND) <= shapes, set(SHORTHAND) - shapes
    for accidental in "#bn":  # alone and on a number
        assert any(t == accidental for t in re.split("[/-]", " ".join(tokens).replace(" ", "/")))
        assert any(re.fullmatch(f"{accidental}[2-9]", c)
                   for t in tokens for c in re.split("[/-]", t))


@pytest.mark.parametrize("key", list(PARTIMENTI))
def test_a_partimento_composes_cleanly_for_several_seeds(key, scorer, common_practice,
                                                         tmp_path):
    bass, figures, chords = PARTIMENTI[key]
    spec = _spec(tmp_path, key, bass, figures, bars=8)
    for seed in range(4):
        errors, heard = _heard(replace(spec, seed=seed), scorer, common_practice, tmp_path)
        assert errors == [], seed
        assert heard == chords.split(), seed


ABBREVIATIONS = [("-", "5/3"), ("5", "5/3"), ("6", "6/3"), ("7", "7/5/3"), ("6/5", "6/5/3"),
                 ("4/3", "6/4/3"), ("2", "6/4/2"), ("4/2", "6/4/2"), ("#", "5/#3"),
                 ("#6", "#6/3"), ("3/5", "5/3"), ("♯6", "#6")]


@pytest.mark.parametrize("short, full", ABBREVIATIONS)
def test_a_figure_stands_for_the_intervals_a_continuo_player_adds(short, full):
    key, bass = Key.parse("C minor"), Pitch.parse("Ab2").pitch_class
    assert parse_figure(short).stages[0].tones(bass, key) == \
        parse_figure(full).stages[0].tones(bass, key)


NAMED = [  # key, bass, figure, the notes above the bass (the bass first)
    ("C major", "E3", "6", "E G C"), ("C major", "F#3", "6/5", "F# A C D"),
    ("C major", "F3", "4/2", "F G B D"), ("A minor", "E3", "-", "E G B"),
    ("A minor", "E3", "#", "E G# B"), ("A minor", "D3", "b6", "D F Bb"),
    ("C minor", "G2", "n", "G B D"), ("C minor", "G2", "7/n", "G B D F"),
    ("Bb major", "D3", "#6", "D F B"), ("E major", "D#3", "6/5", "D# F# A B"),
    ("C minor", "Ab2", "#6", "Ab C F#"), ("C minor", "Ab2", "#6/5", "Ab C Eb F#"),
    ("C major", "Ab2", "#6/4/3", "Ab C D F#"), ("C major", "C3", "b5", "C E Gb"),
]


@pytest.mark.parametrize("key, bass, figure, notes", NAMED)
def test_each_figure_names_the_notes_of_the_key_altered_as_written(key, bass, figure, notes):
    stage = parse_figure(figure).stages[0]
    low = Pitch.parse(bass).pitch_class
    assert {t.name for t in stage.tones(low, Key.parse(key))} == set(notes.split())


def test_a_figure_that_names_no_chord_is_refused_at_its_figure(tmp_path):
    with pytest.raises(SpecError) as err:
        _spec(tmp_path, "C major", "C4 F G C", "- b5 - -", bars=1)
    assert err.value.field == "melody.figures"
    assert (err.value.location.line, err.value.location.column) == (6, 15)
    assert "names F A Cb" in err.value.message


@pytest.mark.parametrize("figure, label", [("#6", "It+6"), ("#6/4/3", "Fr+6"),
                                           ("#6/5", "Ger+6")])
def test_an_augmented_sixth_is_heard_only_over_its_own_bass(figure, label):
    """The checker hears A-flat C F-sharp as the Italian sixth over the A-flat, and the
    same notes over another bass as no augmented sixth."""
    from composer.grading.harmony import identify_chord

    key, bass = Key.parse("C minor"), Pitch.parse("Ab2").pitch_class
    tones = parse_figure(figure).stages[0].tones(bass, key)
    notes = [(t, 1.0) for t in tones]
    assert identify_chord(notes, bass, key).roman(key) == label
    for other in tones - {bass}:
        assert identify_chord(notes, other, key).roman(key) != label


def test_a_figured_bass_in_musicxml_is_read_and_realized(scorer, common_practice, tmp_path):
    """The figures of a MusicXML file's <figured-bass> elements (which music21 skips),
    written with music21 and the figures put into the XML, sharps as <prefix>."""
    import music21

    key, bass, figures, chords = CASES["octave up (a)"]
    part = music21.converter.parse(f"tinyNotation: 4/4 {bass}")
    written = Path(part.write("musicxml", fp=str(tmp_path / "bass.musicxml")))
    stack = iter(figures.split())

    def figured(note: re.Match) -> str:
        token = next(stack)
        numbers = "".join(
            "<figure>" + ("<prefix>sharp</prefix>" if c.startswith("#") else "")
            + (f"<figure-number>{c.lstrip('#')}</figure-number>" if c.lstrip("#") else "")
            + "</figure>" for c in token.split("/")) if token != "-" else ""
        return f"<figured-bass>{numbers}</figured-bass>{note.group(0)}"

    text = re.sub(r"<note\b.*?</note>", figured, written.read_text(), flags=re.S)
    written.write_text(text)
    assert text.count("<figured-bass>") == len(figures.split())
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(f"key: {key}\nbars: 3\nmelody: {{voice: bass, file: bass.musicxml}}\n")
    spec = load_spec(spec_path)
    assert [f.text for f in spec.melody.figures] == \
        [t if t != "-" else "5/3" for t in figures.split()]
    errors, heard = _heard(spec, scorer, common_practice, tmp_path)
    assert errors == [] and heard == chords.split()


def test_a_figured_bass_is_phrased_at_its_fermatas_only(tmp_path):
    """A melody without fermatas is phrased at its long notes; a figured bass is not:
    the partimento's half note F (a 6/5, inverted) ends no phrase, and a fermata does."""
    from composer.planning.phrases import phrase_ends

    bass, figures, _ = PARTIMENTI["C major"]
    spec = _spec(tmp_path, "C major", bass, figures, bars=8)
    assert phrase_ends(spec.melody, spec.meter) == []
    assert phrase_ends(replace(spec.melody, figures=()), spec.meter) != []  # as a melody
    notes = list(spec.melody.notes)
    k = next(i for i, n in enumerate(notes) if n.duration == 2)  # the first half note
    notes[k] = replace(notes[k], fermata=True)
    ends = phrase_ends(replace(spec.melody, notes=tuple(notes)), spec.meter)
    assert [at for at, _ in ends] == [notes[k].offset + notes[k].duration]


def test_the_final_tonic_struck_again_and_again_closes_where_it_arrives(tmp_path):
    """The figures put the final tonic on the last five beats: the cadence is the V–I
    where it arrives, named authentic, and every beat after it holds the tonic."""
    import numpy as np

    from composer.planning.plan import grammar_plan

    spec = _spec(tmp_path, "C major", "C4 F G C C C C C", "- - - - - - - -", bars=2)
    made = grammar_plan(spec, np.random.default_rng(0))
    assert made.phrases[-1].cadence == "authentic"
    assert [s.numeral for s in made.slots] == ["I", "IV", "V", "I", "I", "I", "I", "I"]
    assert "the cadence's first chord" in made.slots[2].why


def test_a_transposed_figured_bass_keeps_its_figures(scorer, common_practice, tmp_path):
    """`transpose` moves the bass and the key together: the figures name the same
    degrees, and the checker hears the same roman numerals in the new key."""
    key, bass, figures, chords = CASES["octave up (C)"]
    path = tmp_path / "figured.yaml"
    path.write_text(f"key: {key}\nbars: 3\nmelody:\n  voice: bass\n  transpose: -M2\n"
                    f"  tinynotation: \"{bass}\"\n  figures: \"{figures}\"\n")
    spec = load_spec(path)
    assert spec.key == Key.parse("Bb major")
    assert spec.melody.notes[0].pitch == Pitch.parse("Bb2")
    assert [f.text for f in spec.melody.figures if f is not None] == figures.split()
    errors, heard = _heard(spec, scorer, common_practice, tmp_path)
    assert errors == [] and heard == chords.split()
