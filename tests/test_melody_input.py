"""A user's melody as a musician writes it: TinyNotation as music21 reads it (meters,
triplets, ties, naturals, lyrics, a pickup), moved into its voice's range by
`transpose`, ABC files whose accidentals hold to the bar's end, and the lyrics of a
melody file. Every composed tune is graded with the spec's own hard rules."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from composer.errors import SpecError
from composer.grading.checker import check_texture
from composer.io.melodies import melody_from_file
from composer.io.read import parse_score, read_score
from composer.io.write import write_outputs
from composer.music import Key, Meter, Pitch
from composer.pipeline import compose, document
from composer.sample.scorer import StatisticalScorer
from composer.spec.load import load_spec, spec_from_text
from composer.spec.rulesets import RuleSet


@pytest.fixture(scope="module")
def scorer():
    return StatisticalScorer.from_corpus(("soprano", "alto", "tenor", "bass"))


def _spec(folder: Path, melody: str, head: str = "key: C major\n", bars: int = 4,
          tail: str = "") -> Path:
    path = folder / "tune.yaml"
    path.write_text(f"{head}bars: {bars}\nmelody:\n  voice: soprano\n{melody}"
                    f"rules:\n  include: [common-practice]\n{tail}")
    return path


def _composed(spec, scorer, folder: Path):
    """Compose, write, read the score back and grade it with the spec's hard rules."""
    comp = compose(spec, scorer)
    written = write_outputs(comp.piece, folder / "out", document(comp))
    texture, _ = read_score(written[0], spec.voices)
    report = check_texture(texture, RuleSet("spec", "", (4,), spec.voices, spec.hard),
                           str(written[0]))
    assert report.violations == (), report.to_text()
    return comp, json.loads(written[2].read_text())


def _sung(comp) -> list[tuple[Fraction, Pitch]]:
    return [(n.offset, n.pitch) for n in comp.piece.lines[0] if n.pitch is not None]


def _given(spec) -> list[tuple[Fraction, Pitch]]:
    return [(n.offset, n.pitch) for n in spec.melody.notes if n.pitch is not None]


# TinyNotation --------------------------------------------------------------------------

def test_a_pickup_with_lyrics_takes_its_meter_from_the_line(tmp_path, scorer):
    """No `meter:` in the spec: the line's 3/4 is the piece's. The rests before the first
    note make the pickup, and each syllable stays on its note."""
    tune = '  tinynotation: "3/4 r2 g4_Hal- c\'2_le- c\'4_lu- d\'2._jah e\'2 d\'4 c\'2."\n'
    spec = load_spec(_spec(tmp_path, tune, bars=5))
    assert spec.meter == Meter(3, 4)
    sung = [n for n in spec.melody.notes if n.pitch is not None]
    assert [n.lyric for n in sung] == ["Hal-", "le-", "lu-", "jah", None, None, None]
    assert spec.meter.position(sung[0].offset).beat == 3  # the upbeat
    assert spec.meter.position(sung[1].offset) == spec.meter.position(Fraction(3))  # bar 2
    comp, data = _composed(spec, scorer, tmp_path)
    assert _sung(comp) == _given(spec)
    assert comp.plan.slots[0].offset == sung[0].offset  # the voices enter on the upbeat
    assert data["meter"] == "3/4" and "melody_transposed" not in data


def test_a_tune_in_six_eight_keeps_its_triplet(tmp_path, scorer):
    """6/8 counts two dotted-quarter beats a bar; trip{…} puts three sixteenths in the
    time of two."""
    tune = ('  tinynotation: "6/8 e8 f g c\'4 g8 a f d\' c\'4. trip{c\'16 d\' c\'} b8 a g4 r8'
            ' d4. c4."\n')
    spec = load_spec(_spec(tmp_path, tune))
    assert spec.meter == Meter(6, 8) and spec.meter.beats_per_bar == 2
    triplet = [n for n in spec.melody.notes if n.duration == Fraction(1, 6)]
    assert [str(n.pitch) for n in triplet] == ["C5", "D5", "C5"]
    assert [n.offset for n in triplet] == [6, Fraction(37, 6), Fraction(19, 3)]  # bar 3
    comp, data = _composed(spec, scorer, tmp_path)
    assert _sung(comp) == _given(spec)
    assert data["meter"] == "6/8"


