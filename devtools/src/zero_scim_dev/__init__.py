"""Development tooling: the local Kubernetes cluster, the whole local stack, the CRDs."""
