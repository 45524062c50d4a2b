"""Moving a given melody into its voice's range, as a singer asks the accompanist to.

By octaves where that is enough, so that the key stays; otherwise by the smallest
interval that fits, the key going with the melody and spelled with the fewest
accidentals (D flat major, not C sharp major).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from composer.errors import Location
from composer.music import STEP_PC, Key, Pitch, PitchClass, interval_name, interval_words

_INTERVAL = re.compile(r"^([+-]?)(P|M|m|A|d)(\d+)$")
_PERFECT = (0, 3, 4)  # unisons, fourths and fifths (and their octaves) are perfect
_NUMBERS = {2: "two", 3: "three", 4: "four"}
_QUALITY = {"P": 0, "M": 0, "m": -1, "A": 1, "d": -1}  # semitones from P or M (d of M: -2)


@dataclass(frozen=True)
class Transposition:
    """What was done to the melody: a signed interval (diatonic steps and semitones) and
    the key it leads to when that is another key."""

    steps: int
    semitones: int
    key: Key | None  # None: the key stays (octaves)
    reason: str  # "to fit the soprano's range C4–A5", "as 'transpose: M2' asks"
    origin: Location | None = None  # where the spec asks for it

    @property
    def interval(self) -> str:
        """'-P8', 'M2'."""
        return ("-" if self.semitones < 0 else "") + interval_name(self.steps, self.semitones)

    def pitch(self, p: Pitch) -> Pitch:
        return Pitch(p.midi + self.semitones, p.diatonic + self.steps)

    def words(self) -> str:
        """'down an octave', 'up two octaves', 'up a major second, to E major'."""
        direction = "up" if self.semitones > 0 else "down"
        octaves, rest = divmod(abs(self.steps), 7)
        if rest == 0 and abs(self.semitones) == 12 * octaves:
            size = "an octave" if octaves == 1 else f"{_NUMBERS.get(octaves, octaves)} octaves"
        else:
            name = interval_words(self.steps, self.semitones)
            size = ("an " if name[0] in "aeiou" else "a ") + name
        return f"{direction} {size}" + (f", to {self.key}" if self.key is not None else "")

    def note(self) -> str:
        return f"the melody is transposed {self.words()} {self.reason}"


def parse_interval(text: str) -> tuple[int, int]:
    """'-P8' → (-7, -12); 'M2' → (1, 2); 'm3' → (2, 3). Raises ValueError."""
    m = _INTERVAL.match(text.strip())
    size = int(m.group(3)) if m else 0
    if not m or size < 1:
        raise ValueError(f"'{text}' is neither 'fit' nor an interval (accepted: fit, or a"
                         " quality P M m A d, a size and a sign for down: -P8, M2, -m3)")
    sign, quality = -1 if m.group(1) == "-" else 1, m.group(2)
    octaves, simple = divmod(size - 1, 7)
    if (simple in _PERFECT) != (quality in "PAd"):
        kind = "perfect, augmented or diminished" if simple in _PERFECT else \
            "major, minor, augmented or diminished"
        raise ValueError(f"'{text}' is no interval: a {size} is {kind}")
    shift = _QUALITY[quality] - (quality == "d" and simple not in _PERFECT)
    return sign * (size - 1), sign * (STEP_PC[simple] + 12 * octaves + shift)


def fit(low: Pitch, high: Pitch, lowest: Pitch, highest: Pitch, key: Key
        ) -> tuple[int, int, Key | None] | None:
    """The shift (steps, semitones, new key or None) that brings a melody from
    lowest–highest within low–high; None when it already lies there. A melody wider
    than the range moves by the octaves that leave the least of it outside."""
    if lowest.midi >= low.midi and highest.midi <= high.midi:
        return None
    if highest.midi - lowest.midi > high.midi - low.midi:
        def outside(k: int) -> int:
            return max(0, low.midi - lowest.midi - 12 * k) \
                + max(0, highest.midi + 12 * k - high.midi)
        k = min(range(-4, 5), key=lambda k: (outside(k), abs(k)))
        return (7 * k, 12 * k, None) if k else None
    least, most = low.midi - lowest.midi, high.midi - highest.midi  # semitones that fit
    octaves = list(range(-(-least // 12), most // 12 + 1))
    if octaves:
        k = min(octaves, key=abs)
        return 7 * k, 12 * k, None
    shift = least if least > 0 else most
    new = _simplest_key(key, shift)
    return _steps(key.tonic, new.tonic, shift), shift, new


def _simplest_key(key: Key, semitones: int) -> Key:
    """The key a number of semitones away with the fewest sharps or flats (sharps going
    up, flats going down, where two have as many)."""
    pc = (key.tonic.pc + semitones) % 12
    spellings = [Key(PitchClass(step, (pc - STEP_PC[step] + 6) % 12 - 6), key.mode)
                 for step in range(7)]
    spellings = [k for k in spellings if abs(k.tonic.alter) <= 1]
    return min(spellings, key=lambda k: (abs(k.sharps), (k.sharps < 0) == (semitones > 0)))


def _steps(old: PitchClass, new: PitchClass, semitones: int) -> int:
    """The diatonic steps from one tonic to another, in the direction and over the
    octaves of a shift of so many semitones."""
    if semitones > 0:
        simple, chromatic = (new.step - old.step) % 7, (new.pc - old.pc) % 12
        return simple + 7 * ((semitones - chromatic) // 12)
    simple, chromatic = (old.step - new.step) % 7, (old.pc - new.pc) % 12
    return -(simple + 7 * ((-semitones - chromatic) // 12))
