"""Session plumbing shared by every test folder.

``kube`` — the real API server of the session (see tests/support/kube.py), started
lazily: pure unit tests never start a control plane. ``namespace`` — a fresh namespace
per test, deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.kube import (
    KubeEnv,
    UnsafeCluster,
    create_namespace,
    delete_namespace,
    kube_session,
)


@pytest.fixture(scope="session")
def kube() -> Iterator[KubeEnv]:
    try:
        with kube_session() as env:
            yield env
    except UnsafeCluster as exc:
        pytest.exit(str(exc), returncode=2)


@pytest.fixture
def namespace(kube: KubeEnv) -> Iterator[str]:
    name = create_namespace(kube)
    yield name
    delete_namespace(kube, name)
