"""What a reader of one staff holds in mind about accidentals: the key signature, the bar
so far, the bar before. The preview and the score files print accidentals by it, so that
both show the same signs."""

from __future__ import annotations

from dataclasses import dataclass, field

from composer.music import Key, Pitch

ACCIDENTAL_NAMES = {-2: "flat-flat", -1: "flat", 0: "natural", 1: "sharp", 2: "double-sharp"}
_FIFTHS = (0, 2, 4, -1, 1, 3, 5)  # of each step's major key: C D E F G A B
_SHARPS, _FLATS = (3, 0, 4, 1, 5, 2, 6), (6, 2, 5, 1, 4, 0, 3)  # F C G D A E B / B E A …


@dataclass
class Accidentals:
    """What a staff's reader holds in mind within one bar: the key signature, each line
    or space as last written, each step's last alteration in any octave, the steps the
    bar before altered, and the note just struck."""

    signature: dict[int, int]
    written: dict[tuple[int, int], int] = field(default_factory=dict)
    steps: dict[int, int] = field(default_factory=dict)
    bar_before: dict[int, int] = field(default_factory=dict)
    last: Pitch | None = None

    def next_bar(self) -> Accidentals:
        return Accidentals(self.signature, bar_before=dict(self.steps))

    def hold(self, pitch: Pitch) -> None:
        """A note tied over: written without an accidental, read as it sounds."""
        self.written[(pitch.step, pitch.octave)] = self.steps[pitch.step] = pitch.alter
        self.last = pitch

    def shown(self, pitch: Pitch) -> str | None:
        """The accidental this note is written with, as the files a user downloads
        write it: where the bar so far (or the signature) reads the line otherwise; an
        altered note again unless it repeats the note just struck; where the same step
        stood otherwise earlier in the bar in another octave or in the bar before."""
        step, place = pitch.step, (pitch.step, pitch.octave)
        signature = self.signature.get(step, 0)
        repeated = self.last == pitch
        show = (pitch.alter != self.written.get(place, signature)
                or (pitch.alter != signature and not repeated)
                or pitch.alter != self.steps.get(step, pitch.alter)
                or (step not in self.steps and pitch.alter != self.bar_before.get(step,
                                                                               pitch.alter)))
        self.written[place] = self.steps[step] = pitch.alter
        self.last = pitch
        return ACCIDENTAL_NAMES.get(pitch.alter) if show else None


def key_signature(key: Key) -> Accidentals:
    fifths = key_fifths(key)
    steps = _SHARPS[:fifths] if fifths > 0 else _FLATS[:-fifths]
    return Accidentals({step: 1 if fifths > 0 else -1 for step in steps})


def key_fifths(key: Key) -> int:
    return _FIFTHS[key.tonic.step] + 7 * key.tonic.alter - (3 if key.mode == "minor" else 0)
