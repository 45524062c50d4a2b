"""The roman-numeral analysis of the Bach chorales, checked against what the scores say
(fermatas, sounding notes, music21's own roman numerals), and the harmony-grammar
weights that `partimento learn-grammar` counts from it."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from music21 import corpus, expressions, roman
from music21 import key as m21key

from composer.cli import main
from composer.content import content_dir
from composer.errors import ScoreError
from composer.music import Key
from composer.planning.analysis import analyse_chorale, phrase_cadence, relation
from composer.planning.grammar import WEIGHTS_FILE, harmony_grammar
from composer.texture import ROLE_CODES

COMMITTED = content_dir("grammars") / WEIGHTS_FILE


@pytest.fixture(scope="module")
def bwv269():
    return analyse_chorale("bach/bwv269")


def _soprano_fermatas(name: str) -> tuple[list[float], float]:
    """Offsets of the soprano's fermata notes and of its last note, read by music21."""
    score = corpus.parse(name)
    part = next(p for p in score.parts if (p.partName or "").startswith("Soprano"))
    line = part.stripTies().flatten()
    notes = list(line.notes)
    marked = [float(line.elementOffset(n)) for n in notes
              if any(isinstance(e, expressions.Fermata) for e in n.expressions)]
    return marked, float(line.elementOffset(notes[-1]))


def test_final_cadence_is_dominant_to_tonic_with_the_fermatas_of_the_score(bwv269):
    a = bwv269
    assert a.key == Key.parse("G major") and str(a.meter) == "3/4"
    marked, _ = _soprano_fermatas("bach/bwv269")
    assert [float(b.offset) for b in a.beats if b.fermata] == marked
    last = a.phrase_beats(len(a.phrases) - 1)
    assert last[-1].fermata and last[-1].beats_to_cadence == 0
    assert last[-1].numeral == "I" and last[-1].bass_role == ROLE_CODES["root"]
    assert last[-1].midi[-1] % 12 == 7  # G in the bass
    before = next(b for b in reversed(last[:-1]) if b.numeral != "I")
    assert before.numeral in ("V", "V7")
    assert phrase_cadence(a, len(a.phrases) - 1) == "authentic"
    # Every phrase ends on its fermata, counting down to it in beats.
    for first, end in a.phrases:
        assert a.beats[end].fermata and a.beats[end].beats_to_cadence == 0
        assert a.beats[first].beats_to_cadence > 0


@pytest.mark.parametrize("name", ["bach/bwv269", "bach/bwv374", "bach/bwv8.6",
                                  "bach/bwv248.23-2", "bach/bwv190.7"])
def test_phrases_end_at_the_soprano_fermatas(name):
    marked, last_note = _soprano_fermatas(name)
    a = analyse_chorale(name)
    ends_on_one = bool(marked) and marked[-1] == last_note
    assert len(a.phrases) == len(marked) + (0 if ends_on_one else 1)
    assert a.phrases[0][0] == 0 and a.phrases[-1][1] == len(a.beats) - 1
    assert all(b.phrase == p for p, (f, e) in enumerate(a.phrases) for b in a.beats[f:e + 1])


@pytest.mark.parametrize(("offset", "numeral", "m21_figure"), [(2.0, "IV", "IV6"),
                                                                (13.0, "V", "V6")])
def test_first_inversion_has_the_third_in_the_bass(bwv269, offset, numeral, m21_figure):
    beat = next(b for b in bwv269.beats if b.offset == offset)
    assert beat.numeral == numeral and beat.bass_role == ROLE_CODES["third"]
    chord = corpus.parse("bach/bwv269").chordify().flatten().getElementAtOrBefore(offset)
    assert {p.midi for p in chord.pitches} == set(beat.midi)
    assert roman.romanNumeralFromChord(chord, m21key.Key("G")).figure == m21_figure


def test_a_phrase_in_the_dominant_carries_its_leading_tone():
    a = analyse_chorale("bach/bwv347")  # A major; the second phrase cadences in E
    assert a.key == Key.parse("A major")
    run = a.phrase_beats(1)
    assert run[0].key == Key.parse("E major") and relation(run[0].key, a.key) == "V"
    assert any(m % 12 == 3 for b in run for m in b.midi)  # D#: foreign to A major
    assert phrase_cadence(a, 1) == "authentic"
    assert [b.numeral for b in run[-2:]] == ["V", "I"]