def test_music21s_tinynotation_is_read_as_it_means(tmp_path):
    """Ties join notes, n is a natural, dots lengthen, a duration holds until the next,
    c' is an octave up and CC two down, and a meter change in the line changes the piece's
    meter there."""
    tune = ('  tinynotation: "4/4 c4~ c4 bn4 B4 CC8 C c\'\'4. r8 e-4 3/4 f#2 g4~ g2."\n')
    spec = load_spec(_spec(tmp_path, tune, head="key: C major\n"))
    assert spec.meter == Meter.parse("4/4, 3/4 from bar 3")
    notes = [(str(n.offset), str(n.duration), str(n.pitch) if n.pitch else "r")
             for n in spec.melody.notes]
    assert notes == [("0", "2", "C4"), ("2", "1", "B4"), ("3", "1", "B3"),
                     ("4", "1/2", "C2"), ("9/2", "1/2", "C3"), ("5", "3/2", "C6"),
                     ("13/2", "1/2", "r"), ("7", "1", "Eb4"), ("8", "2", "F#4"),
                     ("10", "4", "G4")]


def test_a_time_signature_that_agrees_with_the_spec_is_taken(tmp_path):
    tune = '  tinynotation: "4/4 c4 d e f 3/4 g2."\n'
    spec = load_spec(_spec(tmp_path, tune, head="key: C major\nmeter: {1: 4/4, 2: 3/4}\n",
                           bars=2))
    assert spec.meter == Meter.parse("4/4, 3/4 from bar 2")


@pytest.mark.parametrize("written, line, column", [
    ('  tinynotation: c4 d Bb4 e\n', 5, 22),
    ('  tinynotation: "c4 d Bb4 e"\n', 5, 23),
    ("  tinynotation: 'c4_it''s d Bb4 e'\n", 5, 29),
    ('  tinynotation: "c4_\\"a\\" d Bb4 e"\n', 5, 29),
    ('  tinynotation: |\n    c4 d e f\n    g2 Bb4 e\n', 7, 8),
    ('  tinynotation: >-\n    c4 d e f\n    g2 Bb4 e\n', 7, 8),
])
def test_a_bad_token_is_found_in_the_scalar_as_written(tmp_path, written, line, column):
    """Plain, quoted (with their escapes) and block scalars: the column is the token's."""
    path = _spec(tmp_path, written)
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert (err.value.location.line, err.value.location.column) == (line, column)
    text = path.read_text().splitlines()[line - 1]
    assert text[column - 1:].startswith("Bb4") and "'Bb4'" in err.value.message


@pytest.mark.parametrize("token, why", [
    ("c#'4", "before, as c'#"),  # music21 would read C#4
    ("c.", "write c4."),  # music21 would drop the dot
    ("c(#)4", "editorial"),  # music21 would keep C natural
    ("c4*red*", "passes over"),
    ("trip{c8", "not closed"),
    ("d}", "not open"),
    ("f4~", "leads to G4"),
    ("r4~", "neither tied nor sung"),
    ("c4_a=b", "lyric cannot hold"),
    ("c3", "a duration is 1, 2, 4"),
    ("c4|", "bar lines are not written"),
    ("chord{c4", "trip{…} and quad{…} only"),
])
def test_what_music21_would_skip_or_misread_is_refused(tmp_path, token, why):
    path = _spec(tmp_path, f'  tinynotation: "c4 {token} g4 a"\n')
    with pytest.raises(SpecError, match=re.escape(why)) as err:
        load_spec(path)
    assert err.value.location.column == 21 and err.value.field == "melody.tinynotation"


# transpose ----------------------------------------------------------------------------

