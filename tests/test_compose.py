"""Composing from the example specs: every hard rule holds in what is written, as an
independent `partimento check` of the MusicXML read back from disk confirms."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from composer.errors import UnsatisfiableError
from composer.grading.checker import check_file, check_texture
from composer.io.read import read_score
from composer.io.write import write_outputs
from composer.music import Position
from composer.pipeline import compose, document
from composer.spec.load import load_spec
from composer.spec.rulesets import RuleSet, load_ruleset

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "constraints" / "examples"
COMPOSABLE = ["chorale-d-major", "harmonize-melody", "minor-aaba", "waltz-3-4", "fixed-notes",
              "chorale-melody", "figured-bass"]


def _hard_report(path: Path, spec):
    """Grade the written file with the spec's hard rules, as the checker sees them."""
    texture, _ = read_score(path, spec.voices)
    ruleset = RuleSet("spec", "", (len(spec.voices),), spec.voices, spec.hard)
    return check_texture(texture, ruleset, str(path))


@pytest.mark.parametrize("name", COMPOSABLE)
@pytest.mark.parametrize("seed", [0, 1])
def test_examples_compose_without_hard_violations(name, seed, tmp_path):
    spec = load_spec(EXAMPLES / f"{name}.yaml")
    from dataclasses import replace

    spec = replace(spec, seed=seed)
    comp = compose(spec)
    written = write_outputs(comp.piece, tmp_path / name, document(comp))
    report = _hard_report(written[0], spec)
    assert report.violations == (), report.to_text()
    assert report.slices >= spec.bars  # the score really has the music


def test_melody_is_kept_note_for_note(tmp_path):
    spec = load_spec(EXAMPLES / "harmonize-melody.yaml")
    comp = compose(spec)
    written = write_outputs(comp.piece, tmp_path / "ode", document(comp))
    texture, origin = read_score(written[0])
    soprano = [ev.pitch for ev in origin.events[0] if ev.pitch is not None]
    assert soprano == [n.pitch for n in spec.melody.notes if n.pitch is not None]
    # Each phrase ends on its cadence: a half cadence on V in bar 4, I at the end.
    plan = comp.plan
    assert [s.numeral for s in plan.slots if s.cadence] == ["V", "I"]


def test_given_notes_and_ranges_hold():
    spec = load_spec(EXAMPLES / "fixed-notes.yaml")
    comp = compose(spec)
    first = comp.voicings[0]
    assert first[0].name == "A4"
    bar3 = next(v for s, v in zip(comp.plan.slots, comp.voicings, strict=True)
                if (s.position.bar, s.position.beat) == (3, 1.0))
    assert bar3[3].name == "D3"
    assert all(62 <= v[0].midi <= 76 for v in comp.voicings)  # soprano within D4–E5


