"""A given melody is the user's: the harmony serves it.

The rules that judge one voice's own line — its leaps, its range, its repeated notes, how
it treats its dissonances — cannot be mended by any harmony when that voice is given, so
while composing they do not judge the given voice at all (a rule the spec itself writes
in its `hard:` list still does: then the user asked for it). Where the melody breaks one,
the composition carries a warning at the note, in the checker's words. Two of them weigh
the harmony instead of forbidding it, since the chord decides whether they are broken:
a leading tone that does not rise, a chord seventh that does not fall. Whether each
melody note is a chord tone or a properly treated non-chord tone is decided with the
chords themselves, in the harmony chain (composer/melody_fit.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from composer.errors import UnsatisfiableError
from composer.grading.checker import Violation, check_texture
from composer.io.read import texture_from_piece
from composer.music import Piece
from composer.rules.structure import CADENCES, OPEN
from composer.spec.rulesets import RuleSet, RuleUse
from composer.spec.values import Spec

# How composing treats each rule of one voice's own line for the given voice.
EXEMPT = "exempt"  # judged only on the other voices; broken by the melody: a warning
BY_CHORD = "by-chord"  # decided per chord in the harmony chain (chord tones, dissonances)
WEIGHED = "weighed"  # a soft rule for the given voice: the harmony avoids breaking it
TREATMENT = {
    "max-leap": EXEMPT,
    "no-augmented-melodic": EXEMPT,
    "repeated-notes": EXEMPT,
    "leap-recovery": EXEMPT,
    "voice-range": EXEMPT,
    "single-climax": EXEMPT,
    "max-order": EXEMPT,
    "approach-final-by-step": EXEMPT,
    "chord-tones": BY_CHORD,
    "dissonance-treatment": BY_CHORD,
    "leading-tone-resolves": WEIGHED,
    "seventh-resolves-down": WEIGHED,
}
WEIGHT = 6.0  # a weighed rule broken by the melody costs this much log-probability
BY_CHORD_RULES = frozenset(rule for rule, how in TREATMENT.items() if how == BY_CHORD)


# How the lenient way eases a melody's demands after a conflict (composer/pipeline.py).

def widens(conflicts: Sequence[str], spread: bool, freed: Sequence[Fraction] = ()) -> bool:
    """The melody leaps too far for its neighbour to follow: the spacing is weighed from
    it (once). So too where no rule alone is to blame and no note is left to let go (a
    fiddle tune's arpeggio dips more than an octave within a beat: its neighbour can
    neither stay an octave from the beat's note nor cross below the dip)."""
    return not spread and ("spacing" in conflicts or not (conflicts or freed))


def frees(conflicts: Sequence[str]) -> bool:
    """The chords that treat the melody's notes (or its notes alone) leave the voices no
    way there: those notes are let go."""
    return bool(BY_CHORD_RULES & set(conflicts)) or not conflicts


@dataclass(frozen=True)
class Eased:
    """How far the lenient way has eased a given melody's demands so far."""

    spread: bool = False  # the spacing from the melody weighed (`widens`)
    loose: tuple[Fraction, ...] = ()  # where its notes are let go (`frees`)
    unclosed: UnsatisfiableError | None = None  # why its close was let open (`closes_open`)
    cadenced: bool = True  # an open close still tries the cadences first

    def rules(self, spec: Spec) -> tuple[RuleUse, ...]:
        return composing_rules(spec, spread=self.spread, open_end=None if self.unclosed is None
                               else CADENCES if self.cadenced else ())

    def after(self, spec: Spec, exc: UnsatisfiableError) -> Eased | None:
        """Eased once more for this conflict; None where nothing is left to ease. A close
        is let open last (first with any cadence its notes allow, then with none, where
        the cadence they allow cannot be heard under them), its notes held to the chord
        again (let go in vain, for the tonic)."""
        # (where no rule alone is to blame, the spacing is weighed before any note goes)
        freed = tuple(x for x in exc.places if x not in self.loose) \
            if frees(exc.conflicts) and (exc.conflicts or self.spread) else ()
        wider = widens(exc.conflicts, self.spread, freed)
        if wider or freed:
            return replace(self, spread=self.spread or wider, loose=self.loose + freed)
        if (self.unclosed is None or self.cadenced) and closes_open(spec, exc.places):
            return replace(self, unclosed=self.unclosed or exc, cadenced=self.unclosed is None,
                           loose=tuple(x for x in self.loose if x not in exc.places))
        return None


def notes_read(spread: bool, conflicts: Sequence[str]) -> bool:
    """Whether the lenient way reads the notes of a conflict of these rules: to let them
    go, or to name them where nothing is eased (a conflict answered by widening the
    spacing alone needs none: finding them is most of an explanation's time)."""
    return frees(conflicts) or not widens(conflicts, spread)


def asked_of_melody(spec: Spec, use: RuleUse) -> bool:
    """A rule the spec's own `hard:` list writes holds for the given voice too."""
    return use.origin is not None and str(use.origin.file) == spec.source \
        and use.severity == "error"


def held_when_composing(rules: tuple[RuleUse, ...], melody: bool = False
                        ) -> tuple[RuleUse, ...]:
    """Each use that leaves its severity to the rule, at the severity composing holds the
    rule to (no-cross-relation, no-contrary-octaves: reported as warnings, avoided as
    errors). Under a given melody, no-cross-relation is weighed instead, heavily: the
    melody's own chromatic notes may leave a chord no way to avoid it, and the melody is
    the user's (`Rule.melody_weighs`)."""
    def held(u: RuleUse) -> RuleUse:
        if not u.rule.composing or "severity" in u.given or u.severity == "off":
            return u
        return replace(u, severity="warning", weight=WEIGHT) if melody \
            and u.rule.melody_weighs else replace(u, severity=u.rule.composing)
    return tuple(held(u) for u in rules)


def opened(use: RuleUse, cadences: tuple[str, ...] = CADENCES) -> RuleUse:
    """The `cadence` rule with these cadences, or none, accepted at the end: a tune whose
    written end leads back (into its repeat, or a D.C.) and cannot be heard over the tonic
    ends on the chord its last notes sound, and the missing close is reported."""
    return replace(use, params={**use.params, "end": cadences + (OPEN,)})


def closes_open(spec: Spec, places: Sequence[Fraction]) -> bool:
    """Whether a conflict at these notes is the given melody's close: they lie in its
    last bar, and the close is not one the spec's own `hard:` list asks for."""
    if spec.melody is None or not places:
        return False
    sung = [n for n in spec.melody.notes if n.pitch is not None]
    last_bar = spec.meter.bar_start(spec.meter.position(sung[-1].offset).bar)
    return max(places) >= last_bar and not any(
        u.rule.id == "cadence" and asked_of_melody(spec, u) for u in spec.rules)


def composing_rules(spec: Spec, weigh: bool = True, spread: bool = False,
                    open_end: tuple[str, ...] | None = None) -> tuple[RuleUse, ...]:
    """The spec's rules as composing applies them: the given voice exempt from the rules
    of its own line (each weighed rule twinned by a soft one for the given voice; without
    `weigh`, the weighed rules stay hard for it, as composing tries first). With
    `spread`, the spacing between the given voice and its neighbours weighs instead of
    binding too: a melody that leaps a tenth cannot be followed within an octave by a
    voice that may not overlap it. With `open_end`, the piece may end on those cadences,
    or on none (`opened`)."""
    spec = replace(spec, rules=held_when_composing(spec.rules, spec.melody is not None))
    if spec.melody is None:
        return spec.rules
    given = spec.melody.voice
    others = frozenset(v for v in spec.voices if v != given)
    at = spec.voices.index(given)
    near = frozenset(spec.voices[max(at - 1, 0):at + 2])
    out: list[RuleUse] = []
    for use in spec.rules:
        if open_end is not None and use.rule.id == "cadence" and use.severity == "error":
            out.append(opened(use, open_end))
            continue
        if spread and use.rule.id == "spacing" and use.severity == "error" \
                and not asked_of_melody(spec, use):
            out += [replace(use, exempt=use.exempt | near),
                    replace(use, severity="warning", weight=WEIGHT, exempt=others)]
            continue
        treatment = TREATMENT.get(use.rule.id)
        if treatment is None or asked_of_melody(spec, use) or given in use.exempt \
                or (treatment == WEIGHED and not weigh):
            out.append(use)
            continue
        out.append(replace(use, exempt=use.exempt | {given}))
        if treatment == WEIGHED and use.severity == "error":
            out.append(replace(use, severity="warning", weight=WEIGHT, exempt=others))
    return tuple(out)


def melody_warnings(spec: Spec, piece: Piece, composed_by: tuple[RuleUse, ...]
                    ) -> tuple[Violation, ...]:
    """Where the given melody itself breaks a rule of its own line (or, spread, the
    spacing from its neighbours), as the checker reports it on the composed piece: a
    warning at the note. `composed_by`: the rules the piece was composed under."""

    if spec.melody is None:
        return ()
    given = spec.melody.voice
    relaxed = {u.rule.id for u in composed_by if given in u.exempt}
    # A close let open (`Eased`) is reported where the spec's own cadence asked for one.
    let_open = any(u.rule.id == "cadence" and OPEN in u.params["end"] for u in composed_by)
    uses = tuple(replace(u, severity="warning") for u in spec.rules if u.severity == "error"
                 and (u.rule.id in relaxed or (let_open and u.rule.id == "cadence"
                                               and OPEN not in u.params["end"])))
    if any(u.rule.id == "dissonance-treatment" for u in uses):  # it says which dissonance
        uses = tuple(u for u in uses if u.rule.id != "chord-tones")  # is not treated
    if not uses:
        return ()
    texture = texture_from_piece(piece)
    report = check_texture(texture, RuleSet("given", "", (len(spec.voices),), spec.voices,
                                            uses))
    return tuple(replace(v, message=f"{v.message}; no tonic can be heard under the"
                         " melody's last notes, which lead on (into its repeat, perhaps)")
                 if v.rule == "cadence" else v for v in report.violations
                 if v.voices == (given,) or v.rule == "cadence"
                 or (v.rule == "spacing" and given in v.voices))
