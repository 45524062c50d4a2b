"""`partimento check --annotate OUT`: a copy of the score with the offending notes
coloured and labelled, that music21 (and MuseScore) read back; nothing written on failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import music21
import pytest
from test_cli import EXERCISE_ABC, merge_tracks  # the exercise with parallel fifths

from composer.cli import main
from composer.grading.checker import COLOURS, SHORT

RED, ORANGE = COLOURS["error"], COLOURS["warning"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("annotate")
    exercise = d / "exercise.abc"
    exercise.write_text(EXERCISE_ABC)
    chorale = music21.corpus.parse("bach/bwv269")
    chorale.write("midi", fp=d / "bwv269.mid")
    chorale.write("musicxml", fp=d / "bwv269.musicxml")
    _grand_staff(chorale).write("musicxml", fp=d / "piano.musicxml")
    return {"exercise": exercise, "mid": d / "bwv269.mid", "xml": d / "bwv269.musicxml",
            "piano": d / "piano.musicxml"}


def _grand_staff(chorale):
    """The chorale as a keyboard score: soprano and alto as two voices of the upper
    staff, tenor and bass of the lower, as many exercises are written."""
    m21 = music21
    staves = []
    for upper, lower in ((0, 1), (2, 3)):
        staff = m21.stream.Part()
        pairs = zip(chorale.parts[upper].getElementsByClass("Measure"),
                    chorale.parts[lower].getElementsByClass("Measure"), strict=True)
        for a, b in pairs:
            bar = m21.stream.Measure(number=a.number)
            for el in a.getElementsByClass(("Clef", "KeySignature", "TimeSignature")):
                bar.insert(el.offset, el)
            for n, source in enumerate((a, b), 1):
                voice = m21.stream.Voice(id=str(n))
                for el in source.notesAndRests:
                    voice.insert(el.offset, el)
                bar.insert(0, voice)
            staff.append(bar)
        staves.append(staff)
    return m21.stream.Score(staves)


def _coloured(path: Path) -> dict[str, set[tuple[int, float, str]]]:
    """colour -> {(part index, offset, pitch)} of every coloured note read back."""
    score = music21.converter.parse(path, forceSource=True)
    out: dict[str, set] = {}
    for i, part in enumerate(score.parts):
        flat = part.flatten()
        for n in flat.notes:
            if n.style.color:
                out.setdefault(n.style.color.upper(), set()).add(
                    (i, float(flat.elementOffset(n)), n.nameWithOctave))
    return out


def _texts(path: Path) -> set[tuple[int, float, str]]:
    """(part index, offset, text) of every coloured text read back (music21 adds an
    empty, uncoloured one of its own to a score read from MIDI)."""
    score = music21.converter.parse(path, forceSource=True)
    return {(i, float(part.flatten().elementOffset(t)), t.content)
            for i, part in enumerate(score.parts)
            for t in part.flatten().getElementsByClass(music21.expressions.TextExpression)
            if t.style.color}


def test_offending_notes_are_coloured_and_labelled(files, tmp_path, capsys):
    out = tmp_path / "marked.musicxml"
    assert main(["check", str(files["exercise"]), "--annotate", str(out)]) == 1
    assert "error[no-parallel-fifths]" in capsys.readouterr().out
    assert _coloured(out) == {RED: {(0, 0.0, "D5"), (0, 2.0, "E5"), (3, 0.0, "G3"),
                                    (3, 2.0, "A3")}}
    # the label stands above the note where the fifths arrive
    assert _texts(out) == {(0, 2.0, SHORT["no-parallel-fifths"])}
    assert b'<words color="#D00000">' in out.read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_warnings_are_orange_and_a_clean_score_is_copied_plain(files, tmp_path, capsys):
    out = tmp_path / "warned.xml"
    assert main(["check", str(files["exercise"]), "--annotate", str(out), "--set",
                 "no-parallel-fifths.severity=warning"]) == 1
    assert set(_coloured(out)) == {ORANGE}
    clean = tmp_path / "clean.musicxml"
    assert main(["check", str(files["exercise"]), "--annotate", str(clean), "--set",
                 "no-parallel-fifths.severity=off"]) == 0
    assert _coloured(clean) == {} and _texts(clean) == set()
    capsys.readouterr()


@pytest.mark.parametrize("source", ["mid", "piano"])
def test_every_violation_is_marked_in_a_chorale(files, source, tmp_path, capsys):
    """From MIDI, and from a keyboard score whose staves hold two voices each, written
    compressed (.mxl): every violation's notes are coloured and labelled."""
    out = tmp_path / "chorale.mxl"
    assert main(["check", str(files[source]), "--annotate", str(out), "-f", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["violations"]
    marked = _coloured(out)
    assert set(marked) == {RED}
    texts = _texts(out)
    labels = {text for _, _, t in texts for text in t.split(", ")}
    assert labels == {SHORT[v["rule"]] for v in report["violations"]}
    assert len(marked[RED]) >= len({(v["bar"], v["beat"]) for v in report["violations"]})


def test_a_voice_read_from_chords_is_marked_on_its_own_note(files, tmp_path):
    """The chorale as a grand staff's two MIDI tracks of two voices each: the copy colours
    the very notes (by time and pitch) that the copy of the chorale written a track per
    voice colours, each its voice's note of a chord and not the whole chord. (Read from
    the scores as marked: music21 reads some bars of a MIDI track's voices back from
    MusicXML overfull, a plain copy too, which moves later notes.)"""
    from composer.grading.checker import annotate, check_file
    from composer.spec.rulesets import load_ruleset

    grand = tmp_path / "grand.mid"
    merge_tracks(files["mid"], [(1, 2), (3, 4)], grand)
    marked = {}
    for name, source in (("voices", files["mid"]), ("staves", grand)):
        report, texture, origin = check_file(source, load_ruleset("common-practice"))
        annotate(report, texture, origin, tmp_path / f"{name}.musicxml")
        marked[name] = {(float(el.getOffsetInHierarchy(origin.score)), n.nameWithOctave)
                        for el in origin.score.recurse().notes
                        for n in (el.notes if el.isChord else (el,)) if n.style.color}
    assert len(marked["voices"]) > 8 and marked["staves"] == marked["voices"]
    chords = [el for el in origin.score.recurse().notes if el.isChord]
    assert any(sum(bool(n.style.color) for n in c.notes) == 1 for c in chords)


@pytest.mark.parametrize("args", [
    ["{missing}"],  # no such score
    ["{corrupt}"],  # truncated MusicXML
    ["{exercise}", "--rules", "comon-practice"],  # unknown rule set
    ["{exercise}", "--set", "max-leap.semitones=wide"],  # bad override
    ["{exercise}", "{xml}"],  # two scores, one copy
])
def test_nothing_is_written_when_the_command_fails(files, args, tmp_path, capsys):
    corrupt = tmp_path / "corrupt.musicxml"
    corrupt.write_text(files["xml"].read_text()[:5000])
    paths = {"missing": tmp_path / "missing.musicxml", "corrupt": corrupt, **files}
    argv = [str(paths[a[1:-1]]) if a.startswith("{") else a for a in args]
    out = tmp_path / "out" / "marked.musicxml"
    kept = tmp_path / "kept.musicxml"
    kept.write_text("an earlier copy")
    assert main(["check", *argv, "--annotate", str(out)]) == 2
    assert main(["check", *argv, "--annotate", str(kept)]) == 2
    assert not out.exists()
    assert kept.read_text() == "an earlier copy"
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["corrupt.musicxml", "kept.musicxml"] + (["out"] if out.parent.exists() else []))
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(e.startswith("partimento: error: ") for e in err)


def test_the_copy_must_be_musicxml_and_not_the_score_itself(files, tmp_path, capsys):
    out = tmp_path / "marked.pdf"
    assert main(["check", str(files["exercise"]), "--annotate", str(out)]) == 2
    assert not out.exists()
    assert capsys.readouterr().err == (
        f"partimento: error: --annotate {out}: the copy is MusicXML; name it OUT.musicxml or"
        " OUT.xml or OUT.mxl\n")
    score = tmp_path / "exercise.musicxml"
    score.write_bytes(files["xml"].read_bytes())
    assert main(["check", str(score), "--annotate", str(score)]) == 2
    assert score.read_bytes() == files["xml"].read_bytes()
    assert "that is the score itself" in capsys.readouterr().err


def test_a_compressed_copy_beside_the_score_leaves_the_score_alone(files, tmp_path, capsys):
    """music21 writes a .mxl by writing NAME.musicxml, zipping and deleting it: the copy
    must never pass through the score's own name."""
    score = tmp_path / "exercise.musicxml"
    score.write_bytes(files["xml"].read_bytes())
    assert main(["check", str(score), "--annotate", str(tmp_path / "exercise.mxl")]) == 1
    assert score.read_bytes() == files["xml"].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exercise.musicxml", "exercise.mxl"]
    assert _coloured(tmp_path / "exercise.mxl")
    capsys.readouterr()
