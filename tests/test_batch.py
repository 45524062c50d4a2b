"""`partimento batch` and composer.batch on real inputs: the example specs, Essen folk tunes
from music21's corpus (several to an ABC file, as the collection ships them), a Bach
chorale to grade, and broken files. Each batch's files are compared byte for byte with
the same inputs composed one at a time in this process; the resume test kills a real
`partimento batch` subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import composer
from composer.batches.jobs import Settings, find_jobs, melody_spec
from composer.cli import main
from composer.io.write import write_outputs
from composer.pipeline import document
from composer.spec.load import spec_from_text

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "constraints" / "examples"
COMPOSABLE = sorted(p for p in EXAMPLES.glob("*.yaml") if p.stem != "unsatisfiable")


def essen_abc(folder: Path, count: int, name: str = "essen.abc") -> Path:
    """One ABC file holding `count` Essen tunes chosen by a fixed rule: the first tune of
    each of the collection's files in name order, then the 26th of each, and so on."""
    from music21 import corpus

    files = [Path(p).read_text(encoding="latin-1")
             for p in sorted(corpus.getComposer("essenFolksong"))]
    tunes = [[b for b in re.split(r"(?m)^(?=X:)", text) if b.startswith("X:")]
             for text in files]
    chosen = [t[k] for k in range(0, 400, 25) for t in tunes if k < len(t)][:count]
    numbered = [re.sub(r"^X:\s*\d+", f"X:{n + 1}", t) for n, t in enumerate(chosen)]
    path = folder / name
    path.write_text("\n".join(numbered), encoding="latin-1")
    return path


def alone(path: Path, out: Path, tune: int | None = None) -> dict[str, bytes]:
    """A spec, or one tune of an ABC file, composed by itself (as `partimento compose`
    does: the shipped model, the spec's seed) and written; its files' bytes by suffix."""
    if tune is None:
        comp = composer.compose(composer.load_spec(path))
        name = path.stem
    else:
        job = next(j for j in find_jobs([path]) if j.tune == tune)
        folder = out / f"tune-{tune}"
        folder.mkdir(parents=True)
        text, where = melody_spec(job, Settings(), folder)
        comp = composer.compose(spec_from_text(text, f"{job.name}.yaml", where))
        name = job.name
    written = write_outputs(comp.piece, out / name, document(comp))
    return {p.name: p.read_bytes() for p in written}


def assert_same_as_alone(rows: list[composer.Row], out: Path, tmp: Path, tunes: Path | None
                         ) -> None:
    for row in rows:
        assert row.status == "composed", row
        tune = int(row.input.rpartition("#X:")[2]) if "#X:" in row.input else None
        path = tunes if tune is not None and tunes is not None else Path(row.input)
        expected = alone(path, tmp / "alone", tune)
        assert sorted(expected) == sorted(f for f, _ in row.files)
        for name, data in expected.items():
            assert (out / name).read_bytes() == data, name


def test_two_workers_write_what_composing_each_alone_writes(tmp_path: Path) -> None:
    tunes = essen_abc(tmp_path, 3)
    inputs = [str(EXAMPLES / "harmonize-melody.yaml"), str(EXAMPLES / "waltz-3-4.yaml"), tunes]
    rows = composer.batch(inputs, tmp_path / "out", jobs=2)
    # the pool's thread ends with the batch: left to the interpreter's exit, it could
    # close its pipe as the exit woke it, and a traceback followed the summary
    assert not [t for t in threading.enumerate() if "ExecutorManager" in type(t).__name__]
    assert [r.name for r in rows] == ["harmonize-melody", "waltz-3-4", "essen-1", "essen-2",
                                      "essen-3"]
    assert_same_as_alone(rows, tmp_path / "out", tmp_path, tunes)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [r["input"] for r in report["rows"]] == [r.input for r in rows]
    csv_lines = (tmp_path / "out" / "report.csv").read_text().splitlines()
    assert csv_lines[0].startswith("input,name,status") and len(csv_lines) == 6


@pytest.mark.slow
def test_every_example_and_twenty_essen_tunes(tmp_path: Path) -> None:
    tunes = essen_abc(tmp_path, 20)
    rows = composer.batch([*map(str, COMPOSABLE), tunes], tmp_path / "out", jobs=2)
    assert len(rows) == len(COMPOSABLE) + 20
    assert_same_as_alone([r for r in rows if r.status == "composed"], tmp_path / "out",
                         tmp_path, tunes)
    # (a tune the rules refuse is reported with the explanation, not dropped)
    assert all(r.status in ("composed", "unsatisfiable") for r in rows)
    assert sum(r.status == "composed" for r in rows) >= len(rows) - 1