def test_unknown_chorale_is_one_clear_error(capsys):
    with pytest.raises(ScoreError, match="not a score in music21's corpus"):
        analyse_chorale("bach/bwv9999")
    assert main(["learn-grammar", "--chorale", "bwv9999", "-o", "x.json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["partimento: error: --chorale bwv9999: not one of the 371 chorales in"
                   " music21's corpus (did you mean 'bwv399'?)"]


def test_committed_weights_speak_of_the_chorales():
    doc = json.loads(COMMITTED.read_text())
    assert doc["counted"]["chorales"] == 371
    after_v = doc["major"]["V"]
    assert max(after_v, key=after_v.get) == "I"
    assert max(doc["minor"]["V"], key=doc["minor"]["V"].get) == "i"
    # Root position first, then first inversion, in every mode.
    for rows in doc["bass"].values():
        total = {r: sum(row[r] for row in rows.values()) for r in ROLE_CODES}
        assert total["root"] > total["third"] > total["fifth"]
    # Bach's phrases leave the home key most for the dominant in major, the relative
    # major in minor.
    major, minor = doc["modulations"]["major"], doc["modulations"]["minor"]
    assert max((r for r in major if r != "I"), key=major.get) == "V"
    assert max((r for r in minor if r != "i"), key=minor.get) == "III"
    # The grammar loader reads the transitions and ignores the other keys.
    grammar = harmony_grammar("major")
    v, i = grammar.index("V"), grammar.index("I")
    assert grammar.weights[v, i] == 1 + after_v["I"]


def test_learn_grammar_counts_what_the_analysis_says(tmp_path):
    names = ["bach/bwv269", "bach/bwv347", "bach/bwv374"]  # two major, one minor
    argv = ["learn-grammar", *(x for n in names for x in ("--chorale", n.split("/")[1]))]
    assert main([*argv, "-o", str(tmp_path / "a.json")]) == 0
    doc = json.loads((tmp_path / "a.json").read_text())
    transitions: dict = {"major": {}, "minor": {}}
    bass: dict = {"major": {}, "minor": {}}
    for name in names:
        a = analyse_chorale(name)
        for x, y in zip(a.beats, a.beats[1:], strict=False):
            if x.phrase == y.phrase and x.numeral and y.numeral:
                row = transitions[x.key.mode].setdefault(x.numeral, {})
                row[y.numeral] = row.get(y.numeral, 0) + 1
        for b in a.beats:
            if b.numeral and b.bass_role:
                role = list(ROLE_CODES)[b.bass_role - 1]
                row = bass[b.key.mode].setdefault(b.numeral, dict.fromkeys(ROLE_CODES, 0))
                row[role] += 1
    assert {m: doc[m] for m in ("major", "minor")} == transitions
    assert doc["bass"] == bass
    assert transitions["minor"]  # bwv374 is in D minor: both modes were counted
    # The command recorded in the file reproduces it byte for byte.
    recorded = shlex.split(doc["command"])
    assert recorded[0] == "partimento"
    assert main([*recorded[1:], "-o", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


@pytest.mark.slow
def test_committed_weights_are_what_the_command_writes(tmp_path: Path):
    """The whole corpus (about 30 s): the committed file is exactly reproducible."""
    assert main(["learn-grammar", "-o", str(tmp_path / "w.json")]) == 0
    assert (tmp_path / "w.json").read_text() == COMMITTED.read_text()


def test_a_seventh_chord_without_its_fifth_is_heard_as_the_diatonic_one():
    """C# E B in B minor lacks its fifth: it is the half-diminished ii7 (G natural), as the
    planner names it, unless G# sounds (the raised sixth of the rising melodic minor)."""
    from composer.grading.harmony import identify_chord
    from composer.music import PitchClass

    def heard(*names: str) -> str:
        notes = [(PitchClass.parse(n), 1.0) for n in names]
        return identify_chord(notes, notes[0][0], Key.parse("B minor")).quality

    assert heard("C#", "E", "B", "E") == "half-diminished-seventh"
    assert heard("C#", "E", "G#", "B") == "minor-seventh"
    assert heard("C#", "E", "G", "B") == "half-diminished-seventh"
