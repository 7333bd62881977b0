"""The one mapping of storage failures to SCIM errors, and the storage deadline — pure
unit tests (the 503 of a frozen API server is tests/api/test_deadline.py)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.support.error_bodies import leaks
from zero_scim.kube.errors import KubeError, error_for
from zero_scim.kube.objects import Status
from zero_scim.scim import InvalidValue, NotFound, ScimError, ServiceUnavailable
from zero_scim_api.storage.errors import DEFAULT_RETRY_AFTER, retry_after, scim_error, storage_call

NAME = "u-0123456789abcdef0123456789abcdef01234567"
REQUEST_PATH = f"/apis/zeroscim.io/v1alpha1/namespaces/t-1/scimusers/{NAME}"


def kube_error(code: int, reason: str, message: str, retry: float | None = None) -> KubeError:
    status: Status = {"code": code, "reason": reason, "message": message}
    return error_for(code, status, retry_after=retry)


INTERNAL = (
    f'ScimUser.zeroscim.io "{NAME}" is invalid: spec.title: Too long: may not be more '
    f"than 1024 bytes (PATCH https://127.0.0.1:6443{REQUEST_PATH})"
)


@pytest.mark.parametrize(
    ("error", "expected", "status"),
    [
        (kube_error(404, "NotFound", INTERNAL), NotFound, 404),
        (kube_error(422, "Invalid", INTERNAL), InvalidValue, 400),
        (kube_error(413, "RequestEntityTooLarge", INTERNAL), InvalidValue, 400),
        (kube_error(500, "InternalError", "etcdserver: request is too large"), InvalidValue, 400),
        (kube_error(503, "ServiceUnavailable", INTERNAL), ServiceUnavailable, 503),
        (kube_error(429, "TooManyRequests", INTERNAL), ServiceUnavailable, 503),
        (kube_error(403, "Forbidden", INTERNAL), ServiceUnavailable, 503),
        (kube_error(400, "BadRequest", INTERNAL), ScimError, 500),
    ],
    ids=["404", "422", "413", "etcd-too-large", "503", "429", "403", "400"],
)
def test_each_failure_has_its_scim_error_and_names_nothing_internal(
    error: KubeError, expected: type[ScimError], status: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        mapped = scim_error(error, "update a user")
    assert isinstance(mapped, expected)
    assert mapped.status == status
    body = str(mapped.to_body())
    assert leaks(body) == [], body
    assert "update a user" in caplog.text  # the internals go to the log instead
    if status == 503:
        assert isinstance(mapped, ServiceUnavailable) and mapped.retry_after


def test_retry_after_is_the_api_servers_hint_rounded_up_else_the_default() -> None:
    hinted = scim_error(kube_error(429, "TooManyRequests", "slow down", retry=2.2), "x")
    assert isinstance(hinted, ServiceUnavailable) and hinted.retry_after == 3
    assert retry_after(None) == DEFAULT_RETRY_AFTER
    assert retry_after(0) == DEFAULT_RETRY_AFTER
    assert retry_after(0.1) == 1


async def test_the_deadline_bounds_the_whole_operation() -> None:
    with pytest.raises(ServiceUnavailable) as raised:
        async with storage_call("create a user", 0.05):
            await asyncio.sleep(5)
    assert raised.value.retry_after == DEFAULT_RETRY_AFTER
    assert leaks(str(raised.value.to_body())) == []


async def test_scim_errors_and_results_pass_through_unchanged() -> None:
    with pytest.raises(InvalidValue, match="taken"):
        async with storage_call("create a user", 1.0):
            raise InvalidValue("userName is taken")
    async with storage_call("create a user", 1.0):
        await asyncio.sleep(0)
