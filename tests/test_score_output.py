"""The written score as a musician opens it: the choir's part names, a pickup as a short
bar 0, lyrics under the melody, two staves, every page engraved, a PDF, file names — read
back by music21, verovio, the checker and MuseScore 3 itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from fractions import Fraction
from itertools import cycle
from pathlib import Path

import pytest
from music21 import converter, stream

from composer.cli import DEFAULT_SETS, main
from composer.errors import ScoreError
from composer.grading.checker import check_file
from composer.io.read import read_score
from composer.io.write import write_outputs
from composer.music import Key, Meter, Note, Piece, Pitch, Position
from composer.pipeline import compose, document
from composer.spec.load import load_spec, spec_from_text
from composer.spec.rulesets import load_ruleset

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "constraints" / "examples"
MSCORE = shutil.which("mscore3")
needs_musescore = pytest.mark.skipif(
    MSCORE is None, reason="MuseScore 3 (mscore3) is not installed: apt-get install musescore3")
HALLELUJAH = ("Hal-", "le-", "lu-", "jah")


@pytest.fixture(scope="module")
def chorale():
    """The example chorale tune (a pickup of one quarter in 3/4, 22 bars counting it)."""
    return compose(load_spec(EXAMPLES / "chorale-melody.yaml"))


@pytest.fixture(scope="module")
def sung(chorale):
    """The same tune with 'Hal-le-lu-jah' sung to it, over and over, one syllable a note."""
    return compose(_with_lyrics(chorale.spec))


def _with_lyrics(spec):
    syllables = cycle(HALLELUJAH)
    notes = tuple(replace(n, lyric=next(syllables)) if n.pitch is not None else n
                  for n in spec.melody.notes)
    return replace(spec, melody=replace(spec.melody, notes=notes))


def _xml(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _check(path: Path):
    """What `partimento check` says of a written score, with its default rule sets."""
    return check_file(path, [load_ruleset(name) for name in DEFAULT_SETS])


def _measure_numbers(path: Path) -> list[list[int]]:
    score = converter.parse(path)
    return [[m.number for m in part.getElementsByClass(stream.Measure)] for part in score.parts]


# Part names ---------------------------------------------------------------------------------

def test_parts_are_named_and_clefed_as_the_choir_in_musicxml_and_by_verovio(chorale, tmp_path):
    written = write_outputs(chorale.piece, tmp_path / "chorale", {}, svg=True)
    root = _xml(written[0])
    parts = root.findall("part-list/score-part")
    assert [p.findtext("part-name") for p in parts] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert [p.findtext("part-abbreviation") for p in parts] == ["S.", "A.", "T.", "B."]
    assert [p.findtext("score-instrument/instrument-name") for p in parts] \
        == ["Soprano", "Alto", "Tenor", "Bass"]
    assert root.findtext("part-list/part-group/group-symbol") == "bracket"
    clefs = [(part.findtext("measure/attributes/clef/sign"),
              part.findtext("measure/attributes/clef/clef-octave-change"))
             for part in root.findall("part")]
    assert clefs == [("G", None), ("G", None), ("G", "-1"), ("F", None)]  # tenor an octave down
    tempo = root.find("part/measure/direction")
    assert tempo.find("direction-type/metronome") is not None and tempo.get("placement") == "above"
    first_page = next(p for p in written if p.suffix == ".svg").read_text()
    labels = re.findall(r'class="label">.*?<tspan[^>]*>([^<]+)</tspan>', first_page, re.S)
    assert labels == ["Soprano", "Alto", "Tenor", "Bass"]
    later = re.findall(r'class="labelAbbr">.*?<tspan[^>]*>([^<]+)</tspan>', first_page, re.S)
    assert later[:4] == ["S.", "A.", "T.", "B."]


@needs_musescore
@pytest.mark.parametrize("layout, names", [
    ("satb", [("Soprano", "S."), ("Alto", "A."), ("Tenor", "T."), ("Bass", "B.")]),
    ("satb-two-staves", [("Soprano Alto", "S. A."), ("Tenor Bass", "T. B.")]),
])
def test_musescore_shows_the_choir_names(chorale, layout, names, tmp_path):
    written = write_outputs(chorale.piece, tmp_path / "chorale", {}, layout=layout)
    mscx = tmp_path / "chorale.mscx"
    assert _musescore_complaints(written[0], mscx) == []
    parts = _xml(mscx).findall("Score/Part/Instrument")
    assert [(i.findtext("longName"), i.findtext("shortName")) for i in parts] == names


# The pickup ---------------------------------------------------------------------------------

def test_a_pickup_is_a_short_bar_0_and_the_last_bar_its_complement(chorale, tmp_path):
    spec, plan = chorale.spec, chorale.plan
    path = write_outputs(chorale.piece, tmp_path / "chorale", {})[0]
    report, texture, _ = _check(path)
    assert [v for v in report.violations if v.severity == "error"] == [], report.to_text()
    assert _measure_numbers(path) == [list(range(22))] * 4
    score = converter.parse(path)
    bars = list(score.parts[0].getElementsByClass(stream.Measure))
    # One quarter of pickup in 3/4: bar 0 holds it, the last bar the other two quarters.
    assert [m.duration.quarterLength for m in (bars[0], bars[1], bars[-1])] == [1, 3, 2]
    assert bars[0].paddingLeft == 2
    root = _xml(path)
    implicit = {m.get("number") for m in root.iter("measure") if m.get("implicit") == "yes"}
    assert implicit == {"0"}
    # MIDI has no short bar: the rests before the pickup stay, and it falls on beat 3.
    midi, _ = read_score(path.with_suffix(".mid"))
    sounding = [s for s in midi.slices if any(s.voicing.pitches)]
    assert sounding[0].position == Position(1, 3.0)
    assert [s.position for s in sounding] == [Position(s.position.bar + 1, s.position.beat)
                                              for s in texture.slices]
    # Every chord of the plan sounds where the plan put it, counted from bar 0.
    lead = min(n.offset for n in spec.melody.notes if n.pitch is not None)
    heard = {Fraction(s.offset).limit_denominator(64): s.position for s in texture.slices}
    for slot in plan.slots:
        where = heard[slot.offset - lead]
        assert where == Position(slot.position.bar - 1, slot.position.beat), slot


def test_without_a_pickup_the_bars_count_from_1(tmp_path):
    comp = compose(load_spec(EXAMPLES / "harmonize-melody.yaml"))
    path = write_outputs(comp.piece, tmp_path / "ode", {})[0]
    assert _measure_numbers(path) == [list(range(1, 9))] * 4
    assert all(m.get("implicit") == "no" for m in _xml(path).iter("measure"))


def test_a_pickup_note_held_over_the_barline_is_tied(tmp_path):
    """The alto's pickup D4 lasts a quarter and a half: a quarter in bar 0, tied to an
    eighth in bar 1, and read back as one note."""
    bar1 = [("G4", 1), ("A4", 1), ("B4", 2)], [("D4", 1.5), ("C4", .5), ("D4", 2)], \
        [("B3", 1), ("C4", 1), ("D4", 2)], [("G2", 1), ("F#2", 1), ("G2", 2)]
    piece = _piece("G major", Meter(4, 4), [_line(notes, lead=3) for notes in bar1])
    path = write_outputs(piece, tmp_path / "tied", {})[0]
    alto = converter.parse(path).parts[1].getElementsByClass(stream.Measure)
    first, second = alto[0].notes[0], alto[1].notes[0]
    assert (first.nameWithOctave, first.quarterLength, first.tie.type) == ("D4", 1, "start")
    assert (second.nameWithOctave, second.quarterLength, second.tie.type) == ("D4", .5, "stop")
    _, origin = read_score(path)
    assert (origin.events[1][0].duration, origin.events[1][1].offset) == (1.5, 1.5)


# Lyrics -------------------------------------------------------------------------------------

def test_lyrics_are_sung_by_the_melody_with_their_syllables(sung, tmp_path):
    path = write_outputs(sung.piece, tmp_path / "sung", {})[0]
    score = converter.parse(path)
    struck = [n for n in score.parts[0].recurse().notes
              if n.tie is None or n.tie.type == "start"]
    sung_notes = [n for n in sung.spec.melody.notes if n.pitch is not None]
    assert len(struck) == len(sung_notes)
    assert [n.lyric for n in struck] == [n.lyric.rstrip("-") for n in sung_notes]
    syllabic = {"Hal": "begin", "le": "middle", "lu": "middle", "jah": "end"}
    assert all(n.lyrics[0].syllabic == syllabic[n.lyric] for n in struck)
    tied_on = [n for n in score.parts[0].recurse().notes if n.tie and n.tie.type != "start"]
    assert all(not n.lyrics for n in tied_on)  # a held note sings its syllable once
    assert not any(n.lyrics for part in score.parts[1:] for n in part.recurse().notes)
    report, _, _ = _check(path)
    assert [v for v in report.violations if v.severity == "error"] == []


def test_lyrics_go_with_the_melody_in_another_voice(tmp_path):
    spec = load_spec(EXAMPLES / "harmonize-melody.yaml")
    spec = _with_lyrics(replace(spec, melody=replace(spec.melody, voice="alto")))
    path = write_outputs(compose(spec).piece, tmp_path / "alto", {})[0]
    score = converter.parse(path)
    words = [n.lyrics[0] for n in score.parts[1].recurse().notes if n.lyrics]
    assert [w.text for w in words[:5]] == ["Hal", "le", "lu", "jah", "Hal"]
    assert [w.syllabic for w in words[:5]] == ["begin", "middle", "middle", "end", "begin"]
    assert not any(n.lyrics for n in score.parts[0].recurse().notes)


def test_a_one_syllable_word_is_single():
    from composer.io.write import syllables

    assert syllables(["Lord", None, "have", "mer-", "cy", "Ky-", None, "ri-", "e"]) == [
        ("Lord", "single"), None, ("have", "single"), ("mer", "begin"), ("cy", "end"),
        ("Ky", "begin"), None, ("ri", "middle"), ("e", "end")]


# Two staves ---------------------------------------------------------------------------------

def test_two_staves_read_back_as_the_same_four_voices(sung, tmp_path):
    one = write_outputs(sung.piece, tmp_path / "satb", {})[0]
    two = write_outputs(sung.piece, tmp_path / "two", {}, layout="satb-two-staves")[0]
    (texture_a, origin_a), (texture_b, origin_b) = read_score(one), read_score(two)
    assert texture_b.voices == ("soprano", "alto", "tenor", "bass")
    for a, b in zip(origin_a.events, origin_b.events, strict=True):
        assert [(e.offset, e.duration, e.pitch) for e in a] \
            == [(e.offset, e.duration, e.pitch) for e in b]
    assert [s.position for s in texture_a.slices] == [s.position for s in texture_b.slices]
    report_a, report_b = _check(one)[0], _check(two)[0]
    assert report_b.violations == report_a.violations
    root = _xml(two)
    assert [p.findtext("part-name") for p in root.findall("part-list/score-part")] \
        == ["Soprano Alto", "Tenor Bass"]
    for part, clef in zip(root.findall("part"), ("G", "F"), strict=True):
        assert part.find("measure/attributes/clef/sign").text == clef
        stems = {(n.findtext("voice"), n.findtext("stem")) for n in part.iter("note")
                 if n.find("rest") is None}
        assert stems == {("1", "up"), ("2", "down")}
    assert _measure_numbers(two) == [list(range(22))] * 2
    lyrics = [n.findtext("lyric/text") for n in root.find("part").iter("note")
              if n.find("lyric") is not None]
    assert lyrics[:4] == ["Hal", "le", "lu", "jah"]


def test_a_shared_staff_shows_the_accidentals_both_voices_need(tmp_path):
    """D major: the soprano's F natural on beat 2 stands beside the alto's F sharp on the
    same line, so the alto's sharp is shown there (not on beat 1, where the key gives it),
    and after both the soprano's F on beat 4 shows its natural again."""
    voices = [("A4", 1), ("F4", 1), ("G4", 1), ("F4", 1)], [("F#4", 1), ("F#4", 1), ("E4", 2)], \
        [("D4", 4)], [("D3", 4)]
    piece = _piece("D major", Meter(4, 4), [_line(notes) for notes in voices])
    root = _xml(write_outputs(piece, tmp_path / "f", {}, layout="satb-two-staves")[0])
    shown = [(n.findtext("voice"), n.findtext("pitch/step"), n.findtext("accidental"))
             for n in root.find("part").iter("note")]
    assert shown == [("1", "A", None), ("1", "F", "natural"), ("1", "G", None),
                     ("1", "F", "natural"), ("2", "F", None), ("2", "F", "sharp"), ("2", "E", None)]



