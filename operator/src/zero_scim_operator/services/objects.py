"""What the user and group services share: their collaborators and how they delete."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import ClassVar

from zero_scim.kube.client import KubeClient
from zero_scim_operator.directory import Directory
from zero_scim_operator.downstream import ZeroAccountsClient
from zero_scim_operator.mapping import InvalidObject, external_key
from zero_scim_operator.models import ScimObject
from zero_scim_operator.services.common import EventSink, ReleaseOutcome
from zero_scim_operator.services.downstream import Downstreams, delete_downstream
from zero_scim_operator.settings import OperatorConfig


@dataclass(eq=False, repr=False)
class ObjectService:
    """The base of :class:`~.users.UserService` and :class:`~.groups.GroupService`: the
    collaborators, given in this order (a subclass adds only its own state, as fields
    with ``init=False``)."""

    #: What the object is called downstream ("account", "group").
    noun: ClassVar[str] = ""

    _downstreams: Downstreams
    _directory: Directory
    _kube: KubeClient
    _events: EventSink
    _config: OperatorConfig
    _rng: random.Random = field(default_factory=random.Random, init=False)

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
