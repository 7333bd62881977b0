"""cert-manager-style status conditions.

Each condition has ``type``, ``status`` (``"True"``, ``"False"``, ``"Unknown"``),
``reason`` (CamelCase, machine-readable), ``message`` (for people),
``lastTransitionTime`` and ``observedGeneration``. ``lastTransitionTime`` changes only
when ``status`` changes, so "since when is this tenant not Ready?" has an answer; a new
reason or message with the same status keeps the old time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from zero_scim.kube.objects import Condition as StatusCondition
from zero_scim.kube.objects import ConditionStatus as Status
from zero_scim.kube.tokens import format_time

MAX_MESSAGE = 32768  # the CRDs' maxLength for a condition message


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: Status
    reason: str
    message: str = ""
    observed_generation: int | None = None

    @property
    def is_true(self) -> bool:
        return self.status == "True"


def true(type_: str, reason: str, message: str = "", generation: int | None = None) -> Condition:
    return Condition(type_, "True", reason, message, generation)


def false(type_: str, reason: str, message: str = "", generation: int | None = None) -> Condition:
    return Condition(type_, "False", reason, message, generation)


def unknown(type_: str, reason: str, message: str = "", generation: int | None = None) -> Condition:
    return Condition(type_, "Unknown", reason, message, generation)


def find(conditions: Sequence[StatusCondition] | None, type_: str) -> StatusCondition | None:
    """The condition of ``type_`` in a status' ``conditions`` list, if any."""
    for item in conditions or ():
        if item.get("type") == type_:
            return item
    return None


def merge(
    current: Sequence[StatusCondition] | None, updates: Iterable[Condition], now: datetime
) -> list[StatusCondition]:
    """The new ``conditions`` list: ``updates`` replace conditions of their type, others stay.

    Order is stable (existing types keep their place, new ones are appended).
    """
    existing = [c.copy() for c in current or () if "type" in c]
    by_type = {c["type"]: i for i, c in enumerate(existing)}
    for update in updates:
        rendered: StatusCondition = {
            "type": update.type,
            "status": update.status,
            "reason": update.reason,
            "message": update.message[:MAX_MESSAGE],
            "lastTransitionTime": format_time(now),
        }
        if update.observed_generation is not None:
            rendered["observedGeneration"] = update.observed_generation
        index = by_type.get(update.type)
        if index is None:
            by_type[update.type] = len(existing)
            existing.append(rendered)
            continue
        old = existing[index]
        if old.get("status") == update.status and old.get("lastTransitionTime"):
            rendered["lastTransitionTime"] = old["lastTransitionTime"]
        existing[index] = rendered
    return existing
