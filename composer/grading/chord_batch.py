"""`identify_chord` over many slots at once: the same scores, the same float arithmetic
in the same order, the same choice among equal scores, as numpy over every (slot, root,
chord table entry); the composer asks it of thousands of voicings per piece, where one
call each spent most of the time in Python's loop over roots and templates.
"""

from __future__ import annotations

from functools import cache
from typing import cast

import numpy as np

from composer.chords import QUALITIES, Chord
from composer.grading.harmony import ONSET_WEIGHT, _spelled_templates, pc_code
from composer.music import STEP_PC, Key, PitchClass

# Roots are spelled pitch classes with at most two sharps or flats (a root with more
# has no spelled template): their codes 8 * step + alter + 3, alter -2..2.
ROOTS = np.array([8 * s + a + 3 for s in range(7) for a in range(-2, 3)], np.int64)
CODES = 64  # every code of a spelled pitch class with -3..4 accidentals; 63 never sounds
QUALITY_NAMES = list(QUALITIES)


def chord_code(chord: Chord | None) -> tuple[int, int]:
    """What `identify_chords` answers for `chord`: its root's code and its quality's
    index ((-1, -1): no chord)."""
    if chord is None:
        return -1, -1
    return pc_code(chord.root), QUALITY_NAMES.index(chord.quality)


