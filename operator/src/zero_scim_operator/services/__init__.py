"""The operator's logic, independent of Kopf: tenants, tokens, users, groups, resync.

Handlers (``zero_scim_operator.handlers``) translate Kopf events into calls of these
services and their results back into status patches and Kopf retry decisions.
"""
