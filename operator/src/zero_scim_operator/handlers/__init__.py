"""Kopf handlers: thin translations between Kopf's events and the services.

Each handler parses the body into a typed value, calls one service method and turns the
result into a status patch, a Kopf retry (``TemporaryError``) or nothing. All handlers
are registered on an explicit :class:`kopf.OperatorRegistry` (nothing global), so the
operator and the tests build exactly the registry they run.
"""

from __future__ import annotations

import kopf

from zero_scim_operator.factory import Factory
from zero_scim_operator.handlers import groups, indexes, login, tenants, users
from zero_scim_operator.handlers.scope import Scope


def build_registry(factory: Factory, scope: Scope) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()
    login.register(registry, factory.kube.config)
    indexes.register(registry, factory, scope)
    tenants.register(registry, factory, scope)
    users.register(registry, factory)
    groups.register(registry, factory)
    return registry