def test_the_music21_score_shows_a_natural_after_a_sharp_tied_over_the_bar():
    """G major: the alto's F sharp tied over the bar line, then F natural in that bar
    (as V7/IV writes it). Tying marked the held-over sharp as not shown, and music21 then
    took the whole line's accidentals as made: `to_music21()` printed the natural bare,
    a reader's F sharp."""
    from composer.io.write import piece_to_music21

    voices = [("B4", 4), ("A4", 4)], [("E4", 2), ("F#4", 4), ("F4", 2)], \
        [("G3", 4), ("C4", 4)], [("G2", 4), ("A2", 4)]
    score = piece_to_music21(_piece("G major", Meter(4, 4), [_line(n) for n in voices]))
    alto = [(n.measureNumber, n.nameWithOctave,
             n.pitch.accidental.name if n.pitch.accidental is not None
             and n.pitch.accidental.displayStatus else None)
            for n in score.parts[1].recurse().notes]
    assert alto == [(1, "E4", None), (1, "F#4", None), (2, "F#4", None),
                    (2, "F4", "natural")]

# Pages, PDF and file names ------------------------------------------------------------------

def test_every_page_is_engraved_with_its_own_ids(tmp_path):
    import verovio

    # 48 bars of 4/4: more than one page whatever figures the composer draws.
    text = (EXAMPLES / "chorale-d-major.yaml").read_text().replace("bars: 16", "bars: 48")
    long = compose(spec_from_text(text, "chorale-48.yaml", EXAMPLES))
    written = write_outputs(long.piece, tmp_path / "chorale", {}, svg=True)
    pages = [p for p in written if p.suffix == ".svg"]
    toolkit = verovio.toolkit()
    toolkit.setOptions({"pageWidth": 2100, "pageHeight": 2970, "scale": 40,
                        "adjustPageHeight": True, "footer": "none", "header": "auto"})
    toolkit.loadData(written[0].read_text())
    assert toolkit.getPageCount() == len(pages) > 1
    assert [p.name for p in pages] == [f"chorale-{n}.svg" for n in range(1, len(pages) + 1)]
    roots = [re.search(r'<svg[^>]* id="([^"]+)"', p.read_text()).group(1) for p in pages]
    assert len(set(roots)) == len(pages)
    short = compose(load_spec(EXAMPLES / "harmonize-melody.yaml")).piece
    assert [p.name for p in write_outputs(short, tmp_path / "ode", {}, svg=True)
            if p.suffix == ".svg"] == ["ode.svg"]


