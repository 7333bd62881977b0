"""The core Kubernetes client against the session's real API server (never a mock).

The API's storage and the operator exercise the hot calls all through their own tests;
these cover each call and its preconditions directly, the errors the API server's real
answers map to, and a rotated token file taking effect without a new client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from tests.support.kube import KubeEnv
from zero_scim.kube.client import KubeClient
from zero_scim.kube.config import load_kubeconfig
from zero_scim.kube.coordinates import (
    API_VERSION,
    GROUP_KIND,
    LABEL_SCIM_ID,
    NAMESPACE,
    SECRET,
    TENANT,
    USER,
    tenant_manifest,
)
from zero_scim.kube.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    Unauthorized,
    Unavailable,
)
from zero_scim.kube.objects import Namespace, ScimGroup, ScimUser
from zero_scim.kube.secrets import DecodedSecret, secret_object
from zero_scim_dev.kinds import POD, Pod

pytestmark = pytest.mark.cluster


@pytest.fixture
async def client(kube: KubeEnv) -> AsyncIterator[KubeClient]:
    async with await KubeClient.connect(kube.kubeconfig) as kube_client:
        yield kube_client


def user(name: str, scim_id: str | None = None) -> ScimUser:
    scim_id = scim_id or str(uuid.uuid4())
    return {
        "apiVersion": API_VERSION,
        "kind": USER.kind,
        "metadata": {"name": name, "labels": {LABEL_SCIM_ID: scim_id}},
        "spec": {"id": scim_id, "userName": f"{name}@example.com"},
    }


async def test_create_get_find_replace_and_delete(client: KubeClient, namespace: str) -> None:
    created = await client.create(USER, user("u-one"), namespace)
    assert created["metadata"]["namespace"] == namespace
    assert created["metadata"].get("uid") and created["metadata"].get("resourceVersion")
    fetched = await client.get(USER, "u-one", namespace)
    assert fetched["spec"] == created["spec"]
    assert await client.find(USER, "u-missing", namespace) is None
    with pytest.raises(NotFound) as missing:
        await client.get(USER, "u-missing", namespace)
    assert missing.value.code == 404 and missing.value.reason == "NotFound"
    assert missing.value.request is not None and missing.value.request.method == "GET"

    with pytest.raises(AlreadyExists):
        await client.create(USER, user("u-one"), namespace)

    fetched["spec"]["title"] = "Engineer"
    replaced = await client.replace(USER, fetched)
    assert replaced["spec"].get("title") == "Engineer"
    with pytest.raises(Conflict):  # the resourceVersion read before the replace is stale
        await client.replace(USER, fetched)

    with pytest.raises(Conflict):  # a uid precondition of another incarnation
        await client.delete(USER, "u-one", namespace, uid=str(uuid.uuid4()))
    uid = replaced["metadata"].get("uid")
    assert await client.delete(USER, "u-one", namespace, uid=uid) is None  # gone at once
    assert await client.find(USER, "u-one", namespace) is None


async def test_a_delete_with_finalizers_answers_the_object(
    client: KubeClient, namespace: str
) -> None:
    body = user("u-final")
    body["metadata"]["finalizers"] = ["zeroscim.io/test"]
    await client.create(USER, body, namespace)
    still_there = await client.delete(USER, "u-final", namespace)
    assert still_there is not None and still_there["metadata"].get("deletionTimestamp")
    await client.merge_patch(USER, "u-final", {"metadata": {"finalizers": None}}, namespace)
    assert await client.find(USER, "u-final", namespace) is None


async def test_a_pod_delete_takes_its_grace_period(client: KubeClient, namespace: str) -> None:
    """A Pod bound to a node is deleted gracefully: with no kubelet to confirm, it stays,
    carrying the grace period the delete asked for; 0 removes it at once."""
    pod: Pod = {
        "metadata": {"name": "p-grace"},
        "spec": {
            "nodeName": "no-such-node",
            "containers": [{"name": "c", "image": "localhost/none:1"}],
            "automountServiceAccountToken": False,
        },
    }
    for _ in range(100):  # the namespace's default ServiceAccount comes a moment after it
        try:
            await client.create(POD, pod, namespace)
            break
        except Forbidden:
            await asyncio.sleep(0.1)
    else:
        pytest.fail("the namespace's default ServiceAccount never appeared")
    pending = await client.delete(POD, "p-grace", namespace, grace_period_seconds=7)
    assert pending is not None and pending["metadata"].get("deletionTimestamp")
    assert pending["metadata"].get("deletionGracePeriodSeconds") == 7
    assert await client.find(POD, "p-grace", namespace) is not None
    await client.delete(POD, "p-grace", namespace, grace_period_seconds=0)
    assert await client.find(POD, "p-grace", namespace) is None


async def test_merge_patches_with_a_resource_version_precondition(
    client: KubeClient, namespace: str
) -> None:
    created = await client.create(USER, user("u-patch"), namespace)
    version = created["metadata"].get("resourceVersion")
    patched = await client.merge_patch(
        USER, "u-patch", {"spec": {"displayName": "Ada"}}, namespace, resource_version=version
    )
    assert patched["spec"].get("displayName") == "Ada"
    with pytest.raises(Conflict):
        await client.merge_patch(
            USER, "u-patch", {"spec": {"displayName": "Bob"}}, namespace, resource_version=version
        )
    with pytest.raises(Invalid) as invalid:  # the CRD's schema refuses it
        await client.merge_patch(USER, "u-patch", {"spec": {"active": "yes"}}, namespace)
    assert invalid.value.code == 422 and "active" in invalid.value.message


async def test_status_is_a_subresource(client: KubeClient, namespace: str) -> None:
    group: ScimGroup = {
        "apiVersion": API_VERSION,
        "kind": GROUP_KIND.kind,
        "metadata": {"name": "g-status"},
        "spec": {"id": "status", "displayName": "Status"},
    }
    created = await client.create(GROUP_KIND, group, namespace)
    version = created["metadata"].get("resourceVersion")
    patched = await client.patch_status(
        GROUP_KIND, "g-status", {"membersSyncedSeq": 3}, namespace, resource_version=version
    )
    assert patched.get("status", {}).get("membersSyncedSeq") == 3
    assert patched["spec"] == created["spec"]
    with pytest.raises(Conflict):
        await client.patch_status(
            GROUP_KIND, "g-status", {"memberCount": 1}, namespace, resource_version=version
        )
    # A status patch through the main resource is ignored by the API server.
    await client.merge_patch(GROUP_KIND, "g-status", {"status": {"memberCount": 9}}, namespace)
    assert (await client.get(GROUP_KIND, "g-status", namespace)).get("status", {}).get(
        "memberCount"
    ) is None


async def test_lists_pages_selectors_and_the_watch_cache(
    client: KubeClient, namespace: str
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(7)]
    for n, scim_id in enumerate(ids):
        await client.create(USER, user(f"u-list-{n}", scim_id), namespace)
    everything = await client.list_page(USER, namespace)
    assert len(everything["items"]) == 7
    pages = [page async for page in client.list_pages(USER, namespace, limit=3)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1]
    items, version = await client.list_all(USER, namespace, limit=2)
    assert sorted(i["spec"]["id"] for i in items) == sorted(ids) and version
    one = await client.list_page(USER, namespace, label_selector=f"{LABEL_SCIM_ID}={ids[4]}")
    assert [i["metadata"].get("name") for i in one["items"]] == ["u-list-4"]
    by_name = await client.list_page(
        USER, namespace, field_selector="metadata.name=u-list-2", resource_version="0"
    )
    assert [i["spec"]["id"] for i in by_name["items"]] == [ids[2]]


async def test_a_watch_from_a_list_sees_changes_in_order(
    client: KubeClient, namespace: str
) -> None:
    _, version = await client.list_all(USER, namespace)
    events: list[tuple[str, str]] = []

    async def watch() -> None:
        async for event in client.watch(USER, namespace, resource_version=version):
            if event["type"] != "BOOKMARK":
                events.append((event["type"], event["object"]["metadata"].get("name", "")))
            if len(events) == 3:
                return

    watching = asyncio.create_task(watch())
    await client.create(USER, user("u-watch"), namespace)
    await client.merge_patch(USER, "u-watch", {"spec": {"title": "x"}}, namespace)
    await client.delete(USER, "u-watch", namespace)
    await asyncio.wait_for(watching, 30)
    assert events == [("ADDED", "u-watch"), ("MODIFIED", "u-watch"), ("DELETED", "u-watch")]


async def test_a_watch_from_a_compacted_version_is_gone(client: KubeClient) -> None:
    with pytest.raises(Gone) as gone:
        async for _ in client.watch(TENANT, resource_version="1", timeout_seconds=5):
            pass
    assert gone.value.code == 410


async def test_namespaces_and_secrets(client: KubeClient) -> None:
    name = f"t-kube-{uuid.uuid4().hex[:8]}"
    body: Namespace = {"metadata": {"name": name}}
    created = await client.create(NAMESPACE, body)
    assert created["metadata"].get("name") == name
    labelled = await client.merge_patch(
        NAMESPACE, name, {"metadata": {"labels": {"zeroscim.io/test": "true"}}}
    )
    assert labelled["metadata"].get("labels", {}).get("zeroscim.io/test") == "true"
    try:
        new = secret_object(
            name, "s", {"token": "sécret"}, labels={"a": "b"}, annotations={"c": "d"}
        )
        secret = DecodedSecret.from_object(await client.create(SECRET, new))
        assert (secret.data, secret.labels, secret.annotations) == (
            {"token": "sécret"},
            {"a": "b"},
            {"c": "d"},
        )
        stale = secret_object(
            name, "s", {"token": "new"}, labels={}, annotations={}, resource_version="1"
        )
        with pytest.raises(Conflict):
            await client.replace(SECRET, stale)
        fresh = secret_object(
            name, "s", {"token": "new"}, labels={}, annotations={},
            resource_version=secret.resource_version,
        )  # fmt: skip
        replaced = DecodedSecret.from_object(await client.replace(SECRET, fresh))
        assert replaced.data == {"token": "new"}
        assert await client.delete(SECRET, "s", name) is None
    finally:
        terminating = await client.delete(NAMESPACE, name)
    assert terminating is not None  # namespaces finalize: the object is still there


async def test_cluster_scoped_objects_and_the_metrics_endpoint(client: KubeClient) -> None:
    name = f"kube-{uuid.uuid4().hex[:8]}"
    await client.create(TENANT, tenant_manifest(name, {"namespace": name}))
    try:
        tenant = await client.get(TENANT, name)
        assert tenant["spec"].get("namespace") == name
        assert "metadata" in tenant and "namespace" not in tenant["metadata"]
    finally:
        await client.delete(TENANT, name)
    metrics = await client.get_bytes("/metrics", accept="text/plain")
    assert b"apiserver_request_total" in metrics


async def test_a_per_call_timeout_and_an_unreachable_server(
    client: KubeClient, namespace: str
) -> None:
    with pytest.raises(Unavailable) as timed_out:  # a watch request takes its full timeout
        await client.request("GET", USER.path(namespace), params={"watch": "true"}, timeout=0.5)
    assert timed_out.value.code == 0 and isinstance(timed_out.value.__cause__, TimeoutError)
    async with KubeClient(dataclasses.replace(client.config, server="https://127.0.0.1:1")) as gone:
        with pytest.raises(Unavailable) as refused:
            await gone.get(USER, "x", namespace)
    assert refused.value.code == 0 and refused.value.__cause__ is not None


def service_account_token(kube: KubeEnv, namespace: str, name: str) -> str:
    kube.core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    request = {"spec": {"expirationSeconds": 3600}}
    token: str = kube.core.create_namespaced_service_account_token(
        name, namespace, request
    ).status.token
    return token


async def test_a_rotated_token_file_takes_effect_without_a_new_client(
    kube: KubeEnv, namespace: str, tmp_path: Path
) -> None:
    """What the kubelet does to a projected service-account token, with real tokens."""
    reader = service_account_token(kube, namespace, "reader")
    nobody = service_account_token(kube, namespace, "nobody")
    kube.rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "read-users"},
            "rules": [
                {"apiGroups": ["zeroscim.io"], "resources": ["scimusers"], "verbs": ["list"]}
            ],
        },
    )
    kube.rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "read-users"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "read-users",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}],
        },
    )
    token = tmp_path / "token"
    token.write_text(nobody)
    admin = yaml.safe_load(kube.kubeconfig.read_text())
    context = next(c for c in admin["contexts"] if c["name"] == admin["current-context"])
    cluster = next(c for c in admin["clusters"] if c["name"] == context["context"]["cluster"])
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [cluster],
                "users": [{"name": "sa", "user": {"tokenFile": "token"}}],
                "contexts": [{"name": "sa", "context": {"cluster": cluster["name"], "user": "sa"}}],
                "current-context": "sa",
            }
        )
    )
    config = await load_kubeconfig(str(path), check_interval=0.0)
    async with KubeClient(config) as client:
        with pytest.raises(Forbidden):
            await client.list_page(USER, namespace)
        replacement = tmp_path / "token.new"
        replacement.write_text(reader)
        os.replace(replacement, token)
        assert (await client.list_page(USER, namespace))["items"] == []
        token.write_text("not-a-token")
        with pytest.raises(Unauthorized):
            await client.list_page(USER, namespace)
