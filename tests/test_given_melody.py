"""A given melody is the user's: tunes no one here wrote — a tritone leap, an escape tone,
an appoggiatura, a chromatic passing tone, every common close, rests and long notes that
end phrases, a pickup off the beat — compose, and every composed voice obeys every hard
rule in the written score read back from disk; what the melody itself breaks is a warning
at its note."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.errors import UnsatisfiableError
from composer.grading.checker import check_file
from composer.io.write import write_outputs
from composer.pipeline import compose, document
from composer.sample.scorer import StatisticalScorer
from composer.spec.load import load_spec
from composer.spec.rulesets import load_ruleset


@pytest.fixture(scope="module")
def scorer():
    return StatisticalScorer.from_corpus(("soprano", "alto", "tenor", "bass"))


def _spec(folder: Path, tune: str, key: str = "C major", meter: str = "4/4", bars: int = 4,
          extra: str = "", hard: str = "") -> Path:
    path = folder / "tune.yaml"
    path.write_text(f"key: {key}\nmeter: {meter}\nbars: {bars}\n{extra}melody:\n"
                    f'  voice: soprano\n  tinynotation: "{tune}"\nrules:\n'
                    "  include: [common-practice]\n" + (f"  hard:\n    - {hard}\n" if hard else ""))
    return path


def _composed(path: Path, scorer, seed: int = 0):
    """The composition, and the written score's report under common-practice."""
    from dataclasses import replace

    comp = compose(replace(load_spec(path), seed=seed), scorer)
    written = write_outputs(comp.piece, path.parent / f"out{seed}", document(comp))
    return comp, check_file(written[0], load_ruleset("common-practice"))[0]


def _composed_voices_clean(report) -> None:
    broken = [v for v in report.violations if v.severity == "error" and v.voices != ("soprano",)]
    assert not broken, report.to_text()


def test_a_tritone_leap_in_the_melody_is_a_warning_at_its_note(tmp_path, scorer):
    comp, report = _composed(_spec(tmp_path, "c'4 b a f b2 c'2 d'4 c' b a g1"), scorer)
    leaps = [w for w in comp.warnings if w.rule == "no-augmented-melodic"]
    assert [(w.bar, w.voices) for w in leaps] == [(2, ("soprano",))]
    assert "augmented fourth (F4–B4)" in leaps[0].message
    _composed_voices_clean(report)


def test_a_rule_the_spec_writes_still_holds_for_the_melody(tmp_path, scorer):
    path = _spec(tmp_path, "c'4 b a f b2 c'2 d'4 c' b a g1", hard="{rule: no-augmented-melodic}")
    with pytest.raises(UnsatisfiableError) as err:
        compose(load_spec(path), scorer)
    assert err.value.conflicts == ("no-augmented-melodic",)
    assert f"{path}:10: rule no-augmented-melodic conflicts with" in str(err.value)
    assert "melody note F4" in str(err.value) and "melody note B4" in str(err.value)


@pytest.mark.parametrize("tune, pitch, kind", [
    ("c8 c#8 d4 e g c'2 b4 a g f e d c1", "C#4", "passing"),  # a chromatic passing tone
    ("e8 f8 d4 c e g c' g e f e d2 c1", "F4", "escape"),  # stepped into, left by leap
])
def test_a_treated_dissonance_in_the_melody_is_named_by_kind(tmp_path, scorer, tune, pitch,
                                                              kind):
    comp, report = _composed(_spec(tmp_path, tune), scorer)
    assert not [v for v in report.violations if v.severity == "error"], report.to_text()
    assert (pitch, kind) in {(n.pitch, n.kind) for n in report.non_chord_tones
                             if n.voice == "soprano"}
    assert not comp.warnings


def test_an_appoggiatura_struck_on_the_beat_is_harmonized(tmp_path, scorer):
    """D flat, leapt to from G4 on beat 4 and falling to C5, is a tone of no chord the C
    major grammar spells: the harmony sets it as an appoggiatura — a chord of which the
    note it falls to is a tone — and the checker names it so."""
    comp, report = _composed(_spec(tmp_path, "c4 e g d'-4 c'2 b2 c'1", bars=3), scorer)
    leaning = next(s for s in comp.plan.slots if s.melody is not None
                   and s.melody.name == "Db5")
    assert "a non-chord tone" in leaning.why
    resolved = next(s for s in comp.plan.slots if s.offset == leaning.offset + 1)
    assert resolved.melody.name == "C5" and 0 in resolved.chord.pcs
    assert ("Db5", "appoggiatura") in {(n.pitch, n.kind) for n in report.non_chord_tones}
    _composed_voices_clean(report)
    assert not comp.warnings


def test_the_strict_harmony_comes_first(tmp_path, scorer):
    """A plain tune gets no accented dissonance: each note on the beat is a chord tone."""
    comp, report = _composed(_spec(tmp_path, "e4 d c d e e e2 d4 d d2 e4 g g2"), scorer)
    for s in comp.plan.slots:
        assert s.melody is None or s.melody.pc in s.chord.pcs, s.why
    assert not [v for v in report.violations if v.severity == "error"], report.to_text()