def test_a_tune_too_low_for_the_soprano_goes_up_an_octave(tmp_path, scorer):
    tune = '  transpose: fit\n  tinynotation: "G4 A B c d2 c2 B4 A G2 B4 A G2"\n'
    spec = load_spec(_spec(tmp_path, tune, head="key: G major\n"))
    assert spec.key == Key.parse("G major")
    assert min(p for _, p in _given(spec)) == Pitch.parse("G4")
    assert max(p for _, p in _given(spec)) == Pitch.parse("D5")
    moved = spec.melody.transposed
    assert (moved.steps, moved.semitones, moved.key, moved.interval) == (7, 12, None, "P8")
    assert spec.melody.transposition() == ("the melody is transposed up an octave to fit the"
                                           " soprano's range C4–A5")
    comp, data = _composed(spec, scorer, tmp_path)
    assert _sung(comp) == _given(spec)
    assert data["melody_transposed"] == "up an octave" and data["key"] == "G major"


def test_a_tune_no_octave_fits_moves_by_a_second_and_takes_the_key_along(tmp_path, scorer):
    """B3 to G5 fits the soprano's C4–A5 neither as written (too low) nor an octave up;
    a semitone up fits, into D flat major (five flats, not C sharp major's seven sharps),
    the leading tone B spelled C."""
    tune = ('  transpose: fit\n'
            '  tinynotation: "c4 B c d e g c\' e\' g\'2 e\'4 c\' g e d B c1"\n')
    spec = load_spec(_spec(tmp_path, tune, head="key: C major\n", bars=5))
    assert spec.key == Key.parse("Db major")
    pitches = [str(p) for _, p in _given(spec)]
    assert pitches[:3] == ["Db4", "C4", "Db4"] and max(p for _, p in _given(spec)).name == "Ab5"
    comp, data = _composed(spec, scorer, tmp_path)
    assert data["key"] == "Db major"
    assert data["melody_transposed"] == "up a minor second, to Db major"
    assert _sung(comp) == _given(spec)


def test_a_tune_wider_than_the_range_lies_as_near_it_as_octaves_bring_it(tmp_path, scorer):
    """A tune wider than the soprano's range C4–A5 (C5 to B6) moves down the octave that
    leaves least of it outside, says so, and composes: its B5 above the range and its
    leaps of a tenth are the melody's own, warnings at the notes, and the alto, which may
    not overlap it, lies more than an octave below it there."""
    tune = "  transpose: fit\n  tinynotation: \"c'4 e' g' b'' a'' f' d' c'\"\n"
    spec = load_spec(_spec(tmp_path, tune))
    assert [str(p) for _, p in _given(spec)][:4] == ["C4", "E4", "G4", "B5"]
    assert "as near the soprano's range C4–A5 as it can" in spec.melody.transposition()
    assert spec.melody.transposed.words() == "down an octave" and spec.key.name == "C major"
    comp = compose(spec, scorer)
    assert _sung(comp) == _given(spec)
    assert {(w.rule, w.bar, w.beat) for w in comp.warnings} >= \
        {("voice-range", 1, 4.0), ("max-leap", 1, 4.0)}


def test_an_explicit_interval_moves_the_tune_and_the_key(tmp_path):
    down = load_spec(_spec(tmp_path, '  transpose: -P8\n  tinynotation: "e\'\'4 d\'\' c\'\'2"\n'))
    assert [str(p) for _, p in _given(down)] == ["E5", "D5", "C5"] and down.key.name == "C major"
    assert down.melody.transposed.words() == "down an octave"
    up = load_spec(_spec(tmp_path, '  transpose: M2\n  tinynotation: "e4 f# g2"\n',
                         head="key: G major\n"))
    assert [str(p) for _, p in _given(up)] == ["F#4", "G#4", "A4"] and str(up.key) == "A major"
    minor = load_spec(_spec(tmp_path, '  transpose: -m3\n  tinynotation: "e\'4 d\' c\'2"\n',
                            head="key: A minor\n"))
    assert str(minor.key) == "F# minor" and [str(p) for _, p in _given(minor)][0] == "C#5"
    with pytest.raises(SpecError, match="a 5 is perfect"):
        load_spec(_spec(tmp_path, '  transpose: M5\n  tinynotation: "c4"\n'))