# each code's pitch class (12: step 7, never a note)
_PC_OF = [(c % 8 - 3 + STEP_PC[c // 8]) % 12 if c < 56 else 12 for c in range(CODES)]


@cache
def _table() -> tuple[np.ndarray, ...]:
    """Per (root, table entry): whether it is spelled, its tone codes (63, never sounding,
    where it has three), tone pitch classes (-1 likewise), the code it must be heard over
    (-1: none), four tones or not, augmented or not."""
    r, t = len(ROOTS), len(QUALITY_NAMES)
    valid = np.zeros((r, t), bool)
    tones = np.full((r, t, 4), CODES - 1, np.int64)
    pcs = np.full((r, t, 4), -1, np.int64)
    over = np.full((r, t), -1, np.int64)
    for i, code in enumerate(ROOTS.tolist()):
        for name, codes, classes, must in _spelled_templates(PitchClass(code // 8, code % 8 - 3)):
            j = QUALITY_NAMES.index(name)
            valid[i, j] = True
            tones[i, j, :len(codes)] = codes
            pcs[i, j, :len(classes)] = classes
            over[i, j] = -1 if must is None else must
    four = tones[:, :, 3] != CODES - 1
    aug = np.zeros((r, t), bool)
    aug[:, QUALITY_NAMES.index("augmented")] = True
    return valid, tones, pcs, over, four, aug


@cache
def _key_terms(key: Key) -> tuple[np.ndarray, np.ndarray]:
    """Per (root, entry): how many of its first three tones are foreign to the key, and
    whether it holds minor's raised sixth."""
    _, _, pcs, _, _, _ = _table()
    scale = np.zeros(13, bool)  # index -1 (no tone): foreign never counted there
    scale[list(key.scale_pcs)] = True
    foreign = (~scale[pcs[:, :, 0]]).astype(np.int64) + (~scale[pcs[:, :, 1]]) \
        + (~scale[pcs[:, :, 2]])
    sixth = (key.tonic.pc + 9) % 12 if key.mode == "minor" else -2
    return foreign, (pcs == sixth).any(axis=2)


def identify_chords(codes: np.ndarray, weights: np.ndarray, bass: np.ndarray, key: Key
                    ) -> tuple[np.ndarray, np.ndarray]:
    """`_identify` of the rows not heard before, in blocks of CHUNK rows (its arrays grow
    as rows x roots x entries). A row's chord depends on the row alone, and a piece (its
    tiers, an explanation's trials) and the next pieces in its key ask the same few
    thousand rows again and again: each is judged once, and remembered by its bytes."""
    n = len(codes)
    if not n:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    rows = np.concatenate([codes.astype(np.int64), weights.astype(np.float64).view(np.int64),
                           bass.astype(np.int64).reshape(n, 1)], axis=1)
    names = cast(list[bytes], rows.view(np.dtype((np.void, rows.shape[1] * 8))).ravel().tolist())
    known = _known(key)
    if len(known) > MEMO_ROWS:
        known.clear()
    todo = {name: i for i, name in enumerate(names) if name not in known}
    if todo:
        at = np.fromiter(todo.values(), np.int64, len(todo))
        parts = [_identify(codes[j], weights[j], bass[j], key)
                 for j in (at[i:i + CHUNK] for i in range(0, len(at), CHUNK))]
        root = np.concatenate([p[0] for p in parts]).tolist()
        quality = np.concatenate([p[1] for p in parts]).tolist()
        known.update(zip(todo, zip(root, quality, strict=True), strict=True))
    out = np.array([known[name] for name in names], np.int64).reshape(n, 2)
    return out[:, 0], out[:, 1]


CHUNK = 256
MEMO_ROWS = 1 << 17  # rows remembered per key (a few tens of MB at most)


@cache
def _known(key: Key) -> dict[bytes, tuple[int, int]]:
    """The chords heard in the rows judged so far in `key` (a pure function's memo)."""
    return {}


def _identify(codes: np.ndarray, weights: np.ndarray, bass: np.ndarray, key: Key
              ) -> tuple[np.ndarray, np.ndarray]:
    """(root code, index into QUALITIES) of the chord `identify_chord` hears in each row,
    both -1 where it hears none. codes int [n, k]: the notes' spelled codes in the order
    identify_chord is given them (-1: no note); weights float [n, k]; bass int [n] (-1:
    none). Codes must lie in 0..62."""
    n, k = codes.shape
    valid, tones, pcs, over, four, aug = _table()
    foreign_n, holds_sixth = _key_terms(key)
    rows = np.arange(n)
    # each code's weight summed in the notes' order, as the dict is
    w = np.zeros((n, CODES))
    present = np.zeros((n, CODES), bool)
    first = np.full((n, CODES), k, np.int64)  # where each code first sounds: dict order
    for j in range(k):
        on = codes[:, j] >= 0
        c = np.where(on, codes[:, j], CODES - 1)
        w[rows[on], c[on]] = w[rows[on], c[on]] + weights[on, j]
        first[rows[on], c[on]] = np.minimum(first[rows[on], c[on]], j)
        present[rows[on], c[on]] = True
    # the total summed over the distinct codes in the order they first sound
    order = np.argsort(np.where(present, first, k + 1), axis=1, kind="stable")
    total = np.zeros(n)
    for j in range(min(k, CODES)):
        total = total + np.where(present[rows, order[:, j]], w[rows, order[:, j]], 0.0)
    by_pc = np.zeros((n, 13), bool)
    for code in range(CODES - 1):
        by_pc[:, _PC_OF[code]] |= present[:, code]
    by_pc[:, 12] = False
    t = lambda x: x[:, None, None]  # noqa: E731  (a row's scalar over roots and entries)
    g = w[:, tones]  # [n, roots, entries, 4]
    covered = g[..., 0] + g[..., 1] + g[..., 2]
    covered = np.where(four, covered + g[..., 3], covered)
    score = 2 * covered - t(total)
    score = np.where(~by_pc[:, pcs[:, :, 1]], score - t(0.6 * total), score)
    score = np.where(four, score - t(0.15 * total), score)
    score = np.where(four & (g[..., 3] < t(0.2 * total)), score - t(total), score)
    root_w = w[:, ROOTS][:, :, None]
    score = np.where(four & (root_w < ONSET_WEIGHT), score - t(0.6 * total), score)
    score = np.where(aug, score - t(0.3 * total), score)
    foreign = t(0.1 * total)
    score = score - foreign * foreign_n
    score = np.where((ROOTS[None, :] == bass[:, None])[:, :, None], score + foreign, score)
    score = np.where(_sixth_unsounded(holds_sixth, by_pc, key), score - t(0.05 * total), score)
    allowed = valid & present[:, ROOTS][:, :, None] \
        & ((over == -1) | (over == bass[:, None, None]))
    score = np.where(allowed, score, -np.inf)
    flat = score.reshape(n, -1)
    best = flat.max(axis=1)
    # among equal best scores, the root met first, then the table's order
    rank = first[:, ROOTS][:, :, None] * (len(ROOTS) * len(QUALITY_NAMES)) \
        + np.arange(len(QUALITY_NAMES))[None, None, :]
    rank = np.where(allowed & (score == best[:, None, None]), rank, np.iinfo(np.int64).max)
    pick = rank.reshape(n, -1).argmin(axis=1)
    found = np.isfinite(best)
    return (np.where(found, ROOTS[pick // len(QUALITY_NAMES)], -1),
            np.where(found, pick % len(QUALITY_NAMES), -1))


def _sixth_unsounded(holds: np.ndarray, by_pc: np.ndarray, key: Key) -> np.ndarray:
    """[n, roots, entries]: the entry holds minor's raised sixth and the notes lack it."""
    if key.mode != "minor":
        return np.zeros((len(by_pc), *holds.shape), bool)
    missing = ~by_pc[:, (key.tonic.pc + 9) % 12]
    return holds[None, :, :] & missing[:, None, None]
