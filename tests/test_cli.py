"""`partimento check` as a user runs it: real scores, real subprocesses, exit codes.

Scores are a Bach chorale from music21's corpus written out as MusicXML and MIDI, and a
small hand-written four-part exercise in ABC with one error (parallel fifths between
soprano and bass); bad input is the real thing (a truncated MusicXML, random bytes…).
The subprocesses of one group run side by side to keep the suite quick.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from composer.cli import main

# G major, 4/4: I ii | V I. Soprano D5→E5 over bass G3→A3 are parallel fifths (twelfths).
EXERCISE_ABC = """\
X:1
T:Exercise in G
M:4/4
L:1/4
K:G
V:1
d2 e2 | d2 B2 |]
V:2
B2 c2 | A2 G2 |]
V:3
G2 E2 | ^F2 G2 |]
V:4 clef=bass
G,2 A,2 | D,2 G,2 |]
"""
FIFTHS = ("error[no-parallel-fifths] soprano–bass: perfect twelfth D5/G3 moves to perfect"
          " twelfth E5/A3 in parallel")

# Two-voice first species, note against note.
SPECIES_ABC = """\
X:2
T:First species
M:4/4
L:1/2
K:G
V:1
d2 | c2 | B2 | c2 | g2 |]
V:2 clef=bass
G,2 | A,2 | G,2 | A,2 | G,2 |]
"""

LINE = re.compile(
    r"^(?P<file>.+):(?P<bar>\d+):(?P<beat>\d+(\.\d+)?): (?P<severity>error|warning)"
    r"\[(?P<rule>[a-z0-9-]+)\] (?P<voices>[a-z0-9 ]+(–[a-z0-9 ]+)*): (?P<message>\S.*)$"
)


def partimento(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the command line in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "composer", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def run_all(*commands: tuple) -> list[subprocess.CompletedProcess]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda c: partimento(*c), commands))


@pytest.fixture(scope="module")
def scores(tmp_path_factory) -> dict[str, Path]:
    import music21

    d = tmp_path_factory.mktemp("scores")
    chorale = music21.corpus.parse("bach/bwv269")
    out = {"chorale.musicxml": d / "bwv269.musicxml", "chorale.mid": d / "bwv269.mid"}
    chorale.write("musicxml", fp=out["chorale.musicxml"])
    chorale.write("midi", fp=out["chorale.mid"])
    trio = music21.stream.Score([chorale.parts[0], chorale.parts[1], chorale.parts[3]])
    out["trio"] = d / "trio.musicxml"
    trio.write("musicxml", fp=out["trio"])
    # the chorale as a piano MIDI file writes it: its voices as chords in one track
    out["piano"] = d / "piano.mid"
    music21.stream.Score([chorale.chordify()]).write("midi", fp=out["piano"])
    # and as a grand staff's two tracks, soprano and alto in one, tenor and bass in the other
    out["grand"] = d / "grand.mid"
    grand = music21.stream.Score()
    for upper, lower in ((0, 1), (2, 3)):
        grand.insert(0, music21.stream.Score([chorale.parts[upper],
                                              chorale.parts[lower]]).chordify())
    grand.write("midi", fp=out["grand"])
    # the same two shapes as notation software exports them: the voices' own notes, each
    # with its own length, merged into the tracks of one staff (or one piano)
    out["piano track"] = d / "piano-track.mid"
    merge_tracks(out["chorale.mid"], [(1, 2, 3, 4)], out["piano track"])
    out["grand tracks"] = d / "grand-tracks.mid"
    merge_tracks(out["chorale.mid"], [(1, 2), (3, 4)], out["grand tracks"])
    # a chorale whose voices cross, and meet in unisons that one voice holds longer
    out["chorale66.mid"] = d / "bwv66.6.mid"
    music21.corpus.parse("bach/bwv66.6").write("midi", fp=out["chorale66.mid"])
    out["piano track 66"] = d / "piano-track-66.mid"
    merge_tracks(out["chorale66.mid"], [(1, 2, 3, 4)], out["piano track 66"])
    out["grand tracks 66"] = d / "grand-tracks-66.mid"
    merge_tracks(out["chorale66.mid"], [(1, 2), (3, 4)], out["grand tracks 66"])
    # chords that cannot be told apart: alto and tenor silent on a half beat, and the
    # tenor–bass unison of bar 2 beat 2 standing between silences
    gapped, alone = copy.deepcopy(chorale), copy.deepcopy(chorale)
    for part in gapped.parts[1:3]:
        rest_on(part.measure(3).notes[1])
    for part in alone.parts:
        for n in list(part.recurse().notes):
            if n.getOffsetInHierarchy(alone) == 3.0 or (
                    n.getOffsetInHierarchy(alone) == 5.0 and part.partName in ("Tenor", "Bass")):
                rest_on(n)
    out["gapped"], out["alone"] = d / "gapped.mid", d / "alone.mid"
    music21.stream.Score([gapped.chordify()]).write("midi", fp=out["gapped"])
    music21.stream.Score([alone.chordify()]).write("midi", fp=out["alone"])
    out["exercise.abc"] = d / "exercise.abc"
    out["exercise.abc"].write_text(EXERCISE_ABC)
    exercise = music21.converter.parse(out["exercise.abc"])
    # compressed, by its name (music21 writes, zips and deletes exercise.musicxml: first)
    out["exercise.mxl"] = d / "exercise.mxl"
    exercise.write("musicxml", fp=out["exercise.mxl"])
    out["exercise.musicxml"] = d / "exercise.musicxml"
    exercise.write("musicxml", fp=out["exercise.musicxml"])
    out["exercise.mid"] = d / "exercise.mid"
    exercise.write("midi", fp=out["exercise.mid"])
    out["species"] = d / "species.abc"
    out["species"].write_text(SPECIES_ABC)
    # Bad input, each a real file of its kind.
    text = out["chorale.musicxml"].read_text()
    out["truncated"] = d / "truncated.musicxml"
    out["truncated"].write_text(text[: len(text) // 3])
    out["html"] = d / "page.musicxml"
    out["html"].write_text("<html><body>not a score</body></html>\n")
    out["noise"] = d / "noise.mid"
    out["noise"].write_bytes(bytes(range(256)) * 8)
    out["text"] = d / "notes.txt"
    out["text"].write_text("C D E F G\n")
    return out


def merge_tracks(source: Path, staves: list[tuple[int, ...]], target: Path) -> None:
    """The MIDI file `source` (a conductor track, then one track per voice) rewritten as
    notation software exports a keyboard score: a track per staff, holding the notes of
    the voices (1-based track numbers) that `staves` lists for it, on one channel."""
    from music21 import midi

    mf = midi.MidiFile()
    mf.open(str(source))
    mf.read()
    mf.close()
    voices, tracks = mf.tracks[1:], mf.tracks[:1]
    for staff in staves:
        track = midi.MidiTrack(len(tracks))
        timed = []
        for k in staff:
            tick = 0
            for e in voices[k - 1].events:
                if isinstance(e, midi.DeltaTime):
                    tick += e.time
                elif e.type != midi.MetaEvents.END_OF_TRACK:
                    timed.append((tick, e))
        timed.sort(key=lambda x: (x[0], x[1].type == midi.ChannelVoiceMessages.NOTE_ON))
        last = 0
        for tick, e in timed:
            e.track, e.channel = track, 1
            track.events += [midi.DeltaTime(track, time=tick - last), e]
            last = tick
        end = midi.MidiEvent(track, midi.MetaEvents.END_OF_TRACK)
        end.data = b""
        track.events += [midi.DeltaTime(track, time=0), end]
        tracks.append(track)
    mf.tracks = tracks
    mf.open(str(target), "wb")
    mf.write()
    mf.close()


def rest_on(note) -> None:
    """A rest of the note's length in its place."""
    import music21

    note.activeSite.replace(note, music21.note.Rest(quarterLength=note.quarterLength))


