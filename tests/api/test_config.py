"""Settings: defaults, environment, overrides, validation."""

from __future__ import annotations

import pytest

from zero_scim_api.config import Settings, SettingsError


def test_defaults() -> None:
    settings = Settings.load(environ={})
    assert settings.base_path == "/scim/v2"
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.max_results == 1000
    assert settings.public_url == ""
    assert settings.log_level == "INFO"


def test_environment_then_overrides() -> None:
    environ = {
        "ZERO_SCIM_API_MAX_RESULTS": "50",
        "ZERO_SCIM_API_BASE_PATH": "scim/v2/",
        "ZERO_SCIM_API_LOG_LEVEL": "debug",
        "ZERO_SCIM_API_PUBLIC_URL": "https://scim.example.com/scim/v2/",
        "UNRELATED": "x",
    }
    settings = Settings.load({"max_results": 20, "log_level": None}, environ=environ)
    assert settings.max_results == 20
    assert settings.base_path == "/scim/v2"
    assert settings.log_level == "DEBUG"
    assert settings.public_url == "https://scim.example.com/scim/v2"


@pytest.mark.parametrize(
    "environ",
    [
        {"ZERO_SCIM_API_MAX_RESULTS": "many"},
        {"ZERO_SCIM_API_MAX_BODY_BYTES": "10"},
        {"ZERO_SCIM_API_BASE_PATH": "/a//b"},
        {"ZERO_SCIM_API_PUBLIC_URL": "ftp://x"},
        {"ZERO_SCIM_API_LOG_LEVEL": "LOUD"},
    ],
)
def test_invalid_settings(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        Settings.load(environ=environ)


def test_immutable() -> None:
    with pytest.raises(ValueError):
        Settings().max_results = 5  # type: ignore[misc]
