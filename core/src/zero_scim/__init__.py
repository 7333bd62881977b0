"""zero-scim: SCIM 2.0 provisioning for Zero, built the Kubernetes way.

This package is the core every component shares: the pure SCIM protocol
(:mod:`zero_scim.scim`), the Kubernetes layer (:mod:`zero_scim.kube`) and the
``zero-scim`` command line (:mod:`zero_scim.cli`).
"""

__version__ = "0.1.0"
