"""What the API and the operator share about Kubernetes: API coordinates, labels, names."""
