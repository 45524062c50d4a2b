"""Our motion and crossing rules against music21's `voiceLeading.VoiceLeadingQuartet`.

Every pair of neighbouring onset slices of all 371 Bach chorales in music21's corpus, for
every pair of voices, is judged twice: by our rules (`rule.findings`) and by a
VoiceLeadingQuartet built from the very music21 notes that sound there (found through
`Origin.events`). Every disagreement is given a kind, and the whole-corpus tests assert
that the kinds are exactly the deliberate differences of definition below, each pinned
by a test that names the chorale, bar and beat:

- re-voiced: music21 calls a fifth parallel when both voices move but keep their pitch
  classes (the same fifth re-voiced an octave higher or lower); ours does not.
- unison-octave: music21 counts a unison moving to an octave or back, in contrary
  motion, as parallel octaves *and* unisons; ours tells a unison from an octave.
- octaves-as-unisons: music21 also calls octaves moving to double octaves in contrary
  motion parallel unisons (it compares simple names, and an octave's is P1); ours reports
  them as octaves only.
- upper-step: music21's `hiddenInterval` flags every hidden interval; ours (the textbook
  rule) allows the outer voices' hidden fifth or octave when the upper voice moves by
  step. With `step: false` the two agree exactly.

Compound and antiparallel fifths and octaves count for both: ours split them between
two rules, no-parallel-fifths and no-parallel-octaves in similar motion and
no-contrary-octaves in contrary motion (a warning when checking, an error when
composing), so the union of the two is what music21's parallelFifth and parallelOctave
are compared with, and the split itself with music21's contraryMotion. Voice crossing agrees
exactly: music21's `voiceCrossing()` is true when either slice of the quartet is crossed,
ours judges each slice, so both are compared per slice and per pair of slices.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pytest
from music21 import converter, stream, voiceLeading

from composer.corpus import chorale_names, parse_chorale
from composer.io.read import EPS, Origin, texture_from_music21
from composer.rules import RULES, Context
from composer.texture import Texture

# Our rule id -> the VoiceLeadingQuartet method that is its counterpart.
PARALLEL = {"no-parallel-fifths": "parallelFifth", "no-parallel-octaves": "parallelOctave",
            "no-parallel-unisons": "parallelUnison"}
CONTRARY = "no-contrary-octaves"  # the antiparallel fifths and octaves of PARALLEL's first two
SPLIT = "contrary motion (no-contrary-octaves, not a parallel rule)"
HIDDEN = {"no-hidden-fifths-outer": "hiddenFifth", "no-hidden-octaves-outer": "hiddenOctave"}
STEP_FALSE = " (step: false)"
CROSSING_SLICE, CROSSING_PAIR = "no-voice-crossing (slice)", "no-voice-crossing (pair)"

MUSIC21_ONLY = "music21 only"
EXPECTED_PARALLEL_KINDS = {
    ("no-parallel-fifths", MUSIC21_ONLY, "re-voiced"),
    ("no-parallel-octaves", MUSIC21_ONLY, "unison-octave"),
    ("no-parallel-unisons", MUSIC21_ONLY, "unison-octave"),
    ("no-parallel-unisons", MUSIC21_ONLY, "octaves-as-unisons"),
}
EXPECTED_HIDDEN_KINDS = {
    ("no-hidden-fifths-outer", MUSIC21_ONLY, "upper-step"),
    ("no-hidden-octaves-outer", MUSIC21_ONLY, "upper-step"),
}


# One chorale, read once --------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Chorale:
    name: str
    texture: Texture
    ctx: Context
    notes: tuple[tuple[Any, ...], ...]  # [slice][voice]: the music21 Note (or Pitch), or None
    ps: np.ndarray  # float [slice, voice]: music21's pitch space number, nan where silent

    def quartet(self, k: int, i: int, j: int, first: int | None = None):
        """music21's quartet of voices i (upper) and j from slice `first` (k - 1 unless
        given) to slice k, or None where a voice is silent."""
        a = k - 1 if first is None else first
        four = (self.notes[a][i], self.notes[k][i], self.notes[a][j], self.notes[k][j])
        return None if any(n is None for n in four) else voiceLeading.VoiceLeadingQuartet(*four)

    def ours(self, rule: str, **params: Any) -> set[tuple[int, tuple[int, ...]]]:
        """(slice, voices) of each finding; for a horizontal rule the second slice."""
        r = RULES[rule]
        return {(f.rows[0], f.voices)
                for f in r.findings(self.texture, self.ctx, {**r.defaults(), **params})}

    def where(self, k: int, i: int, j: int) -> str:
        pos = self.texture.slices[k].position
        v = self.texture.voices
        return f"{self.name} bar {pos.bar} beat {pos.beat:g} {v[i]}–{v[j]}"

    def slice_at(self, bar: int, beat: float) -> int:
        return next(k for k, s in enumerate(self.texture.slices)
                    if s.position.bar == bar and abs(s.position.beat - beat) < EPS)


def sounding_notes(texture: Texture, origin: Origin) -> tuple[tuple[Any, ...], ...]:
    """The music21 note each voice sounds in each slice (the first of a tie chain; for a
    chord written in one line, its top pitch, as io reads it)."""
    table: list[list[Any]] = [[None] * len(texture.voices) for _ in texture.slices]
    for v, line in enumerate(origin.events):
        starts = [ev.offset for ev in line]
        for k, s in enumerate(texture.slices):
            x = bisect.bisect_right(starts, s.offset + EPS) - 1
            ev = line[x] if x >= 0 else None
            if ev is None or ev.pitch is None or ev.offset + ev.duration <= s.offset + EPS:
                continue
            el = ev.source
            table[k][v] = el if el.isNote else el.pitches[-1]
    return tuple(tuple(row) for row in table)


def read_chorale(name: str, score: Any | None = None) -> Chorale:
    texture, origin = texture_from_music21(score or parse_chorale(name), source=name)
    notes = sounding_notes(texture, origin)
    ps = np.array([[np.nan if n is None else (n.pitch.ps if hasattr(n, "pitch") else n.ps)
                    for n in row] for row in notes], float).reshape(len(notes), -1)
    # Our pitches are music21's: same rests, same MIDI numbers.
    midi = texture.frame.midi
    assert (np.isnan(ps) == (midi == -1)).all(), name
    assert (np.round(ps[midi != -1]) == midi[midi != -1]).all(), name
    return Chorale(name, texture, Context(texture.voices, texture.key, texture.meter),
                   notes, ps)


@cache
def chorale(name: str) -> Chorale:
    return read_chorale(name)


# Kinds of disagreement ---------------------------------------------------------------

def kind_of(check: str, q: Any, music21: bool, ours: bool) -> str:
    """Why music21 and we differ on quartet q, from the notes alone."""
    if q is None:
        return "unexplained (a voice is silent)"
    if music21 and not ours:
        h1, h2, l1, l2 = (n.pitch for n in (q.v1n1, q.v1n2, q.v2n1, q.v2n2))
        both_move = h1.ps != h2.ps and l1.ps != l2.ps
        if check in PARALLEL and both_move and h1.pitchClass == h2.pitchClass \
                and l1.pitchClass == l2.pitchClass:
            return "re-voiced"
        semis = [abs(round(iv.semitones)) for iv in q.vIntervals]
        octaves = all(s % 12 == 0 for s in semis)
        if check in ("no-parallel-octaves", "no-parallel-unisons") and octaves \
                and (semis[0] == 0) != (semis[1] == 0):
            return "unison-octave"
        if check == "no-parallel-unisons" and octaves and 0 not in semis:
            return "octaves-as-unisons"
        if check in HIDDEN and q.hIntervals[0].generic.undirected <= 2:
            return "upper-step"
    return "unexplained"


@dataclass(frozen=True)
class Disagreement:
    check: str
    where: str
    music21: bool
    ours: bool
    kind: str

    @property
    def key(self) -> tuple[str, str, str]:
        side = MUSIC21_ONLY if self.music21 else "ours only"
        return (self.check, side, self.kind)


@dataclass
class Survey:
    """Every verdict of both sides over the corpus, counted, and every disagreement."""

    chorales: int = 0
    moments: int = 0  # (neighbouring slice pair, voice pair) with all four notes sounding
    quartets: int = 0  # quartets music21 actually judged (the rest cannot be flagged)
    verdicts: Counter = field(default_factory=Counter)  # (check, music21, ours) -> count
    contrary: Counter = field(default_factory=Counter)  # no-contrary-octaves: fifth? -> count
    disagreements: list[Disagreement] = field(default_factory=list)

    def judge(self, c: Chorale, check: str, q: Any, music21: bool, ours: bool,
              place: tuple[int, int, int]) -> None:
        self.verdicts[(check, music21, ours)] += 1
        if music21 != ours:
            self.disagreements.append(
                Disagreement(check, c.where(*place), music21, ours,
                             kind_of(check.removesuffix(STEP_FALSE), q, music21, ours)))

    def kinds(self, checks: set[str]) -> Counter:
        return Counter(d.key for d in self.disagreements if d.check in checks)

    def add(self, c: Chorale) -> None:
        self.chorales += 1
        both = ~np.isnan(c.ps)
        n, v = c.ps.shape
        for i in range(v):
            for j in range(i + 1, v):
                s = both[:, i] & both[:, j]
                self.moments += int((s[:-1] & s[1:]).sum())
        self._parallels(c)
        self._hidden(c)
        self._crossing(c)

    def _parallels(self, c: Chorale) -> None:
        ours = {rule: c.ours(rule) for rule in PARALLEL}
        contrary = c.ours(CONTRARY)
        for k, (i, j) in contrary:  # each to the parallel rule of its interval
            fifth = round(abs(c.ps[k, i] - c.ps[k, j])) % 12 == 7
            ours["no-parallel-fifths" if fifth else "no-parallel-octaves"].add((k, (i, j)))
            self.contrary[fifth] += 1
        v = len(c.texture.voices)
        for i in range(v):
            for j in range(i + 1, v):
                # music21 can only flag a parallel fifth (octave, unison) where both
                # vertical intervals are perfect fifths (octaves, unisons), compound or
                # not: 7 (0) semitones mod 12 at both slices.
                d = np.abs(c.ps[:, i] - c.ps[:, j]) % 12
                same = ((d[:-1] == 0) & (d[1:] == 0)) | ((d[:-1] == 7) & (d[1:] == 7))
                candidates = {int(k) + 1 for k in np.flatnonzero(same)}
                candidates |= {k for found in ours.values() for k, vv in found if vv == (i, j)}
                for k in sorted(candidates):
                    q = c.quartet(k, i, j)
                    self.quartets += q is not None
                    for rule, method in PARALLEL.items():
                        m21 = q is not None and getattr(q, method)()
                        self.judge(c, rule, q, m21, (k, (i, j)) in ours[rule], (k, i, j))
                    if q is not None and any((k, (i, j)) in ours[r] for r in PARALLEL):
                        self.judge(c, SPLIT, q, q.contraryMotion(), (k, (i, j)) in contrary,
                                   (k, i, j))

    def _hidden(self, c: Chorale) -> None:
        i, j = c.ctx.outer
        ours = {rule: c.ours(rule) for rule in HIDDEN}
        loose = {rule: c.ours(rule, step=False) for rule in HIDDEN}
        # A hidden fifth or octave needs a fifth or octave (or unison) at the second slice.
        d = np.abs(c.ps[:, i] - c.ps[:, j]) % 12
        candidates = {int(k) + 1 for k in np.flatnonzero((d[1:] == 0) | (d[1:] == 7))}
        candidates |= {k for found in (*ours.values(), *loose.values()) for k, _ in found}
        for k in sorted(candidates):
            q = c.quartet(k, i, j)
            self.quartets += q is not None
            for rule, method in HIDDEN.items():
                m21 = q is not None and getattr(q, method)()
                self.judge(c, rule, q, m21, (k, (i, j)) in ours[rule], (k, i, j))
                self.judge(c, rule + STEP_FALSE, q, m21, (k, (i, j)) in loose[rule], (k, i, j))

    def _crossing(self, c: Chorale) -> None:
        ours = c.ours("no-voice-crossing")
        n, v = c.ps.shape
        for i in range(v):
            for j in range(i + 1, v):
                # music21 flags a slice only where the upper voice is lower (by pitch
                # space): take every slice within two semitones of that, to be safe.
                close = c.ps[:, i] - c.ps[:, j] < 3
                slices = {int(k) for k in np.flatnonzero(close)}
                slices |= {k for k, vv in ours if vv == (i, j)}
                for k in sorted(slices):  # one slice: the quartet of a slice with itself
                    q = c.quartet(k, i, j, first=k)
                    self.quartets += q is not None
                    self.judge(c, CROSSING_SLICE, q, q is not None and q.voiceCrossing(),
                               (k, (i, j)) in ours, (k, i, j))
                pairs = {k for k in slices if k > 0} | {k + 1 for k in slices if k + 1 < n}
                for k in sorted(pairs):  # slices k - 1 and k
                    q = c.quartet(k, i, j)
                    if q is None:  # music21 cannot judge it; the slices are judged above
                        continue
                    self.quartets += 1
                    crossed = (k - 1, (i, j)) in ours or (k, (i, j)) in ours
                    self.judge(c, CROSSING_PAIR, q, q.voiceCrossing(), crossed, (k, i, j))


@pytest.fixture(scope="module")
def survey() -> Survey:
    """The whole corpus judged once (under a minute); scores are not kept."""
    s = Survey()
    for name in chorale_names():
        s.add(read_chorale(name))
    return s


def _show(s: Survey, checks: set[str]) -> str:
    lines = [f"{k}: {n}" for k, n in sorted(s.kinds(checks).items())]
    lines += [f"  e.g. {d.check} at {d.where}: music21 {d.music21}, ours {d.ours} ({d.kind})"
              for d in s.disagreements if d.check in checks and d.kind.startswith("unexpl")]
    return "\n".join(lines[:60])


# The whole corpus ----------------------------------------------------------------------

@pytest.mark.slow
def test_the_survey_covers_all_371_chorales(survey: Survey) -> None:
    assert survey.chorales == 371
    assert survey.moments > 100_000  # every voice pair at every neighbouring slice pair
    assert survey.quartets > 10_000


@pytest.mark.slow
def test_parallels_agree_with_music21_except_by_definition(survey: Survey) -> None:
    checks = set(PARALLEL)
    assert set(survey.kinds(checks)) == EXPECTED_PARALLEL_KINDS, _show(survey, checks)
    for rule in PARALLEL:  # both sides do find parallels in Bach: not a vacuous agreement
        assert survey.verdicts[(rule, True, True)] > 0, rule


@pytest.mark.slow
def test_contrary_motion_is_split_off_as_music21_hears_it(survey: Survey) -> None:
    """Of the fifths and octaves both sides call parallel, ours report those music21
    calls contrary motion under no-contrary-octaves, the others under the parallel rules;
    the rule's explanation counts them in the chorales as the survey does."""
    assert not survey.kinds({SPLIT}), _show(survey, {SPLIT})
    assert survey.verdicts[(SPLIT, True, True)] > 0 and survey.verdicts[(SPLIT, False, False)] > 0
    similar = {rule: survey.verdicts[(rule, True, True)] + survey.verdicts[(rule, False, True)]
               for rule in ("no-parallel-fifths", "no-parallel-octaves")}
    fifths, octaves = survey.contrary[True], survey.contrary[False]
    told = (f"{fifths} fifths and {octaves} octaves by contrary motion,"
            f" {similar['no-parallel-fifths'] - fifths} and"
            f" {similar['no-parallel-octaves'] - octaves} in similar motion")
    assert told in RULES[CONTRARY].explanation, told


