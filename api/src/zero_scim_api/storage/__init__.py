"""Storage: custom resources, watches and the in-memory index.

The only part of the API that knows Kubernetes.
"""
