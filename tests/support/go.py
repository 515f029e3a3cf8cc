"""How Go parses the values we hand to Go programs (flags, CRD fields)."""

from __future__ import annotations

import re
from datetime import timedelta

# Go's strconv.ParseBool and time.ParseDuration, which pflag uses for bool and duration flags.
GO_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}  # fmt: skip
GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def go_duration(text: str) -> timedelta:
    parts = _GO_DURATION_PART.findall(text)
    assert text == "0" or (parts and "".join(n + u for n, u in parts) == text), f"{text!r} is not a Go duration"
    return timedelta(seconds=sum(float(n) * GO_DURATION_UNITS[u] for n, u in parts))
