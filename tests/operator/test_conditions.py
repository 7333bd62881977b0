"""cert-manager-style conditions (conditions.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from zero_scim_operator import conditions

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_condition_transition_time_changes_only_with_status() -> None:
    first = conditions.merge(None, [conditions.true("Ready", "Ready", "ok", 1)], T0)
    later = T0 + timedelta(hours=1)
    same = conditions.merge(first, [conditions.true("Ready", "Still", "fine", 2)], later)
    assert same[0]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert same[0]["reason"] == "Still" and same[0]["observedGeneration"] == 2
    flipped = conditions.merge(same, [conditions.false("Ready", "Broken", "no", 2)], later)
    assert flipped[0]["lastTransitionTime"] == "2025-01-01T01:00:00Z"
    both = conditions.merge(flipped, [conditions.unknown("Other", "Why", "", 2)], later)
    assert [c["type"] for c in both] == ["Ready", "Other"]
