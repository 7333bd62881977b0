"""Wires the operator: one Kubernetes client, the directory, the services."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import cast

import kopf

from zero_scim.kube.client import KubeClient
from zero_scim.kube.objects import ObjectReference
from zero_scim_operator.directory import Directory, TenantIndex
from zero_scim_operator.services.common import EventSink, EventType
from zero_scim_operator.services.downstream import ClientFactory, Downstreams, _default_client
from zero_scim_operator.services.groups import GroupService
from zero_scim_operator.services.namespaces import Namespaces
from zero_scim_operator.services.resync import ResyncService
from zero_scim_operator.services.sso import SsoService
from zero_scim_operator.services.tenants import TenantService
from zero_scim_operator.services.tokens import TokenService
from zero_scim_operator.services.users import UserService
from zero_scim_operator.settings import OperatorConfig

logger = logging.getLogger(__name__)

#: The id of the Kopf index of tenants; handlers receive it as a keyword argument.
TENANT_INDEX = "tenant_index"


class KopfEvents:
    """Kubernetes Events through Kopf's background poster (never blocks a handler)."""

    def post(self, reference: ObjectReference, type_: EventType, reason: str, message: str) -> None:
        body = {
            "apiVersion": reference.get("apiVersion"),
            "kind": reference.get("kind"),
            "metadata": {
                "name": reference.get("name"),
                "uid": reference.get("uid"),
                "namespace": reference.get("namespace"),
            },
        }
        try:
            kopf.event(
                kopf.Body(cast(kopf.RawBody, body)),
                type=type_,
                reason=reason,
                message=message[:1024],
            )
        except LookupError:  # outside Kopf's context (unit tests): log only
            logger.info("event %s %s on %s: %s", type_, reason, reference.get("name"), message)


class Factory:
    def __init__(
        self,
        config: OperatorConfig,
        kube: KubeClient,
        *,
        events: EventSink | None = None,
        client_factory: ClientFactory = _default_client,
    ) -> None:
        self.config = config
        self.kube = kube
        self.events = events or KopfEvents()
        self.directory = Directory(time.monotonic())
        self.namespaces = Namespaces(kube)
        self.downstreams = Downstreams(
            kube,
            config,
            self.directory,
            self.namespaces,
            client_factory=client_factory,
            on_reachability=self._reachability_changed,
        )
        self.users = UserService(self.downstreams, self.directory, kube, self.events, config)
        self.groups = GroupService(self.downstreams, self.directory, kube, self.events, config)
        self.tokens = TokenService(kube, self.events)
        self.resync = ResyncService(self.directory, self.users, self.groups, kube, config)
        self.tenants = TenantService(
            kube,
            self.directory,
            self.namespaces,
            self.downstreams,
            self.tokens,
            self.resync,
            self.groups,
            self.events,
            config,
            sso=SsoService(),
        )
        self._bound = False

    def bind(self, kwargs: Mapping[str, object]) -> None:
        """Hand Kopf's tenant index (from any handler's kwargs) to the directory, once."""
        if not self._bound:
            self.directory.bind(tenants=cast(TenantIndex, kwargs[TENANT_INDEX]))
            self._bound = True

    def _reachability_changed(self, namespace: str, reachable: bool) -> None:
        logger.info("downstream of %s is %s", namespace, "back" if reachable else "unreachable")
        self.tenants.reachability_changed(namespace, reachable)

    async def close(self) -> None:
        await self.users.close()
        await self.downstreams.close()