def test_compose_says_what_it_transposed(tmp_path):
    tune = '  transpose: fit\n  tinynotation: "G4 A B c d2 c2 B4 A G2 B4 A G2"\n'
    path = _spec(tmp_path, tune, head="key: G major\n")
    run = subprocess.run([sys.executable, "-m", "composer", "compose", str(path), "-o",
                          str(tmp_path / "out"), "--model", "none"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr.splitlines() == [f"partimento: note: {path}:5: the melody is transposed"
                                       " up an octave to fit the soprano's range C4–A5"]


# fixed notes ---------------------------------------------------------------------------

def test_a_fixed_note_between_beats_and_in_a_changed_meter(tmp_path):
    fixed = "  hard:\n    - {rule: fixed, voice: alto, bar: %d, beat: %s, pitch: E4}\n"
    head = "key: C major\nmeter: {1: 4/4, 3: 3/4}\n"
    tune = '  tinynotation: "c\'1 d\'1 e\'2. c\'2."\n'
    assert load_spec(_spec(tmp_path, tune, head, tail=fixed % (2, "4.5")))
    with pytest.raises(SpecError, match=r"beat 4 is not in bar 3, which has 3 beats \(3/4\)"):
        load_spec(_spec(tmp_path, tune, head, tail=fixed % (3, "4")))
    with pytest.raises(SpecError, match="'sopran' is not a voice"):
        load_spec(_spec(tmp_path, tune, head, tail=fixed.replace("alto", "sopran") % (1, "1")))


# ABC and melody files -----------------------------------------------------------------

def _essen(folder: Path, name: str, number: int) -> Path:
    """One tune of an Essen collection in music21's corpus, as its own ABC file."""
    import music21

    text = (Path(music21.__file__).parent / "corpus" / "essenFolksong" / f"{name}.abc"
            ).read_text(encoding="latin-1")
    tune = next(t for t in re.split(r"\n(?=X:)", text) if t.startswith(f"X:{number}\n"))
    path = folder / f"{name}-{number}.abc"
    path.write_text(tune)
    return path


def _bars(score) -> list[list[str]]:
    return [[n.nameWithOctave for n in m.notes]
            for m in score.parts[0].getElementsByClass("Measure")]


def test_an_abc_accidental_holds_to_the_end_of_its_bar(tmp_path):
    # Das Hildebrandslied (K:G): `G2 | _B2B2c2c2 | …` and `z2d2c2_B2 | d2_B2B4`
    bars = _bars(parse_score(_essen(tmp_path, "altdeu10", 1)))
    assert bars[1] == ["B-4", "B-4", "C5", "C5"]
    assert ["D5", "B-4", "B-4"] in bars
    # Herzog Ernst (K:E, every C sharp): `z2 =c2c2c2` is three C naturals
    assert _bars(parse_score(_essen(tmp_path, "altdeu10", 2)))[2] == ["C5", "C5", "C5"]


def test_an_abc_accidental_stays_in_its_octave_and_bar_and_over_a_tie(tmp_path):
    path = tmp_path / "tune.abc"
    path.write_text("X:1\nT:t\nM:4/4\nL:1/8\nK:F\n=B2c2d2B2|B2c2 d2 ^F2-|F2 f2 ^c2 c'2|]\n")
    assert _bars(parse_score(path)) == [["B4", "C5", "D5", "B4"], ["B-4", "C5", "D5", "F#4"],
                                        ["F#4", "F5", "C#5", "C6"]]
    _, origin = read_score(path)  # the checker reads it the same way
    assert [str(ev.pitch) for ev in origin.events[0]][3:9] == ["B4", "Bb4", "C5", "D5",
                                                               "F#4", "F5"]


def test_an_abc_tune_with_one_bar_line_counts_its_bars_from_the_meter(tmp_path):
    path = tmp_path / "short.abc"
    path.write_text("X:1\nT:t\nM:4/4\nL:1/8\nK:F\n=B2c2d2B2|B2c2d2B2|]\n")
    notes = [n.nameWithOctave for n in parse_score(path).flatten().notes]
    assert notes == ["B4", "C5", "D5", "B4", "B-4", "C5", "D5", "B-4"]


def _oneills(number: int) -> tuple[Path, str]:
    """The book of O'Neill's tunes in music21's corpus holding tune `number`, and the tune."""
    import music21

    book = Path(music21.__file__).parent / "corpus" / "oneills1850" / "0201-0300.abc"
    tune = next(t for t in re.split(r"(?m)^(?=X:)", book.read_text(encoding="latin-1"))
                if re.match(rf"X:\s*{number}\s", t))
    return book, tune


def test_abc_marks_that_music21_misreads_keep_their_notes(tmp_path):
    """O'Neill's 288, The Old Cloak, marks an accent with an annotation: `d^f ">"g2 dc`.
    music21 read its `>` as a broken rhythm and lost the G, a bar two beats short that a
    rest made up. O'Neill's 213 marks a fermata `f>ed Hg2d`: music21 dropped the G with
    it. Both are read whole, in the tune's own file and as a tune of the collection."""
    from composer.batches.jobs import Settings, find_jobs, melody_spec

    for number, bar in ((288, ["D5", "F#5", "G5", "D5", "C5"]),
                        (213, ["F#5", "E5", "D5", "G5", "D5"])):
        book, tune = _oneills(number)
        alone = tmp_path / f"{number}.abc"
        alone.write_text(tune, encoding="latin-1")
        score = parse_score(alone)
        assert bar in _bars(score)
        assert 2.0 not in [m.duration.quarterLength for m in  # (the bars it read short)
                           score.parts[0].getElementsByClass("Measure")]
    job = next(j for j in find_jobs([book]) if j.tune == 288)
    text, folder = melody_spec(job, Settings(), tmp_path)
    sung = [(n.offset, n.pitch.name) for n in
            spec_from_text(text, "288.yaml", folder).melody.notes if n.pitch]
    bar = ["D5", "F#5", "G5", "D5", "C5"]
    first = next(k for k in range(len(sung)) if [n for _, n in sung[k:k + 5]] == bar)
    assert sung[first][0] % 3 == 0  # on its bar line (3/4)
    # (`cd ">"{g}f2 zd`: the note after the grace note was never lost)
    assert ["C5", "D5", "G5", "F5", "D5"] in _bars(parse_score(tmp_path / "288.abc"))


VOLTAS = ("X:1\nT:Repeats and endings\nM:6/8\nL:1/8\nK:D\n"
          "|:A|d2f a2f|g2e c2A|d2f a2f|[1 gec d2:|[2 gec d3|]\n")
# as it is sung: the pickup, three bars and the first ending, then again with the second
PASS = ["A4", "D5", "F#5", "A5", "F#5", "G5", "E5", "C#5", "A4", "D5", "F#5", "A5", "F#5"]
SUNG = [*PASS, "G5", "E5", "C#5", "D5", *PASS, "G5", "E5", "C#5", "D5"]


def test_a_tune_with_first_and_second_endings_is_harmonized_as_it_is_sung(tmp_path, scorer):
    """Read as written, the first ending ran straight into the second ('… g e c d g e c
    d'), a melody the tune never has. Each ending now follows its own pass, the second
    pass's downbeats on the bar lines (the pickup sung again before it), from the ABC
    file named in a spec and from a tune of an ABC file in a batch."""
    import composer

    (tmp_path / "tune.abc").write_text(VOLTAS)
    spec = load_spec(_spec(tmp_path, "  file: tune.abc\n", head="key: D major\nmeter: 6/8\n",
                           bars=9))
    assert [p.name for _, p in _given(spec)] == SUNG
    again = _given(spec)[len(PASS) + 5][0]  # the second pass's D5, after its pickup
    assert again == 15 and again % 3 == 0  # on the bar line of bar 6 (6/8: 3 quarters)
    comp, _ = _composed(spec, scorer, tmp_path)
    assert [p.name for _, p in _sung(comp)] == SUNG
    rows = composer.batch(tmp_path / "tune.abc", tmp_path / "batch", jobs=1, model="none")
    assert rows[0].status == "composed", rows[0].detail
    written = parse_score(tmp_path / "batch" / f"{rows[0].name}.musicxml")
    top = [n.nameWithOctave for n in written.parts[0].flatten().notes]
    assert top == SUNG


def test_a_strains_pickup_leads_into_its_bar_in_a_batch_as_in_a_spec(tmp_path, scorer):
    """The Quindaro Hornpipe (Ryan's collection) ends its first strain a quarter short,
    `G2G2G2 :|`, and opens the second with that quarter's pickup, `|: (udc) | BgBc …`.
    A batch writes a tune of an ABC file out for its spec, and music21 filled each short
    bar with a rest: the pickup stood on a downbeat, with a bar of silence after it, and
    the rules found no harmony there. It is now read as a spec naming the file reads it,
    the pickup leading into the bar, and composed; a note the new bar lines cross is
    tied over."""
    import shutil

    import music21

    from composer.batches.jobs import Settings, find_jobs, melody_spec

    tune = Path(music21.__file__).parent / "corpus" / "ryansMammoth" / "QuindaroHornpipe.abc"
    text, folder = melody_spec(find_jobs([tune])[0], Settings(), tmp_path)
    batch = spec_from_text(text, "batch.yaml", folder)
    shutil.copy(tune, tmp_path / "tune.abc")
    named = spec_from_text(text.replace("tune.musicxml", "tune.abc"), "named.yaml", tmp_path)
    def played(spec):  # up to its last note (a written bar is filled out with a rest)
        notes = [(n.offset, n.duration, n.pitch and n.pitch.midi) for n in spec.melody.notes]
        return notes[:max(k for k, n in enumerate(notes) if n[2] is not None) + 1]

    notes = played(batch)
    assert notes == played(named)
    sounding = [n for n in notes if n[2] is not None]
    assert all(n[2] is not None for n in notes if n[0] > sounding[0][0])  # (no rest inside)
    pickup = next(k for k, n in enumerate(sounding) if n[0] > 17)  # bar 9 of 2/4, beat 2
    assert sounding[pickup][0] == Fraction(35, 2)  # (`dc` on its second half)
    assert compose(batch, scorer).piece.lines  # (refused before: no harmony there)
    # Camp-Meeting Jig No. 2: `CA, :| |: A, | (_B,4 A,2) zA |`, the B flat now over the
    # bar line, tied into the next bar (not left in a bar a beat too long, as written)
    tune = tune.with_name("CampMeetingJigNo2.abc")
    (tmp_path / "camp").mkdir()
    text, folder = melody_spec(find_jobs([tune])[0], Settings(), tmp_path / "camp")
    spec = spec_from_text(text, "camp.yaml", folder)
    low = [(n.duration, n.pitch.name) for n in spec.melody.notes if n.pitch and n.pitch.midi < 60]
    assert (2, "Bb3") in low and low[low.index((2, "Bb3")) + 1] == (1, "A3")
    assert compose(spec, scorer).piece.lines


@pytest.mark.parametrize("tune, pad", [("test0#1", 2.5), ("ballad70#26", 1.5),
                                       ("ballad30#151", 3.0), ("han1#1", 0.0)])
def test_a_midi_melody_finds_its_pickup_where_its_long_notes_fall(tmp_path, tune, pad):
    """MIDI has no short bar: music21 writes an Essen tune's pickup as the file's first
    notes, and each strong beat was read on a weak one. The pickup is found where the
    tune's long notes fall on strong beats: the first note begins where the tune's own
    ABC puts it (an eighth before the bar in 6/8, a quarter in 2/4 and 4/4), and a tune
    with no pickup (han1 #1) keeps none."""
    from music21 import corpus, stream

    stem, number = tune.split("#")
    part = corpus.parse(f"essenFolksong/{stem}", number=int(number)).parts[0]
    stream.Score([copy.deepcopy(part)]).write("midi", fp=str(tmp_path / "tune.mid"))
    events, _ = melody_from_file(tmp_path / "tune.mid")
    first = next(e for e in events if e[2] is not None)
    assert float(first[0]) == pad
    assert float(part.getElementsByClass("Measure").first().paddingLeft) == pad  # (its ABC)


def test_a_melody_file_keeps_its_lyrics_and_gives_its_meter(tmp_path):
    """The soprano of BWV 10.7 sings "Mei-ne Seel' er-hebt den Her-ren"."""
    from music21 import stream

    from composer.corpus import parse_chorale, soprano_part

    part = soprano_part(parse_chorale("bach/bwv10.7"))
    stream.Score([copy.deepcopy(part)]).write("musicxml", fp=str(tmp_path / "s.musicxml"))
    events, meter = melody_from_file(tmp_path / "s.musicxml")
    assert [e[4] for e in events if e[2] is not None][:8] == \
        ["Mei-", "ne", "Seel’", "er-", "hebt", "den", "Her-", "ren;"]
    assert meter == Meter(4, 4)
    spec = load_spec(_spec(tmp_path, "  file: s.musicxml\n", head="key: G minor\n", bars=22))
    assert spec.meter == meter and spec.melody.notes[0].lyric == "Mei-"


def test_a_melody_files_own_meter_and_its_change_are_the_pieces(tmp_path):
    """Without `meter:` the file's time signatures are the meter, a change included."""
    from music21 import converter

    tune = converter.parse("tinyNotation: 3/4 g4_Hal- c'2_le- c'4_lu- d'2_jah 2/4 e'4 d' c'2")
    tune.write("musicxml", fp=str(tmp_path / "t.musicxml"))
    spec = load_spec(_spec(tmp_path, "  file: t.musicxml\n", bars=4))
    assert spec.meter == Meter.parse("3/4, 2/4 from bar 3")
    assert [n.lyric for n in spec.melody.notes][:4] == ["Hal-", "le-", "lu-", "jah"]
    assert [n.offset for n in spec.melody.notes][-3:] == [6, 7, 8]


@pytest.mark.parametrize("suffix", ["mid", "musicxml"])
def test_a_chord_in_a_melody_file_gives_its_top_note(tmp_path, suffix):
    """A MIDI or MusicXML melody that doubles some notes lists a chord's notes in the
    file's order (here the top first): the melody is the top note of each."""
    from music21 import chord, meter, note, stream

    part = stream.Part([meter.TimeSignature("4/4")])
    for k, name in enumerate(["C5", "E5", "G5", "C6", "B5", "G5", "A5", "F5", "G5", "E5",
                              "D5", "C5"]):
        part.append(chord.Chord([name, "G3"], quarterLength=1) if k % 3 == 0
                    else note.Note(name, quarterLength=1))
    stream.Score([part]).write("midi" if suffix == "mid" else "musicxml",
                               fp=str(tmp_path / f"m.{suffix}"))
    events, _ = melody_from_file(tmp_path / f"m.{suffix}")
    assert [e[2].name for e in events if e[2] is not None] == [
        "C5", "E5", "G5", "C6", "B5", "G5", "A5", "F5", "G5", "E5", "D5", "C5"]


def test_a_midi_file_with_its_bass_track_first_gives_the_tune_above(tmp_path):
    """A MIDI file lists its tracks in any order: the soprano takes the highest line, a
    given bass the lowest, and a batch harmonizes the tune, not its bass."""
    from music21 import meter, note, stream

    from composer.batches.jobs import Job, Settings, run_job

    tune = ["E5", "D5", "C5", "F5", "E5", "D5", "C5", "A4", "B4", "C5", "D5", "B4"]
    bass, top = stream.Part([meter.TimeSignature("3/4")]), stream.Part([meter.TimeSignature("3/4")])
    for name in ["C3", "G2", "C3", "G2"]:
        bass.append(note.Note(name, quarterLength=3))
    for name in tune:
        top.append(note.Note(name, quarterLength=1))
    score = stream.Score()
    score.insert(0, bass)
    score.insert(0, top)
    score.write("midi", fp=str(tmp_path / "m.mid"))
    spec = load_spec(_spec(tmp_path, "  file: m.mid\n", bars=4))
    assert [n.pitch.name for n in spec.melody.notes if n.pitch] == tune
    (tmp_path / "bass.yaml").write_text((tmp_path / "tune.yaml").read_text().replace(
        "voice: soprano", "voice: bass"))
    given_bass = load_spec(tmp_path / "bass.yaml")
    assert [n.pitch.name for n in given_bass.melody.notes if n.pitch] == ["C3", "G2", "C3", "G2"]
    done = run_job(Job("melody", str(tmp_path / "m.mid"), "m"), Settings(model="none"))
    assert done.status == "composed"
    slots = json.loads(done.files[".json"])["slots"]
    assert [s["voicing"][0] for s in slots][:3] == ["E5", "D5", "C5"]


ABC_VOICES = ("X:1\nT:Cadence\nM:4/4\nL:1/4\nK:C\nV:S\n{s}|]\nV:A\nG A G G|]\nV:T\nE F D E|]\n"
              "V:B\nC, F, G, C,|]\n")


def test_an_abc_exercise_of_four_voices_is_graded_as_four(tmp_path):
    """music21 reads an ABC tune's voices (`V:`) one after the other, as one line: a
    four-part exercise was refused as 'has 1 voice'. Each voice is now a part, named as
    its V: field names it (S, A, T, B), graded as the same exercise in MusicXML."""
    import composer

    clean = tmp_path / "clean.abc"
    clean.write_text(ABC_VOICES.format(s="c c B c"))
    report = composer.check(clean)
    assert report.errors == 0 and report.warnings == 0
    assert [p.partName for p in parse_score(clean).parts] == ["Soprano", "Alto", "Tenor",
                                                              "Bass"]
    octaves = tmp_path / "octaves.abc"
    octaves.write_text(ABC_VOICES.format(s="c f g c"))
    found = [(v.bar, v.beat, v.voices) for v in composer.check(octaves).violations
             if v.rule == "no-parallel-octaves"]
    assert found == [(1, b, ("soprano", "bass")) for b in (2, 3, 4)]


def test_an_abc_melody_with_a_second_voice_gives_its_tune_alone(tmp_path, scorer):
    """A tune with a bass line under it in voices named as words (V:tune, V:bass; music21
    splits only numbered ones): the melody is the upper voice's four bars, not both
    voices read one after the other as eight."""
    (tmp_path / "two.abc").write_text("X:1\nT:t\nM:4/4\nL:1/4\nK:G\nV:tune\nGABc|d2B2|cBAG|G4|]"
                                      "\nV:bass\nG,2D,2|G,2E,2|C,2D,2|G,,4|]\n")
    spec = load_spec(_spec(tmp_path, "  file: two.abc\n", head="key: G major\n"))
    tune = ["G4", "A4", "B4", "C5", "D5", "B4", "C5", "B4", "A4", "G4", "G4"]
    assert [p.name for _, p in _given(spec)] == tune
    _composed(spec, scorer, tmp_path)
    import composer  # and as the second tune of a book of tunes, in a batch

    book = tmp_path / "book.abc"
    book.write_text("X:1\nT:first\nM:4/4\nL:1/4\nK:G\nGABc|d2B2|cBAG|G4|]\n\n"
                    + (tmp_path / "two.abc").read_text().replace("X:1", "X:2"))
    rows = composer.batch(book, tmp_path / "batch", jobs=1, model="none")
    assert [r.status for r in rows] == ["composed", "composed"], rows[1].detail
    written = parse_score(tmp_path / "batch" / f"{rows[1].name}.musicxml")
    assert [n.nameWithOctave for n in written.parts[0].flatten().notes] == tune
