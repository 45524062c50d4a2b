"""The neural half of Partimento: a small network trained on the Bach chorales that
weighs the voicings the rules allow.

`data` (numpy only) turns the corpus into grids and per-beat tables; `model`, `train`
and `scorer` need torch, which is imported only when a model is trained or used, so
that `check` and `rules` never load it.
"""
