"""The one error type of the local control plane: a message a person can act on."""

from __future__ import annotations

from pathlib import Path


class ClusterError(Exception):
    """Starting, stopping or building the local control plane failed.

    ``log_path`` names the log to read, when there is one; ``str()`` includes it.
    """

    def __init__(self, message: str, *, log_path: Path | None = None) -> None:
        self.message = message
        self.log_path = log_path
        super().__init__(message if log_path is None else f"{message} (log: {log_path})")
