"""Go-style durations as the CRDs spell them: ``720h``, ``90m``, ``1h30m``, ``1.5s``, ``0``.

The CRD pattern is ``^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d))+)$``; ``d`` (24 h) is accepted
on top of Go's units because people write ``90d`` for token lifetimes.
"""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:0|(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h|d))+)$")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


class DurationError(ValueError):
    """The text is not a duration."""


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` → 90 minutes; ``"0"`` → zero. Raises :class:`DurationError`."""
    value = text.strip()
    if not _WHOLE.match(value):
        raise DurationError(f"invalid duration {text!r} (expected e.g. 720h, 90m, 1h30m, 0)")
    seconds = sum(float(number) * _SECONDS[unit] for number, unit in _PART.findall(value))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest Go-style spelling of a whole number of seconds (``5400s`` → ``1h30m``)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0"
    parts = []
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
