"""The Python API: what the README shows runs as it is, and each call does what the
command line does."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import composer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "constraints" / "examples" / "harmonize-melody.yaml"


def _readme_python() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Using Partimento from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_script_runs_as_it_is(tmp_path):
    (tmp_path / "constraints").symlink_to(ROOT / "constraints")
    done = subprocess.run([sys.executable, "-c", _readme_python()], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["0", "1", "2", "3", "4"]
    for seed in range(5):
        written = json.loads((tmp_path / "out" / f"ode-{seed}.json").read_text())
        assert written["seed"] == seed and written["key"] == "D major"


def test_importing_the_package_loads_nothing_heavy():
    code = ("import sys, composer; print(sorted({m.split('.')[0] for m in sys.modules}"
            " & {'numpy', 'music21', 'torch', 'pydantic', 'constraint'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.strip() == "[]"


def test_a_spec_reads_from_a_file_or_from_its_text():
    from_file = composer.load_spec(EXAMPLE)
    from_text = composer.load_spec(EXAMPLE.read_text())
    assert from_text.key == from_file.key and from_text.melody.notes == from_file.melody.notes
    with pytest.raises(composer.SpecError, match="<spec>:1:6: key:"):
        composer.load_spec("key: H major\nbars: 4\n")


def test_compose_check_and_write_agree_with_the_command_line(tmp_path):
    from composer.cli import main

    spec = composer.load_spec(EXAMPLE)
    piece = composer.compose(spec, seed=2, model=None)
    assert list(piece.notes) == ["soprano", "alto", "tenor", "bass"]
    assert piece.to_json()["seed"] == 2 and piece.plan.slots
    assert type(piece.to_music21()).__name__ == "Score"
    api = composer.write(piece, tmp_path / "api")
    assert main(["compose", str(EXAMPLE), "-o", str(tmp_path / "cli"), "--seed", "2",
                 "--model", "none"]) == 0
    for mine in api:  # byte for byte the files the command writes
        assert mine.read_bytes() == (tmp_path / ("cli" + mine.suffix)).read_bytes()
    by_file = composer.check(api[0])
    by_score = composer.check(piece.to_music21())
    assert by_file.errors == by_score.errors == 0


def test_check_takes_the_rule_set_and_its_overrides():
    exercise = ROOT / "constraints" / "examples" / "exercise.musicxml"
    assert [v.rule for v in composer.check(exercise).violations] == ["no-parallel-fifths"]
    quiet = composer.check(exercise, overrides=["no-parallel-fifths.severity=off"])
    assert quiet.violations == ()


def test_check_reads_a_score_of_chords_as_its_voices():
    """A music21 score whose one part is a chorale's chords (tied where a voice holds
    across another's move) grades as the chorale itself: every voice's notes whole."""
    import music21

    chorale = music21.corpus.parse("bach/bwv269")
    found = [[(v.rule, v.bar, v.beat, v.voices) for v in report.violations]
             for report in (composer.check(chorale),
                            composer.check(music21.stream.Score([chorale.chordify()])))]
    assert found[0] and found[1] == found[0]


def test_an_impossible_spec_raises_with_its_conflict():
    spec = composer.load_spec(ROOT / "constraints" / "examples" / "unsatisfiable.yaml")
    with pytest.raises(composer.UnsatisfiableError) as err:
        composer.compose(spec, model=None)
    assert "voice-range" in err.value.conflicts


def test_plan_draws_the_harmony_alone():
    spec = composer.load_spec(EXAMPLE)
    assert composer.plan(spec, seed=0).to_text() == composer.plan(spec, seed=0).to_text()
    assert isinstance(composer.plan(spec), composer.Plan)


def test_compose_takes_a_path_or_text_and_a_mistaken_argument_says_what_it_takes(tmp_path):
    """What a Python developer tries first: a spec file's path (a str or a Path) or its
    text, straight to compose and plan; anything else a TypeError saying what is taken,
    never an AttributeError from inside; a file name that is no file, 'no such file'."""
    by_spec = composer.compose(composer.load_spec(EXAMPLE), seed=1, model=None)
    for given in (EXAMPLE, str(EXAMPLE), EXAMPLE.read_text()):
        made = composer.compose(given, seed=1, model=None)
        assert made.notes == by_spec.notes and made.plan.slots == by_spec.plan.slots
    assert composer.plan(str(EXAMPLE), seed=1, model=None).slots == by_spec.plan.slots
    with pytest.raises(composer.SpecError, match="missing.yaml: no such file"):
        composer.compose(str(tmp_path / "missing.yaml"))
    with pytest.raises(TypeError, match="composer.load_spec.*not dict"):
        composer.compose({"key": "C major", "bars": 4})
    with pytest.raises(TypeError, match="what composer.compose or composer.revise returns"):
        composer.write(by_spec.piece, tmp_path / "x")


def test_batch_takes_one_path_as_one_input(tmp_path):
    """A single path given as a string is one input, not a sequence of one-letter names
    (each '/' was read as the root folder and searched)."""
    rows = composer.batch(str(EXAMPLE), tmp_path / "out", jobs=1, model="none")
    assert [r.input for r in rows] == [str(EXAMPLE)] and rows[0].status == "composed"


def test_revise_and_check_take_a_composition_and_the_command_lines_texts():
    """A Composition straight from compose is what a developer holds: revise and check
    take it (before: a TypeError from a path function, an AttributeError); bars and
    voices as the command line writes them ('2-3', 'alto,tenor') mean what they mean
    there (before: 'alto' was read letter by letter)."""
    piece = composer.compose(EXAMPLE, seed=2, model=None)
    by_tuple = composer.revise(piece.to_json(), bars=(2, 3), voices=["alto", "tenor"],
                               seed=5, model=None)
    by_text = composer.revise(piece, bars="2-3", voices="alto,tenor", seed=5, model=None)
    assert by_text.to_json() == by_tuple.to_json()
    assert by_text.notes["soprano"] == piece.notes["soprano"]
    assert by_text.notes["bass"] == piece.notes["bass"]
    assert composer.check(piece).to_json() == composer.check(piece.to_music21()).to_json()
    with pytest.raises(composer.SpecError, match="'x' is not a bar range"):
        composer.revise(piece, bars="x", model=None)
    with pytest.raises(composer.SpecError, match="the first bar comes after the last"):
        composer.revise(piece, bars=(3, 2), model=None)
    with pytest.raises(TypeError, match="check takes a score file's path"):
        composer.check(3)
    with pytest.raises(ValueError, match="a seed is a whole number from 0"):
        composer.revise(piece, bars="2-3", seed=-1, model=None)
    with pytest.raises(ValueError, match="a seed is a whole number from 0"):
        composer.compose(EXAMPLE, seed=-1, model=None)
