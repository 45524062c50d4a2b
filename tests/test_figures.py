"""Surface figures: spelled as a harmony teacher would, read off Bach's chorales as he
wrote them, and written by the composer without breaking a single hard rule."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from composer.chords import Chord
from composer.grading.checker import check_texture
from composer.io.read import read_score
from composer.io.write import write_outputs
from composer.music import Key, Pitch, PitchClass
from composer.pipeline import compose, document
from composer.spec.load import load_spec
from composer.spec.rulesets import RuleSet
from composer.surface.choose import choose_surface
from composer.surface.counts import (
    SHAPE,
    StatisticalFigureScorer,
    chorale_grids,
    count_figures,
    load_counts,
)
from composer.surface.figures import (
    CELLS,
    FIGURES,
    LABELS,
    NAMES,
    STEP_OUT,
    FigurePlaces,
    classify_beats,
    realize,
)
from composer.texture import REST

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "constraints" / "examples"
COMPOSABLE = sorted(p.stem for p in EXAMPLES.glob("*.yaml") if p.stem != "unsatisfiable")
P = Pitch.parse


def chord(root: str, quality: str) -> Chord:
    return Chord(PitchClass.parse(root), quality)


def names(cells) -> list[str]:
    return [p.name for p in cells]


# Spelling -----------------------------------------------------------------------------

def test_passing_tone_fills_a_third_with_the_key_s_note():
    d_major = Key.parse("D major")
    assert names(realize("passing", None, P("F#4"), P("A4"), chord("D", "major"),
                         d_major)) == ["F#4", "F#4", "G4", "G4"]
    # Down a third over the dominant seventh: the passing note is the chord's own seventh.
    assert names(realize("passing", None, P("A4"), P("F#4"), chord("A", "dominant-seventh"),
                         d_major))[2] == "G4"
    assert realize("passing", None, P("F#4"), P("G4"), chord("D", "major"), d_major) is None


def test_minor_raises_sixth_and_seventh_going_up_and_not_coming_down():
    a_minor = Key.parse("A minor")
    up = realize("passing", None, P("E4"), P("G#4"), chord("E", "major"), a_minor)
    assert names(up)[2] == "F#4"  # E–F#–G#, never the augmented second F–G#
    down = realize("passing", None, P("A4"), P("F4"), chord("D", "minor"), a_minor)
    assert names(down)[2] == "G4"
    assert names(realize("lower-neighbour", None, P("A4"), P("A4"), chord("A", "minor"),
                         a_minor))[2] == "G#4"  # the leading tone returns up
    assert names(realize("run", None, P("E4"), P("A4"), chord("E", "major"),
                         a_minor)) == ["E4", "E4", "F#4", "G#4"]


def test_suspension_is_prepared_dissonant_and_falls_a_step():
    c_major = Key.parse("C major")
    g = chord("G", "major")
    assert names(realize("suspension", P("C5"), P("B4"), P("C5"), g, c_major)) == \
        ["C5", "C5", "B4", "B4"]  # the 4–3 over G
    assert names(realize("suspension", P("D5"), P("C5"), None, chord("C", "major"),
                         c_major))[0] == "D5"  # the 9–8 over C
    # A note the new chord contains is no dissonance to hold over: G5 over G7.
    assert realize("suspension", P("G5"), P("F5"), None, chord("G", "dominant-seventh"),
                   c_major) is None
    assert realize("suspension", P("D5"), P("B4"), None, g, c_major) is None  # a leap
    assert realize("suspension", None, P("B4"), None, g, c_major) is None  # no preparation


def test_skips_anticipation_and_turn():
    c_major, c = Key.parse("C major"), chord("C", "major")
    assert names(realize("skip-up", None, P("E4"), P("F4"), c, c_major))[2] == "G4"
    assert names(realize("skip-down", None, P("E4"), P("D4"), c, c_major))[2] == "C4"
    assert names(realize("anticipation", None, P("E4"), P("D4"), c, c_major))[2] == "D4"
    assert realize("anticipation", None, P("E4"), P("G4"), c, c_major) is None
    assert names(realize("turn", None, P("C5"), P("B4"), c, c_major)) == \
        ["C5", "C5", "B4", "A4"]


# Reading figures off a grid ------------------------------------------------------------

def _grid(prev: Pitch, cells, onsets, nxt: Pitch) -> tuple[np.ndarray, np.ndarray]:
    midi = [prev.midi] * CELLS + [p.midi for p in cells] + [nxt.midi] * CELLS
    onset = [True] + [False] * (CELLS - 1) + list(onsets) + [True] + [False] * (CELLS - 1)
    return np.array(midi)[:, None], np.array(onset)[:, None]


@pytest.mark.parametrize("key_name", ["C major", "A minor", "F# minor"])
def test_every_figure_the_composer_writes_is_read_back_as_itself(key_name):
    key = Key.parse(key_name)
    tonic = key.tonic
    chords = [Chord(tonic, key.mode), Chord(key.degree(5), "major")]
    starts = np.array([0, CELLS, 2 * CELLS])
    seen = set()
    for figure in FIGURES:
        for ch in chords:
            for degree in range(7):
                this = _spell(Pitch(60 + (0, 2, 4, 5, 7, 9, 11)[tonic.step] + tonic.alter,
                                    28 + tonic.step), degree, key)
                for step in (-3, -2, -1, 0, 1, 2, 3):
                    for prev_step in (1, 0):
                        nxt = _spell(this, step, key)
                        prev = _spell(this, prev_step, key)
                        cells = realize(figure.name, prev, this, nxt, ch, key)
                        if cells is None:
                            continue
                        midi, onset = _grid(prev, cells, figure.onsets, nxt)
                        got = classify_beats(midi, onset, starts)[1, 0]
                        assert LABELS[got] == figure.name, (figure.name, names(cells))
                        seen.add(figure.name)
    assert seen == set(NAMES)


def _spell(p: Pitch, steps: int, key: Key) -> Pitch:
    d = p.diatonic + steps
    tone = key.degree((d % 7 - key.tonic.step) % 7 + 1)
    return Pitch(12 * (d // 7 + 1) + (0, 2, 4, 5, 7, 9, 11)[d % 7] + tone.alter, d)


@pytest.fixture(scope="module")
def bwv269():
    return dict(chorale_grids(["bach/bwv269"]))["bach/bwv269"]


def test_bach_s_beats_read_as_a_teacher_would(bwv269):
    labels = classify_beats(bwv269.midi, bwv269.onset, bwv269.starts)
    at = {b: [LABELS[x] for x in labels[b]] for b in range(len(labels))}
    # The soprano's B4, held from the beat before over D major, falls to A4: a suspension.
    assert at[5] == ["suspension", "hold", "hold", "hold"]
    # Alto E4–D4–E4 and tenor C4–B3–C4 together: lower neighbours in parallel thirds.
    assert at[7] == ["hold", "lower-neighbour", "lower-neighbour", "hold"]
    # The tenor fills C4–A3 with B3.
    assert at[2][2] == "passing"
    assert np.isin(labels, [LABELS.index("hold")]).mean() > 0.6
    assert bwv269.to_cadence.min() == 0  # its fermatas are found


# Counts and scores -------------------------------------------------------------------

def test_committed_counts_are_the_corpus_s():
    counts, meta = load_counts()
    assert counts.shape == SHAPE and meta["command"] == "python -m composer.surface.counts"
    assert counts.sum() == 4 * meta["beats"]  # every voice's every beat, labelled once
    assert 0.4 < meta["moving_beats"] / meta["beats"] < 0.7
    # A few chorales counted again stay within the committed totals, cell by cell.
    some = [g for _, g in chorale_grids(["bach/bwv269", "bach/bwv347", "bach/bwv153.1"])]
    again, steps, beats, moving = count_figures(some)
    assert (again <= counts).all() and again.sum() == 4 * beats and 0 < moving < beats
    assert steps.sum() > 0


def test_committed_skeleton_steps_leave_the_test_chorales_out():
    """`linefit --skeleton` fits the model's bass between beats to these steps, and the
    style benchmark measures that bass under the test chorales' sopranos: so they count
    the model card's training chorales alone (the figure counts keep every chorale)."""
    from composer.neural.data import corpus_names, split_of

    _, meta = load_counts()
    named = set(meta["skeleton_chorales"])
    assert named == {n for n in corpus_names()
                     if split_of(n) == "train" and n not in meta["skipped"]}
    steps = np.array(meta["skeleton_steps"])
    # A fifth of the chorales' beats (the test and validation splits) are not counted.
    assert (steps.sum(axis=1) < 0.85 * meta["beats"]).all()
    some = [g for _, g in chorale_grids(["bach/bwv269", "bach/bwv347"])]
    assert (count_figures(some)[1] <= steps).all()


