"""The supervisor's pure parts: a restarted server keeps the port it had."""

from __future__ import annotations

from zero_scim_dev.supervisor import _same_port


def test_a_restart_keeps_the_port_the_child_had() -> None:
    args = ["api", "--host", "127.0.0.1", "--port", "0", "--operator-finalizer"]
    assert _same_port(args, "http://127.0.0.1:41234") == [
        "api", "--host", "127.0.0.1", "--port", "41234", "--operator-finalizer",
    ]  # fmt: skip
    assert _same_port(["accounts", "--port=0"], "http://127.0.0.1:8090") == [
        "accounts",
        "--port=8090",
    ]
    assert _same_port(["operator", "--liveness", "x"], "") == ["operator", "--liveness", "x"]
