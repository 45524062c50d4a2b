"""The spec's fields as pydantic validates them at the door, and the JSON Schema an
editor completes specs with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from composer.music import SATB, Key, Meter
from composer.rules import RULES
from composer.spec.transposition import parse_interval

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
    seed: int = Field(0, ge=0, description="the same seed composes the same piece")
    temperature: float = Field(1.0, gt=0, le=10)
    surface: Literal["figured", "plain"] = Field(
        "figured", description="figured: voices move within the beat (passing tones,"
        " neighbours, suspensions…); plain: one note per voice per beat")
    climax: Literal["single", "free"] = Field(
        "single", description="single: a soprano that is composed (not given) strikes its"
        " highest note once, at a height drawn from the chorales' climaxes; free: it may"
        " peak anywhere, as often as the voicings fall")

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


def schema() -> dict[str, Any]:
    """The JSON Schema of a spec, with every rule and its parameters spelled out so that
    an editor can complete and check rule entries as they are typed."""

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
