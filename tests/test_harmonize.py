"""Harmonizing real melodies: Bach's chorale sopranos, with their quick notes, rests,
chromatic notes and modal endings, come out with every hard rule holding in the written
score (read back from disk and graded with the spec's own rules)."""

from __future__ import annotations

import copy
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from composer.corpus import parse_chorale, soprano_part
from composer.grading.checker import check_texture
from composer.io.read import read_score
from composer.io.write import write_outputs
from composer.pipeline import compose, document
from composer.planning.grammar import harmony_grammar
from composer.sample.scorer import StatisticalScorer
from composer.spec.load import load_spec
from composer.spec.rulesets import RuleSet, load_ruleset

SPEC = """\
key: {key}
meter: {meter}
bars: {bars}
melody:
  voice: soprano
  {melody}
rules:
  include: [common-practice]{extra}
seed: 0
"""


@pytest.fixture(scope="module")
def scorer():
    return StatisticalScorer.from_corpus(("soprano", "alto", "tenor", "bass"))


def _soprano_spec(name: str, folder: Path, key: str, bars: int, extra: str = "",
                  meter: str | None = None) -> Path:
    from music21 import stream

    part = soprano_part(parse_chorale(name))
    stream.Score([copy.deepcopy(part)]).write("musicxml", fp=str(folder / "soprano.musicxml"))
    meter = meter or part.recurse().getElementsByClass("TimeSignature")[0].ratioString
    path = folder / "spec.yaml"
    path.write_text(SPEC.format(key=key, meter=meter, bars=bars, extra=extra,
                                melody="file: soprano.musicxml"))
    return path


def _written(spec, scorer, folder: Path, seed: int = 0):
    comp = compose(replace(spec, seed=seed), scorer)
    written = write_outputs(comp.piece, folder / f"out{seed}", document(comp))
    texture, origin = read_score(written[0], spec.voices)
    report = check_texture(texture, RuleSet("spec", "", (4,), spec.voices, spec.hard),
                           str(written[0]))
    return comp, texture, origin, report


def test_quick_melody_notes_lead_the_voices(tmp_path, scorer):
    """BWV 36.8-2's soprano passes through eighth notes between beats; each is judged
    against the held chord and leads into the next beat as the checker hears it (no
    parallel fifths from the passing note, no seventh left rising)."""
    spec = load_spec(_soprano_spec("bach/bwv36.8-2", tmp_path, "B minor", 8))
    eighths = [n for n in spec.melody.notes if n.pitch is not None and n.duration < 1]
    assert len(eighths) >= 4
    for seed in (0, 1):
        comp, _, _, report = _written(spec, scorer, tmp_path, seed)
        assert report.violations == (), report.to_text()


def test_chromatic_notes_find_chords(tmp_path, scorer):
    """BWV 347 in A major has G natural and A sharp in its soprano: each is a tone of the
    chord under it (an applied dominant), and nothing breaks a hard rule."""
    spec = load_spec(_soprano_spec("bach/bwv347", tmp_path, "A major", 14))
    comp, _, _, report = _written(spec, scorer, tmp_path)
    assert report.violations == (), report.to_text()
    chromatic = [s for s in comp.plan.slots
                 if s.melody is not None and s.melody.pc not in {p.pc for p in
                                                                  _scale(spec.key)}]
    assert {s.melody.name for s in chromatic} >= {"G4", "A#4"}
    assert all(s.melody.pc in s.chord.pcs for s in chromatic)
    assert any("/" in s.numeral for s in chromatic)


def _scale(key):
    return [key.degree(d) for d in range(1, 8)]


def test_a_phrygian_ending_is_a_half_cadence_when_the_rules_say_so(tmp_path, scorer):
    """BWV 38.6 (A minor signature) closes F–E over the dominant. With the cadence rule's
    `end` set to half, the plan ends on V and the checker accepts it."""
    extra = "\n  hard:\n    - {rule: cadence, end: [half]}"
    spec = load_spec(_soprano_spec("bach/bwv38.6", tmp_path, "A minor", 13, extra))
    comp, _, _, report = _written(spec, scorer, tmp_path)
    assert comp.plan.phrases[-1].cadence == "half"
    assert comp.plan.slots[-1].numeral == "V"
    assert report.violations == (), report.to_text()


def test_an_open_end_asked_by_the_spec_may_close_on_no_cadence(tmp_path, scorer):
    """A tune that stops on its way back to its beginning (`a f d`, D minor's notes, in C
    major): with the cadence rule's `end` left open, the piece ends on a chord that holds
    the D, not on the tonic, the plan says it ends open, and the checker accepts it; with
    the default end the same piece is an error there."""
    path = tmp_path / "open.yaml"
    path.write_text(SPEC.format(key="C major", meter="4/4", bars=4,
                                extra="\n  hard:\n    - {rule: cadence, end: [open]}",
                                melody='tinynotation: "e4 f g a g f e d c e g c\'4 a f d2"'))
    spec = load_spec(path)
    comp, texture, _, report = _written(spec, scorer, tmp_path)
    assert report.violations == (), report.to_text()
    assert comp.plan.phrases[-1].cadence == "open"
    last = comp.plan.slots[-1].chord
    assert "D" in {t.name for t in last.tones} and last.root.name != "C", last
    default = RuleSet("default", "", (4,), spec.voices, load_ruleset("common-practice").uses)
    closes = [v for v in check_texture(texture, default).violations if v.rule == "cadence"]
    assert len(closes) == 1 and closes[0].message.startswith("the piece ends on"), closes


