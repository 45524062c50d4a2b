"""The domains: each slot's voicings under the rules, the candidates, the conflicts."""