# The text report ----------------------------------------------------------------------

def test_exercise_text_report_is_compiler_style(scores):
    r = partimento("check", "exercise.abc", cwd=scores["exercise.abc"].parent)
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == f"exercise.abc:1:3: {FIFTHS}"
    assert lines[1].startswith("  = no-parallel-fifths: Parallel fifths")
    assert lines[-1] == "exercise.abc: 1 error(s), 0 warning(s) in 4 slices, 20 rules checked"


def test_chorale_report_lines_all_have_the_format(scores, capsys):
    assert main(["check", str(scores["chorale.musicxml"]), "--no-explain"]) == 1
    out = capsys.readouterr().out.splitlines()
    *violations, summary = out
    assert violations
    for line in violations:
        m = LINE.match(line)
        assert m, line
        assert m["file"] == str(scores["chorale.musicxml"])
        assert "--" not in m["voices"] and "-" not in m["voices"].replace("voice ", "")
        # the voices are said once, before the message
        assert not m["message"].startswith(m["voices"] + ":")
    assert re.fullmatch(rf"{re.escape(str(scores['chorale.musicxml']))}: \d+ error\(s\),"
                        r" 0 warning\(s\) in \d+ slices, \d+ rules checked", summary)


def test_every_format_reads_the_same_exercise(scores, capsys):
    found = {}
    for kind in ("exercise.abc", "exercise.musicxml", "exercise.mxl", "exercise.mid"):
        assert main(["check", str(scores[kind]), "--format", "json"]) == 1
        report = json.loads(capsys.readouterr().out)
        found[kind] = [(v["rule"], v["bar"], v["beat"], v["voices"], v["message"])
                       for v in report["violations"]]
    assert len(set(map(repr, found.values()))) == 1
    assert found["exercise.abc"] == [
        ("no-parallel-fifths", 1, 3.0, ["soprano", "bass"],
         "perfect twelfth D5/G3 moves to perfect twelfth E5/A3 in parallel")]


