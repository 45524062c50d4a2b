"""The rules' vectorised arithmetic: the pitch-class and step-class lookup and the count
of broken voice pairs, checked against plain Python on every value they are given."""

from __future__ import annotations

import numpy as np
import pytest

from composer.rules.base import mod
from composer.solve.pairs import _count


@pytest.mark.parametrize("m", [7, 12])
def test_mod_is_python_modulo_on_every_pitch_step_and_interval(m: int) -> None:
    values = np.arange(-255, 255)  # 510 values, as a [170, 3] array as the rules give
    for dtype in (np.int16, np.int32, np.int64):
        got = mod(values.astype(dtype).reshape(-1, 3), m)
        assert got.dtype == np.int16
        assert got.ravel().tolist() == [int(v) % m for v in values]


def test_count_is_the_number_of_broken_pairs_in_each_row() -> None:
    rng = np.random.default_rng(3)
    for pairs in (0, 1, 3, 6):
        broken = rng.random((500, pairs)) < 0.3
        assert _count(broken).tolist() == [int(row.sum()) for row in broken]
