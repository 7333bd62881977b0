"""Errors: the flat family, statuses, scimTypes and the RFC 7644 §3.12 body."""

import orjson
import pytest

from zero_scim.scim import errors
from zero_scim.scim.errors import (
    ERROR_SCHEMA,
    Conflict,
    Forbidden,
    InvalidFilter,
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    InvalidVersion,
    MethodNotAllowed,
    Mutability,
    NoTarget,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    PreconditionFailed,
    ScimError,
    ServiceUnavailable,
    TooMany,
    TooManyRequests,
    Unauthorized,
    Uniqueness,
    quote,
)

TABLE = [
    (InvalidFilter, 400, "invalidFilter"),
    (TooMany, 400, "tooMany"),
    (InvalidSyntax, 400, "invalidSyntax"),
    (InvalidPath, 400, "invalidPath"),
    (NoTarget, 400, "noTarget"),
    (InvalidValue, 400, "invalidValue"),
    (InvalidVersion, 400, "invalidVers"),
    (Mutability, 400, "mutability"),
    (Unauthorized, 401, None),
    (Forbidden, 403, None),
    (NotFound, 404, None),
    (MethodNotAllowed, 405, None),
    (Uniqueness, 409, "uniqueness"),
    (Conflict, 409, None),
    (PreconditionFailed, 412, None),
    (PayloadTooLarge, 413, None),
    (TooManyRequests, 429, None),
    (NotSupported, 501, None),
    (ServiceUnavailable, 503, None),
]


@pytest.mark.parametrize(("cls", "status", "scim_type"), TABLE)
def test_status_and_scim_type(cls, status, scim_type):
    error = cls("something went wrong")
    assert error.status == status
    assert error.scim_type == scim_type
    assert error.detail == "something went wrong"
    assert str(error) == "something went wrong"
    body = error.to_body()
    expected = {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": "something went wrong"}
    if scim_type is not None:
        expected["scimType"] = scim_type
    assert body == expected
    assert ("scimType" in body) is (scim_type is not None)
    assert orjson.loads(orjson.dumps(body)) == body


def test_family_is_flat_and_complete():
    family = {
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, ScimError) and obj is not ScimError
    }
    assert family == {cls for cls, _, _ in TABLE}
    assert all(cls.__bases__ == (ScimError,) for cls in family)
    assert issubclass(ScimError, Exception)


@pytest.mark.parametrize(("cls", "status", "scim_type"), TABLE)
def test_default_detail_is_never_empty(cls, status, scim_type):
    assert cls().detail
    assert cls().to_body()["detail"]


def test_base_class_can_carry_any_status():
    error = ScimError("boom", status=418, scim_type="teapot")
    assert error.to_body() == {
        "schemas": [ERROR_SCHEMA],
        "status": "418",
        "scimType": "teapot",
        "detail": "boom",
    }
    assert ScimError().status == 500


def test_status_is_a_string_in_the_body():
    assert NotFound().to_body()["status"] == "404"


def test_retry_after_is_kept():
    assert TooManyRequests(retry_after=30).retry_after == 30
    assert ServiceUnavailable("later", retry_after=5).retry_after == 5
    assert TooManyRequests().retry_after is None


def test_with_context_keeps_class_status_and_extras():
    original = TooManyRequests("slow down", retry_after=7)
    wrapped = original.with_context("Operations[2]")
    assert type(wrapped) is TooManyRequests
    assert wrapped.detail == "Operations[2]: slow down"
    assert wrapped.retry_after == 7
    assert wrapped.status == 429
    value = InvalidValue("bad").with_context("ctx")
    assert isinstance(value, InvalidValue)
    assert value.to_body()["scimType"] == "invalidValue"
    assert original.detail == "slow down"


def test_repr_names_class_and_status():
    assert repr(NotFound("x")) == "NotFound(status=404, detail='x')"


def test_quote_truncates_and_is_encodable():
    assert quote("abc") == "'abc'"
    long = quote("x" * 500)
    assert len(long) < 80
    assert long.endswith("…'")
    lone = quote("a\ud800b")
    lone.encode("utf-8")  # a lone surrogate must not survive into an error detail
    assert "\\ud800" in lone
    assert "\\x00" in quote("a\x00b")


def test_e3_not_found_body():
    detail = "Resource 23B51B0E5D7AE9110A49411D@7cca31655d49f3640a494224 not found"
    assert NotFound(detail).to_body() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "404",
        "detail": detail,
    }


def test_e4_uniqueness_conflict_body():
    body = Uniqueness("userName 'Test_User' is already taken").to_body()
    assert body["status"] == "409" and body["scimType"] == "uniqueness" and body["detail"]
