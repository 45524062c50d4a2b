"""A roman-numeral analysis of the Bach chorales, and the harmony-grammar weights
counted from it.

Each chorale becomes one `BeatAnalysis` per beat on which some voice strikes a note
(a beat where every voice holds, as at a fermata, continues the one before and is not
counted twice). Phrases end at the soprano's fermatas. Each phrase gets a local key —
the home key or a closely related one — and every beat's chord is named by the numeral
of the harmony grammar of that key's mode, so that the counts speak the grammar's own
language (`grammars/harmony-*.yaml`). `partimento learn-grammar` writes those counts to
`grammars/harmony-weights.json`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from typing import Any

import numpy as np

from composer.chords import ROLES, Chord
from composer.corpus import chorale_names
from composer.errors import PartimentoError, ScoreError, closest
from composer.grading.harmony import _MAJOR_PROFILE, _MINOR_PROFILE
from composer.io.read import texture_from_music21
from composer.music import Key, Meter
from composer.planning.grammar import harmony_grammar
from composer.rules.structure import CADENCES, classify_cadence, related_keys
from composer.texture import REST, ROLE_CODES, Texture

# How much better (in correlation with the key profile) a related key must fit a
# phrase's notes than the home key before the phrase is heard in it.
MODULATION_MARGIN = 0.1
COMMAND = "partimento learn-grammar"
SOURCE = "music21 corpus: Bach chorales (corpus.chorales.Iterator)"
_EPS = 1e-6


@dataclass(frozen=True)
class BeatAnalysis:
    """One beat of a chorale as a harmony teacher reads it: where it stands in its
    phrase, its local key, its chord and numeral, the bass's place in the chord, and the
    notes (what a model of voice leading learns from)."""

    offset: Fraction  # quarter notes from the start of the beat
    bar: int  # as printed (a pickup bar is bar 0)
    beat: int  # from 1
    phrase: int
    beats_to_cadence: int  # metric beats left to the phrase's last beat; 0 on it
    fermata: bool  # the soprano's fermata note is struck in this beat
    key: Key  # the phrase's local key
    chord: Chord | None
    numeral: str | None  # in the harmony grammar of the local key's mode
    bass_role: int  # 0 unknown, 1 root, 2 third, 3 fifth, 4 seventh (texture.ROLE_CODES)
    midi: tuple[int, ...]  # each voice's sounding MIDI note at the beat, top first; -1 rest


@dataclass(frozen=True)
class ChoraleAnalysis:
    """A whole chorale, beat by beat, cut into phrases at the soprano's fermatas."""

    work: str  # 'bwv269'
    key: Key  # the home key
    meter: Meter
    beats: tuple[BeatAnalysis, ...]
    phrases: tuple[tuple[int, int], ...]  # first and last beat index of each phrase

    def phrase_beats(self, phrase: int) -> tuple[BeatAnalysis, ...]:
        first, last = self.phrases[phrase]
        return self.beats[first:last + 1]


def analyse_chorale(score_or_name: Any, source: str | None = None) -> ChoraleAnalysis:
    """Analyse a chorale given as a music21 Score or a corpus name ('bach/bwv269')."""
    if isinstance(score_or_name, str):
        source = source or score_or_name
        score_or_name = _parse_corpus(score_or_name)
    source = source or "score"
    texture, origin = texture_from_music21(score_or_name, source=source)
    starts = _beats(texture)
    if not starts:
        raise ScoreError(f"{source}: the score has no notes")
    soprano_fermatas = [ev.offset for ev in origin.events[0] if ev.fermata and ev.pitch]
    beat_offsets = [float(texture.slices[i].offset) for i, _ in starts]
    fermata_beats = {max(int(np.searchsorted(beat_offsets, t + _EPS)) - 1, 0)
                     for t in soprano_fermatas}
    ends = sorted(fermata_beats | {len(starts) - 1})
    phrases = tuple(zip([0, *(e + 1 for e in ends[:-1])], ends, strict=True))
    beats: list[BeatAnalysis] = []
    for p, (first, last) in enumerate(phrases):
        key = _local_key(texture, starts, first, last)
        chords = [texture.slices[i].chord for i, _ in starts[first:last + 1]]
        numerals = name_chords(chords, key)
        cadence_at = starts[last][1]
        for b, chord, numeral in zip(range(first, last + 1), chords, numerals, strict=True):
            i, start = starts[b]
            s = texture.slices[i]
            row = i - 1 if i > 0 and s.offset > float(start) + _EPS else i
            beats.append(BeatAnalysis(
                start, s.position.bar, math.floor(s.position.beat + _EPS), p,
                round((cadence_at - start) / texture.meter.beat_length), b in fermata_beats,
                key, chord, numeral, _bass_role(texture, i),
                tuple(int(m) for m in texture.frame.midi[row])))
    work = source.rsplit("/", 1)[-1].removesuffix(".mxl").removesuffix(".xml")
    return ChoraleAnalysis(work, texture.key, texture.meter, tuple(beats), phrases)


