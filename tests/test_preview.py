"""The studio's quick MusicXML is the same music as the file a user downloads: both are
read back by music21 and compared note for note (pitch, onset, length, bar, lyric,
fermata, the accidentals printed), and verovio engraves the quick one."""

from __future__ import annotations

from dataclasses import replace
from itertools import cycle
from pathlib import Path

import pytest
from music21 import converter
from score_support import read_as_printed

from composer import compose, revise
from composer.io.preview import _system, preview_musicxml, preview_systems
from composer.io.write import musicxml_text, piece_to_music21
from composer.spec.load import load_spec
from composer.studio.engraving import engrave

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p for p in (ROOT / "constraints" / "examples").glob("*.yaml")
                  if p.stem != "unsatisfiable")
TUNES = {  # the awkward cases: a triplet in 6/8, a meter change, ties across the bar
    "six-eight": '"6/8 e8 f g c\'4 g8 a f d\' c\'4. trip{c\'16 d\' c\'} b8 a g4 r8 d4. c4."',
    "meter-change": '"4/4 c4~ c4 b4 B4 c4 d e f 3/4 e2 d4 c2."',
    "pickup": '"3/4 g4 c\'2 d\'4 e\'2 d\'4 c\'2 b4 c\'2"',
}


def _notes(text: str, tmp: Path, name: str) -> list[tuple]:
    """Every sounding note of the score as a reader meets it, bar by bar."""
    path = tmp / f"{name}.musicxml"
    path.write_text(text, encoding="utf-8")
    score = converter.parse(str(path))
    out = []
    for p, part in enumerate(score.parts):
        for bar in part.getElementsByClass("Measure"):
            for n in bar.recurse().notes:
                tie = n.tie.type if n.tie is not None else None
                shown = n.pitch.accidental is not None and bool(n.pitch.accidental.displayStatus)
                out.append((p, bar.number, float(bar.paddingLeft + n.offset),
                            float(n.quarterLength), n.pitch.nameWithOctave, tie,
                            tuple(ly.text for ly in n.lyrics),
                            any(e.name == "fermata" for e in n.expressions),
                            shown if tie in (None, "start") else None))
    return out


def _same_music(piece, tmp: Path) -> None:
    quick = preview_musicxml(piece)
    full = musicxml_text(piece_to_music21(piece), tmp / "full.musicxml")
    ours, theirs = _notes(quick, tmp, "quick"), _notes(full, tmp, "full")
    assert [n[:-1] for n in ours] == [n[:-1] for n in theirs]
    # No accidental the file lacks (music21 adds a few redundant ones of its own) ...
    assert all(theirs[k][-1] for k, n in enumerate(ours) if n[-1])
    # ... and a reader who sees only the key signature and the printed accidentals reads
    # every pitch right.
    assert [name for staff in read_as_printed(quick) for name in staff] == [n[4] for n in ours]
    view = engrave(quick)
    sounding = sum(1 for line in piece.lines for n in line if n.pitch is not None)
    assert len(view["notes"]) >= sounding  # every note engraved (a tied one twice)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_previews_as_it_is_written(path, tmp_path):
    _same_music(compose(load_spec(path), seed=0).piece, tmp_path)


@pytest.mark.parametrize("name", TUNES)
def test_tunes_with_triplets_meter_changes_and_pickups_preview_as_written(name, tmp_path):
    spec = tmp_path / "tune.yaml"
    spec.write_text(f"key: C major\nbars: 4\nmelody:\n  voice: soprano\n  tinynotation:"
                    f" {TUNES[name]}\nrules:\n  include: [common-practice]\n", encoding="utf-8")
    _same_music(compose(load_spec(spec), seed=1).piece, tmp_path)


def test_lyrics_go_on_across_bars_as_written(tmp_path):
    comp = compose(load_spec(ROOT / "constraints" / "examples" / "chorale-melody.yaml"))
    syllables = cycle(("Hal-", "le-", "lu-", "jah"))
    melody = comp.piece.lines[0]
    sung = tuple(replace(n, lyric=next(syllables)) if n.pitch is not None else n
                 for n in melody)
    piece = replace(comp.piece, lines=(sung,) + comp.piece.lines[1:])
    _same_music(piece, tmp_path)
    assert "<syllabic>middle</syllabic>" in preview_musicxml(piece)


@pytest.mark.parametrize("name", ["chorale-d-major", "minor-aaba"])
def test_a_revision_writes_again_only_the_systems_it_changed(name):
    """The systems kept from before are the ones written from nothing; only those that
    hold the revised bar, or the bar after it (whose accidentals a reader reads against
    it), are new."""
    comp = compose(load_spec(ROOT / "constraints" / "examples" / f"{name}.yaml"), seed=0)
    before = preview_systems(comp.piece)
    bar = before[0].last_bar  # the last bar of the first system
    revised = [revise(comp.to_json(), bars=(bar, bar), seed=seed).piece for seed in (1, 2, 3)]
    kept = [preview_systems(piece) for piece in revised]
    _system.cache_clear()
    assert kept == [preview_systems(piece) for piece in revised]
    changed = {k for systems in kept for k, (old, new) in enumerate(zip(before, systems,
                                                                        strict=True))
               if old.musicxml != new.musicxml}
    assert 0 in changed and changed <= {0, 1}
