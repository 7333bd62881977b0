"""How the API server's answers become the error tree (pure: Status bodies as the API
server sends them)."""

from __future__ import annotations

import pytest

from zero_scim.kube import errors
from zero_scim.kube.errors import RequestInfo, error_for, parse_retry_after
from zero_scim.kube.objects import Status

REQUEST = RequestInfo("POST", "/apis/zeroscim.io/v1alpha1/namespaces/t/scimusers")


def status(code: int, reason: str = "", message: str = "boom") -> Status:
    body: Status = {"kind": "Status", "status": "Failure", "message": message, "code": code}
    if reason:
        body["reason"] = reason
    return body


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (400, "BadRequest", errors.BadRequest),
        (401, "Unauthorized", errors.Unauthorized),
        (403, "Forbidden", errors.Forbidden),
        (404, "NotFound", errors.NotFound),
        (409, "AlreadyExists", errors.AlreadyExists),
        (409, "Conflict", errors.Conflict),
        (410, "Expired", errors.Gone),
        (422, "Invalid", errors.Invalid),
        (429, "TooManyRequests", errors.Unavailable),
        (500, "InternalError", errors.Unavailable),
        (503, "ServiceUnavailable", errors.Unavailable),
        (504, "Timeout", errors.Unavailable),
        (405, "MethodNotAllowed", errors.KubeError),
    ],
)
def test_each_answer_has_its_error(code: int, reason: str, expected: type[Exception]) -> None:
    error = error_for(code, status(code, reason), REQUEST)
    assert type(error) is expected
    assert isinstance(error, errors.KubeError)
    assert (error.code, error.reason, error.message) == (code, reason, "boom")
    assert error.status["kind"] == "Status"
    assert error.request == REQUEST
    assert str(error) == f"POST {REQUEST.path}: boom"


def test_a_conflict_without_a_reason_is_a_stale_write_and_denials_share_a_base() -> None:
    assert type(error_for(409, {}, REQUEST)) is errors.Conflict
    assert isinstance(error_for(401, {}), errors.Denied)
    assert isinstance(error_for(403, {}), errors.Denied)


def test_an_answer_without_a_status_body_gets_one() -> None:
    error = error_for(502, {})
    assert error.code == 502 and error.message == "HTTP 502" and error.reason == ""
    assert str(error) == "HTTP 502"  # no request known


def test_the_retry_hint_comes_from_the_header_else_from_the_status() -> None:
    hinted: Status = {**status(429, "TooManyRequests"), "details": {"retryAfterSeconds": 3}}
    error = error_for(429, hinted, REQUEST)
    assert isinstance(error, errors.Unavailable) and error.retry_after == 3.0
    header = error_for(429, hinted, REQUEST, retry_after=7.0)
    assert isinstance(header, errors.Unavailable) and header.retry_after == 7.0
    plain = error_for(503, status(503))
    assert isinstance(plain, errors.Unavailable) and plain.retry_after is None


@pytest.mark.parametrize(
    ("value", "seconds"), [("5", 5.0), (" 1 ", 1.0), ("0", 0.0), ("", None), (None, None)]
)
def test_retry_after_headers(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_an_http_date_or_garbage_retry_after_is_no_hint() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after("-3") is None


def test_a_transport_failure_has_no_code_and_chains_its_cause() -> None:
    cause = ConnectionResetError("reset by peer")
    try:
        try:
            raise cause
        except ConnectionResetError as exc:
            raise errors.Unavailable(f"{type(exc).__name__}: {exc}", request=REQUEST) from exc
    except errors.Unavailable as error:
        assert error.code == 0 and error.__cause__ is cause
        assert error.retry_after is None
        assert "ConnectionResetError: reset by peer" in str(error)


def test_an_error_made_by_the_caller_carries_its_message() -> None:
    error = errors.Conflict("token Secret keeps changing")
    assert error.message == "token Secret keeps changing" and error.code == 0
    assert error.status == {"message": "token Secret keeps changing"}