def test_scorer_learns_that_thirds_are_filled_and_steps_are_not():
    scorer = StatisticalFigureScorer.load()
    third, step = STEP_OUT.index("third up"), STEP_OUT.index("step up")

    def places(out: int) -> FigurePlaces:
        this = np.full(4, 60)
        nxt = this + {third: 4, step: 2}[out]
        return FigurePlaces(np.arange(4), np.full(4, REST), this, nxt, np.full(4, 1),
                            np.full(4, 4), np.full(4, 5))

    p_third = np.exp(scorer.log_scores(places(third)))
    p_step = np.exp(scorer.log_scores(places(step)))
    passing, hold = NAMES.index("passing"), NAMES.index("hold")
    assert np.allclose(p_third.sum(axis=1), 1) and p_third.shape == (4, len(FIGURES))
    # Over a third every voice's likeliest motion is to fill it; over a step it holds.
    assert (p_third.argsort(axis=1)[:, -2:] == [passing, hold]).all() or \
        (p_third.argmax(axis=1) == passing).any()
    assert (p_third[1:, passing] > 0.4).all() and p_third[3, passing] > 0.7  # the bass
    assert (p_step[:, hold] > 0.75).all() and (p_step[:, passing] < 0.02).all()


def test_scorer_moves_a_voice_as_often_as_bach_s_but_keeps_his_preferences():
    """Where few figures are offered (no thirds to fill), the scorer leans towards those
    there are, until the voice moves as often as Bach's; the order among figures at each
    place stays the counts' own."""
    scorer = StatisticalFigureScorer.load()
    rng = np.random.default_rng(0)
    k = 200
    this = np.full(k, 64)
    places = FigurePlaces(np.full(k, 2), this + rng.integers(-2, 3, k), this,
                          this + rng.choice([-2, -1, 0, 1, 2], k), rng.integers(0, 4, k),
                          np.full(k, 4), np.full(k, 5))
    offered = np.zeros((k, len(FIGURES)), bool)
    offered[:, [NAMES.index(n) for n in ("hold", "anticipation", "lower-neighbour",
                                         "skip-down")]] = True
    plain = scorer.log_scores(places)
    leaned = scorer.log_scores(replace(places, offered=offered))
    p = np.where(offered, np.exp(leaned), 0)
    p /= p.sum(axis=1, keepdims=True)
    moving = 1 - p[:, NAMES.index("hold")]
    assert abs(moving.mean() - scorer.rate[2]) < 1e-3  # the tenor's rate, cadences aside
    assert 0.2 < scorer.rate[2] < 0.35 and scorer.rate[0] < scorer.rate[3]
    others = [NAMES.index(n) for n in ("anticipation", "lower-neighbour", "skip-down")]
    assert (np.argsort(plain[:, others], axis=1) == np.argsort(leaned[:, others], axis=1)).all()


