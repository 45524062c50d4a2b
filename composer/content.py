"""Where the editable content lives: rule sets, grammars and models.

In a source checkout they sit at the top of the tree; an installed wheel carries them
inside the package (see pyproject.toml).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

_PACKAGE = Path(__file__).resolve().parent


def content_dir(name: str) -> Path:
    """The folder 'constraints', 'grammars' or 'models'."""
    for candidate in (_PACKAGE / "_content" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    return _PACKAGE.parent / name


@lru_cache(maxsize=8)
def fitted_per_scorer(file_name: str) -> dict[str, Any]:
    """A models/ file of weights fitted per scorer ({"scorers": {name: weights}}), read
    once; {} when it is not there (a custom model composes without it)."""
    path = content_dir("models") / file_name
    return json.loads(path.read_text())["scorers"] if path.exists() else {}
