"""The neural half of Partimento: a small network trained on the Bach chorales that
weighs the voicings the rules allow.

`data` and `features` (numpy only) turn the corpus into grids and per-beat tables;
`architecture` names the network's sizes and weights; `model` and `train` need torch,
which is imported only when a model is trained; `weights` reads a model's NAME.npz
(exported from its NAME.pt), and `net` and `scorer` run the network in numpy, so that
composing, `check` and `rules` never load torch.
"""