def test_output_names_keep_their_dots(chorale, tmp_path):
    names = [p.name for p in write_outputs(chorale.piece, tmp_path / "name.3", {})]
    assert names == ["name.3.musicxml", "name.3.mid", "name.3.json"]
    names = [p.name for p in write_outputs(chorale.piece, tmp_path / "ode.musicxml", {})]
    assert names == ["ode.musicxml", "ode.mid", "ode.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["name.3.musicxml", "name.3.mid", "name.3.json", "ode.musicxml", "ode.mid", "ode.json"])


def test_compose_command_takes_the_layout_and_the_name(tmp_path, capsys):
    code = main(["compose", str(EXAMPLES / "chorale-melody.yaml"), "-o", str(tmp_path / "hymn.1"),
                 "--layout", "satb-two-staves", "--svg"])
    assert code == 0
    said = capsys.readouterr().out.strip().removeprefix("wrote ").split(", ")
    assert sorted(Path(p).name for p in said) == sorted(p.name for p in tmp_path.iterdir())
    assert [Path(p).name for p in said[:3]] == ["hymn.1.musicxml", "hymn.1.mid", "hymn.1.json"]
    assert all(re.fullmatch(r"hymn\.1(-\d+)?\.svg", Path(p).name) for p in said[3:]) and said[3:]
    assert len(_xml(tmp_path / "hymn.1.musicxml").findall("part")) == 2
    assert len(converter.parse(tmp_path / "hymn.1.mid").parts) == 4  # a track per voice


def test_an_output_folder_is_written_into_and_a_revision_leaves_the_piece(tmp_path, capsys):
    """`-o FOLDER` writes FOLDER/SPEC-NAME.*: before, it wrote FOLDER.musicxml beside the
    folder. A revision written into the piece's own folder takes -revised, so that the
    piece it revises stays as it was."""
    out = tmp_path / "pieces"
    out.mkdir()
    assert main(["compose", str(EXAMPLES / "waltz-3-4.yaml"), "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "waltz-3-4.json", "waltz-3-4.mid", "waltz-3-4.musicxml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pieces"]
    piece = (out / "waltz-3-4.json").read_bytes()
    assert main(["revise", str(out / "waltz-3-4.json"), "--bars", "3-4", "-o", str(out)]) == 0
    assert (out / "waltz-3-4.json").read_bytes() == piece
    assert (out / "waltz-3-4-revised.musicxml").is_file()
    capsys.readouterr()
    assert main(["revise", str(out / "waltz-3-4.musicxml"), "-o", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "not JSON" in err and f"the .json compose wrote beside it ({out / 'waltz-3-4.json'})" \
        in err and "Traceback" not in err


def test_a_folder_in_the_way_leaves_nothing_written(chorale, tmp_path):
    (tmp_path / "piece.json").mkdir()
    with pytest.raises(ScoreError, match="piece.json: is a folder"):
        write_outputs(chorale.piece, tmp_path / "piece", {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["piece.json"]


@needs_musescore
def test_pdf_by_musescore_engraves_the_same_pages_every_time(chorale, tmp_path):
    """MuseScore's PDF is not the same bytes on every run (it embeds its fonts in an
    order of its own), but the same pages."""
    a = write_outputs(chorale.piece, tmp_path / "a", {}, pdf=True)[-1]
    b = write_outputs(chorale.piece, tmp_path / "b", {}, pdf=True)[-1]
    assert a.name == "a.pdf" and a.read_bytes()[:5] == b"%PDF-"

    def pages(pdf: Path) -> int:
        return len(re.findall(rb"/Type\s*/Page\b", pdf.read_bytes()))

    assert pages(a) == pages(b) >= 1


def test_pdf_without_musescore_is_one_line_and_writes_nothing(tmp_path):
    path = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "mscore3").exists()]
    env = {**os.environ, "PATH": os.pathsep.join(path)}  # as if MuseScore were not installed
    run = subprocess.run([sys.executable, "-m", "composer", "compose",
                          str(EXAMPLES / "harmonize-melody.yaml"), "-o", str(tmp_path / "x"),
                          "--pdf"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        "partimento: error: --pdf needs MuseScore 3 (mscore3), which is not installed;"
        " install it with `apt-get install musescore3`"]
    assert not list(tmp_path.glob("x*"))


# MuseScore opens every score ----------------------------------------------------------------

_SAID_WHEN_CLEAN = re.compile(r"^(convert <.*>\.\.\.|\tto <.*>|\.\.\. success!)$")


def _musescore_complaints(musicxml: Path, out: Path) -> list[str]:
    """What MuseScore 3 says on converting a score, besides its three lines of success
    (it exits 0 and writes the file even for a score it has to mend)."""
    home = out.parent / ".musescore-home"
    home.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(home),
           "HOME": str(home)}
    run = subprocess.run([MSCORE, "-o", str(out), str(musicxml)], capture_output=True,
                         text=True, env=env, timeout=120)
    assert run.returncode == 0 and out.stat().st_size > 0, run.stderr
    return [line for line in (run.stdout + run.stderr).splitlines()
            if not _SAID_WHEN_CLEAN.match(line)]


@pytest.mark.slow
@needs_musescore
def test_musescore_opens_every_written_score_without_a_warning(sung, tmp_path):
    scores = []
    for spec_path in sorted(EXAMPLES.glob("*.yaml")):
        if spec_path.stem != "unsatisfiable":
            comp = compose(load_spec(spec_path))
            scores.append(write_outputs(comp.piece, tmp_path / spec_path.stem, document(comp))[0])
    assert len(scores) == len(list(EXAMPLES.glob("*.yaml"))) - 1 >= 9
    scores.append(write_outputs(sung.piece, tmp_path / "sung", {})[0])
    scores.append(write_outputs(sung.piece, tmp_path / "two", {}, layout="satb-two-staves")[0])
    for path in scores:
        assert _musescore_complaints(path, path.with_suffix(".pdf")) == [], path.name
    # The check hears a complaint: a bar made a half note too long.
    text = scores[-1].read_text()
    bad = tmp_path / "overfull.musicxml"
    bad.write_text(text.replace("<duration>10080</duration>", "<duration>30240</duration>", 1))
    assert any("duration" in line for line in _musescore_complaints(bad, tmp_path / "bad.pdf"))


# Pieces made by hand ------------------------------------------------------------------------

def _pitch(name: str) -> Pitch:
    from music21.pitch import Pitch as M21Pitch

    p = M21Pitch(name)
    return Pitch(int(p.ps), 7 * p.octave + "CDEFGAB".index(p.step))


def _line(notes, lead: float = 0) -> tuple[Note, ...]:
    out = [Note(Fraction(0), Fraction(lead), None)] if lead else []
    at = Fraction(lead)
    for name, length in notes:
        out.append(Note(at, Fraction(length), _pitch(name)))
        at += Fraction(length)
    return tuple(out)


def _piece(key: str, meter: Meter, lines: list[tuple[Note, ...]]) -> Piece:
    return Piece("By hand", Key.parse(key), meter, 80, ("soprano", "alto", "tenor", "bass"),
                 tuple(lines))