def test_bad_inputs_are_reported_and_the_others_finish(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("key: C major\nbars: 4\nmeter: 5/0\n")
    corrupt = tmp_path / "corrupt.musicxml"
    corrupt.write_text("<score-partwise><part id=")
    silent = tmp_path / "silent.abc"  # a tune of headers alone
    silent.write_text("X:1\nT:silent\nK:C\n")
    out = tmp_path / "out"
    code = main(["batch", str(broken), str(EXAMPLES / "harmonize-melody.yaml"), str(corrupt),
                 str(EXAMPLES / "unsatisfiable.yaml"), str(silent), "-o", str(out),
                 "--jobs", "1"])
    assert code == 1
    rows = {r["name"]: r for r in json.loads((out / "report.json").read_text())["rows"]}
    assert rows["harmonize-melody"]["status"] == "composed"
    assert (out / "harmonize-melody.musicxml").is_file()
    assert rows["broken"]["status"] == "bad input" and "meter" in rows["broken"]["detail"]
    assert rows["corrupt"]["status"] == "bad input"
    assert "not a valid MusicXML" in rows["corrupt"]["detail"]
    silent_row = next(r for name, r in rows.items() if name.startswith("silent"))
    assert silent_row["status"] == "bad input" and "holds no notes" in silent_row["detail"]
    assert rows["unsatisfiable"]["status"] == "unsatisfiable"
    assert "conflicts with" in rows["unsatisfiable"]["detail"]
    assert not list(out.glob("broken.*")) and not list(out.glob("corrupt.*"))
    err = capsys.readouterr().err
    assert f"{corrupt}: bad input" in err and "Traceback" not in err


def test_a_tune_music21_cannot_time_is_reported_in_the_standards_words(
        tmp_path: Path) -> None:
    """An ABC tune with neither L: nor M: (valid ABC: its notes are eighths) is one music21
    cannot read; the row says what the tune lacks, without the parser's dump of tokens,
    and the file's other tune is composed."""
    tunes = tmp_path / "tunes.abc"
    tunes.write_text("X:1\nT:untimed\nK:C\nCDEF|GABc|\n\n"
                     "X:2\nT:timed\nM:4/4\nL:1/4\nK:C\nCDEF|GABc|\n")
    rows = {r.input: r for r in composer.batch([tunes], tmp_path / "out", jobs=1)}
    untimed, timed = rows[f"{tunes}#X:1"], rows[f"{tunes}#X:2"]
    assert untimed.status == "bad input"
    assert "tune X:1 is not valid ABC" in untimed.detail and "L: field" in untimed.detail
    assert "tPrev" not in untimed.detail and "<music21" not in untimed.detail
    assert timed.status == "composed"


def test_an_output_folder_that_is_a_file_is_refused_and_left_alone(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "pieces"
    taken.write_text("my notes\n")
    code = main(["batch", str(EXAMPLES / "harmonize-melody.yaml"), "-o", str(taken),
                 "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{taken}: a file, not a folder" in err and "Traceback" not in err
    assert taken.read_text() == "my notes\n"


def test_check_grades_every_score_as_check_does(tmp_path: Path) -> None:
    from music21 import corpus

    chorale = tmp_path / "bwv269.musicxml"
    corpus.parse("bach/bwv269").write("musicxml", fp=str(chorale))
    scores = [EXAMPLES / "exercise.musicxml", chorale]
    rows = composer.batch(scores, tmp_path / "out", check=True, jobs=1)
    for score, row in zip(scores, rows, strict=True):
        report = composer.check(score)
        assert row.status == "checked"
        assert (row.errors, row.warnings) == (report.errors, report.warnings)
        graded = json.loads((tmp_path / "out" / f"{score.stem}.check.json").read_text())
        assert len(graded["violations"]) == len(report.violations)
    assert rows[0].errors and rows[0].errors > 0  # the exercise has its mistakes


def run_batch_command(args: list[str]) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "composer", "batch", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def rows_written(out: Path) -> list[dict[str, object]]:
    try:
        return list(json.loads((out / "report.json").read_text())["rows"])
    except (OSError, ValueError):
        return []


def wait_for_rows(out: Path, count: int, limit: float = 240) -> None:
    start = time.monotonic()
    while len(rows_written(out)) < count:
        assert time.monotonic() - start < limit, "the batch wrote no result in time"
        time.sleep(0.2)


@pytest.mark.slow
def test_resume_after_a_kill_does_the_rest_and_redoes_nothing(tmp_path: Path) -> None:
    tunes, out = essen_abc(tmp_path, 6), tmp_path / "out"
    batch = run_batch_command([str(tunes), "-o", str(out), "--jobs", "1"])
    wait_for_rows(out, 2)
    os.killpg(batch.pid, signal.SIGKILL)  # the driver and its workers, mid-piece
    batch.wait()
    before = {r["input"]: r for r in rows_written(out)}
    assert 2 <= len(before) < 6
    resumed = run_batch_command([str(tunes), "-o", str(out), "--jobs", "2", "--resume"])
    assert resumed.wait(timeout=600) == 0, resumed.stderr.read() if resumed.stderr else ""
    after = {r["input"]: r for r in rows_written(out)}
    assert len(after) == 6 and all(r["status"] == "composed" for r in after.values())
    for label, row in before.items():
        assert after[label] == row  # kept, not done again (its seconds are the old ones)
    listed = {f["file"] for r in after.values() for f in r["files"]}  # type: ignore[attr-defined]
    assert {p.name for p in out.iterdir()} == listed | {"report.json", "report.csv"}
    assert_same_as_alone([composer.Row.from_json(r) for r in after.values()], out, tmp_path,
                         tunes)


@pytest.mark.slow
def test_ctrl_c_keeps_what_is_finished_and_leaves_no_partial_file(tmp_path: Path) -> None:
    # Enough tunes that the batch cannot finish them all between its first result and the
    # interrupt (with six, a fast machine sometimes did, and the batch rightly exited 0).
    tunes, out = essen_abc(tmp_path, 40), tmp_path / "out"
    batch = run_batch_command([str(tunes), "-o", str(out), "--jobs", "2"])
    wait_for_rows(out, 1)
    os.killpg(batch.pid, signal.SIGINT)  # as a terminal's Ctrl-C reaches the group
    code = batch.wait(timeout=60)
    assert code == 130, batch.stderr.read().decode()[-3000:] if batch.stderr else code
    rows = rows_written(out)
    listed = {f["file"] for r in rows for f in r["files"]}  # type: ignore[attr-defined]
    names = {p.name for p in out.iterdir()}
    assert listed <= names and not [n for n in names if n.startswith(".")]
    assert all(n in listed or n.startswith("report.") or n.rsplit(".", 1)[0]
               not in {r["name"] for r in rows} for n in names)


@pytest.mark.slow
def test_a_local_ray_cluster_writes_what_the_worker_processes_write(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="ray is not installed (pip install 'partimento[ray]')")
    tunes = essen_abc(tmp_path, 3)
    inputs = [str(EXAMPLES / "harmonize-melody.yaml"), tunes]
    on_ray = composer.batch(inputs, tmp_path / "ray", jobs=2, ray="local")
    on_processes = composer.batch(inputs, tmp_path / "processes", jobs=2)
    assert [r.files for r in on_ray] == [r.files for r in on_processes]
    assert all(r.status == "composed" for r in on_ray)


def test_ray_without_ray_installed_is_one_line(tmp_path: Path) -> None:
    # A Python where `import ray` fails, as in a core install without the extra.
    code = ("import sys; sys.modules['ray'] = None; from composer.cli import main;"
            f" sys.exit(main(['batch', {str(EXAMPLES / 'harmonize-melody.yaml')!r}, '-o',"
            f" {str(tmp_path / 'out')!r}, '--ray', 'local']))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "pip install 'partimento[ray]'" in done.stderr


def test_a_killed_batchs_half_written_files_are_swept(tmp_path: Path) -> None:
    from composer.batches.report import sweep
    from composer.io.files import atomic_path

    staging = atomic_path(tmp_path / "few-1.musicxml")
    staging.__enter__().write_text("<score-partwise")  # killed before it was moved
    (tmp_path / ".few-1.musicxml").write_text("the user's own")
    sweep(tmp_path, {"few-1"})
    assert [p.name for p in tmp_path.iterdir()] == [".few-1.musicxml"]


def test_a_tune_that_sounds_only_the_minor_third_of_its_final_is_read_in_minor(
        tmp_path: Path) -> None:
    """Essen's han1#426 ends on E and sounds G natural for 19.5 beats, G sharp never: E
    minor, though the major profile fitted its other notes better (it was read in E
    major, its G naturals then clashing with the harmony's G sharps). A tune on D and A
    with C natural and F natural, ending on A, is in A minor, not A major."""
    from music21 import converter, corpus

    from composer.batches.templates import tune_key
    from composer.io.abc import carry_abc_accidentals

    part = corpus.parse("essenFolksong/han1", number=426).parts[0]
    carry_abc_accidentals(part)
    assert tune_key(part) == ("E minor", "authentic")
    tune = tmp_path / "aeolian.abc"
    tune.write_text("X:1\nT:aeolian\nM:3/4\nL:1/4\nK:Ddor\n"
                    "D2D|A2A|E>FE|D3|z A c|d2c|A B G|A3|]\n")
    assert tune_key(converter.parse(str(tune), forceSource=True).parts[0]) == \
        ("A minor", "authentic")
    rows = composer.batch([tune], tmp_path / "out", jobs=1)
    assert rows[0].status == "composed"
    written = json.loads((tmp_path / "out" / f"{rows[0].name}.json").read_text())
    assert written["spec"]["yaml"].splitlines()[1] == "key: A minor"


def test_fiddle_tunes_leaping_an_octave_within_a_beat_are_harmonized(tmp_path: Path) -> None:
    """Four tunes of Ryan's Mammoth Collection (music21's corpus) that a batch refused or
    crashed on. Wade Hampton's Hornpipe leaps from F#5 to D4 within a beat: the alto can
    neither stand within an octave of the F#5 nor cross below the D4, and no rule alone
    was to blame, so nothing was eased; now the spacing from the melody is weighed there,
    and reported at the note. Roy's Wife's last beat gave no voicing either: its notes are
    let go. Winnick's Favorite's `Q:1/4 =50` is read by music21 as a whole tied to a
    quarter, a tempo it cannot write into the tune's MusicXML (a traceback). The Jolly
    Tinker's Reel lets go of its notes in six places, one conflict after another (three
    were the most the lenient way tried)."""
    from music21 import corpus

    folder = tmp_path / "tunes"
    folder.mkdir()
    for name in ("WadeHamptonsHornpipe", "WinnicksFavoriteJig", "RoysWifeStrathspey",
                 "JollyTinkersReel"):
        (folder / f"{name}.abc").write_text(
            Path(corpus.getWork(f"ryansMammoth/{name}")).read_text(encoding="latin-1"))
    rows = composer.batch(folder, tmp_path / "out", jobs=1, model="none")
    assert [(r.name, r.status) for r in rows] == [
        ("JollyTinkersReel", "composed"), ("RoysWifeStrathspey", "composed"),
        ("WadeHamptonsHornpipe", "composed"), ("WinnicksFavoriteJig", "composed")
    ], [r.detail for r in rows]
    warned = json.loads((tmp_path / "out" / "WadeHamptonsHornpipe.json").read_text())
    spacing = [(w["bar"], w["beat"], w["voices"]) for w in warned["warnings"]
               if w["rule"] == "spacing"]
    assert (11, 1.0, ["soprano", "alto"]) in spacing  # (`| dDFB`: its pickup leads in)
    written = composer.check(tmp_path / "out" / "WadeHamptonsHornpipe.musicxml")
    # what breaks a rule is the melody's own line, or the spacing from it
    assert all(v.voices == ("soprano",) or (v.rule == "spacing" and "soprano" in v.voices)
               for v in written.violations), written.to_text()


def test_a_close_after_a_rest_within_the_beat_is_heard_as_composed(tmp_path: Path) -> None:
    """The White Cockade (tune 128 of music21's American fife book; `transpose: fit`
    moves it to F major) sings its second ending's last beat after a rest: C E F. The
    final tonic stood on the last note, F, and the C and E before it had a chord of their
    own; the checker hears a beat's harmony anew after a
    silence, not within it, so it heard the whole entry as the dominant and the piece as
    ending I–V: a broken cadence rule in a composed piece. The final chord now arrives
    where the melody enters. (Read so, the tune was off its beats by a thirty-second
    after its `g> (a// | b)`, music21's reading of a note tied over the bar line; its two
    strains' short bars are now one bar each, and it ends on the beats, the tonic under
    its last F.)"""
    from music21 import corpus

    book = Path(corpus.getWork("miscFolk/americanfifeopus.abc")).read_text(encoding="latin-1")
    tune = next(t for t in re.split(r"(?m)^(?=X:)", book) if re.match(r"X:\s*128\s", t))
    (tmp_path / "fife.abc").write_text(tune)
    rows = composer.batch(tmp_path / "fife.abc", tmp_path / "out", jobs=1, model="none")
    assert rows[0].status == "composed", rows[0].detail
    last = json.loads((tmp_path / "out" / "fife.json").read_text())["slots"][-1]
    assert (last["bar"], last["beat"], last["numeral"]) == (49, 2.0, "I")
    report = composer.check(tmp_path / "out" / "fife.musicxml")
    assert all(v.voices == ("soprano",) or (v.rule == "spacing" and "soprano" in v.voices)
               for v in report.violations), report.to_text()


def test_a_duet_in_numbered_voices_by_turns_gives_its_tune(tmp_path: Path) -> None:
    """The Duke of York's March (music21's American fife book) is a fife duet: V:1 and
    V:2 declared in the header, then five strains of each by turns. music21 read it as twelve
    parts, the first two empty, and the batch reported that the tune held no notes. Each
    voice is now gathered from its strains: the tune is voice 1 (the higher), whole."""
    from music21 import corpus

    book = Path(corpus.getWork("miscFolk/americanfifeopus.abc")).read_text(encoding="latin-1")
    tune = next(t for t in re.split(r"(?m)^(?=X:)", book) if re.match(r"X:\s*8\s", t))
    (tmp_path / "duke.abc").write_text(tune)
    rows = composer.batch(tmp_path / "duke.abc", tmp_path / "out", jobs=1, model="none")
    assert rows[0].status == "composed", rows[0].detail
    written = json.loads((tmp_path / "out" / "duke.json").read_text())
    # voice 1's five strains of four bars each, between voice 2's
    assert "bars: 20" in written["spec"]["yaml"].splitlines()
    assert written["slots"][-1]["bar"] == 20


def test_a_tune_whose_end_leads_back_ends_open_unless_the_spec_asks_a_close(
        tmp_path: Path) -> None:
    """The Female Hero (music21's airdsAirs, book 1, read in C major from its final) ends
    `c A F | A B c`, a run into its final C, the pickup into its repeat. The final tonic
    would stand on that last beat, and with A on the beat over C E G every voicing would
    be heard as A minor with a seventh. It was refused; now the piece ends on the chord
    the run sounds, and the missing close is a warning at the last beat. Where the spec's
    own `hard:` list asks for the cadence (here a template's), the close is the user's
    demand: refused, in words that say why (the refusal once said the ranges, spacing,
    doubling and completeness left no voicing)."""
    from music21 import corpus

    book = Path(corpus.getWork("airdsAirs/book1.abc")).read_text(encoding="latin-1")
    tune = next(t for t in re.split(r"(?m)^(?=X:)", book) if t.startswith("X:0065"))
    (tmp_path / "hero.abc").write_text(tune)
    rows = composer.batch(tmp_path / "hero.abc", tmp_path / "out", jobs=1, model="none")
    assert rows[0].status == "composed", rows[0].detail
    written = json.loads((tmp_path / "out" / f"{rows[0].name}.json").read_text())
    last = written["slots"][-1]
    assert last["bar"] == 16 and last["numeral"] != "I"
    closes = [w for w in written["warnings"] if w["rule"] == "cadence"]
    assert len(closes) == 1 and closes[0]["bar"] == 16, closes
    assert closes[0]["message"].startswith("the piece ends on") and closes[0]["message"].endswith(
        "in C major: not an accepted cadence (authentic, plagal); no tonic can be heard"
        " under the melody's last notes, which lead on (into its repeat, perhaps)"), closes
    graded = composer.check(tmp_path / "out" / f"{rows[0].name}.musicxml")
    assert {v.rule for v in graded.violations if v.severity == "error"
            and v.voices != ("soprano",)} == {"cadence"}, graded.to_text()

    template = tmp_path / "close.yaml"
    template.write_text("rules:\n  hard:\n    - {rule: cadence}\n")
    rows = composer.batch(tmp_path / "hero.abc", tmp_path / "asked", template=template,
                          jobs=1, model="none")
    assert rows[0].status == "unsatisfiable"
    assert "at bar 16 beat 2 the rules leave voicings of the chords the grammar allows" \
        " there (I), but with the melody's A4 B4 C5 every one would be heard as another" \
        " chord" in rows[0].detail, rows[0].detail


def test_a_reel_ends_on_the_chord_its_last_notes_sound_and_never_against_itself(
        tmp_path: Path) -> None:
    """Miss Kelly's Reel (Ryan's Mammoth Collection) is read in E minor after its melody is
    moved to fit; its last beat, `d B G B` before the repeat, sounds G major. Its open end
    was set as a half cadence on B major under the melody's D: D against the chord's D#,
    a false relation no treatment of the note mends. Now no chord holds another
    alteration of a melody note anywhere, and the piece ends on G (with its seventh, as the
    statistical scorer sets it), open."""
    from music21 import corpus

    tune = tmp_path / "kelly.abc"
    tune.write_text(Path(corpus.getWork("ryansMammoth/MissKellysReel")).read_text(
        encoding="latin-1"))
    rows = composer.batch(tune, tmp_path / "out", jobs=1, model="none")
    assert rows[0].status == "composed", rows[0].detail
    written = json.loads((tmp_path / "out" / f"{rows[0].name}.json").read_text())
    assert written["key"] == "E minor"
    last = written["slots"][-1]
    assert last["chord"].startswith("G ") and last["cadence"] == "open", last  # G, or G7
    for slot in written["slots"]:  # the same letter, another accidental
        sung, *under = slot["voicing"]
        clash = [p for p in under if p[0] == sung[0] and p[:-1] != sung[:-1]]
        assert not clash, (slot["bar"], slot["beat"], sung, under)


def test_a_link_to_a_melody_file_elsewhere_is_harmonized(tmp_path: Path) -> None:
    """A folder of links to the tunes where they lie (here Aloha 'Oe in music21's corpus)
    is a batch's input like any other: the batch names the file the link leads to, so the
    spec's rule against reading outside its own folder does not refuse it."""
    from music21 import corpus

    folder = tmp_path / "tunes"
    folder.mkdir()
    (folder / "aloha.mxl").symlink_to(Path(corpus.getWork("liliuokalani/aloha_oe")))
    rows = composer.batch(folder, tmp_path / "out", jobs=1, model="none")
    assert [(r.name, r.status) for r in rows] == [("aloha", "composed")], rows[0].detail
    spec = json.loads((tmp_path / "out" / "aloha.json").read_text())["spec"]["yaml"]
    assert "key: G major" in spec.splitlines()
    written = composer.check(tmp_path / "out" / "aloha.musicxml")
    assert not [v for v in written.violations
                if v.severity == "error" and v.voices != ("soprano",)], written.to_text()


def test_where_no_rule_alone_is_to_blame_the_notes_at_the_break_are_let_go(
        tmp_path: Path) -> None:
    """The Leviathan Hornpipe (Ryan's Mammoth Collection) closes its first strain on a low
    tonic under a triplet that leads an octave up into the second (`BdcA G2:| |:(3def)`).
    The rules left too few voicings to connect the chords there, and no rule alone was to
    blame, so once the spacing from the melody was weighed in vain the tune was refused.
    Now the melody's notes struck where it broke are let go as any conflicting note is:
    the tune is composed, no hard rule broken in a composed voice."""
    from music21 import corpus

    tune = tmp_path / "leviathan.abc"
    tune.write_text(Path(corpus.getWork("ryansMammoth/LeviathanHornpipe")).read_text(
        encoding="latin-1"))
    rows = composer.batch(tune, tmp_path / "out", jobs=1, model="none")
    assert rows[0].status == "composed", rows[0].detail
    written = composer.check(tmp_path / "out" / f"{rows[0].name}.musicxml")
    assert not [v for v in written.violations if v.severity == "error"
                and v.voices != ("soprano",)], written.to_text()


def test_a_triplet_bar_music21_reads_in_one_sixth_time_is_no_meter(tmp_path: Path) -> None:
    """O'Neill's 317 writes a bar of one triplet's worth, which music21 reads with a time
    signature of 1/6. Barred again as it is played, that bar became a meter of its own,
    and the batch failed on it (a ValueError, a bug) where it had composed the tune as
    written. No such meter is kept: the tune composes in its 3/4."""
    from music21 import corpus

    book = Path(corpus.getWork("oneills1850/0301-0350.abc")).read_text(encoding="latin-1")
    tune = next(t for t in re.split(r"(?m)^(?=X:)", book) if re.match(r"X:\s*317\s", t))
    (tmp_path / "t317.abc").write_text(tune, encoding="latin-1")
    rows = composer.batch(tmp_path / "t317.abc", tmp_path / "out", jobs=1, model="none")
    assert rows[0].status == "composed", rows[0].detail
    spec = json.loads((tmp_path / "out" / "t317.json").read_text())["spec"]["yaml"]
    assert "meter: 3/4" in spec.splitlines()
