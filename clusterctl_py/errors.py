"""The one error type for bad user input, and how pydantic's errors map to it.

Users read these messages in a terminal or in `pulumi preview`: each problem
is one line that names the field, the value and what is allowed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(Exception):
    """The platform spec is invalid; carries every problem found."""

    def __init__(self, problems: Iterable[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        return "\n".join(prefix + str(p) for p in self.problems)


def join_path(loc: Iterable[str | int]) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue  # pydantic's marker for "the dict key itself"; the key is already in the path
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """Follow a pydantic error location through the model tree.

    Needed to list the keys allowed where an unknown key was found.
    """
    import typing

    current: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next(
            (f for name, f in current.model_fields.items() if part in (name, f.alias)),
            None,
        )
        if field is None:
            return None
        current = field.annotation
        # Unwrap list[X], X | None and similar to the model inside.
        while typing.get_origin(current) is not None:
            args = [a for a in typing.get_args(current) if a is not type(None)]
            model_args = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
            current = model_args[0] if model_args else (args[-1] if args else None)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def problems_from_validation(err: ValidationError, root: type[BaseModel]) -> list[Problem]:
    problems = []
    for e in err.errors(include_url=False):
        loc = tuple(e["loc"])
        kind = e["type"]
        if kind == "extra_forbidden":
            model = _model_at(root, loc[:-1])
            allowed = sorted(f.alias or n for n, f in model.model_fields.items()) if model else []
            msg = "unknown key"
            close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            if close:
                msg += f" (did you mean {close[0]!r}?)"
            if allowed:
                msg += f"; allowed keys: {', '.join(allowed)}"
        elif kind == "missing":
            msg = "required but missing"
        else:
            text = e["msg"]
            for lead in ("Value error, ", "Assertion failed, "):
                text = text.removeprefix(lead)
            text = text.replace("Input should be", "must be").replace("String should", "must")
            text = text.replace("List should", "must").replace("Dictionary should", "must")
            shown = _short(e["input"])
            # Our own messages already quote the value; pydantic's do not.
            msg = text if str(e["input"]) in text else f"{text} (got {shown})"
        problems.append(Problem(join_path(loc), msg))
    return problems
