"""Session plumbing shared by every test folder.

``kube`` — the real API server of the session (see tests/support/kube.py), started
lazily: pure unit tests never start a control plane. ``namespace`` — a fresh namespace
per test, deleted afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import error_bodies
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


# -- every SCIM error body of the session, checked for internal names (issue 9 item 2) --------


def pytest_configure(config: pytest.Config) -> None:
    error_bodies.install()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if error_bodies.COLLECTED:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            f"{len(error_bodies.COLLECTED)} SCIM error bodies name internals "
            f"(tests/support/error_bodies.py):\n{error_bodies.report()}"
        )
        if reporter is not None:
            reporter.write_sep("=", "internal names in SCIM error bodies", red=True)
            reporter.write_line(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
