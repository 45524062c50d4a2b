"""The spec: the only place that sees a user's raw YAML.

A spec file is read with positions kept (composer.spec.yamlfile), validated with pydantic,
and turned into one immutable `Spec`. Every error names the file, line and column, the
field, and what would be accepted.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from composer.errors import Location, SpecError, closest
from composer.music import SATB, Key, Meter, Pitch
from composer.spec.rulesets import RuleUse, load_ruleset, merge, parse_use
from composer.spec.transposition import Transposition, parse_interval
from composer.spec.yamlfile import YamlDoc, field_name, load_yaml

if TYPE_CHECKING:
    from composer.planning.figured_bass import Figure

MAX_BARS = 256
CadenceKind = Literal["authentic", "half", "plagal", "deceptive"]


class MelodyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    voice: Literal["soprano", "alto", "tenor", "bass"] = "soprano"
    tinynotation: str | None = Field(None, description="the melody in TinyNotation: c4 d e"
                                     " f, c' an octave up, C down, # - n, ~ ties, r rests,"
                                     " 3/4 meters, trip{c8 d e}, c4_Hal- lyrics")
    file: str | None = Field(None, description="a MusicXML, MIDI or ABC file beside the spec:"
                             " its top line")
    transpose: str | None = Field(
        None, description="fit: into the voice's range, by octaves where that is enough, else"
        " by the smallest interval, the key going along; or an interval: -P8, M2, -m3")
    figures: str | None = Field(
        None, description="a figured bass: a figure over each note of the bass, rests taking"
        " none: '-' or 5/3, 6, 6/4, 7, 6/5, 4/3, 4/2 or 2; #, b or n before a number alter"
        " it, alone the third (#6, b7, #); 4-3, 7-6, 6/4-5/3 over one note; _ holds the"
        " chord before")

    @field_validator("transpose")
    @classmethod
    def _transpose(cls, v: str | None) -> str | None:
        if v is not None and v != "fit":
            parse_interval(v)
        return v

    @field_validator("figures", mode="before")
    @classmethod
    def _figures(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


class RulesModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include: list[str] = Field(default_factory=lambda: ["common-practice"],
                               description="rule sets from constraints/")
    hard: list[dict[str, Any] | str] = Field(default_factory=list,
                                             description="rules that must hold")
    soft: list[dict[str, Any] | str] = Field(default_factory=list,
                                             description="rules that weigh the choice")


class SpecModel(BaseModel):
    """A Partimento spec."""

    model_config = ConfigDict(extra="forbid")
    title: str = ""
    key: str = Field(description="tonic and mode: 'D major', 'F# minor', 'Bb major'")
    meter: str | dict[int, str] = Field(
        "4/4", description="2/4, 3/4, 4/4, 3/2, 6/8 …; or the meter of each bar where one"
        " begins, from bar 1: {1: 4/4, 15: 3/4}")
    bars: int = Field(ge=1, le=MAX_BARS)
    tempo: int = Field(80, ge=20, le=400, description="quarter notes per minute")
    voices: list[str] = Field(default_factory=lambda: list(SATB))
    form: str | None = Field(None, description="letters such as 'A A B A', or a grammar name")
    cadences: dict[str, CadenceKind] = Field(default_factory=dict,
                                             description="per section letter, or 'end'")
    melody: MelodyModel | None = None
    rules: RulesModel = Field(default_factory=RulesModel)
    seed: int = 0
    temperature: float = Field(1.0, gt=0, le=10)
    surface: Literal["figured", "plain"] = Field(
        "figured", description="figured: voices move within the beat (passing tones,"
        " neighbours, suspensions…); plain: one note per voice per beat")

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        Key.parse(v)
        return v

    @field_validator("meter", mode="before")
    @classmethod
    def _meter(cls, v: Any) -> str | dict[int, str]:
        if isinstance(v, dict) and all(str(b).isdigit() and isinstance(m, str)
                                       for b, m in v.items()):
            bars = {int(b): m for b, m in v.items()}  # (YAML keys are read as text)
            meter_of(bars)
            return bars
        if isinstance(v, str | int | float) and not isinstance(v, bool):
            meter_of(str(v))  # says why '44' is no meter
            return str(v)
        raise ValueError("give one meter such as 3/4, or the meter of each bar where one"
                         " begins, from bar 1, such as {1: 4/4, 15: 3/4}")

    @field_validator("voices")
    @classmethod
    def _voices(cls, v: list[str]) -> list[str]:
        if tuple(v) != SATB:
            raise ValueError("compose writes four voices: [soprano, alto, tenor, bass]")
        return v


@dataclass(frozen=True)
class MelodyNote:
    offset: Fraction  # quarter notes from the start of the piece
    duration: Fraction
    pitch: Pitch | None  # None: a rest
    fermata: bool = False  # ends a phrase
    lyric: str | None = None  # its syllable, one that goes on with its hyphen: 'Hal-', 'jah'


@dataclass(frozen=True)
class Melody:
    voice: str
    notes: tuple[MelodyNote, ...]  # in time order
    origin: Location
    transposed: Transposition | None = None  # how it was moved from what was written
    figures: tuple[Figure | None, ...] = ()  # a figured bass: per note (None: a rest)

    def transposition(self) -> str | None:
        """'the melody is transposed down an octave to fit the soprano's range C4–A5'."""
        return self.transposed.note() if self.transposed is not None else None

    def at(self, offset: Fraction) -> MelodyNote | None:
        """The note (or rest) sounding at offset; None before or after the melody."""
        k = bisect_right(self._starts, offset) - 1
        note = self.notes[k] if k >= 0 else None
        return note if note is not None and offset < note.offset + note.duration else None

    def figure_at(self, offset: Fraction) -> Figure | None:
        """The figure over the note sounding at offset (None: a rest, or no figures)."""
        k = bisect_right(self._starts, offset) - 1
        return self.figures[k] if self.figures and self.at(offset) is not None else None

    def struck_within(self, offset: Fraction, duration: Fraction) -> tuple[MelodyNote, ...]:
        """The notes and rests that begin inside (offset, offset + duration)."""
        lo, hi = bisect_right(self._starts, offset), bisect_left(self._starts, offset + duration)
        return self.notes[lo:hi]

    @cached_property
    def _starts(self) -> tuple[Fraction, ...]:  # asked at every slot: looked up by bisection
        return tuple(n.offset for n in self.notes)