def test_same_seed_same_bytes(tmp_path):
    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    a = write_outputs(compose(spec).piece, tmp_path / "a", {}, svg=True)
    b = write_outputs(compose(spec).piece, tmp_path / "b", {}, svg=True)
    for x, y in zip(a, b, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.suffix


def test_unsatisfiable_names_the_rule_and_the_note():
    spec = load_spec(EXAMPLES / "unsatisfiable.yaml")
    with pytest.raises(UnsatisfiableError) as err:
        compose(spec)
    message = str(err.value)
    assert "unsatisfiable.yaml:14: rule voice-range" in message
    assert "unsatisfiable.yaml:10: melody note F#5 (soprano) at bar 1 beat 3" in message


def test_compose_command_writes_all_or_nothing(tmp_path):
    out = tmp_path / "piece"
    run = [sys.executable, "-m", "composer", "compose"]
    ok = subprocess.run([*run, str(EXAMPLES / "waltz-3-4.yaml"), "-o", str(out)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["seed"] == 2 and data["slots"][-1]["numeral"] == "I"
    bad = subprocess.run([*run, str(EXAMPLES / "unsatisfiable.yaml"), "-o",
                          str(tmp_path / "none")], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("none*"))


def test_chorale_melody_fermatas_end_phrases_and_the_pickup_stays(tmp_path):
    spec = load_spec(EXAMPLES / "chorale-melody.yaml")
    fermatas = [n for n in spec.melody.notes if n.fermata]
    comp = compose(spec)
    plan = comp.plan
    # One phrase per fermata, each ending where its fermata note ends.
    assert len(plan.phrases) == len(fermatas)
    assert [p.end for p in plan.phrases[:-1]] == [n.offset + n.duration for n in fermatas[:-1]]
    # Each phrase's cadence chord sounds with its fermata note, and contains it.
    cadences = [s for s in plan.slots if s.cadence]
    assert [s.offset for s in cadences] == [n.offset for n in fermatas]
    assert all(n.pitch.pc in s.chord.pcs for s, n in zip(cadences, fermatas, strict=True))
    assert plan.phrases[-1].cadence == "authentic"
    # The pickup: the voices enter together on the melody's first note, beat 3 of bar 1.
    first = next(n for n in spec.melody.notes if n.pitch is not None)
    assert spec.meter.position(first.offset).beat == 3
    written = write_outputs(comp.piece, tmp_path / "chorale", document(comp))
    texture, origin = read_score(written[0])  # written as a short bar 0, no rests before
    assert texture.slices[0].position == Position(0, 3.0)
    assert all(line[0].pitch is not None and line[0].offset == 0 for line in origin.events)


PHRASE = "d4 e f# e d2 a2 b4 c'# d' c'# d'1 "  # four bars, from D4 up to D5


def _tune(folder: Path, tune: str, bars: int, head: str = "", hard: str = "") -> Path:
    """A D major spec harmonizing `tune` in the soprano under common-practice."""
    path = folder / "tune.yaml"
    path.write_text(f"key: D major\nmeter: 4/4\nbars: {bars}\n{head}melody:\n  voice: soprano\n"
                    f'  tinynotation: "{tune.strip()}"\nrules:\n  include: [common-practice]\n'
                    + (f"  hard:\n    - {hard}\n" if hard else ""))
    return path


def _names_only(path: Path, rule: str, notes: tuple[str, str]) -> str:
    """The explanation of an unsatisfiable spec, which names one rule and two notes."""
    with pytest.raises(UnsatisfiableError) as err:
        compose(load_spec(path))
    message = str(err.value)
    assert all(f"melody note {note}" in message for note in notes), message
    assert message.count("melody note") == 2 and message.count("rule ") == 1
    assert err.value.conflicts == (rule,)
    return message


def test_a_melody_that_breaks_a_rule_by_itself_is_named_at_once(tmp_path):
    """A leap the melody makes between two phrases, forbidden by the spec's own max-leap:
    no harmony can mend it, so the rule and the two notes are named, and nothing else."""
    path = _tune(tmp_path, PHRASE * 8, 32, hard="{rule: max-leap, semitones: 9}")
    message = _names_only(path, "max-leap", ("D5 at bar 4 beat 1", "D4 at bar 5 beat 1"))
    assert message.startswith(f"{path}:10: rule max-leap (semitones: 9) conflicts with")


def test_a_melody_within_its_own_rules_is_not_blamed(tmp_path):
    """The same tune under the default octave leap composes: the line check blames only
    what the pitches break."""
    assert len(compose(load_spec(_tune(tmp_path, PHRASE * 2, 8))).plan.slots) > 8


CLOSE_FALLING = PHRASE * 3 + "d4 e f# e d2 a2 b4 d' c'#2 a1 " + PHRASE * 4


def test_a_conflict_across_slots_is_named_minimally(tmp_path):
    """The first half closes C#5 → A4 under the authentic cadence the form asks for: the
    cadence's dominant puts the leading tone in the soprano, which the spec asks to rise.
    No slot is empty and the melody alone breaks no rule, so the explanation looks across
    slots."""
    path = _tune(tmp_path, CLOSE_FALLING, 32, head="form: A B\ncadences: {A: authentic}\n",
                 hard="{rule: leading-tone-resolves}")
    message = _names_only(path, "leading-tone-resolves",
                          ("C#5 at bar 15 beat 3", "A4 at bar 16 beat 1"))
    assert message.startswith(f"{path}:12: rule leading-tone-resolves conflicts with")


def test_a_given_melody_that_breaks_a_rule_of_its_own_line_composes_with_a_warning(tmp_path):
    """The same close without the spec asking: the melody is the user's, so the falling
    leading tone is kept and reported at its note, and every other voice obeys the rules."""
    path = _tune(tmp_path, CLOSE_FALLING, 32, head="form: A B\ncadences: {A: authentic}\n")
    comp = compose(load_spec(path))
    falling = [w for w in comp.warnings if w.rule == "leading-tone-resolves"]
    assert [(w.bar, w.voices) for w in falling] == [(15, ("soprano",))]
    assert "C#5" in falling[0].message
    written = write_outputs(comp.piece, tmp_path / "close", document(comp))
    report = check_file(written[0], load_ruleset("common-practice"))[0]
    assert not [v for v in report.violations
                if v.severity == "error" and v.voices != ("soprano",)]


def test_progress_reports_every_transition_in_order():
    spec = load_spec(EXAMPLES / "minor-aaba.yaml")
    seen = []
    comp = compose(spec, progress=lambda stage, done, total: seen.append((stage, done, total)))
    steps = [(done, total) for stage, done, total in seen if stage == "voicing"]
    assert steps == [(k, len(comp.plan.slots) - 1) for k in range(1, len(comp.plan.slots))]


def test_the_json_names_each_voices_figure_as_written(tmp_path):
    """OUT.json records the figure of every voice on every beat, and the written notes
    agree: a held voice strikes once in its beat, a figure of eighths twice or more, a
    suspension not on the beat."""
    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    comp = compose(spec)
    written = write_outputs(comp.piece, tmp_path / "piece", document(comp))
    data = json.loads(written[0].with_suffix(".json").read_text())
    _, origin = read_score(written[0], spec.voices)
    moving = 0
    for slot in data["slots"]:
        start, end = Fraction(slot["offset"]), Fraction(slot["offset"]) + Fraction(
            slot["duration"])
        assert set(slot["figures"]) == set(spec.voices)
        for v, voice in enumerate(spec.voices):
            figure = slot["figures"][voice]
            struck = [ev for ev in origin.events[v]
                      if ev.pitch is not None and start <= ev.offset < end]
            on_beat = any(ev.offset == start for ev in struck)
            if figure == "hold":
                assert len(struck) <= 1
            elif figure == "suspension":
                assert not on_beat and len(struck) == 1
            else:
                moving += 1
                assert len(struck) >= 2, (slot, voice, figure)
    assert moving > 0


def test_each_chord_of_the_plan_says_which_grammar_rule_put_it_there(capsys):
    """`plan --why`: the opening chord is the grammar's start, each cadence chord closes
    its phrase's cadence, an applied chord resolves to a chord its `resolutions` list,
    and a progression the grammar does not list is called rare."""
    import numpy as np

    from composer.cli import main
    from composer.planning.grammar import harmony_grammar
    from composer.planning.plan import grammar_plan

    spec = load_spec(EXAMPLES / "harmonize-melody.yaml")
    grammar = harmony_grammar(spec.key.mode)
    for seed in range(8):
        slots = grammar_plan(spec, np.random.default_rng(seed)).slots
        assert slots[0].why.startswith(f"opens on {slots[0].numeral}")
        for a, b in zip(slots, slots[1:], strict=False):
            i, j = grammar.index(a.numeral), grammar.index(b.numeral)
            assert ("does not list" in b.why) == (not grammar.allowed[i, j]), b.why
            if j in grammar.resolutions.get(i, ()):
                assert b.why.startswith(f"{a.numeral} resolves to {b.numeral}")
        for s in slots:
            assert (f"closes the {s.cadence} cadence" in s.why) == bool(s.cadence)
            assert f"holds the melody's {s.melody}" in s.why \
                or f"under the melody's {s.melody}, a non-chord tone" in s.why
    assert main(["plan", str(EXAMPLES / "harmonize-melody.yaml"), "--why"]) == 0
    out = capsys.readouterr().out
    assert "opens on I, the grammar's start" in out and "closes the half cadence" in out


@pytest.mark.parametrize("given", [(None, None, None, None), (None, None, None, "F#3"),
                                   ("A5", None, None, None), (None, "D4", None, "D3")])
def test_voicings_are_every_spacing_of_the_chord_tones(given):
    """The enumeration (python-constraint over the voices left free, shared between slots,
    the given notes joined afterwards) finds exactly the voicings a search of every
    combination of chord tones finds: each voice in range, none crossing, the spacing
    rule's spans kept."""
    from itertools import product

    from composer.chords import Chord
    from composer.music import Key, Pitch, PitchClass
    from composer.rules import Context
    from composer.solve.domains import SlotProblem, enumerate_voicings, voice_ranges, voice_spacing

    spec = load_spec(EXAMPLES / "chorale-d-major.yaml")
    key = Key(PitchClass.parse("D"), "major")
    ctx = Context(spec.voices, key, spec.meter)
    ranges, spacing = voice_ranges(spec.rules, ctx), voice_spacing(spec.rules, ctx)
    assert spacing == (12, 12, 19)  # common-practice's spacing rule
    chord = Chord(PitchClass.parse("D"), "major")  # D F# A
    fixed = tuple(Pitch.parse(g) if g else None for g in given)
    midi, diatonic = enumerate_voicings(SlotProblem(chord, key, fixed, ranges, spacing))
    tones = [[m for m in range(lo, hi + 1) if m % 12 in (2, 6, 9)] if f is None else [f.midi]
             for f, (lo, hi) in zip(fixed, ranges, strict=True)]
    expected = sorted(v for v in product(*tones)
                      if all(0 <= v[i] - v[i + 1] <= spacing[i] for i in range(3)))
    assert [tuple(int(m) for m in row) for row in midi] == expected
    assert len(expected) > 3
    # Each pitch keeps its spelling: F#, not Gb, one diatonic step above E.
    for row, steps in zip(midi, diatonic, strict=True):
        for m, d in zip(row, steps, strict=True):
            assert Pitch(int(m), int(d)).name[0] in "DFA"


@pytest.mark.parametrize("name", ["harmonize-melody.yaml", "chorale-melody.yaml"])
@pytest.mark.parametrize("table", [True, False])
def test_remembered_pair_verdicts_agree_with_judging_every_pair(name, table, monkeypatch):
    """The verdicts judged once per distinct pair of voicings, all of a run in one batch,
    are those of the run with every voicing offered (judged a few pairs of slots at a
    time, and compared with the frames' own verdicts in test_connect.py); the distinct
    pairs found in a table of the run's voicings or, where that would be too large, by
    sorting."""
    import numpy as np

    from composer.planning.chain import harmony_chain
    from composer.rules import Context
    from composer.solve import pairs
    from composer.solve.candidates import candidates, fixed_notes

    if not table:
        monkeypatch.setattr(pairs, "DENSE_PAIRS", 0)

    spec = load_spec(EXAMPLES / name)
    chain = harmony_chain(spec, fixed_notes(spec, Context(spec.voices, spec.key, spec.meter)))
    run = range(1, 9)  # (the first slot offers the tonic alone)
    every, offered = (candidates(spec, chain, None, slots=run, cap=cap) for cap in (None, 64))

    def values(c, t):
        return [(int(n), tuple(m)) for n, m in zip(c.blocks[t].numeral_of_values(),
                                                    c.frames[t].midi.tolist(), strict=True)]

    allowed = 0
    for t in range(len(run) - 1):
        assert len(offered.unary[t]) < len(every.unary[t])  # the cap leaves some out
        place = [{v: i for i, v in enumerate(values(every, s))} for s in (t, t + 1)]
        rows = [place[0][v] for v in values(offered, t)]
        cols = [place[1][v] for v in values(offered, t + 1)]
        afresh = np.isfinite(every.pair[t][np.ix_(rows, cols)])
        assert (np.isfinite(offered.pair[t]) == afresh).all()
        allowed += int(afresh.sum())
    assert allowed > 0


@pytest.mark.parametrize("name", ["chorale-d-major", "fixed-notes", "minor-aaba",
                                  "chorale-melody"])
def test_plan_prints_the_harmony_that_compose_writes(name, tmp_path, capsys):
    """`partimento plan` and `partimento compose` with the same spec and seed: the plan's
    chords are the written piece's, slot by slot (repeats and fixed notes included)."""
    import json

    from composer.cli import main

    spec = str(EXAMPLES / f"{name}.yaml")
    for seed in (0, 5):
        assert main(["plan", spec, "--seed", str(seed), "--why"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert main(["compose", spec, "--seed", str(seed), "-o", str(tmp_path / "x")]) == 0
        slots = json.loads((tmp_path / "x.json").read_text())["slots"]
        chords = [m[1] for line in printed
                  if (m := re.match(r"\s+\d+:[\d.½¼¾/]+\s+(\S+)", line))]
        assert chords == [s["numeral"] for s in slots]
