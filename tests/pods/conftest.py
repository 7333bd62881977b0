"""The Pod tests' cluster: one per session, shared by every module of this folder.

Every test here is marked ``pods`` (``-m "not pods"`` leaves them out, ``-m pods`` runs
only them). They run serially, as the whole suite does: the one-node cluster is a
machine-wide singleton.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pods.support import PodCluster, pod_cluster

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.pods)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def pods() -> Iterator[PodCluster]:
    try:
        with pod_cluster() as cluster:
            yield cluster
    except LookupError as exc:
        pytest.skip(str(exc))