@dataclass(frozen=True)
class Spec:
    title: str
    key: Key
    meter: Meter
    bars: int
    tempo: int
    voices: tuple[str, ...]
    form: str | None
    cadences: tuple[tuple[str, str], ...]
    melody: Melody | None
    rules: tuple[RuleUse, ...]  # severity 'error' = hard, 'warning' = soft (weighted)
    seed: int
    temperature: float
    source: str  # the spec file
    text: str  # the YAML as written, kept in OUT.json
    surface: str = "figured"  # 'figured' or 'plain' (block chords)

    @property
    def hard(self) -> tuple[RuleUse, ...]:
        return tuple(u for u in self.rules if u.severity == "error")

    @property
    def soft(self) -> tuple[RuleUse, ...]:
        return tuple(u for u in self.rules if u.severity == "warning")

    def cadence_for(self, section: str) -> str | None:
        return dict(self.cadences).get(section)


def load_spec(path: Path | str) -> Spec:
    path = Path(path)
    doc = load_yaml(path)
    text = path.read_text(encoding="utf-8")
    return spec_from_doc(doc, text, path.parent)


def meter_of(value: str | dict[int, str]) -> Meter:
    """A spec's meter: one ('3/4'), or the meter of each bar where one begins, from bar 1
    ({1: 4/4, 15: 3/4})."""
    if not isinstance(value, dict):
        return Meter.parse(str(value))
    bars = sorted(value)
    if not bars or bars[0] != 1:
        raise ValueError("a meter for each bar where one begins starts at bar 1, e.g."
                         " {1: 4/4, 15: 3/4}")
    return Meter.parse(str(value[1])).with_changes(
        [(bar, Meter.parse(str(value[bar]))) for bar in bars[1:]])


def spec_from_doc(doc: YamlDoc, text: str, folder: Path) -> Spec:
    if not isinstance(doc.data, dict):
        raise SpecError("a spec is a mapping with at least 'key' and 'bars'", doc.where(()))
    try:
        model = SpecModel.model_validate(doc.data)
    except ValidationError as exc:
        raise _spec_error(doc, exc) from None
    given = "meter" in doc.data  # else a melody's own time signatures are the meter
    meter, key, melody = meter_of(model.meter), Key.parse(model.key), None
    rules = _rules(doc, model)
    if model.melody:
        from composer.spec.melody import read_melody

        melody, meter, key = read_melody(doc, model, meter if given else None, key, rules,
                                         folder)
    late = [bar for bar, _ in meter.changes if bar > model.bars]
    if late:
        raise doc.error(("meter",) if given else ("melody",), f"the meter changes at bar"
                        f" {late[0]} but the piece has {model.bars} bars (bars at"
                        f" {doc.where(('bars',))})")
    _check_fixed(doc, model, meter)
    return Spec(model.title, key, meter, model.bars, model.tempo,
                tuple(model.voices), model.form, tuple(model.cadences.items()), melody, rules,
                model.seed, model.temperature, doc.file, text, model.surface)