# Composing -----------------------------------------------------------------------------

def _hard_report(path: Path, spec):
    texture, _ = read_score(path, spec.voices)
    return check_texture(texture, RuleSet("spec", "", (4,), spec.voices, spec.hard), str(path))


def _moving_beats(piece) -> int:
    beat = piece.meter.beat_length
    return len({n.offset // beat for line in piece.lines for n in line
                if n.pitch is not None and n.offset % beat})


@pytest.mark.slow
@pytest.mark.parametrize("name", COMPOSABLE)
def test_figured_pieces_keep_every_hard_rule(name, tmp_path):
    """Seeds 0–9 of every example: written, read back, graded: not one hard violation."""
    spec = load_spec(EXAMPLES / f"{name}.yaml")
    moving = 0
    for seed in range(10):
        comp = compose(replace(spec, seed=seed))
        written = write_outputs(comp.piece, tmp_path / f"{name}-{seed}", document(comp))
        report = _hard_report(written[0], spec)
        assert report.violations == (), report.to_text()
        moving += _moving_beats(comp.piece)
    assert moving > 0


def test_figures_leave_the_harmony_as_the_checker_hears_it(tmp_path):
    spec = replace(load_spec(EXAMPLES / "minor-aaba.yaml"), seed=3)
    plain, figured = compose(replace(spec, surface="plain")), compose(spec)
    assert plain.voicings == figured.voicings
    assert _moving_beats(figured.piece) > 0 == _moving_beats(plain.piece)
    heard = []
    for comp, name in ((plain, "plain"), (figured, "figured")):
        path = write_outputs(comp.piece, tmp_path / name, {})[0]
        texture, _ = read_score(path)
        heard.append([s.chord for s in texture.slices if s.harmonic])
    assert heard[0] == heard[1]
    assert _hard_report(tmp_path / "figured.musicxml", spec).violations == ()


