"""zero-scim: SCIM 2.0 provisioning for Zero, built the Kubernetes way."""

from pathlib import Path as _Path

__version__ = "0.1.0"

# Imported from a source checkout (the repository root on sys.path, e.g. `python -m
# pytest` run there), this folder shadows the installed link tree: let the mapped
# top-level folders (api/, operator/, accounts/) be found as zero_scim.<folder> too.
_checkout = _Path(__file__).parent.parent  # not resolved: the link tree is no checkout
if (_checkout / "setup.py").is_file() and str(_checkout) not in __path__:
    __path__.append(str(_checkout))
