"""Modulation by whole phrases: the key each phrase stands in, and the harmony grammar
that spans those keys.

The chorales put about four phrases in ten in a closely related key (the dominant, the
relative, the subdominant, ...: `modulations` in grammars/harmony-weights.json), and a
phrase in another key uses that key's own chords — its raised fourth, its leading tone —
which is where most of their chromatic notes come from. So a free piece's inner
phrases that close with an authentic cadence (in minor, also those within a section
that close with a half cadence) are drawn a key with the chorales' frequencies (a
section that comes back keeps its first one's keys), the first and the last phrase
stay at home; under a given melody, each inner phrase is read in the
related key its notes fit clearly better than the home key's and whose tonic triad
holds its last note.

The keyed grammar is the home grammar followed by a block of numerals per other key:
the related key's own grammar, its numerals spelled from the home key (`Numeral.local`),
its progressions weighted as the chorales' phrases in that key were counted. Across a
phrase boundary the new key's weights apply to the last chord as the new key names it
(the pivot chord); a chord the new key does not name moves on with the unlisted weight.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import lru_cache

import numpy as np

from composer.content import content_dir
from composer.grading.harmony import key_fit
from composer.music import Key, Mode
from composer.planning.grammar import REFERENCE, WEIGHTS_FILE, HarmonyGrammar, harmony_grammar
from composer.planning.phrases import Phrase
from composer.rules.structure import related_keys
from composer.spec.values import Spec

# How much better a related key must fit a phrase of a given melody than the home key
# where none of its notes lies outside the home scale (the relative major of a minor
# key has none): the margin the chorales' analysis uses.
MARGIN = 0.1
NAMES = ("I", "II", "III", "IV", "V", "VI", "VII")


def relation_keys(home: Key) -> dict[str, Key]:
    """The closely related keys by the numeral of their tonic in the home key."""
    out = {}
    for key in related_keys(home)[1:]:
        degree = next(d for d in range(1, 8) if home.degree(d).pc == key.tonic.pc)
        out[NAMES[degree - 1] if key.mode == "major" else NAMES[degree - 1].lower()] = key
    return out


def key_of(home: Key, where: str) -> Key:
    """A phrase's key: '' is the home key, else a related key's numeral ('V', 'vi')."""
    return relation_keys(home)[where] if where else home


def where_of(home: Key, key: Key) -> str:
    """The inverse of `key_of`: '' for the home key, else the related key's numeral."""
    if key == home:
        return ""
    named = [w for w, k in relation_keys(home).items() if k == key]
    if not named:
        raise ValueError(f"{key} is not a key closely related to {home}")
    return named[0]


def phrase_keys(spec: Spec, phrases: Sequence[Phrase]) -> tuple[str, ...]:
    """Per phrase, '' (the home key) or the numeral of the related key it stands in."""
    if len(phrases) < 3 or (spec.melody is not None and any(spec.melody.figures)):
        return ("",) * len(phrases)
    if spec.melody is not None:
        return tuple("" if k in (0, len(phrases) - 1) else _melody_key(spec, ph)
                     for k, ph in enumerate(phrases))
    return _free_keys(spec, phrases)