# Voices written as chords --------------------------------------------------------------

def _graded(path: Path, capsys) -> list[tuple]:
    assert main(["check", str(path), "-f", "json"]) == 1
    return [(v["rule"], v["bar"], v["beat"], tuple(v["voices"]))
            for v in json.loads(capsys.readouterr().out)["violations"]]


@pytest.mark.parametrize("shape", ["piano track", "grand tracks"])
def test_voices_exported_as_chords_are_graded_as_a_part_per_voice(scores, shape, capsys):
    """The chorale from one piano track, or from a grand staff's two tracks of two voices,
    is graded with exactly the violations of the chorale written a track per voice: the
    voices told apart by height, each note with its own length (the alto's D4 held under
    the soprano's B4–A4 in bar 2 is one note, not two)."""
    from composer.grading.checker import check_file
    from composer.spec.rulesets import load_ruleset

    per_voice = _graded(scores["chorale.mid"], capsys)
    assert len(per_voice) == 8
    assert _graded(scores[shape], capsys) == per_voice
    texture = check_file(scores[shape], load_ruleset("common-practice"))[1]
    alto = [(s.offset, s.voicing.pitches[1].midi, s.attacks[1]) for s in texture.slices
            if 4.0 <= s.offset < 6.0]
    assert alto == [(4.0, 62, True), (5.0, 62, False), (5.5, 62, False)]


@pytest.mark.parametrize("shape", ["piano", "grand"])
def test_chordified_voices_are_graded_as_their_voices(scores, shape, capsys):
    """Chords cut at every onset (music21's chordify) strike a held note again: graded as
    its voices, the chorale shows every violation of its voices written apart, and
    besides only the suspensions now struck on the beat (bar 20, the alto's G4 against
    the dominant seventh), not a two-voice reading of its chords."""
    per_voice = set(_graded(scores["chorale.mid"], capsys))
    graded = set(_graded(scores[shape], capsys))
    assert per_voice < graded
    assert ("chord-tones", 20, 1.0, ("alto",)) in graded - per_voice
    assert {rule for rule, *_ in graded - per_voice} == {"chord-tones"}


def test_a_unison_written_once_goes_to_the_voices_that_meet(scores):
    """Bar 2 beat 2 of the chordified piano track holds 3 notes, B4 D4 G3: tenor and bass
    meet on G3, as Bach writes it (alto and tenor on D4 would have the tenor leave it by
    a sixth, soprano and alto on B4 the alto reach it by a sixth)."""
    from composer.grading.checker import check_file
    from composer.spec.rulesets import load_ruleset

    for shape in ("piano", "chorale.mid"):
        texture = check_file(scores[shape], load_ruleset("common-practice"))[1]
        chord = next(s for s in texture.slices if s.offset == 4.0)
        assert (chord.position.bar, chord.position.beat) == (2, 2.0)
        assert [p.midi for p in chord.voicing.pitches] == [71, 62, 55, 55]
        assert texture.voices == ("soprano", "alto", "tenor", "bass")