@pytest.mark.slow
def test_hidden_intervals_agree_with_music21_except_steps(survey: Survey) -> None:
    checks = set(HIDDEN)
    assert set(survey.kinds(checks)) == EXPECTED_HIDDEN_KINDS, _show(survey, checks)
    loose = {rule + STEP_FALSE for rule in HIDDEN}
    assert not survey.kinds(loose), _show(survey, loose)  # step: false is music21's rule
    for rule in HIDDEN:
        assert survey.verdicts[(rule, True, True)] > 0, rule


@pytest.mark.slow
def test_voice_crossing_agrees_with_music21(survey: Survey) -> None:
    checks = {CROSSING_SLICE, CROSSING_PAIR}
    assert not survey.kinds(checks), _show(survey, checks)
    assert survey.verdicts[(CROSSING_SLICE, True, True)] > 0
    assert survey.verdicts[(CROSSING_PAIR, True, True)] > 0


# Each kind of difference, at one place in the chorales ------------------------------------

def at(name: str, bar: int, beat: float, upper: str, lower: str):
    """The chorale, the second slice at bar/beat, the voice pair and music21's quartet."""
    c = chorale(name)
    k = c.slice_at(bar, beat)
    i, j = c.texture.voices.index(upper), c.texture.voices.index(lower)
    q = c.quartet(k, i, j)
    assert q is not None
    return c, k, (i, j), q


