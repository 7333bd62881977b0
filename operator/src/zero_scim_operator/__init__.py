"""The Kopf operator: handlers translate watch events, services reconcile, downstream calls Zero."""