def test_a_unison_one_voice_holds_on_is_read_whole(scores, capsys):
    """BWV 66.6 from a grand staff's two tracks: in bar 7 the soprano holds F#4 while the
    alto, in unison with it, moves on after half a beat (and in bar 5 the bass so holds
    F#3 under the tenor). music21 ends both notes of a pitch at its first note-off, so
    the held note arrives cut short: it is read held on, neither refused nor read as
    the voice leaping to the other's next note, and the chorale grades as from a track
    per voice."""
    per_voice = _graded(scores["chorale66.mid"], capsys)
    assert _graded(scores["grand tracks 66"], capsys) == per_voice
    # from one track, the tenor's B3 above the alto's F#3 (bar 7 beat 3.5) is read by
    # height as the two exchanging notes: the crossing is missed there, and only there
    piano = _graded(scores["piano track 66"], capsys)
    assert ("no-voice-crossing", 7, 3.5, ("alto", "tenor")) in set(per_voice) - set(piano)
    assert {(bar, beat) for _, bar, beat, _ in set(piano) ^ set(per_voice)} <= {
        (7, 3.5), (7, 4.0)}


# The JSON report ----------------------------------------------------------------------

def test_json_report_is_exactly_the_documented_shape(scores, capsys):
    assert main(["check", str(scores["chorale.musicxml"]), "-f", "json"]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    report = json.loads(out)
    # the contract's three keys, and the non-chord tones by kind (an extension)
    assert set(report) == {"file", "violations", "checked", "non_chord_tones"}
    assert report["non_chord_tones"] and all(
        set(n) == {"bar", "beat", "voice", "pitch", "kind"} for n in report["non_chord_tones"])
    assert report["file"] == str(scores["chorale.musicxml"])
    assert set(report["checked"]) == {"rules", "slices"}
    assert report["checked"]["slices"] > 50
    rules = report["checked"]["rules"]
    assert len(rules) == len(set(rules)) and "no-parallel-fifths" in rules
    assert report["violations"]
    for v in report["violations"]:
        assert set(v) == {"rule", "severity", "bar", "beat", "voices", "message"}
        assert v["rule"] in rules
        assert v["severity"] in ("error", "warning")
        assert isinstance(v["bar"], int) and v["bar"] >= 1
        assert isinstance(v["beat"], float) and v["beat"] >= 1
        assert v["voices"] and all(x in ("soprano", "alto", "tenor", "bass")
                                   for x in v["voices"])
        assert isinstance(v["message"], str) and v["message"]


def test_two_voices_are_graded_as_first_species(scores, capsys):
    assert main(["check", str(scores["species"]), "-f", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "consonant-intervals" in report["checked"]["rules"]
    assert "complete-chord" not in report["checked"]["rules"]
    assert {tuple(v["voices"]) for v in report["violations"]} <= {
        ("upper",), ("lower",), ("upper", "lower")}


# Overrides from the command line ------------------------------------------------------

def test_set_changes_severity_and_parameters(scores, capsys):
    path = str(scores["exercise.abc"])
    assert main(["check", path, "--set", "no-parallel-fifths.severity=off"]) == 0
    assert "0 error(s), 0 warning(s)" in capsys.readouterr().out

    assert main(["check", path, "--no-explain", "--set", "no-parallel-fifths.severity=warning",
                 "--set", "voice-range@soprano.high=D5"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{path}:1:3: warning[no-parallel-fifths] soprano–bass: perfect twelfth D5/G3 moves"
        " to perfect twelfth E5/A3 in parallel",
        f"{path}:1:3: error[voice-range] soprano: soprano E5 is above its range C4–D5",
        f"{path}: 1 error(s), 1 warning(s) in 4 slices, 20 rules checked",
    ]


# Several scores at once ---------------------------------------------------------------

def test_many_scores_one_report_each_and_the_worst_exit_code(scores):
    d = scores["exercise.abc"].parent
    clean = ("check", "exercise.abc", "exercise.mid", "--set",
             "no-parallel-fifths.severity=off", "-f", "json")
    broken = ("check", "exercise.abc", "missing.musicxml", "exercise.mid", "-f", "json")
    faulty = ("check", "exercise.abc", "bwv269.musicxml", "-f", "json")
    with ThreadPoolExecutor(3) as pool:
        r_clean, r_broken, r_faulty = pool.map(lambda c: partimento(*c, cwd=d),
                                               (clean, broken, faulty))
    assert r_clean.returncode == 0 and r_clean.stderr == ""
    assert [json.loads(x)["file"] for x in r_clean.stdout.splitlines()] == [
        "exercise.abc", "exercise.mid"]
    assert r_faulty.returncode == 1 and r_faulty.stderr == ""
    assert [json.loads(x)["file"] for x in r_faulty.stdout.splitlines()] == [
        "exercise.abc", "bwv269.musicxml"]
    assert r_broken.returncode == 2
    assert r_broken.stderr == "partimento: error: missing.musicxml: no such file\n"
    assert [json.loads(x)["file"] for x in r_broken.stdout.splitlines()] == [
        "exercise.abc", "exercise.mid"]


def test_text_reports_of_many_scores_follow_each_other(scores, capsys):
    a, b = str(scores["exercise.abc"]), str(scores["exercise.musicxml"])
    assert main(["check", a, b, "--no-explain"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [a, a, b, b]


# Bad input: one line on stderr, exit 2, no traceback ----------------------------------

RULESETS = {
    "wrong-param.yaml": "name: mine\nparts: 4\nrules:\n  - {rule: max-leap, semitones: big}\n",
    "tab.yaml": "name: mine\nparts: 4\nrules:\n\t- chord-tones\n",
    "unknown-field.yaml": "name: mine\nparts: 4\nrulez:\n  - chord-tones\n",
    "severity.yaml": "name: mine\nparts: 4\nrules:\n  - {rule: spacing, severity: fatal}\n",
    "alias.yaml": "name: mine\nparts: 4\nbase: &b {rule: max-leap}\nrules:\n  - *b\n",
    "python-tag.yaml": ("name: mine\nparts: 4\nrules:\n"
                        "  - !!python/object/apply:os.system [echo hi]\n"),
    "unknown-rule.yaml": "name: mine\nparts: 4\nrules:\n  - no-parallel-fiths\n",
}

# (arguments, words the one line must contain); {name} is replaced by the file's path.
BAD = {
    "missing file": (("check", "{missing}"), ["missing.musicxml", "no such file"]),
    "not a score": (("check", "{text}"), ["notes.txt", "not a score file", ".musicxml"]),
    "not music": (("check", "{html}"), ["page.musicxml", "not a valid MusicXML file"]),
    "corrupt MusicXML": (("check", "{truncated}"), ["truncated.musicxml",
                                                    "not a valid MusicXML file"]),
    "corrupt MIDI": (("check", "{noise}"), ["noise.mid", "not a valid MIDI file"]),
    "chords missing voices": (("check", "{gapped}"),
                              ["gapped.mid: its voices are written as chords in one part",
                               "bar 3 beat 2.5 holds 2 notes where the part's other chords"
                               " hold 4", "one note per voice", "as a part of its own"]),
    "a unison left open": (("check", "{alone}"),
                           ["alone.mid: its voices are written as chords in one part",
                            "bar 2 beat 2 holds 3 notes where the part's other chords hold 4",
                            "do not tell which two voices meet in unison"]),
    "three voices": (("check", "{trio}"),
                     ["trio.musicxml", "has 3 voices", "4 (common-practice)",
                      "2 (first-species)", "--rules"]),
    "two voices, four-part rules": (("check", "{species}", "--rules", "common-practice"),
                                    ["species.abc", "has 2 voices", "common-practice",
                                     "grades 4 voices"]),
    "unknown rule set": (("check", "{exercise.abc}", "--rules", "comon-practice"),
                         ["unknown rule set 'comon-practice'", "'common-practice'"]),
    "unknown rule in --set": (("check", "{exercise.abc}", "--set", "no-paralel-fifths.x=1"),
                              ["--set no-paralel-fifths.x=1", "'no-parallel-fifths'"]),
    "bad --set value": (("check", "{exercise.abc}", "--set", "max-leap.semitones=big"),
                        ["--set max-leap.semitones=big", "whole number", "'big'"]),
    "bad --set form": (("check", "{exercise.abc}", "--set", "max-leap=9"),
                       ["--set 'max-leap=9'", "RULE.PARAM=VALUE"]),
    "unknown rule id": (("rules", "max-lep"), ["unknown rule 'max-lep'", "'max-leap'"]),
    "annotate two scores": (("check", "{exercise.abc}", "{species}", "--annotate", "o.musicxml"),
                            ["--annotate", "one SCORE"]),
    "wrong-param.yaml": (("check", "{exercise.abc}", "--rules", "{wrong-param.yaml}"),
                         ["wrong-param.yaml:4:33:", "rules[0].semitones", "whole number"]),
    "tab.yaml": (("check", "{exercise.abc}", "--rules", "{tab.yaml}"),
                 ["tab.yaml:4:1:", "rules[0]", "tab", "indent with spaces"]),
    "unknown-field.yaml": (("check", "{exercise.abc}", "--rules", "{unknown-field.yaml}"),
                           ["unknown-field.yaml:3:1:", "rulez", "unknown field", "'rules'"]),
    "severity.yaml": (("check", "{exercise.abc}", "--rules", "{severity.yaml}"),
                      ["severity.yaml:4:31:", "rules[0].severity", "error, warning, off",
                       "'fatal'"]),
    "alias.yaml": (("check", "{exercise.abc}", "--rules", "{alias.yaml}"),
                   ["alias.yaml:3:7:", "anchors and aliases"]),
    "python-tag.yaml": (("check", "{exercise.abc}", "--rules", "{python-tag.yaml}"),
                        ["python-tag.yaml:4:5:", "rules[0]", "!!python/object/apply:os.system",
                         "not accepted"]),
    "train into a file": (("train", "-o", "{text}", "--limit", "1", "--epochs", "1"),
                          ["-o", "notes.txt: a file, not a folder"]),
    "train setting of the wrong kind": (("train", "--set", "hidden=abc"),
                                        ["--set hidden=abc", "takes a whole number"]),
    "unknown-rule.yaml": (("check", "{exercise.abc}", "--rules", "{unknown-rule.yaml}"),
                          ["unknown-rule.yaml:4:5:", "rules[0].rule",
                           "unknown rule 'no-parallel-fiths'", "'no-parallel-fifths'"]),
}


@pytest.fixture(scope="module")
def bad_runs(scores, tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    d = tmp_path_factory.mktemp("rulesets")
    paths = {k: str(v) for k, v in scores.items()}
    paths["missing"] = str(d / "missing.musicxml")
    for name, text in RULESETS.items():
        (d / name).write_text(text)
        paths[name] = str(d / name)
    commands = [tuple(paths[a[1:-1]] if a.startswith("{") else a for a in args)
                for args, _ in BAD.values()]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: partimento(*c, cwd=d), commands))
    return dict(zip(BAD, results, strict=True))


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_one_clear_line_and_exit_2(case, bad_runs):
    r = bad_runs[case]
    words = BAD[case][1]
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("partimento: error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_golden_messages(bad_runs, scores):
    def line(case: str) -> str:
        return bad_runs[case].stderr.rstrip("\n").removeprefix("partimento: error: ")

    d = Path(bad_runs["missing file"].args[-1]).parent
    assert line("missing file") == f"{d / 'missing.musicxml'}: no such file"
    assert line("three voices") == (
        f"{scores['trio']}: has 3 voices; the standard rule sets grade 4 (common-practice)"
        " or 2 (first-species) voices (choose another with --rules)")
    assert line("unknown rule set") == (
        "unknown rule set 'comon-practice' (did you mean 'common-practice'?); available:"
        " common-practice, first-species")
    assert line("unknown rule id") == (
        "unknown rule 'max-lep' (did you mean 'max-leap'?); `partimento rules` lists them")
    assert line("wrong-param.yaml") == (
        f"{d / 'wrong-param.yaml'}:4:33: rules[0].semitones: semitones is a whole number,"
        " not 'big'")
    assert line("tab.yaml") == (
        f"{d / 'tab.yaml'}:4:1: rules[0]: a tab is used for indentation; indent with spaces")


def test_check_does_not_import_torch(scores):
    probe = ("import sys; from composer.cli import main; "
             f"code = main(['check', {str(scores['exercise.abc'])!r}]); "
             "sys.exit(10 + code if 'torch' in sys.modules else code)")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 1, r.stderr


def test_console_script_is_installed_and_runs(scores):
    script = Path(sys.executable).with_name("partimento")
    if not script.exists():
        pytest.skip("the console script is not installed beside this interpreter")
    r = subprocess.run([str(script), "rules", "max-leap"], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("max-leap  (melodic")