def names(q: Any) -> tuple[str, ...]:
    return tuple(n.nameWithOctave for n in (q.v1n1, q.v1n2, q.v2n1, q.v2n2))


def test_a_fifth_re_voiced_an_octave_higher_is_parallel_only_for_music21() -> None:
    c, k, pair, q = at("bach/bwv73.5", 4, 4, "soprano", "bass")
    assert names(q) == ("G4", "G5", "C3", "C4")
    assert q.parallelFifth()
    assert (k, pair) not in c.ours("no-parallel-fifths")
    assert "re-voiced an octave higher or lower does not count" in \
        RULES["no-parallel-fifths"].explanation


def test_antiparallel_fifths_are_contrary_fifths_for_us_and_parallel_for_music21() -> None:
    c, k, pair, q = at("bach/bwv33.6", 8, 3, "soprano", "tenor")
    assert q.contraryMotion()
    assert q.parallelFifth()
    assert (k, pair) not in c.ours("no-parallel-fifths")
    assert (k, pair) in c.ours(CONTRARY)
    assert "no-contrary-octaves' concern" in RULES["no-parallel-fifths"].explanation
    assert RULES[CONTRARY].severity == "warning" and RULES[CONTRARY].composing == "error"


def test_a_fifth_moving_to_a_twelfth_is_parallel_for_both() -> None:
    # No chorale has one in similar motion, so a two-voice example.
    score = stream.Score([converter.parse(f"tinyNotation: 4/4 {line}")
                          for line in ("g2 a'2", "c2 d2")])
    c = read_chorale("fifth to twelfth", score)
    q = c.quartet(1, 0, 1)
    assert names(q) == ("G4", "A5", "C4", "D4")
    assert q.parallelFifth()
    assert (1, (0, 1)) in c.ours("no-parallel-fifths")
    assert "(or twelfths)" in RULES["no-parallel-fifths"].summary


