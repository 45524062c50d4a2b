"""Sampling: the exact Markov-constrained sampler, its automata, and the scorers."""
