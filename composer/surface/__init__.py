"""The surface: each voice's figure on each beat, its rules, its choice."""
