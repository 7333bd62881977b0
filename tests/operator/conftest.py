"""Fixtures for the operator tests -- the real API server, the real accounts service.

``accounts_service``  one accounts service for the operator tests (thread mode).
``zero``              a fresh org of it per test (:class:`Zero`), faults cleared after.
``operators``         start operator processes for the test's namespace; all are stopped
                      afterwards, and finalizers they leave are removed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path

import pytest

from tests.operator.support import OperatorProcess, Zero, strip_finalizers
from tests.support.accounts import AccountsService, running_accounts_service
from tests.support.kube import KubeEnv

FAST = [
    "--status-interval=0.5",
    "--probe-interval=2",
    "--backoff-base=0.2",
    "--backoff-cap=2",
    "--breaker-cap=1",
    "--member-wait=3",
]


@pytest.fixture(scope="session")
def accounts_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccountsService]:
    db_path = tmp_path_factory.mktemp("operator-accounts") / "accounts.sqlite3"
    with running_accounts_service(db_path, org_id="operator-tests") as service:
        yield service


@pytest.fixture
async def zero(accounts_service: AccountsService) -> AsyncIterator[Zero]:
    async with accounts_service.admin() as admin:
        org = await admin.create_org()
        async with accounts_service.http(org) as http:
            yield Zero(accounts_service, admin, org, http)
        await admin.clear_faults()


Start = Callable[..., OperatorProcess]


@pytest.fixture
def operators(
    kube: KubeEnv, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Start]:
    started: list[OperatorProcess] = []

    def start(*args: str, fast: bool = True, log: str = "operator.log") -> OperatorProcess:
        process = OperatorProcess(
            kube.kubeconfig, [namespace], tmp_path / log, [*(FAST if fast else []), *args]
        )
        started.append(process.start())
        return process

    yield start
    for process in started:
        process.stop()
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        for process in started:
            print(f"---- {process.log_path}\n{process.log()[-8000:]}")
    strip_finalizers(kube, namespace, namespace)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report
