"""The spec: what it accepts (meters that change included), and what a person can get
wrong in it — each mistake one line on stderr naming file, line, column and field, exit 2,
no traceback and no output file."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import pytest

from composer.errors import SpecError
from composer.music import Meter, Position
from composer.spec.load import load_spec

# Meters ------------------------------------------------------------------------------


def test_a_meter_with_changes_counts_its_bars_in_each_meter():
    meter = Meter.parse("4/4, 3/4 from bar 3, 4/4 from bar 5")
    assert [meter.bar_start(b) for b in (1, 2, 3, 4, 5, 6)] == [0, 4, 8, 11, 14, 18]
    assert meter.position(Fraction(8)) == Position(3, 1.0)  # the first 3/4 bar
    assert meter.position(Fraction(13)) == Position(4, 3.0)  # its last beat
    assert meter.position(Fraction(15)) == Position(5, 2.0)  # 4/4 again
    assert str(meter.at(Fraction(9))) == "3/4" and str(meter.in_bar(5)) == "4/4"
    assert Meter.parse(str(meter)) == meter  # what the JSON writes reads back
    assert meter.first == Meter(4, 4) and Meter.parse("3/4").changes == ()


def test_a_change_to_the_meter_in_force_is_no_change():
    assert Meter(4, 4).with_changes([(3, Meter(4, 4))]) == Meter(4, 4)


def test_a_change_to_half_note_beats_counts_half_notes():
    meter = Meter.parse("4/4, 3/2 from bar 2")
    assert meter.position(Fraction(4 + 2)) == Position(2, 2.0)
    assert meter.at(Fraction(5)).beat_length == 2


def _spec(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_spec_gives_the_meter_of_each_bar_where_one_begins(tmp_path):
    spec = load_spec(_spec(tmp_path, "key: C major\nmeter: {1: 4/4, 3: 3/4}\nbars: 4\n"))
    assert str(spec.meter) == "4/4, 3/4 from bar 3"
    # the same meter written as `str` writes it (as the JSON output holds it)
    again = load_spec(_spec(tmp_path, f"key: C major\nmeter: {spec.meter}\nbars: 4\n", "b.yaml"))
    assert again.meter == spec.meter


def test_a_melody_longer_than_bars_of_changing_meter_is_refused(tmp_path):
    # 4/4 then 3/4: two bars hold 7 quarters, not 8
    text = ("key: C major\nmeter: {1: 4/4, 2: 3/4}\nbars: 2\nmelody:\n  voice: soprano\n"
            "  tinynotation: \"c4 d e f g a b c'\"\n")
    with pytest.raises(SpecError, match="lasts 2.33 bars but the piece has 2"):
        load_spec(_spec(tmp_path, text))


# Bad input, through the command line --------------------------------------------------

_FIGURED = "key: C minor\nbars: 1\nmelody:\n  voice: bass\n  tinynotation: \"C4 AA- BB- C\"\n" \
    "  figures: \"{}\"\n"
BAD = {  # file: (its text, what the one line must say)
    "key.yaml": ("key: H major\nbars: 4\n", ["key.yaml:1:6:", "key:", "'H major'", "F# minor"]),
    "meter.yaml": ("key: C major\nmeter: 5/0\nbars: 4\n",
                   ["meter.yaml:2:8:", "meter:", "'5/0'", "power of two"]),
    "bars0.yaml": ("key: C major\nbars: 0\n", ["bars0.yaml:2:7:", "bars:", "(got 0)"]),
    "seed.yaml": ("key: C major\nbars: 4\nseed: -5\n",
                  ["seed.yaml:3:7:", "seed:", "greater than or equal to 0", "(got -5)"]),
    "cadence-section.yaml": ("key: C major\nbars: 8\nform: A B\ncadences: {C: half}\n",
                             ["cadence-section.yaml:4:15:", "cadences.C", "'C' is not a section",
                              "its sections: A, B; or end"]),
    "rules-list.yaml": ("key: C major\nbars: 4\nrules: [common-practice]\n",
                        ["rules-list.yaml:3:1:", "rules: should be a mapping of the fields"
                         " include, hard, soft, not a list",
                         "rules: {include: [common-practice]}"]),
    "melody-text.yaml": ("key: C major\nbars: 4\nmelody: \"c4 d e f\"\n",
                         ["melody-text.yaml:3:9:", "melody: should be a mapping", "tinynotation",
                          "not 'c4 d e f'"]),
    "form-bars.yaml": ("key: C major\nbars: 2\nform: A A B A\n",
                       ["form-bars.yaml:3:7:", "form:", "4 sections need at least 4 bars",
                        "the piece has 2", "form-bars.yaml:2:7"]),
    "form-name.yaml": ("key: C major\nbars: 8\nform: rondeau\n",
                       ["form-name.yaml:3:7:", "form:", "'rondeau' is not a form", "binary"]),
    "bars-huge.yaml": ("key: C major\nbars: 100000\n",
                       ["bars-huge.yaml:2:7:", "bars:", "256", "(got 100000)"]),
    "rule.yaml": ("key: C major\nbars: 4\nrules:\n  hard:\n    - {rule: no-paralel-fifths}\n",
                  ["rule.yaml:5:14:", "rules.hard[0].rule", "'no-parallel-fifths'"]),
    "param.yaml": ("key: C major\nbars: 4\nrules:\n  hard:\n    - {rule: max-leap, semitone: 3}\n",
                   ["param.yaml:5:24:", "rules.hard[0].semitone", "'semitones'"]),
    "pitch.yaml": ("key: C major\nbars: 4\nrules:\n  hard:\n"
                   "    - {rule: fixed, voice: soprano, bar: 1, beat: 1, pitch: H9}\n",
                   ["pitch.yaml:5:61:", "rules.hard[0].pitch", "'H9'", "F#5"]),
    "long.yaml": ("key: C major\nbars: 1\nmelody:\n  voice: soprano\n"
                  "  tinynotation: \"c4 d e f g a b c\"\n",
                  ["long.yaml:5:17:", "melody.tinynotation", "lasts 2 bars", "has 1"]),
    "tab.yaml": ("key: C major\nbars: 4\nrules:\n\thard: []\n",
                 ["tab.yaml:4:1:", "tab", "indent with spaces"]),
    "python.yaml": ("key: !!python/object/apply:os.system [echo hi]\nbars: 4\n",
                    ["python.yaml:1:6:", "key:", "!!python/object/apply:os.system",
                     "not accepted"]),
    "bomb.yaml": ("a: &a [x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\nkey: C major\n",
                  ["bomb.yaml:1:4:", "anchors and aliases"]),
    "no-file.yaml": ("key: C major\nbars: 4\nmelody:\n  voice: soprano\n  file: none.musicxml\n",
                     ["no-file.yaml:5:9:", "melody.file", "no such file 'none.musicxml'"]),
    "outside.yaml": ("key: C major\nbars: 4\nmelody:\n  voice: soprano\n"
                     "  file: ../outside.musicxml\n",
                     ["outside.yaml:5:9:", "melody.file", "outside the spec's folder"]),
    "linked.yaml": ("key: C major\nbars: 4\nmelody:\n  voice: soprano\n"
                    "  file: linked.musicxml\n",  # beside the spec, a link to the one above
                    ["linked.yaml:5:9:", "melody.file", "'linked.musicxml' links to",
                     "outside.musicxml, which lies outside the spec's folder"]),
    "meter-bar.yaml": ("key: C major\nmeter: {2: 3/4}\nbars: 4\n",
                       ["meter-bar.yaml:2:1:", "meter:", "starts at bar 1", "{1: 4/4, 15: 3/4}"]),
    "meter-in-map.yaml": ("key: C major\nmeter: {1: 4/4, 3: 7/0}\nbars: 4\n",
                          ["meter-in-map.yaml:2:1:", "meter:", "'7/0'", "power of two"]),
    "meter-late.yaml": ("key: C major\nmeter: {1: 4/4, 9: 3/4}\nbars: 4\n",
                        ["meter-late.yaml:2:1:", "meter:", "changes at bar 9", "has 4 bars"]),
    "meter-list.yaml": ("key: C major\nmeter: [4/4, 3/4]\nbars: 4\n",
                        ["meter-list.yaml:2:1:", "meter:", "such as 3/4", "{1: 4/4, 15: 3/4}"]),
    "tiny-token.yaml": ("key: C major\nbars: 4\nmelody:\n  voice: soprano\n"
                        "  tinynotation: \"c4 d Bb4 e\"\n",
                        ["tiny-token.yaml:5:23:", "melody.tinynotation", "'Bb4'", "b-4"]),
    "tiny-meter.yaml": ("key: C major\nmeter: 4/4\nbars: 4\nmelody:\n  voice: soprano\n"
                        "  tinynotation: \"c4 d e f 3/4 g2.\"\n",
                        ["tiny-meter.yaml:6:27:", "melody.tinynotation", "3/4 at bar 2",
                         "spec's meter, 4/4"]),
    "fixed-beat.yaml": ("key: C major\nbars: 8\nrules:\n  hard:\n"
                        "    - {rule: fixed, voice: soprano, bar: 3, beat: 5, pitch: G4}\n",
                        ["fixed-beat.yaml:5:51:", "rules.hard[0].beat", "beat 5 is not in bar 3",
                         "4 beats (4/4)"]),
    "fixed-bar.yaml": ("key: C major\nbars: 8\nrules:\n  hard:\n"
                       "    - {rule: fixed, voice: soprano, bar: 9, beat: 1, pitch: G4}\n",
                       ["fixed-bar.yaml:5:42:", "rules.hard[0].bar", "bar 9 is not in the piece",
                        "bars 1 to 8"]),
    "meter-words.yaml": ("key: C major\nmeter: 4/4, 3/4 at bar 3\nbars: 4\n",
                         ["meter-words.yaml:2:8:", "meter:", "'3/4 at bar 3'",
                          "'3/4 from bar 15'"]),
    "figure.yaml": (_FIGURED.format("- 6 x7 -"),
                    ["figure.yaml:6:17:", "melody.figures", "'x7' is not a figure", "6/5"]),
    "figures-few.yaml": (_FIGURED.format("- 6 -"),
                         ["figures-few.yaml:6:12:", "melody.figures",
                          "3 figures for the bass's 4 notes", "rests taking none"]),
    "figures-many.yaml": (_FIGURED.format("- 6 7 - 6/4"),
                          ["figures-many.yaml:6:21:", "melody.figures",
                           "5 figures for the bass's 4 notes"]),
    "figures-comment.yaml": (_FIGURED.replace('"{}"', "{}").format("6 6 #6 -"),
                             ["figures-comment.yaml:6:12:", "2 figures",
                              "quote the figures"]),
    "figures-soprano.yaml": (_FIGURED.replace("voice: bass", "voice: soprano")
                             .replace("C4 AA- BB- C", "c4 d e c").format("- 6 7 -"),
                             ["figures-soprano.yaml:6:12:", "melody.figures",
                              "not the soprano", "'voice: bass'"]),
    "figures-chord.yaml": (_FIGURED.format("- 6 b5 -"),
                           ["figures-chord.yaml:6:17:", "melody.figures", "names Bb D Fb",
                            "seventh chords"]),
    "figures-hold.yaml": (_FIGURED.format("_ 6 6 -"),
                          ["figures-hold.yaml:6:13:", "melody.figures", "give it a figure"]),
    "figures-within.yaml": (_FIGURED.replace("C4 AA- BB- C", "C8 D E4 F G").format("- 6 6 6 -"),
                            ["figures-within.yaml:6:15:", "melody.figures",
                             "changes the chord within a beat", "'_'"]),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    root = tmp_path_factory.mktemp("specs")
    (root / "outside.musicxml").write_text("<score-partwise/>")
    folder = root / "here"
    folder.mkdir()
    (folder / "linked.musicxml").symlink_to(root / "outside.musicxml")

    def run(name: str) -> tuple[subprocess.CompletedProcess, Path]:
        (folder / name).write_text(BAD[name][0])
        out = folder / f"out-{Path(name).stem}"
        cmd = [sys.executable, "-m", "composer", "compose", name, "-o", str(out),
               "--model", "none"]
        return subprocess.run(cmd, cwd=folder, capture_output=True, text=True,
                              timeout=120), out

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(BAD, pool.map(run, BAD), strict=True))


@pytest.mark.parametrize("name", list(BAD))
def test_a_bad_spec_is_one_located_line_and_exit_2(name, bad_runs):
    result, out = bad_runs[name]
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("partimento: error: "), result.stderr
    for words in BAD[name][1]:
        assert words in lines[0], (words, lines[0])
    assert not list(out.parent.glob(f"{out.name}.*")), "an output file was written"