def test_where_the_melody_rests_every_voice_rests(tmp_path, scorer):
    """A rest in the melody is a rest in the piece, not three voices playing on."""
    path = tmp_path / "rest.yaml"
    path.write_text(SPEC.format(key="G major", meter="4/4", bars=4, extra="",
                                melody='tinynotation: "g4 a b c\'4 d\'2 r4 d\'4 '
                                       'e\'4 d\' c\'8 b8 a4 g1"'))
    spec = load_spec(path)
    comp, texture, origin, report = _written(spec, scorer, tmp_path)
    assert report.violations == (), report.to_text()
    rest_at = Fraction(6)
    assert all(any(ev.pitch is None and ev.offset <= rest_at < ev.offset + ev.duration
                   for ev in line) for line in origin.events)
    assert rest_at not in {s.offset for s in comp.plan.slots}


def test_unlisted_progressions_are_rare_but_possible():
    """The moves the grammar lists carry the weight; a progression it does not list (V–IV,
    a retrogression Bach writes now and then) is possible, so that a melody never lacks
    a harmony, but far less likely than a listed one."""
    for mode in ("major", "minor"):
        g = harmony_grammar(mode)
        logp = g.transition_logp()
        assert np.isfinite(logp).all()
        assert (np.exp(logp).sum(axis=1) == pytest.approx(1.0))
        listed = np.where(g.allowed, np.exp(logp), 0).sum(axis=1)
        moves = g.allowed.any(axis=1)  # (the major tonic closing a minor piece has none)
        assert (listed[moves] > 0.8).all() and listed[moves].mean() > 0.95, mode
    g = harmony_grammar("major")
    v, iv, i = g.index("V"), g.index("IV"), g.index("I")
    assert not g.allowed[v, iv] and g.allowed[iv, i]  # IV–I closes the plagal cadence
    assert g.transition_logp()[v, iv] < g.transition_logp()[v, i] - 2


def test_a_compound_meter_with_a_pickup_is_written_whole(tmp_path, scorer):
    """BWV 248.23-2 is in 12/8 with a pickup: its short last bar is filled with hidden
    rests whose values no single note shape shows, and they are split before writing."""
    spec = load_spec(_soprano_spec("bach/bwv248.23-2", tmp_path, "G major", 15))
    assert spec.meter.compound
    comp, texture, _, report = _written(spec, scorer, tmp_path)
    assert report.violations == (), report.to_text()
    assert len(texture.slices) >= len(comp.plan.slots)


def test_a_melody_that_changes_meter_keeps_its_bars(tmp_path, scorer):
    """BWV 304 moves from 4/4 to 3/4 at bar 9. The spec says so; the plan gives each 3/4
    bar three beats, and the written score changes its time signature where Bach's does,
    with every bar full and no hard rule broken."""
    from music21 import converter

    spec = load_spec(_soprano_spec("bach/bwv304", tmp_path, "D major", 25,
                                   meter="{1: 4/4, 9: 3/4}"))
    comp, _, _, report = _written(spec, scorer, tmp_path)
    assert report.violations == (), report.to_text()
    beats = {}
    for s in comp.plan.slots:
        if not s.cadence:
            beats.setdefault(s.position.bar, set()).add(s.position.beat)
    assert max(max(b) for bar, b in beats.items() if bar >= 9) == 3
    assert max(max(b) for bar, b in beats.items() if bar < 9) == 4
    score = converter.parse(tmp_path / "out0.musicxml")
    bars = list(score.parts[1].getElementsByClass("Measure"))
    assert [(m.number, m.timeSignature.ratioString) for m in bars if m.timeSignature] \
        == [(1, "4/4"), (9, "3/4")]
    assert [m.duration.quarterLength for m in bars[7:10]] == [4, 3, 3]


@pytest.mark.parametrize("name, key, bars, note, numerals, extra", [
    # D flat over the diminished seventh that leads to F, the seventh degree of G minor
    ("bach/bwv245.3", "G minor", 12, "Db5", {"viio7/VII"}, ""),
    # B flat in C major: the minor dominant, borrowed, on the way to D minor
    ("bach/bwv298", "C major", 10, "Bb4", {"v", "V7/IV"},
     "\n  hard:\n    - {rule: cadence, end: [half]}"),
])
def test_chromatic_notes_the_grammars_name(name, key, bars, note, numerals, extra, tmp_path,
                                           scorer):
    spec = load_spec(_soprano_spec(name, tmp_path, key, bars, extra))
    comp, _, _, report = _written(spec, scorer, tmp_path)
    assert report.violations == (), report.to_text()
    under = {s.numeral for s in comp.plan.slots if s.melody is not None and s.melody.name == note}
    assert under and under <= numerals
