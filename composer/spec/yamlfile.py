"""Safe YAML that remembers where every value was written.

Only plain YAML is accepted: no tags that build objects, no anchors or aliases (so no
alias bombs), no duplicate keys, no tabs for indentation. Every value's line and column
are kept so that an error can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from composer.errors import Location, SpecError

MAX_BYTES = 1_000_000
MAX_NODES = 200_000
# The plain kinds of value; any other tag (!!python/object, !!binary, !!set…) is refused.
_PLAIN_TAGS = frozenset(f"tag:yaml.org,2002:{kind}"
                        for kind in ("map", "seq", "str", "int", "float", "bool", "null"))

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, eq=False)
class YamlDoc:
    data: Any
    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)  # where each key is
    text: str = ""  # the YAML as written
    scalars: dict[Path_, tuple[int, int]] = field(default_factory=dict)  # their spans in text

    def where(self, path: Path_, at_key: bool = False) -> Location:
        """The location of the value at path (of its key, if at_key: for a field that
        should not be there), or of its nearest written parent."""
        if at_key and path in self.keys:
            return Location(self.file, *self.keys[path])
        while path and path not in self.positions:
            path = path[:-1]
        if path not in self.positions:
            return Location(self.file)
        return Location(self.file, *self.positions[path])

    def error(self, path: Path_, message: str, at_key: bool = False) -> SpecError:
        return SpecError(message, self.where(path, at_key), field_name(path))

    def where_in(self, path: Path_, index: int) -> Location:
        """The location of character `index` of the string written at path, inside the
        scalar as the file spells it: plain, quoted (with its escapes) or a block over
        several lines. A character the file writes as an escape is found by its neighbours;
        a path that is no scalar gives where(path)."""
        value: Any = self.data
        for part in path:
            value = value.get(part) if isinstance(value, dict) else \
                value[part] if isinstance(value, list) and isinstance(part, int) else None
        if path not in self.scalars or not isinstance(value, str):
            return self.where(path)
        start, end = self.scalars[path]
        raw = self.text[start:end]
        opening = raw[:1]
        at = raw.find("\n") + 1 if opening in ("|", ">") else int(opening in ("'", '"'))
        for ch in value[: index + 1]:  # each written character, in order, in the raw text
            if ch.isspace():
                continue
            found = raw.find(ch, at)
            if found < 0:
                return self.where(path)
            at = found + 1
        absolute = start + at - 1
        line_start = self.text.rfind("\n", 0, absolute) + 1
        return Location(self.file, self.text.count("\n", 0, absolute) + 1,
                        absolute - line_start + 1)


def field_name(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path | str, text: str | None = None) -> YamlDoc:
    path = Path(path)
    if text is None:
        if not path.exists():
            raise SpecError("no such file", Location(path))
        if path.stat().st_size > MAX_BYTES:
            raise SpecError(f"file is larger than {MAX_BYTES // 1000} kB", Location(path))
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as exc:
            raise SpecError(f"cannot be read as UTF-8 text ({exc})", Location(path)) from None
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            raise SpecError("a tab is used for indentation; indent with spaces",
                            Location(path, n, len(line) - len(stripped) + 1),
                            _field_on_line(text, n))
    try:
        root = _compose(text, path, _FAST)
    except yaml.YAMLError:  # the error in PyYAML's own words, at its place
        root = _compose(text, path, yaml.SafeLoader, explain=True)
    doc = YamlDoc(None, str(path), text=text)
    if root is None:
        return doc
    counter = [0]
    data = _build(root, (), doc, counter)
    return YamlDoc(data, str(path), doc.positions, doc.keys, text, doc.scalars)


# libyaml where PyYAML has it: a spec or a rule set reads in a tenth of the time.
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str, path: Path, loader: Any, explain: bool = False) -> Any:
    """The document's node tree; with `explain`, a YAML error becomes a SpecError."""
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
                raise SpecError("anchors and aliases (& and *) are not accepted", where)
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        if not explain:
            raise
        mark = exc.problem_mark or exc.context_mark
        where = Location(path, mark.line + 1, mark.column + 1) if mark else Location(path)
        raise SpecError(f"not valid YAML: {exc.problem or exc.context}", where) from None
    except yaml.YAMLError as exc:
        if not explain:
            raise
        raise SpecError(f"not valid YAML: {exc}", Location(path)) from None


def _field_on_line(text: str, line: int) -> str:
    """The field written on `line`, read as if its indentation tabs were spaces; '' when
    even that does not parse."""
    untabbed = "\n".join(ln[: len(ln) - len(ln.lstrip(" \t"))].replace("\t", "  ")
                         + ln.lstrip(" \t") for ln in text.splitlines())
    try:
        doc = load_yaml("", untabbed)
    except SpecError:
        return ""
    on_line = [p for p, (ln, _) in doc.positions.items() if ln == line and p]
    return field_name(max(on_line, key=len)) if on_line else ""


def _key(node: yaml.Node, path: Path_, doc: YamlDoc) -> str:
    """A mapping key, which must be a plain word or number. Its place is not recorded
    under `path`: that stays the place of the mapping itself."""
    if isinstance(node, yaml.ScalarNode) and node.tag in _PLAIN_TAGS:
        key = yaml.SafeLoader.yaml_constructors[node.tag](yaml.SafeLoader(""), node)
        if isinstance(key, str | int | float | bool):
            return str(key)
    where = Location(doc.file, node.start_mark.line + 1, node.start_mark.column + 1)
    raise SpecError("mapping keys must be plain words", where, field_name(path))


def _build(node: yaml.Node, path: Path_, doc: YamlDoc, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise SpecError(f"more than {MAX_NODES} values", Location(doc.file))
    doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if node.tag not in _PLAIN_TAGS:
        tag = node.tag.replace("tag:yaml.org,2002:", "!!")
        raise doc.error(path, f"the tag {tag} is not accepted: write plain values")
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _key(key_node, path, doc)
            key_at = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in out:
                doc.keys[(*path, key)] = key_at
                raise doc.error((*path, key), "this key is given twice", at_key=True)
            doc.keys[(*path, key)] = key_at
            out[key] = _build(value_node, (*path, key), doc, counter)
            if not isinstance(value_node, yaml.ScalarNode):  # point at the key's line
                doc.positions[(*path, key)] = key_at
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, counter) for i, item in enumerate(node.value)]
    doc.scalars[path] = (node.start_mark.index, node.end_mark.index)
    constructor = yaml.SafeLoader.yaml_constructors[node.tag]
    try:
        return constructor(yaml.SafeLoader(""), node)
    except yaml.YAMLError as exc:
        raise doc.error(path, f"not a valid value ({exc})") from None
