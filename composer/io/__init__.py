"""music21 at the edges: scores and melodies read, pieces written and engraved."""
