"""Where the editable content lives: rule sets, grammars and models.

In a source checkout they sit at the top of the tree; an installed wheel carries them
inside the package (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def content_dir(name: str) -> Path:
    """The folder 'constraints', 'grammars' or 'models'."""
    for candidate in (_PACKAGE / "_content" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    return _PACKAGE.parent / name