def _free_keys(spec: Spec, phrases: Sequence[Phrase]) -> tuple[str, ...]:
    """Each inner phrase closing with an authentic cadence drawn a key by the chorales'
    frequencies (the spec's seed decides), and in minor also a phrase within a section
    that closes with a half cadence (it then closes with an authentic cadence in its
    key); a section's closing half cadence leads back home. A section that comes back
    keeps the keys of its first appearance, phrase by phrase.

    Why minor only: free minor pieces had seldom left home (A A B A never), where four
    in ten of the chorales' minor phrases stand in a related key; in major, drawn for
    every inner phrase, the notes outside the scale doubled, to twice the chorales'
    share. A major piece without an inner authentic cadence (binary: A half, B
    authentic) never left home; there the first section's closing half cadence becomes
    an authentic cadence in the dominant (the same last chord), as a binary dance's
    first strain closes."""
    counts = _modulations(spec.key.mode)
    names = [n for n in ("", *relation_keys(spec.key)) if n in counts]
    p = np.array([counts[n] for n in names], float)
    rng = np.random.default_rng([spec.seed, 15])
    drawn = [str(names[rng.choice(len(names), p=p / p.sum())]) for _ in phrases]
    places = [(ph.section.rstrip("'"), k - next(j for j, q in enumerate(phrases)
                                                 if q.part == ph.part))
              for k, ph in enumerate(phrases)]
    home = {places[0], places[-1]}  # where the piece opens and closes, and their repeats
    minor = spec.key.mode == "minor"
    first: dict[tuple[str, int], str] = {}
    for k, (ph, at) in enumerate(zip(phrases, places, strict=True)):
        closes = k == len(phrases) - 1 or phrases[k + 1].part != ph.part
        inner = at not in home and (ph.cadence == "authentic" or not closes and minor)
        first.setdefault(at, drawn[k] if inner else "")
    opening = next((k for k in range(len(phrases) - 1)  # the first section's last phrase
                    if phrases[k + 1].part != phrases[0].part), None)
    if not minor and opening is not None and phrases[opening].cadence == "half" and \
            places[opening] not in home and \
            not any(ph.cadence == "authentic" for ph in phrases[:-1]):
        first[places[opening]] = "V"  # a binary form's first strain closes in the dominant
    return tuple(first[at] for at in places)


# A half cadence approached by the dominant's own dominant (V/V–V: the raised fourth)
# is favoured this much (a log-weight) in the phrases `tonicized` picks.
TONICIZE = float(np.log(100.0))
TONICIZING = ("V/V", "V7/V")  # the chords that tonicize the dominant before it


def tonicized(spec: Spec, phrases: Sequence[Phrase]) -> frozenset[int]:
    """The half-cadence phrases of a free major piece whose dominant is tonicized (its
    cadence approached by V/V), one per eight bars less one per phrase standing in
    another key (which has its own notes outside the scale), drawn by the spec's seed.

    Why: nine major chorales in ten sound the raised fourth (about one note in fifty),
    as the dominant's own dominant or in a phrase in the dominant; free major pieces
    sounded it only where a phrase happened to stand in another key (the waltz and the
    pastorale, which never leave home, in one piece of ten). Drawn for every half
    cadence, a long piece would sound it at every other phrase end."""
    if spec.melody is not None or spec.key.mode != "major":
        return frozenset()
    halves = [k for k, ph in enumerate(phrases) if ph.cadence == "half" and not ph.key]
    away = sum(bool(ph.key) for ph in phrases)
    count = min(len(halves), max(0, max(1, round(spec.bars / 8)) - away))
    rng = np.random.default_rng([spec.seed, 16])
    return frozenset(int(k) for k in rng.choice(halves, count, replace=False)) \
        if halves else frozenset()


NEAPOLITAN = "N"  # the chord favoured before a minor cadence's dominant, this much:
# TONICIZE's weight did not bring it past the voicings the model scores higher (the 3/2
# chorale sounded it in no piece); this one sets it wherever the voicings allow
NEAPOLITANIZE = 4 * TONICIZE


def neapolitan(spec: Spec, phrases: Sequence[Phrase]) -> frozenset[int]:
    """The phrase of a free minor piece whose authentic cadence at home is approached by
    the Neapolitan (N–V–i), drawn by the spec's seed among the sections' first
    appearances (a repeat copies its chords).

    Why: the minor chorales sound the lowered second on about one note in fifty (the
    Neapolitan, phrases in iv and VI); free minor pieces sounded it in hardly any piece
    (0.003 of the 3/2 chorale's notes), and its absence was the largest part of those
    pieces' distance from the chorales' pitch classes."""
    if spec.melody is not None or spec.key.mode != "minor":
        return frozenset()
    first: dict[str, int] = {}  # the part where each section first appears
    for ph in phrases:
        first.setdefault(ph.section, ph.part)
    cadences = [k for k, ph in enumerate(phrases)
                if ph.cadence == "authentic" and not ph.key and ph.part == first[ph.section]]
    rng = np.random.default_rng([spec.seed, 17])
    return frozenset({int(rng.choice(cadences))}) if cadences else frozenset()


