"""zero-scim: SCIM 2.0 provisioning for Zero, built the Kubernetes way."""

__version__ = "0.1.0"
