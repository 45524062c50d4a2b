"""The key a checked score is read in: a final bass note on either tonic of the signature
decides; where it does not (a piece ending on a half cadence), the mode the file states
(MusicXML's <mode>), and only then the pitch content, which in such a piece may lean to
the relative key."""

from __future__ import annotations

import pytest
from music21 import key

from composer.corpus import parse_chorale
from composer.io.read import texture_from_music21


def _without_mode(score):
    for ks in list(score.recurse().getElementsByClass(key.KeySignature)):
        ks.activeSite.replace(ks, key.KeySignature(ks.sharps))
    return score


@pytest.mark.parametrize("name, tonic, mode, by_content", [
    ("bach/bwv305", "A", "minor", "C"),    # ends on E major: a half cadence in A minor
    ("bach/bwv64.2", "A", "minor", "C"),
    ("bach/bwv387", "C", "major", "A"),
])
def test_a_chorale_ending_off_both_tonics_is_read_in_the_key_its_file_states(
        name: str, tonic: str, mode: str, by_content: str) -> None:
    texture, _ = texture_from_music21(parse_chorale(name))
    assert (str(texture.key.tonic), texture.key.mode) == (tonic, mode)
    # the same notes with a bare signature: the pitch content alone says the relative key
    bare, _ = texture_from_music21(_without_mode(parse_chorale(name)))
    assert str(bare.key.tonic) == by_content and bare.key.mode != mode


def test_a_final_bass_note_on_a_tonic_still_decides_before_the_stated_mode() -> None:
    # bwv65.2's file says C major; its bass ends on A, the relative minor's tonic
    texture, _ = texture_from_music21(parse_chorale("bach/bwv65.2"))
    assert (str(texture.key.tonic), texture.key.mode) == ("A", "minor")