@pytest.mark.parametrize("close", ["g2 c2", "d2 c2", "b2 c'2", "e2 c2", "f4 e d c"])
def test_every_common_close_keeps_an_authentic_or_plagal_cadence(tmp_path, scorer, close):
    """5–1 (whose root-position V–I makes octaves with the bass: the dominant may stand
    inverted), 2–1, 7–1, 3–1 (the tonic arrives early, or the 3 sounds against V) and
    4–3–2–1 close the piece with a cadence the checker accepts."""
    for seed in range(3):
        comp, report = _composed(_spec(tmp_path, "c4 e g e f a g2 e4 g f d " + close), scorer,
                                 seed)
        _composed_voices_clean(report)
        assert comp.plan.phrases[-1].cadence in ("authentic", "plagal")


def test_a_close_the_melody_cannot_take_is_explained(tmp_path, scorer):
    path = _spec(tmp_path, "c4 e g e f a g2 e4 g f d g2 c", extra="cadences: {end: half}\n")
    with pytest.raises(UnsatisfiableError) as err:
        compose(load_spec(path), scorer)
    message = str(err.value)
    assert "allows no half cadence in C major" in message and "authentic" in message


def test_rests_and_long_notes_end_the_phrases_of_a_tune_without_fermatas(tmp_path, scorer):
    tune = "c4 d e f g1 a4 g f e d2 r2 e4 f g a d2 c2"
    comp, report = _composed(_spec(tmp_path, tune, bars=6), scorer)
    ends = [p.reason for p in comp.plan.phrases[:-1]]
    assert ends == ["the melody's long G4 at bar 2 beat 1 ends a phrase",
                    "the rest after the melody's D4 at bar 4 beat 1 ends a phrase"]
    _composed_voices_clean(report)
    assert not any(n.fermata for line in comp.piece.lines for n in line)  # none written


def test_an_eighth_note_pickup_in_six_eight_is_harmonized_from_its_note(tmp_path, scorer):
    """Essen erk10 X:61 (6/8) begins with an eighth on the last eighth of its bar: the
    voices enter with it, and the checker hears a full chord there."""
    path = _spec(tmp_path, "r4. r4 d8 g4 b8 d'4 b8 a4 f#8 d4 r8 g4 a8 b4 g8 a4. d4.",
                 key="G major", meter="6/8", bars=5)
    comp, report = _composed(path, scorer)
    first = comp.plan.slots[0]
    assert (first.position.bar, first.duration) == (1, 0.5) and first.melody.name == "D4"
    assert not [v for v in report.violations if v.severity == "error"], report.to_text()


@pytest.mark.parametrize("tune", ["c'1", "r1 c'1", "c'1 r1"])
def test_a_melody_of_one_note_is_refused_in_a_cadence_s_words(tmp_path, scorer, tune):
    path = _spec(tmp_path, tune, bars=len(tune.split()))
    with pytest.raises(UnsatisfiableError) as err:
        compose(load_spec(path), scorer)
    assert err.value.conflicts == ("cadence",)
    assert "a single chord" in str(err.value) and "a cadence needs two" in str(err.value)


def test_one_chord_is_written_where_no_cadence_is_asked(tmp_path, scorer):
    path = _spec(tmp_path, "r1 c'1", bars=2, hard="{rule: cadence, severity: off}")
    comp, report = _composed(path, scorer)
    assert [str(n.pitch) for n in comp.notes["soprano"] if n.pitch] == ["C5"]
    assert {n.pitch.pc for v in ("alto", "tenor", "bass") for n in comp.notes[v]
            if n.pitch} <= {0, 4, 7}  # a C major triad under it, the only chord
    # (graded under common-practice, whose cadence rule the spec turned off)
    assert {v.rule for v in report.violations if v.severity == "error"} == {"cadence"}


def test_a_melody_of_rests_alone_is_a_located_spec_error(tmp_path):
    from composer.errors import SpecError

    path = _spec(tmp_path, "r1 r1", bars=2)
    with pytest.raises(SpecError, match="only rests"):
        load_spec(path)


def test_a_fixed_note_out_of_its_voice_is_refused_for_the_ranges_not_the_melody(tmp_path,
                                                                                scorer):
    """A fixed alto note three octaves up leaves the voices no room: the refusal says to
    move the fixed note, not a melody the spec does not have (`transpose: fit`)."""
    path = tmp_path / "fixed.yaml"
    path.write_text("key: C major\nbars: 4\nrules:\n  hard:\n"
                    "    - {rule: fixed, voice: alto, bar: 2, beat: 1, pitch: C7}\n")
    with pytest.raises(UnsatisfiableError) as found:
        compose(load_spec(path), scorer)
    assert "C7 (alto) at bar 2 beat 1" in str(found.value)
    assert "move the fixed note where its voice sings" in str(found.value)
    assert "transpose" not in str(found.value) and "melody" not in str(found.value)


def test_a_tune_written_below_its_voice_is_refused_for_the_ranges(tmp_path, scorer):
    """A soprano tune written an octave and more too low (C3 to C4) leaves the voices
    below it no room: the refusal names the ranges and how to move the tune, not the
    grammar, whose tonic chord holds the C; `transpose: fit` then composes it."""
    path = _spec(tmp_path, "C4 D E F G A B c", bars=2)
    with pytest.raises(UnsatisfiableError) as found:
        compose(load_spec(path), scorer)
    assert "ranges" in str(found.value) and "transpose: fit" in str(found.value)
    assert "grammar" not in str(found.value)
    path.write_text(path.read_text().replace("  voice: soprano\n",
                                             "  voice: soprano\n  transpose: fit\n"))
    assert compose(load_spec(path), scorer).spec.melody.notes[0].pitch.name == "C4"
