"""Rules that keep a composed line from copying the corpus it was learned from."""

from __future__ import annotations

from composer.corpus import default_melody_index
from composer.rules.base import Finding, GlobalRule, Param


class MaxOrder(GlobalRule):
    id = "max-order"
    summary = "No voice copies more than N consecutive notes from a Bach chorale."
    explanation = (
        "A model trained on a corpus tends to quote it. This rule bounds plagiarism: any run"
        " of more than N consecutive notes (compared by their intervals, in any key) that"
        " also occurs in one of the chorales is a violation. Use it on composed music, not"
        " on the chorales themselves."
    )
    params = (
        Param("voice", "voice", "soprano", "the voice whose line is compared"),
        Param("order", "int", 8, "the most consecutive notes that may match the corpus"),
    )
    example = "{rule: max-order, voice: soprano, order: 8}"
    keyed_by = "voice"

    def findings(self, texture, ctx, p):

        voice = ctx.index(p["voice"])
        if voice is None:
            return
        line = texture.line(voice)
        struck = [r for r in range(len(line)) if line.attacks[r, 0] and line.midi[r, 0] != -1]
        midi = [int(line.midi[r, 0]) for r in struck]
        for start, length, source in default_melody_index().copied_runs(midi, p["order"]):
            rows = tuple(int(line.rows[struck[k]]) for k in range(start, start + length))
            yield Finding(rows, (voice,),
                          f"{p['voice']} copies {length} consecutive notes from {source.work}"
                          f" ({source.voice}); at most {p['order']} allowed")


ORIGINALITY_RULES = (MaxOrder(),)
