"""Rules about the shape of a whole line: where it peaks."""

from __future__ import annotations

from collections.abc import Iterator

from composer.rules.base import Context, Finding, GlobalRule, Param, Params
from composer.texture import Texture


def struck_notes(texture: Texture, voice: int) -> list[tuple[int, int]]:
    """(slice index, MIDI pitch) of every note the voice strikes, in order (a tied or held
    note counts once)."""
    line = texture.line(voice)
    return [(int(line.rows[r]), int(line.midi[r, 0])) for r in range(len(line))
            if line.attacks[r, 0] and line.midi[r, 0] != -1]


class SingleClimax(GlobalRule):
    id = "single-climax"
    summary = "The highest note of the line is struck once."
    explanation = (
        "A melody that climbs to its highest note once, and leaves it, has a shape: one"
        " climax the line grows towards and falls away from. Striking the peak again blunts"
        " it. A note held or tied over counts as one stroke; any later stroke of the same"
        " highest pitch is a violation. No rule set includes it: ask for it among a spec's hard"
        " rules, or check with --set single-climax.voice=soprano."
    )
    params = (Param("voice", "voice", "soprano", "the voice whose line has one climax"),)
    example = ("{rule: single-climax, voice: soprano} — a soprano that reaches D5 in bar 3"
               " and again in bar 7 has two climaxes.")
    keyed_by = "voice"

    def findings(self, texture: Texture, ctx: Context, p: Params) -> Iterator[Finding]:
        voice = ctx.index(p["voice"])
        if voice is None:
            return
        notes = struck_notes(texture, voice)
        if not notes:
            return
        top = max(m for _, m in notes)
        peaks = [row for row, m in notes if m == top]
        name = texture.slices[peaks[0]].voicing.pitches[voice]
        for k, row in enumerate(peaks[1:], start=2):
            yield Finding((row, peaks[0]), (voice,),
                          f"{p['voice']} strikes its highest note, {name}, again"
                          f" (stroke {k} of {len(peaks)}); a single climax is struck once")


CONTOUR_RULES = (SingleClimax(),)