def test_a_unison_moving_to_an_octave_is_parallel_only_for_music21() -> None:
    c, k, pair, q = at("bach/bwv348", 3, 4, "alto", "tenor")
    assert names(q) == ("F4", "C4", "F3", "C4")  # octave to unison, in contrary motion
    assert q.parallelOctave() and q.parallelUnison()
    assert (k, pair) not in c.ours("no-parallel-octaves")
    assert (k, pair) not in c.ours("no-parallel-unisons")
    for rule in ("no-parallel-octaves", "no-parallel-unisons"):
        assert "an octave to a unison" in RULES[rule].explanation


def test_octaves_to_double_octaves_are_unisons_only_for_music21() -> None:
    c, k, pair, q = at("bach/bwv347", 10, 4, "alto", "bass")
    assert names(q) == ("E4", "B4", "E3", "B2")  # octave to double octave, contrary motion
    assert q.parallelOctave() and q.parallelUnison()
    assert (k, pair) in c.ours(CONTRARY) and (k, pair) not in c.ours("no-parallel-octaves")
    assert (k, pair) not in c.ours("no-parallel-unisons")
    assert "Only a unison that moves to a unison counts" in \
        RULES["no-parallel-unisons"].explanation


def test_a_hidden_octave_with_a_step_on_top_is_flagged_only_by_music21() -> None:
    c, k, pair, q = at("bach/bwv269", 7, 1, "soprano", "bass")
    assert names(q) == ("A4", "G4", "D3", "G2")
    assert q.hiddenOctave()
    assert (k, pair) not in c.ours("no-hidden-octaves-outer")
    assert (k, pair) in c.ours("no-hidden-octaves-outer", step=False)
    assert "allowed when the upper voice moves by step" in \
        RULES["no-hidden-octaves-outer"].explanation