def _parse_corpus(name: str) -> Any:
    from music21 import corpus  # lazy: only learning a grammar reads the corpus

    try:
        return corpus.parse(name)
    except Exception:  # music21 raises several kinds for a name it cannot find
        raise ScoreError(f"'{name}' is not a score in music21's corpus (e.g. bach/bwv269)"
                         ) from None


def _beats(texture: Texture) -> list[tuple[int, Fraction]]:
    """(first slice, start offset) of every beat on which some voice sounds."""
    slices, sounding = texture.slices, (texture.frame.midi != REST).any(axis=1)
    heads = [i for i, s in enumerate(slices) if s.harmonic]
    out = []
    for k, i in enumerate(heads):
        end = heads[k + 1] if k + 1 < len(heads) else len(slices)
        if not sounding[i:end].any():
            continue
        s = slices[i]
        into = (s.position.beat - math.floor(s.position.beat + _EPS)) * texture.meter.beat_length
        start = Fraction(s.offset - float(into)).limit_denominator(96)
        out.append((i, start))
    return out


def _bass_pc(texture: Texture, i: int) -> int | None:
    """The pitch class of the lowest note sounding in slice i."""
    midi = texture.frame.midi[i]
    sounding = midi[midi != REST]
    return int(sounding.min()) % 12 if len(sounding) else None


def _bass_role(texture: Texture, i: int) -> int:
    """The role of the lowest sounding note in the beat's chord (as the chord was heard)."""
    bass = _bass_pc(texture, i)
    return 0 if bass is None else int(texture.frame.roles[i, bass])


def key_fit(key: Key, weights: np.ndarray) -> float:
    """Correlation of pitch-class weights with the key's probe-tone profile."""
    profile = _MAJOR_PROFILE if key.mode == "major" else _MINOR_PROFILE
    if not weights.any():
        return 0.0
    return float(np.corrcoef(np.roll(profile, key.tonic.pc), weights)[0, 1])


def supports(chord: Chord, key: Key, home: Key) -> bool:
    """Whether a phrase's last chord can close a phrase in key: its tonic triad (in the
    home key a major tonic closes a minor phrase too) or its dominant (a half cadence)."""
    if chord.root.pc == key.degree(5).pc:
        return chord.quality in ("major", "dominant-seventh")
    if chord.root.pc != key.tonic.pc:
        return False
    return chord.quality == key.mode or (key == home and chord.quality == "major")


def _local_key(texture: Texture, starts: list[tuple[int, Fraction]], first: int,
               last: int) -> Key:
    """The key a phrase is heard in. Of the closely related keys that the phrase's last
    chord supports (see `supports`), the one whose profile best fits the phrase's
    duration-weighted pitch classes replaces the home key if it fits better by more
    than MODULATION_MARGIN. When the last chord cannot close a phrase in the home key
    at all, a related key it closes with an authentic cadence is taken outright, and
    otherwise one that fits no worse than MODULATION_MARGIN."""
    home = texture.key
    lo = starts[first][0]
    hi = starts[last + 1][0] if last + 1 < len(starts) else len(texture.slices)
    midi = texture.frame.midi[lo:hi]
    durations = np.array([s.duration for s in texture.slices[lo:hi]])
    weights = np.zeros(12)
    mask = midi != REST
    np.add.at(weights, midi[mask] % 12, np.broadcast_to(durations[:, None], midi.shape)[mask])
    heads = [starts[b][0] for b in range(first, last + 1)]
    known = [i for i in heads if texture.slices[i].chord is not None]
    if not known:
        return home
    final = texture.slices[known[-1]].chord
    assert final is not None
    before = _chord_before([texture.slices[i].chord for i in known])
    candidates = [k for k in related_keys(home)[1:] if supports(final, k, home)]
    if not candidates:
        return home
    fit = {k: key_fit(k, weights) for k in (home, *candidates)}
    if supports(final, home, home):
        margin = MODULATION_MARGIN
    else:
        bass = _bass_pc(texture, known[-1])
        authentic = [k for k in candidates
                     if classify_cadence(before, final, bass, k) == "authentic"]
        candidates, margin = (authentic, -np.inf) if authentic else (candidates,
                                                                     -MODULATION_MARGIN)
    best = max(candidates, key=fit.__getitem__)
    return best if fit[best] > fit[home] + margin else home


def _chord_before(chords: Sequence[Chord | None]) -> Chord | None:
    """The last chord before the final one that differs from it (how a cadence is heard
    through a repeated or re-voiced final chord)."""
    return next((c for c in reversed(chords[:-1]) if c is not None and c != chords[-1]), None)


@cache
def _numerals(key: Key) -> dict[Chord, tuple[int, ...]]:
    """Chord → the numerals of the key's harmony grammar that spell it, in the
    grammar's order (VII and V/III are one chord in minor)."""
    out: dict[Chord, tuple[int, ...]] = {}
    for i, numeral in enumerate(harmony_grammar(key.mode).numerals):
        chord = numeral.chord(key)
        out[chord] = (*out.get(chord, ()), i)
    return out


