"""One root for every error a user can cause, so the command line can tell them from bugs."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path


class PartimentoError(Exception):
    """A mistake in what the user gave us: printed as one line, never as a traceback."""

    exit_code = 2


@dataclass(frozen=True)
class Location:
    """Where in a text file something was found; line and column count from 1."""

    file: Path | str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [str(self.file)]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class SpecError(PartimentoError, ValueError):
    """A spec or rule-set file that cannot be accepted: knows its file, line and field."""

    def __init__(self, message: str, location: Location | None = None, field: str = "") -> None:
        self.message = message
        self.location = location
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ScoreError(PartimentoError):
    """A score file that is missing, unreadable, or has a shape the rules cannot grade."""


class UnsatisfiableError(PartimentoError):
    """The hard rules cannot all hold; carries the conflicting rules."""

    exit_code = 1

    def __init__(self, message: str, conflicts: tuple[str, ...] = (),
                 places: tuple[Fraction, ...] = ()) -> None:
        self.conflicts = conflicts
        self.places = places  # where the given notes it names begin (quarter notes)
        super().__init__(message)


def closest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """A ' (did you mean X?)' hint, or '' when nothing is close."""

    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{match[0]}'?)" if match else ""
