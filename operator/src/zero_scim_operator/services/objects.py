"""What the user and group services share: their collaborators and how they delete."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from zero_scim.kube.client import KubeClient
from zero_scim_operator.directory import Directory
from zero_scim_operator.downstream import ZeroAccountsClient
from zero_scim_operator.mapping import InvalidObject, external_key
from zero_scim_operator.models import ScimObject
from zero_scim_operator.services.common import EventSink, ReleaseOutcome
from zero_scim_operator.services.downstream import Downstreams, delete_downstream
from zero_scim_operator.settings import OperatorConfig


class ObjectService:
    """The base of :class:`~.users.UserService` and :class:`~.groups.GroupService`."""

    #: What the object is called downstream ("account", "group").
    noun = ""

    def __init__(
        self,
        downstreams: Downstreams,
        directory: Directory,
        kube: KubeClient,
        events: EventSink,
        config: OperatorConfig,
    ) -> None:
        self._downstreams = downstreams
        self._directory = directory
        self._kube = kube
        self._events = events
        self._config = config
        self._rng = random.Random()

    async def _delete(
        self,
        obj: ScimObject,
        delete: Callable[[ZeroAccountsClient, str], Awaitable[bool]],
        invalid: str,
    ) -> ReleaseOutcome:
        """Delete the object downstream before it goes (``invalid``: the reason if it has
        no usable key)."""
        try:
            key = external_key(obj.spec)
        except InvalidObject as exc:
            return ReleaseOutcome(True, invalid, str(exc))
        return await delete_downstream(
            self._downstreams,
            obj.namespace,
            self.noun,
            key,
            delete,
            budget=self._config.retry_budget,
            retry_after=self._downstreams.classifier.backoff.delay(0, self._rng),
        )
