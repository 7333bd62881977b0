"""The one error type of image builds: a message a person can act on."""

from __future__ import annotations


class ImageError(Exception):
    """Building, inspecting or exporting an image failed."""
