"""A spec sent to the studio reads files only inside the studio's folder.

The melody file is already looked for only below the spec's folder (composer/spec/melody.py);
a rule set the spec includes by path is checked here, and so is every rule set that one
includes in turn. Links are followed (Path.resolve) and must end inside the folder too.
"""

from __future__ import annotations

from pathlib import Path

from composer.spec.rulesets import ruleset_path
from composer.spec.yamlfile import YamlDoc, load_yaml


def confine(text: str, source: str, folder: Path) -> None:
    """Raise SpecError at the include that would read a file outside `folder`."""
    _confine(load_yaml(source, text), ("rules", "include"), folder.resolve(), ())


def _confine(doc: YamlDoc, where: tuple[str, ...], root: Path, seen: tuple[Path, ...]
             ) -> None:
    data = doc.data
    for key in where:
        data = data.get(key) if isinstance(data, dict) else None
    if not isinstance(data, list):
        return
    for i, name in enumerate(data):
        if not isinstance(name, str) or not (name.endswith((".yaml", ".yml")) or "/" in name):
            continue  # a rule set shipped with Partimento, by name
        target = (root / ruleset_path(name)).resolve()
        if not target.is_relative_to(root):
            raise doc.error((*where, i), f"'{name}' lies outside the studio's folder; put"
                            " the rule set in the folder or below it")
        if target.is_file() and target not in seen:
            _confine(load_yaml(target), ("include",), root, (*seen, target))
