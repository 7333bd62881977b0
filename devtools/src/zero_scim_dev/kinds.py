"""Kubernetes' own kinds that only the development tooling touches, for the core client.

:mod:`zero_scim.kube.coordinates` has the kinds that ship (the custom resources,
Namespaces, Secrets); the one-node cluster and ``zero-scim dev --pods`` also drain a
Node, delete Pods, read Services, keep a CA in a ConfigMap and grant the DNS stand-in a
ClusterRole. Each
:class:`~zero_scim.kube.coordinates.Kind` here carries its TypedDict, which names the
fields these tools read or write (the rest of an object passes through untyped), so
``kube.get(SERVICE, …)`` is a :class:`Service` exactly as ``kube.get(SECRET, …)`` is a
``Secret``.
"""

from __future__ import annotations

from typing import Required, TypedDict

from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import Kind
from zero_scim.kube.errors import AlreadyExists
from zero_scim.kube.objects import ObjectMeta, ObjectT

RBAC_GROUP = "rbac.authorization.k8s.io"

# -- core/v1 -------------------------------------------------------------------------------


class NodeSpec(TypedDict, total=False):
    unschedulable: bool


class Node(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: NodeSpec
    status: JsonObject


class PodSpec(TypedDict, total=False):
    nodeName: str
    containers: list[JsonObject]
    automountServiceAccountToken: bool


class Pod(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: PodSpec
    status: JsonObject


class ServicePort(TypedDict, total=False):
    name: str
    port: Required[int]
    protocol: str
    targetPort: int | str


class ServiceSpec(TypedDict, total=False):
    type: str
    clusterIP: str
    ports: list[ServicePort]
    selector: dict[str, str]


class Service(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    spec: ServiceSpec


class ConfigMap(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    data: dict[str, str]


NODE: Kind[Node] = Kind("Node", "nodes", namespaced=False, group="", version="v1")
POD: Kind[Pod] = Kind("Pod", "pods", namespaced=True, group="", version="v1")
SERVICE: Kind[Service] = Kind("Service", "services", namespaced=True, group="", version="v1")
CONFIG_MAP: Kind[ConfigMap] = Kind("ConfigMap", "configmaps", True, group="", version="v1")

# -- rbac.authorization.k8s.io/v1 ----------------------------------------------------------


class PolicyRule(TypedDict, total=False):
    apiGroups: list[str]
    resources: list[str]
    resourceNames: list[str]
    verbs: Required[list[str]]


class ClusterRole(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    rules: list[PolicyRule]


class RoleRef(TypedDict):
    apiGroup: str
    kind: str
    name: str


class Subject(TypedDict, total=False):
    kind: Required[str]
    name: Required[str]
    apiGroup: str
    namespace: str


class ClusterRoleBinding(TypedDict, total=False):
    apiVersion: str
    kind: str
    metadata: Required[ObjectMeta]
    roleRef: Required[RoleRef]
    subjects: list[Subject]


CLUSTER_ROLE: Kind[ClusterRole] = Kind(
    "ClusterRole", "clusterroles", namespaced=False, group=RBAC_GROUP, version="v1"
)
CLUSTER_ROLE_BINDING: Kind[ClusterRoleBinding] = Kind(
    "ClusterRoleBinding", "clusterrolebindings", namespaced=False, group=RBAC_GROUP, version="v1"
)


async def create_or_replace(kube: KubeClient, kind: Kind[ObjectT], obj: ObjectT) -> ObjectT:
    """Create ``obj``, or replace the one of its name (unconditionally: for objects these
    tools alone write, such as a Secret of their own)."""
    try:
        return await kube.create(kind, obj)
    except AlreadyExists:
        return await kube.replace(kind, obj)