def test_a_suspension_is_the_note_before_held_over_the_beat():
    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    for seed in range(20):
        comp = compose(replace(spec, seed=seed, surface="plain"))
        surface = choose_surface(spec, comp.plan, comp.voicings, np.random.default_rng(seed))
        found = [(t, v) for t, row in enumerate(surface.figures) for v, f in enumerate(row)
                 if f == "suspension"]
        if found:
            break
    else:
        pytest.fail("no suspension in 20 seeds")
    t, v = found[0]
    slot, before = comp.plan.slots[t], comp.voicings[t - 1][v]
    held = next(n for n in surface.lines[v] if n.offset == comp.plan.slots[t - 1].offset)
    assert held.pitch == before and held.duration == slot.offset - held.offset + slot.duration / 2
    resolution = next(n for n in surface.lines[v] if n.offset > slot.offset)
    assert resolution.pitch == comp.voicings[t][v]
    assert before.diatonic - resolution.pitch.diatonic == 1
    assert before.pc not in slot.chord.pcs  # dissonant against the new chord


def test_plain_surface_writes_block_chords():
    spec = replace(load_spec(EXAMPLES / "waltz-3-4.yaml"), surface="plain")
    piece = compose(spec).piece
    assert _moving_beats(piece) == 0


def test_a_scorer_that_never_moves_gives_the_block_chords():
    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    comp = compose(replace(spec, surface="plain"))

    class Still:
        def log_scores(self, places: FigurePlaces) -> np.ndarray:
            out = np.full((len(places), len(FIGURES)), -1e6)
            out[:, NAMES.index("hold")] = 0.0
            return out

    surface = choose_surface(spec, comp.plan, comp.voicings, np.random.default_rng(0), Still())
    assert {f for row in surface.figures for f in row} == {"hold"}
    blocks = [tuple((n.offset, n.pitch) for n in line) for line in comp.piece.lines]
    assert [tuple((n.offset, n.pitch) for n in line) for line in surface.lines] == blocks


def test_spec_surface_is_checked(tmp_path):
    from composer.errors import SpecError

    text = (EXAMPLES / "waltz-3-4.yaml").read_text()
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(text + "surface: plain\n")
    bad.write_text(text + "surface: florid\n")
    assert load_spec(good).surface == "plain" and load_spec(EXAMPLES / "waltz-3-4.yaml").surface \
        == "figured"
    with pytest.raises(SpecError) as err:
        load_spec(bad)
    assert "surface" in str(err.value) and "florid" in str(err.value)