@lru_cache(maxsize=2)
def _modulations(mode: str) -> dict[str, int]:
    """How many chorale phrases stand in each key (by its numeral; '' at home)."""
    path = content_dir("grammars") / WEIGHTS_FILE
    counts = json.loads(path.read_text()).get("modulations", {}).get(mode, {}) \
        if path.exists() else {}
    home = "I" if mode == "major" else "i"
    return {("" if k == home else k): int(v) for k, v in counts.items()}


def _melody_key(spec: Spec, phrase: Phrase) -> str:
    """The related key a melody's inner phrase is heard in, or '' (home)."""
    assert spec.melody is not None
    notes = [n for n in spec.melody.notes
             if n.pitch is not None and phrase.start <= n.offset < phrase.end]
    if len(notes) < 3:
        return ""
    pcs = [n.pitch.pc for n in notes if n.pitch is not None]
    weights = np.zeros(12)
    for n, pc in zip(notes, pcs, strict=True):
        weights[pc] += float(n.duration)
    home, last = spec.key, pcs[-1]
    foreign = bool(set(pcs) - home.scale_pcs)  # a note the home key does not hold
    best, fit = "", key_fit(home, weights)
    for name, key in relation_keys(home).items():
        triad = {key.tonic.pc, key.degree(3).pc, key.degree(5).pc}
        if last in triad and holds_notes(key, pcs) and \
                key_fit(key, weights) > fit + (0.0 if foreign else MARGIN):
            best, fit = name, key_fit(key, weights)
    return best


def holds_notes(key: Key, pcs: Iterable[int]) -> bool:
    """Whether every note lies in the key's scale (in minor with its raised sixth and
    seventh, as the chorales use them): a phrase read in a key whose chords cannot hold
    one of its notes could not be harmonized there."""
    return set(pcs) <= key.scale_pcs


@lru_cache(maxsize=32)
def keyed_grammar(mode: str, wheres: tuple[str, ...]) -> HarmonyGrammar:
    """The home grammar of `mode` with a block of numerals for each related key named in
    `wheres` (numerals of the same name in another block are that key's chords)."""
    home = harmony_grammar(mode)
    ref = REFERENCE[mode]
    blocks: list[tuple[HarmonyGrammar, tuple[int, Mode] | None]] = [(home, None)]
    for where in wheres:
        key = relation_keys(ref)[where]
        degree = next(d for d in range(1, 8) if ref.degree(d).pc == key.tonic.pc)
        blocks.append((harmony_grammar(key.mode), (degree, key.mode)))
    sizes = [len(g.numerals) for g, _ in blocks]
    starts = np.cumsum([0, *sizes])
    n = int(starts[-1])
    numerals = tuple(replace(num, local=local) for g, local in blocks for num in g.numerals)
    chords = [num.chord(ref) for num in numerals]
    allowed = np.zeros((n, n), bool)
    weights = np.zeros((n, n))
    for b, (g, _) in enumerate(blocks):
        lo, hi = starts[b], starts[b + 1]
        names = {c: i for i, c in reversed(list(enumerate(chords[lo:hi])))}
        for a in range(n):
            if lo <= a < hi:
                allowed[a, lo:hi], weights[a, lo:hi] = g.allowed[a - lo], g.weights[a - lo]
            elif (pivot := names.get(chords[a])) is not None:
                allowed[a, lo:hi], weights[a, lo:hi] = g.allowed[pivot], g.weights[pivot]
            else:
                weights[a, lo:hi] = g.unlisted
    shift = {b: int(starts[b]) for b in range(len(blocks))}
    resolutions = {i + shift[b]: frozenset(j + shift[b] for j in to)
                   for b, (g, _) in enumerate(blocks) for i, to in g.resolutions.items()}
    related = dict(home.related)
    for b, where in enumerate(wheres, 1):
        g = blocks[b][0]
        for kind, pairs in g.cadences.items():
            related[f"{kind} in {where}"] = related.get(f"{kind} in {where}", ()) + tuple(
                (x + shift[b], y + shift[b]) for x, y in pairs)
    return replace(home, numerals=numerals,
                   region=tuple(r for g, _ in blocks for r in g.region),
                   allowed=allowed, weights=weights, related=related,
                   resolutions=resolutions, blocks=tuple(int(s) for s in starts),
                   free=np.concatenate([g.free for g, _ in blocks]))

