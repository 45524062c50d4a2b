"""Grading a score: every active rule of a rule set, located and explained."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from composer.errors import ScoreError
from composer.io.annotate import mark_note, write_musicxml
from composer.io.read import parse_score, texture_from_music21
from composer.music import format_beat
from composer.rules import RULES, Context
from composer.rules.melodic import NCT_KINDS, DissonanceTreatment
from composer.spec.rulesets import RuleSet
from composer.texture import Texture


@dataclass(frozen=True, order=True)
class Violation:
    bar: int
    beat: float
    rule: str
    severity: str
    voices: tuple[str, ...]
    message: str
    # (voice index, slice index) of every note involved, for annotation; not in JSON.
    notes: tuple[tuple[int, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "bar": self.bar,
                "beat": self.beat, "voices": list(self.voices), "message": self.message}


@dataclass(frozen=True, order=True)
class NonChordTone:
    """A note foreign to its chord, named by how the line treats it (NCT_KINDS), or
    'untreated' where the line explains it as none of them."""

    bar: int
    beat: float
    voice: str
    pitch: str
    kind: str
    note: tuple[int, int] = (0, 0)  # (voice index, slice index), for annotation

    def to_json(self) -> dict[str, Any]:
        return {"bar": self.bar, "beat": self.beat, "voice": self.voice, "pitch": self.pitch,
                "kind": self.kind}


@dataclass(frozen=True)
class Report:
    file: str
    violations: tuple[Violation, ...]
    rules: tuple[str, ...]
    slices: int
    non_chord_tones: tuple[NonChordTone, ...] = ()

    @property
    def errors(self) -> int:
        return sum(v.severity == "error" for v in self.violations)

    @property
    def warnings(self) -> int:
        return sum(v.severity == "warning" for v in self.violations)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "violations": [v.to_json() for v in self.violations],
                "checked": {"rules": list(self.rules), "slices": self.slices},
                "non_chord_tones": [n.to_json() for n in self.non_chord_tones]}

    def to_text(self, explain: bool = True, non_chord_tones: bool = False) -> str:
        """Compiler-style lines, then (once per rule broken) why the rule exists; with
        `non_chord_tones`, a line for each note foreign to its chord, by kind."""

        lines = [f"{self.file}:{n.bar}:{format_beat(n.beat)}: note[{n.kind}] {n.voice}"
                 f" {n.pitch}: a non-chord tone ({n.kind})"
                 for n in self.non_chord_tones if non_chord_tones]
        for v in self.violations:
            who = f"{'–'.join(v.voices)}: " if v.voices else ""
            lines.append(f"{self.file}:{v.bar}:{format_beat(v.beat)}: {v.severity}[{v.rule}]"
                         f" {who}{v.message}")
        if explain:
            for rule_id in sorted({v.rule for v in self.violations}):
                lines.append(f"  = {rule_id}: {RULES[rule_id].explanation}")
        count = f"{self.errors} error(s), {self.warnings} warning(s)"
        lines.append(f"{self.file}: {count} in {self.slices} slices,"
                     f" {len(self.rules)} rules checked")
        return "\n".join(lines)


def check_texture(texture: Texture, ruleset: RuleSet, file: str = "score") -> Report:
    if len(texture.voices) not in ruleset.parts:
        accepted = " or ".join(str(n) for n in ruleset.parts)
        raise ScoreError(
            f"{file}: has {_voices(len(texture.voices))}; rule set '{ruleset.name}' grades"
            f" {accepted} voices (choose another with --rules)"
        )
    ctx = Context(texture.voices, texture.key, texture.meter)
    found = []
    for use in ruleset.active:
        for f in use.rule.findings(texture, ctx, use.params):
            s = texture.slices[f.rows[0]]
            notes = tuple((v, r) for r in f.rows for v in f.voices)
            voices = tuple(texture.voices[v] for v in f.voices)
            found.append(Violation(s.position.bar, s.position.beat, use.rule.id, use.severity,
                                   voices, _without_prefix(f.message, voices), notes))
    found.sort(key=lambda v: (_order(texture, v), v.rule, v.voices))
    checked = tuple(dict.fromkeys(u.rule.id for u in ruleset.active))
    return Report(file, tuple(found), checked, len(texture.slices), non_chord_tones(texture))


def non_chord_tones(texture: Texture) -> tuple[NonChordTone, ...]:
    """Every note foreign to the chord heard under it, labelled by the first kind of
    treatment (`dissonance-treatment`'s) its line around it fits."""

    rule, out = DissonanceTreatment(), []
    for v, name in enumerate(texture.voices):
        line = texture.line(v)
        n = len(line) - 2
        if n <= 0:
            continue
        nct, fits, _ = rule.kinds(tuple(line.take(np.arange(k, k + n)) for k in range(3)))
        for r in np.flatnonzero(nct):
            kind = next((k for k in NCT_KINDS if fits[k][r]), "untreated")
            row = int(line.rows[r + 1])
            s = texture.slices[row]
            out.append(NonChordTone(s.position.bar, s.position.beat, name,
                                    str(line.pitch(int(r) + 1, 0)), kind, (v, row)))
    return tuple(sorted(out, key=lambda x: (texture.slices[x.note[1]].offset, x.note[0])))


def _voices(n: int) -> str:
    return "1 voice" if n == 1 else f"{n} voices"


def _without_prefix(message: str, voices: tuple[str, ...]) -> str:
    """The report prints the voices before the message; a message that starts with
    them ('soprano–bass: …') would say them twice."""
    prefix = "–".join(voices) + ": "
    return message[len(prefix):] if message.startswith(prefix) else message


def _order(texture: Texture, v: Violation) -> float:
    return texture.slices[v.notes[0][1]].offset if v.notes else 0.0


def check_file(path: Path | str, rulesets: RuleSet | Sequence[RuleSet]
               ) -> tuple[Report, Texture, Any]:
    """Grade one score file with the first rule set that grades its number of voices;
    returns the report, the texture and the music21 origin (for `annotate`). A part
    holding its voices as chords (a piano MIDI track) is graded as those voices."""

    sets = (rulesets,) if isinstance(rulesets, RuleSet) else tuple(rulesets)
    score = parse_score(path)
    texture, origin = texture_from_music21(score, None, str(path), split_chords=True)
    ruleset = fitting(sets, len(texture.voices), str(path))
    if ruleset.voices and len(ruleset.voices) == len(texture.voices) and all(
        v.startswith("voice ") for v in texture.voices  # unnamed parts take the set's names
    ):
        texture = replace(texture, voices=ruleset.voices)
    return check_texture(texture, ruleset, str(path)), texture, origin


def fitting(sets: Sequence[RuleSet], voices: int, file: str) -> RuleSet:
    """The first rule set that grades `voices` voices; a ScoreError naming the counts
    each one accepts when none does (a single set explains itself in check_texture)."""
    for ruleset in sets:
        if voices in ruleset.parts:
            return ruleset
    if len(sets) == 1:
        return sets[0]
    accepted = " or ".join(
        f"{'/'.join(str(n) for n in s.parts)} ({s.name})" for s in sets
    )
    raise ScoreError(f"{file}: has {_voices(voices)}; the standard rule sets grade {accepted}"
                     " voices (choose another with --rules)")


SHORT = {"no-parallel-fifths": "||5", "no-parallel-octaves": "||8", "no-parallel-unisons": "||1",
         "no-contrary-octaves": "contrary 5/8",
         "no-hidden-fifths-outer": "h5", "no-hidden-octaves-outer": "h8",
         "no-voice-crossing": "cross", "no-voice-overlap": "overlap", "spacing": "spacing",
         "voice-range": "range", "chord-tones": "NCT", "complete-chord": "incomplete",
         "no-doubled-leading-tone": "2×LT", "leading-tone-resolves": "LT res",
         "seventh-resolves-down": "7th res", "no-augmented-melodic": "aug",
         "max-leap": "leap", "dissonance-treatment": "diss", "cadence": "cad"}
COLOURS = {"error": "#D00000", "warning": "#E07000", "non-chord tone": "#2060C0"}
NCT_SHORT = {"suspension": "sus", "passing": "p", "neighbour": "n", "appoggiatura": "app",
             "escape": "esc", "cambiata": "camb", "anticipation": "ant", "repetition": "rep",
             "untreated": "?"}


def annotate(report: Report, texture: Texture, origin: Any, target: Path,
             non_chord_tones: bool = False) -> None:
    """A copy of the score with each offending note coloured (red for an error, orange
    for a warning) and, where a violation is reported, its short name above the note;
    with `non_chord_tones`, each non-chord tone labelled by kind (p, n, sus, app …) in
    blue."""

    colour: dict[tuple[int, int], str] = {}
    labels: dict[tuple[int, int], list[str]] = {}
    for n in report.non_chord_tones if non_chord_tones else ():  # in a quieter colour
        colour[n.note] = COLOURS["non-chord tone"]
        labels.setdefault(n.note, []).append(NCT_SHORT.get(n.kind, n.kind))
    for v in report.violations:
        for k, note in enumerate(v.notes):
            if colour.get(note) != COLOURS["error"]:
                colour[note] = COLOURS[v.severity]
            if k == 0:
                label = SHORT.get(v.rule, v.rule)
                if label not in labels.setdefault(note, []):
                    labels[note].append(label)
    for (voice, row), c in colour.items():
        text = ", ".join(labels.get((voice, row), [])) or None
        mark_note(origin, voice, texture.slices[row].offset, c, text)
    write_musicxml(origin.score, target)
