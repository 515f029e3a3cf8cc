"""The root of our errors, the one error type for bad user input, and how pydantic's errors map to it.

Every error of ours derives from `ClusterctlError`, whose `exit_code` is what
the CLI exits with: `main()` catches it once. SDK errors (hcloud, kubernetes)
are translated where the clients call the SDKs, chained with `from`, never
subclassed: their objects can hold a response body, and a body can hold a Secret.

Users read these messages in a terminal or in `pulumi preview`: each problem
is one line that names the field, the value and what is allowed.
"""

from __future__ import annotations

import difflib
import reprlib
from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class ClusterctlError(Exception):
    """Something the user can act on; `str()` is the message, `exit_code` what the CLI exits with.

    1 says "it did not work" (an API refused, a stack failed); 2 says "your
    input is wrong, nothing was touched" (SpecError).
    """

    exit_code: int = EXIT_FAILED

    def lines(self) -> list[str]:
        """The message, one problem per line (what the CLI prints after `error: `)."""
        return str(self).splitlines() or [type(self).__name__]


class SpecError(ClusterctlError):
    """The platform spec (or a flag) is invalid; carries every problem found. Nothing was touched."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, problems: Iterable[Problem], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        super().__init__(self.render())

    def render(self) -> str:
        prefix = f"{self.source}: " if self.source else ""
        return "\n".join(prefix + str(p) for p in self.problems)


def invalid(template: str, **context: Any) -> PydanticCustomError:
    """A validation error whose message is written for the user; `{name}` takes `context[name]`.

    pydantic's error type is never shown (problems_from_validation reads only
    pydantic's own types), so all of ours share one.
    """
    return PydanticCustomError("invalid", template, context)


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


# Bounded: the input may be huge, or shared by YAML aliases many times over,
# so a full repr could take minutes and gigabytes before being cut.
_REPR = reprlib.Repr()  # keyword arguments need Python 3.12
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 2, 3, 3, 3, 3
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 50


def _short(value: Any, limit: int = 60) -> str:
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _quoted_in(value: Any, text: str) -> bool:
    """Whether a message already names a (short, scalar) input value."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    shown = str(value)
    return (0 < len(shown) <= 80 and shown in text) or (shown == "" and "''" in text)


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


# pydantic's wording where it speaks Python rather than YAML.
_PLAIN = {
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "int_type": "must be a whole number (no quotes, no decimal point, not true/false)",
    "string_type": "must be a string",
}


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
            text = _PLAIN.get(kind, text)
            if kind == "too_short":
                text = f"must have at least {e['ctx']['min_length']} item(s)"
            if kind == "string_type" and isinstance(e["input"], (int, float)):
                text += " (YAML reads it as a number or true/false: quote it)"
            text = text.replace("Input should be", "must be").replace("String should", "must")
            text = text.replace("List should", "must").replace("Dictionary should", "must")
            # Our own messages already quote the value; pydantic's do not.
            msg = text if _quoted_in(e["input"], text) else f"{text} (got {_short(e['input'])})"
        problems.append(Problem(join_path(loc), msg))
    return problems