def _spec_error(doc: YamlDoc, exc: ValidationError) -> SpecError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"]
                if not (isinstance(p, str) and p.startswith(("dict[", "str"))))
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        parent = SpecModel if len(loc) == 1 else {"melody": MelodyModel,
                                                  "rules": RulesModel}.get(str(loc[0]))
        accepted = list(parent.model_fields) if parent else []
        name = str(loc[-1])
        msg = f"unknown field '{name}'{closest(name, accepted)}; accepted: {', '.join(accepted)}"
    elif kind == "missing":
        msg = "this field is required"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    elif kind in ("literal_error", "less_than_equal", "greater_than_equal", "greater_than"):
        msg = f"{msg} (got {err.get('input')!r})"
    return SpecError(msg, doc.where(loc), field_name(loc))


def _rules(doc: YamlDoc, model: SpecModel) -> tuple[RuleUse, ...]:
    uses: tuple[RuleUse, ...] = ()
    for i, name in enumerate(model.rules.include):
        try:
            uses = merge(uses, load_ruleset(name).uses)
        except SpecError as exc:
            if exc.location is not None:  # an error inside the rule set file itself
                raise
            raise doc.error(("rules", "include", i), exc.message) from None
    hard = [parse_use(doc, ("rules", "hard", i)) for i in range(len(model.rules.hard))]
    hard = [_with_severity(u, "error") for u in hard]
    soft = [parse_use(doc, ("rules", "soft", i), extra=("weight",))
            for i in range(len(model.rules.soft))]
    soft = [_with_severity(u, "warning") for u in soft]
    return tuple(u for u in merge(uses, [*hard, *soft]) if u.severity != "off")


def _with_severity(use: RuleUse, severity: str) -> RuleUse:
    if "severity" in use.given:
        return use
    return replace(use, severity=severity, given=use.given | {"severity"})


def _check_fixed(doc: YamlDoc, model: SpecModel, meter: Meter) -> None:
    """A `fixed` note the spec writes must name a voice, and a bar and beat the piece has."""
    for section in ("hard", "soft"):
        for i, entry in enumerate(getattr(model.rules, section)):
            if not isinstance(entry, dict) or entry.get("rule") != "fixed":
                continue
            path: tuple[str | int, ...] = ("rules", section, i)
            missing = [k for k in ("voice", "bar", "pitch") if k not in entry]
            if missing:
                raise doc.error(path, f"rule fixed needs {' and '.join(missing)}, as in {{rule:"
                                " fixed, voice: soprano, bar: 3, beat: 1, pitch: F#4}")
            if entry["voice"] not in model.voices:
                raise doc.error((*path, "voice"), f"'{entry['voice']}' is not a voice of the"
                                f" piece{closest(str(entry['voice']), model.voices)};"
                                f" accepted: {', '.join(model.voices)}")
            bar, beat = entry["bar"], entry.get("beat", 1)
            if not 1 <= bar <= model.bars:
                raise doc.error((*path, "bar"), f"bar {bar} is not in the piece, which has bars"
                                f" 1 to {model.bars}")
            bar_meter = meter.in_bar(bar)
            beats = bar_meter.beats_per_bar
            if not 1 <= beat < beats + 1:
                raise doc.error((*path, "beat"), f"beat {beat:g} is not in bar {bar}, which has"
                                f" {beats} beats ({bar_meter.first}): give a beat from 1 to"
                                f" {beats}, or one between, such as 1.5")


def schema() -> dict[str, Any]:
    """The JSON Schema of a spec, with every rule and its parameters spelled out so that
    an editor can complete and check rule entries as they are typed."""
    from composer.rules import RULES

    out = SpecModel.model_json_schema()
    kinds = {"int": {"type": "integer"}, "float": {"type": "number"},
             "bool": {"type": "boolean"}, "pitch": {"type": "string", "pattern":
                                                    r"^[A-Ga-g](#{1,2}|x|b{1,2}|-{1,2})?-?\d$"},
             "voice": {"type": "string"}, "str": {"type": "string"}}
    entries: list[dict[str, Any]] = [{"type": "string", "enum": list(RULES)}]
    for rule in RULES.values():
        props: dict[str, Any] = {"rule": {"const": rule.id, "description": rule.summary},
                                 "severity": {"enum": ["error", "warning", "off"]},
                                 "weight": {"type": "number", "exclusiveMinimum": 0}}
        for p in rule.params:
            if p.kind == "choices":
                prop: dict[str, Any] = {"enum": list(p.choices)}
                if isinstance(p.default, tuple):
                    prop = {"anyOf": [prop, {"type": "array", "items": prop}]}
            else:
                prop = dict(kinds[p.kind])
            prop["description"] = p.doc
            props[p.name] = prop
        entries.append({"type": "object", "properties": props, "required": ["rule"],
                        "additionalProperties": False})
    rules = out["$defs"]["RulesModel"]["properties"]
    for section in ("hard", "soft"):
        rules[section]["items"] = {"anyOf": entries}
    out["$defs"]["RulesModel"]["properties"]["include"]["items"] = {"type": "string"}
    out["title"] = "Partimento spec"
    return out