def name_chords(chords: Sequence[Chord | None], key: Key) -> list[str | None]:
    """The grammar's numeral for each chord of a phrase in key, or None. Where two
    numerals spell one chord, the first that the grammar lets move to the next chord
    is taken; an applied chord is named only where it resolves (a major tonic closing
    a minor chorale is no V/iv)."""
    grammar = harmony_grammar(key.mode)
    table = _numerals(key)
    options = [table.get(c, ()) if c is not None else () for c in chords]
    out: list[str | None] = []
    for k, here in enumerate(options):
        after = options[k + 1] if k + 1 < len(options) else ()
        moving = [i for i in here if any(grammar.allowed[i, j] for j in after)]
        plain = [i for i in here if grammar.region[i] != "applied"]
        pick = (moving or plain or (None,))[0]
        out.append(None if pick is None else grammar.numerals[pick].name)
    return out


def relation(key: Key, home: Key) -> str:
    """The roman numeral of a local key's tonic in the home key: 'V', 'vi', 'III'."""
    return Chord(key.tonic, key.mode).roman(home)


def phrase_cadence(analysis: ChoraleAnalysis, phrase: int) -> str:
    """The cadence that closes a phrase, in its local key, or 'other'."""
    beats = analysis.phrase_beats(phrase)
    known = [b for b in beats if b.chord is not None]
    if not known:
        return "other"
    last = known[-1]
    sounding = [m for m in last.midi if m != REST]
    assert last.chord is not None
    kind = classify_cadence(_chord_before([b.chord for b in known]), last.chord,
                            min(sounding) % 12 if sounding else None, last.key)
    return kind or "other"


# Counting --------------------------------------------------------------------------------

def _bump(table: dict, *path: str) -> None:
    for step in path[:-1]:
        table = table.setdefault(step, {})
    table[path[-1]] = table.get(path[-1], 0) + 1


def count_analyses(analyses: Iterable[ChoraleAnalysis]) -> dict[str, Any]:
    """The weights document (without its source): per mode of the local key, how often
    each numeral follows each other on consecutive beats of a phrase, and, under extra
    keys, the bass position of each numeral, the key of each phrase relative to the home
    key, and the cadence that closes each phrase."""
    doc: dict[str, Any] = {"major": {}, "minor": {}, "bass": {"major": {}, "minor": {}},
                           "modulations": {"major": {}, "minor": {}},
                           "phrase_cadences": {"major": {}, "minor": {}}}
    chorales = phrases = beats = 0
    for a in analyses:
        chorales += 1
        beats += len(a.beats)
        for p in range(len(a.phrases)):
            phrases += 1
            run = a.phrase_beats(p)
            mode = run[0].key.mode
            _bump(doc["modulations"], a.key.mode, relation(run[0].key, a.key))
            _bump(doc["phrase_cadences"], mode, phrase_cadence(a, p))
            for x, y in zip(run, run[1:], strict=False):
                if x.numeral and y.numeral:
                    _bump(doc, mode, x.numeral, y.numeral)
            for b in run:
                if b.numeral and b.bass_role:
                    row = doc["bass"][mode].setdefault(b.numeral, dict.fromkeys(ROLES, 0))
                    row[ROLES[b.bass_role - 1]] += 1
    for mode in ("major", "minor"):
        for kind in (*CADENCES, "other"):
            doc["phrase_cadences"][mode].setdefault(kind, 0)
    doc["counted"] = {"chorales": chorales, "phrases": phrases, "beats": beats}
    return doc


def select_chorales(chosen: Sequence[str] = (), limit: int | None = None
                    ) -> tuple[list[str], str]:
    """The corpus names to count ('bwv269' or 'bach/bwv269'; all 371 when none are
    chosen, or the first `limit`), and the command that counts exactly those."""

    every = chorale_names()
    by_work = {name.rsplit("/", 1)[-1]: name for name in every}
    names = []
    for want in chosen:
        work = want.strip().rsplit("/", 1)[-1]
        if work not in by_work:
            raise PartimentoError(f"--chorale {want}: not one of the {len(every)} chorales in"
                                  f" music21's corpus{closest(work, list(by_work))}")
        names.append(by_work[work])
    names = names or every
    if limit is not None:
        names = names[:limit]
    command = COMMAND + "".join(f" --chorale {n.rsplit('/', 1)[-1]}" for n in chosen)
    return names, command + (f" --limit {limit}" if limit is not None else "")


def learn_grammar(names: Sequence[str], command: str = COMMAND,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Analyse the named chorales and count them (progress is told each name first)."""

    def analyses() -> Iterable[ChoraleAnalysis]:
        for name in names:
            if progress:
                progress(name)
            yield analyse_chorale(name)

    return {"source": SOURCE, "command": command, **count_analyses(analyses())}


def bass_position_counts(doc: dict[str, Any]) -> np.ndarray | None:
    """Counts of the bass on root, third, fifth and seventh (indexed by role code, 0
    unused), summed over every numeral of both modes; None when the document has none."""
    counts = np.zeros(len(ROLE_CODES) + 1)
    for rows in doc.get("bass", {}).values():
        for row in rows.values():
            for role, n in row.items():
                counts[ROLE_CODES[role]] += n
    return counts if counts.any() else None
