"""The spec: the only place that sees a user's raw YAML.

A spec file is read with positions kept (composer.yamlfile), validated with pydantic,
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
from composer.rulesets import RuleUse, load_ruleset, merge, parse_use
from composer.yamlfile import YamlDoc, field_name, load_yaml, word_locations

if TYPE_CHECKING:
    from composer.figured_bass import Figure

MAX_BARS = 256
CadenceKind = Literal["authentic", "half", "plagal", "deceptive"]


class MelodyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    voice: Literal["soprano", "alto", "tenor", "bass"] = "soprano"
    tinynotation: str | None = None
    file: str | None = None
    figures: str | None = Field(
        None, description="a figured bass: a figure over each note of the bass, rests taking"
        " none: '-' or 5/3, 6, 6/4, 7, 6/5, 4/3, 4/2 or 2; #, b or n before a number alter"
        " it, alone the third (#6, b7, #); 4-3, 7-6, 6/4-5/3 over one note; _ holds the"
        " chord before")

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
    lyric: str | None = None


@dataclass(frozen=True)
class Melody:
    voice: str
    notes: tuple[MelodyNote, ...]  # in time order
    origin: Location
    figures: tuple[Figure | None, ...] = ()  # a figured bass: per note (None: a rest)

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
    meter = meter_of(model.meter)
    late = [bar for bar, _ in meter.changes if bar > model.bars]
    if late:
        raise doc.error(("meter",), f"the meter changes at bar {late[0]} but the piece has"
                        f" {model.bars} bars (bars at {doc.where(('bars',))})")
    rules = _rules(doc, model)
    melody = _melody(doc, text, model, meter, folder) if model.melody else None
    return Spec(model.title, Key.parse(model.key), meter, model.bars, model.tempo,
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


def _melody(doc: YamlDoc, text: str, model: SpecModel, meter: Meter, folder: Path) -> Melody:
    from composer.io import figured_melody_from_file, melody_from_tinynotation

    m = model.melody
    assert m is not None
    if m.figures is not None and m.voice != "bass":
        raise doc.error(("melody", "figures"), f"figures stand over a bass, not the {m.voice}:"
                        " give the bass line with 'voice: bass'")
    in_file: dict[float, str] = {}
    if (m.tinynotation is None) == (m.file is None):
        raise doc.error(("melody",), "give the melody as 'tinynotation' or as 'file', not both")
    if m.tinynotation is not None:
        where = ("melody", "tinynotation")
        try:
            notes = melody_from_tinynotation(m.tinynotation, meter)
        except ValueError as exc:
            raise doc.error(where, str(exc)) from None
    else:
        where = ("melody", "file")
        assert m.file is not None
        target = (folder / m.file).resolve()
        if not target.is_relative_to(folder.resolve()):
            raise doc.error(where, f"'{m.file}' lies outside the spec's folder; put the melody"
                            " file beside the spec or below it")
        if not target.is_file():
            raise doc.error(where, f"no such file '{m.file}' (looked in {folder})")
        try:
            notes, in_file = figured_melody_from_file(target)
        except ValueError as exc:
            raise doc.error(where, str(exc)) from None
    melody = tuple(MelodyNote(Fraction(o).limit_denominator(64),
                              Fraction(d).limit_denominator(64), p, f) for o, d, p, f in notes)
    length = sum((n.duration for n in melody), Fraction(0))
    room = meter.bar_start(model.bars + 1)
    if length > room:
        raise doc.error(where, f"the melody lasts {round(meter.bars(length), 2):g} bars but"
                        f" the piece has {model.bars} (bars at {doc.where(('bars',))})")
    out = Melody(m.voice, melody, doc.where(where))
    if m.figures is not None:
        return _figured(doc, text, out, m.figures, Key.parse(model.key), meter)
    if in_file and m.voice == "bass":
        return _figured_from_file(doc, out, in_file, Key.parse(model.key), meter)
    return out


def _figured_from_file(doc: YamlDoc, melody: Melody, in_file: dict[float, str], key: Key,
                       meter: Meter) -> Melody:
    """The bass with the figures its file writes (<figured-bass>); a note without one is
    a triad on its root where it starts a beat or opens the bass, else a passing note."""
    from composer.figured_bass import check_figures, parse_figure

    where = ("melody", "file")
    figures: list[Figure | None] = []
    sounding = [n for n in melody.notes if n.pitch is not None]
    for note in melody.notes:
        if note.pitch is None:
            figures.append(None)
            continue
        at = meter.position(note.offset)
        written = next((f for o, f in in_file.items() if abs(o - float(note.offset)) < 1e-6),
                       None)
        if written is None:
            written = "-" if float(at.beat).is_integer() or note is sounding[0] else "_"
        try:
            figures.append(replace(parse_figure(written), origin=doc.where(where),
                                   field_name=field_name(where)))
        except ValueError as exc:
            raise doc.error(where, f"bar {at.bar} beat {at.beat:g}: {exc}") from None
    out = replace(melody, figures=tuple(figures))
    check_figures(out, key, meter)
    return out


def _figured(doc: YamlDoc, text: str, melody: Melody, figures: str, key: Key, meter: Meter
             ) -> Melody:
    """The melody with the spec's figures laid over its notes, one per note."""
    from composer.figured_bass import check_figures, figured_notes, parse_figure

    where = ("melody", "figures")
    tokens = figures.split()
    places = word_locations(text, doc.where(where), tokens)
    parsed = []
    for token, place in zip(tokens, places, strict=True):
        try:
            parsed.append(replace(parse_figure(token), origin=place))
        except ValueError as exc:
            raise SpecError(str(exc), place, field_name(where)) from None
    notes = sum(n.pitch is not None for n in melody.notes)
    if len(tokens) != notes:
        many = len(tokens) > notes
        raw = text.splitlines()[(doc.where(where).line or 1) - 1]
        hint = (" (quote the figures: in YAML a # after a space begins a comment)"
                if not many and " #" in raw and not raw.rstrip().endswith(("'", '"')) else "")
        raise SpecError(f"{len(tokens)} figures for the bass's {notes} notes: write one figure"
                        f" over each note, rests taking none{hint}",
                        places[notes] if many else doc.where(where), field_name(where))
    out = replace(melody, figures=figured_notes([n.pitch for n in melody.notes], parsed))
    check_figures(out, key, meter)
    return out


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