def test_a_hidden_fifth_with_a_step_on_top_is_flagged_only_by_music21() -> None:
    c, k, pair, q = at("bach/bwv347", 2, 2, "soprano", "bass")
    assert names(q) == ("G4", "F#4", "E3", "B2")
    assert q.hiddenFifth()
    assert (k, pair) not in c.ours("no-hidden-fifths-outer")
    assert (k, pair) in c.ours("no-hidden-fifths-outer", step=False)


def test_a_hidden_fifth_with_a_leap_on_top_is_flagged_by_both() -> None:
    c, k, pair, q = at("bach/bwv347", 2, 4, "soprano", "bass")
    assert q.hIntervals[0].generic.undirected > 2
    assert q.hiddenFifth()
    assert (k, pair) in c.ours("no-hidden-fifths-outer")


def test_a_crossing_is_reported_at_the_crossed_slice_only() -> None:
    c, k, pair, q = at("bach/bwv347", 10, 3, "alto", "tenor")
    assert names(q) == ("A4", "E4", "F#4", "G#4")
    assert q.voiceCrossing()  # music21: the quartet is crossed somewhere
    crossed = c.ours("no-voice-crossing")
    assert (k, pair) in crossed and (k - 1, pair) not in crossed  # ours: the second slice
    assert not c.quartet(k - 1, *pair, first=k - 1).voiceCrossing()
