"""The chart as real Pods: one release through its life, in order.

install → every Pod Ready, ``helm test``; the security context and RBAC inside the
running containers; a SCIM user through the API Service reaching Zero through the
operator Pod; a token rotation; the PDB; ``helm upgrade`` under 8 provisioning clients
(no failed request, no lost write); ``helm rollback``; an API container killed under load;
the operator Pod killed (no duplicate downstream calls); ``helm uninstall`` keeping the
CRDs and the tenant's data.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import httpx
import pytest
from kubernetes import client

from tests.pods.support import (
    Load,
    PodCluster,
    eventually,
    inspect_script,
    lost_writes,
    pods,
    rbac_script,
    ready,
    secret_value,
    user_body,
    wait_in_zero,
)
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import ANNOTATION_ROTATE, GROUP, TENANT, VERSION
from zero_scim.kube.tokens import KEY_TOKEN, SECRET_NAME
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.cluster.node import NodeCluster
from zero_scim_dev.demo import Endpoints, ensure_demo_tenant, wait_accepted, wait_token
from zero_scim_dev.pods import (
    accounts_in_cluster,
    chart_dir,
    release_endpoints,
    release_values,
)

#: Generous: on 2 shared cores one step (an install, an upgrade under load) takes minutes.
pytestmark = pytest.mark.timeout(900)

NAME = "zs"
FULLNAME = "zs-zero-scim"
ORG = "demo-org"
INSTALL_TIMEOUT = 300


@dataclass
class Release:
    cluster: PodCluster
    namespace: str
    tenant: str
    values: dict[str, Any]
    base_url: str
    accounts_url: str
    api_key: str
    admin_token: str

    @property
    def core(self) -> client.CoreV1Api:
        return self.cluster.core

    def helm(self) -> helm_python.Config:
        return helm_python.Config(
            kubeconfig_path=self.cluster.kube.kubeconfig, namespace=self.namespace
        )

    def token(self) -> str:
        return secret_value(self.core, self.tenant, SECRET_NAME, KEY_TOKEN)

    def scim(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token or self.token()}"},
            timeout=30,
        )

    def zero(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.accounts_url}/v1/orgs/{ORG}",
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=30,
        )

    def stats(self) -> dict[str, Any]:
        response = httpx.get(
            f"{self.accounts_url}/admin/stats",
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def all_ready(self) -> bool:
        found = self.core.list_namespaced_pod(self.namespace).items
        live = [p for p in found if p.metadata.deletion_timestamp is None]
        return len(live) == 4 and all(ready(p) for p in live)


@pytest.fixture(scope="module")
def release(pods: PodCluster) -> Iterator[Release]:
    namespace = f"zs-pods-{uuid.uuid4().hex[:6]}"
    tenant = f"zt-pods-{uuid.uuid4().hex[:6]}"
    values = release_values(
        {"runtime": pods.image, "demo": pods.demo_image}, pull_policy=pods.pull_policy
    )
    started = time.monotonic()
    with helm_python.Config(kubeconfig_path=pods.kube.kubeconfig, namespace=namespace) as helm:
        helm.install(
            chart_dir(), NAME, values, namespace=namespace, create_namespace=True,
            wait="watcher", timeout=INSTALL_TIMEOUT,
        )  # fmt: skip
    print(f"\nhelm install --wait: all Pods Ready after {time.monotonic() - started:.1f}s")
    endpoints, token = asyncio.run(_declare_tenant(pods.kube.kubeconfig, namespace, tenant))
    result = Release(
        pods, namespace, tenant, values, endpoints.scim_base_url, endpoints.accounts_url,
        endpoints.accounts_api_key, endpoints.accounts_admin_token,
    )  # fmt: skip
    wait_accepted(result.base_url, token, time.monotonic() + 120)
    try:
        yield result
    finally:
        if pods.node is None:  # a given cluster: clean up (the local one is thrown away)
            _clean_up(pods, result)


async def _declare_tenant(kubeconfig: Path, namespace: str, tenant: str) -> tuple[Endpoints, str]:
    """The release's endpoints, and a demo tenant on its accounts Service with the token
    the operator Pod issued for it (as ``zero-scim dev --pods`` declares its own)."""
    async with await KubeClient.connect(kubeconfig) as kube:
        endpoints = await release_endpoints(kube, namespace, FULLNAME)
        accounts = accounts_in_cluster(FULLNAME, namespace)
        await ensure_demo_tenant(kube, accounts, endpoints.accounts_api_key, tenant=tenant)
        token = await wait_token(kube, time.monotonic() + 120, tenant=tenant)
    return endpoints, token


def _clean_up(pods: PodCluster, result: Release) -> None:
    """Uninstall, let the tenant's objects go (no operator left), delete the namespaces."""
    namespace, tenant = result.namespace, result.tenant
    custom = client.CustomObjectsApi(pods.kube.api)
    with result.helm() as helm:
        helm.uninstall(NAME, ignore_not_found=True, wait="watcher", timeout=120)
    for plural in ("scimusers", "scimgroups"):
        items = custom.list_namespaced_custom_object(GROUP, VERSION, tenant, plural)["items"]
        for item in items:
            custom.patch_namespaced_custom_object(
                GROUP, VERSION, tenant, plural, item["metadata"]["name"],
                {"metadata": {"finalizers": None}},
            )  # fmt: skip
    patch = {"metadata": {"finalizers": None}}
    for call in (
        lambda: custom.patch_cluster_custom_object(GROUP, VERSION, TENANT.plural, tenant, patch),
        lambda: custom.delete_cluster_custom_object(GROUP, VERSION, TENANT.plural, tenant),
        lambda: pods.core.delete_namespace(tenant),
        lambda: pods.core.delete_namespace(namespace),
    ):
        try:
            call()
        except client.ApiException as exc:
            if exc.status != 404:
                raise


# -- install -------------------------------------------------------------------------------


def test_install_every_pod_ready_and_helm_test_passes(release: Release) -> None:
    assert release.all_ready()
    counts = {
        c: len(pods(release.core, release.namespace, c)) for c in ("api", "operator", "accounts")
    }
    assert counts == {"api": 2, "operator": 1, "accounts": 1}
    with release.helm() as helm:
        helm.test(NAME, timeout=180)  # raises HelmReleaseError if the test Pod fails
        stored = helm.get_all(NAME)
    (hook,) = [h for h in stored["hooks"] if h.get("name") == f"{FULLNAME}-test"]
    assert '"Succeeded"' in json.dumps(hook), hook


def test_the_pods_run_with_the_charts_security_context(release: Release) -> None:
    for component in ("api", "operator", "accounts"):
        (pod,) = pods(release.core, release.namespace, component)[:1]
        raw = release.cluster.exec(
            release.namespace, pod.metadata.name, ["python", "-c", inspect_script()]
        )
        seen = json.loads(raw.strip().splitlines()[-1])
        assert seen["uid"] == 10001 and seen["gid"] == 10001, (component, seen)
        assert seen["no_new_privs"] == "1", (component, seen)  # allowPrivilegeEscalation: false
        assert int(seen["cap_eff"], 16) == 0 and int(seen["cap_prm"], 16) == 0, (component, seen)
        assert seen["seccomp"] == "2", (component, seen)  # RuntimeDefault: a filter
        assert seen["root_write"] == 30, (component, seen)  # EROFS: read-only root filesystem
        assert seen["tmp_write"] == "ok", (component, seen)  # the emptyDir on /tmp
        # Only the API and the operator get a ServiceAccount token.
        assert seen["sa_token"] == (component != "accounts"), (component, seen)


def test_the_pods_have_least_privilege_for_real(release: Release) -> None:
    """Each Pod's own mounted token, from inside the Pod, through the `kubernetes` Service."""
    tenant, ns = release.tenant, release.namespace
    zs = "/apis/zeroscim.io/v1alpha1"
    api_checks: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("GET", f"{zs}/zerotenants", None, 200),
        ("GET", f"{zs}/namespaces/{tenant}/scimusers", None, 200),
        ("GET", f"/api/v1/namespaces/{tenant}/secrets/zero-scim-token", None, 200),
        ("GET", f"/api/v1/namespaces/{tenant}/secrets/zero-api-key", None, 403),
        ("GET", "/api/v1/secrets", None, 403),
        ("GET", f"/api/v1/namespaces/{ns}/pods", None, 403),
        ("POST", "/api/v1/namespaces", {"metadata": {"name": "not-allowed"}}, 403),
        ("DELETE", f"{zs}/zerotenants/{tenant}", None, 403),
    ]
    operator_checks: list[tuple[str, str, dict[str, Any] | None, int]] = [
        ("GET", f"{zs}/namespaces/{tenant}/scimusers", None, 200),
        ("GET", f"/api/v1/namespaces/{tenant}/secrets/zero-api-key", None, 200),
        ("GET", f"/api/v1/namespaces/{tenant}/secrets/zero-scim-token", None, 200),
        ("GET", "/api/v1/secrets", None, 403),
        ("GET", f"/api/v1/namespaces/{ns}/secrets/{FULLNAME}-accounts", None, 403),
        ("GET", "/api/v1/pods", None, 403),
        ("GET", "/apis/apps/v1/deployments", None, 403),
        ("DELETE", f"{zs}/namespaces/{tenant}/scimusers/u-none", None, 403),
        ("POST", f"{zs}/namespaces/{tenant}/scimmemberbatches", {"metadata": {"name": "x"}}, 403),
    ]
    for component, checks in (("api", api_checks), ("operator", operator_checks)):
        (pod,) = pods(release.core, ns, component)[:1]
        script = rbac_script([(m, p, b) for m, p, b, _ in checks])
        raw = release.cluster.exec(ns, pod.metadata.name, ["python", "-c", script])
        answers = json.loads(raw.strip().splitlines()[-1])
        expected = [status for *_, status in checks]
        assert answers == expected, (
            component,
            list(zip([c[1] for c in checks], answers, strict=True)),
        )


# -- the main job --------------------------------------------------------------------------


def test_a_scim_user_through_the_service_reaches_zero_through_the_operator_pod(
    release: Release,
) -> None:
    with release.scim() as scim:
        created = scim.post("/Users", json=user_body(f"ada-{uuid.uuid4().hex[:6]}@example.com"))
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
    with release.zero() as zero:
        account = eventually(
            lambda: (
                zero.get(f"/accounts/{user_id}").status_code == 200
                and zero.get(f"/accounts/{user_id}").json()
            ),
            "the account in Zero",
        )
    assert account["userName"] == created.json()["userName"]
    (operator,) = pods(release.core, release.namespace, "operator")
    logs = release.core.read_namespaced_pod_log(operator.metadata.name, release.namespace)
    assert logs  # the operator Pod did the work: it is the only operator there is


def test_a_tenant_token_rotates(release: Release) -> None:
    old = release.token()
    custom = client.CustomObjectsApi(release.cluster.kube.api)
    custom.patch_cluster_custom_object(
        GROUP, VERSION, TENANT.plural, release.tenant,
        {"metadata": {"annotations": {ANNOTATION_ROTATE: str(time.time())}}},
    )  # fmt: skip
    new = eventually(lambda: (t := release.token()) != old and t, "a rotated token", 120)
    with release.scim(new) as scim:
        config = eventually(
            lambda: (r := scim.get("/ServiceProviderConfig")).status_code == 200 and r.json(),
            "the API Pods accepting the new token",
        )
    assert config["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]


# -- disruptions ---------------------------------------------------------------------------


def test_the_pdb_refuses_a_second_eviction(release: Release) -> None:
    api_pods = pods(release.core, release.namespace, "api")
    assert len(api_pods) == 2 and all(ready(p) for p in api_pods)
    # policy/v1beta1 on 1.20, policy/v1 from 1.21 (as the chart renders it).
    custom = client.CustomObjectsApi(release.cluster.kube.api)
    version = "v1" if _served(release, "policy/v1") else "v1beta1"

    def pdb() -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            "policy", version, release.namespace, "poddisruptionbudgets", f"{FULLNAME}-api"
        )
        return found

    assert pdb()["spec"]["maxUnavailable"] == 1
    eventually(lambda: pdb()["status"].get("disruptionsAllowed") == 1, "one disruption allowed")

    def evict(pod: Any) -> int:
        body = {
            "apiVersion": f"policy/{version}",
            "kind": "Eviction",
            "metadata": {"name": pod.metadata.name, "namespace": release.namespace},
        }
        try:
            release.core.create_namespaced_pod_eviction(pod.metadata.name, release.namespace, body)
        except client.ApiException as exc:
            return int(exc.status)
        return 201

    assert evict(api_pods[0]) == 201
    assert evict(api_pods[1]) == 429  # would leave no API replica: refused by the PDB
    eventually(release.all_ready, "the replacement API Pod Ready", 180)


def _served(release: Release, group_version: str) -> bool:
    group, version = group_version.split("/")
    groups = client.ApisApi(release.cluster.kube.api).get_api_versions().groups
    return any(g.name == group and version in {v.version for v in g.versions} for g in groups)


def test_helm_upgrade_under_load_fails_no_request_and_loses_no_write(release: Release) -> None:
    token = release.token()
    old_pods = {p.metadata.name for p in release.core.list_namespaced_pod(release.namespace).items}
    image = release.cluster.retag(release.cluster.image, "upgrade")
    values = json.loads(json.dumps(release.values))
    values["image"]["tag"] = image.rsplit(":", 1)[1]
    values["api"] = {"podAnnotations": {"zero-scim.test/upgrade": "1"}, "logLevel": "DEBUG"}
    load = Load(release.base_url, token, clients=8).start()
    time.sleep(5)  # load before the upgrade starts
    started = time.monotonic()
    with release.helm() as helm:
        helm.upgrade(chart_dir(), NAME, values, namespace=release.namespace, wait="watcher",
                     timeout=INSTALL_TIMEOUT)  # fmt: skip
    upgrade_seconds = time.monotonic() - started
    time.sleep(5)  # and after it
    load.stop()
    summary = {**load.summary(), "upgrade_seconds": round(upgrade_seconds, 1)}
    lost = lost_writes(release.base_url, token, load.acknowledged)
    summary["lost"] = len(lost)
    print(f"\nhelm upgrade under load: {json.dumps(summary)}")
    assert load.failures == [], (summary, load.failures[:10])
    assert lost == [], lost[:10]
    assert summary["acknowledged"] > 50, summary
    replaced = pods(release.core, release.namespace, "api") + pods(
        release.core, release.namespace, "operator"
    )
    assert not {p.metadata.name for p in replaced} & old_pods  # all rolled
    api_images = {p.spec.containers[0].image for p in pods(release.core, release.namespace, "api")}
    assert api_images == {image}
    # Every acknowledged user reaches Zero (the operator was replaced meanwhile: Recreate).
    with release.zero() as zero:
        wait_in_zero(zero, load.acknowledged.values(), 180)
    release.values = values


def test_helm_rollback_returns_to_the_first_revision(release: Release) -> None:
    with release.helm() as helm:
        history = helm.history(NAME)
        assert len(history) >= 2
        helm.rollback(NAME, version=1, wait="watcher", timeout=INSTALL_TIMEOUT)
        status = helm.status(NAME)
    assert status["revision"] == len(history) + 1, status
    eventually(release.all_ready, "every Pod Ready after the rollback", 180)
    api_images = {p.spec.containers[0].image for p in pods(release.core, release.namespace, "api")}
    assert api_images == {release.cluster.image}
    with release.scim() as scim:
        listed = eventually(
            lambda: (r := scim.get("/Users?count=1")).status_code == 200 and r.json(),
            "the API after the rollback",
        )
    assert listed["totalResults"] > 0


def test_a_killed_api_container_the_other_replica_serves(release: Release) -> None:
    token = release.token()
    victim, survivor = pods(release.core, release.namespace, "api")[:2]
    load = Load(release.base_url, token, clients=8, retry_connect=True).start()
    time.sleep(3)
    killed_at = time.monotonic()
    kill_container(release, victim)
    time.sleep(10)
    load.stop()
    summary = load.summary()
    lost = lost_writes(release.base_url, token, load.acknowledged)
    print(f"\nAPI container killed under load: {json.dumps({**summary, 'lost': len(lost)})}")
    # Requests in flight on the killed container may fail (at most one per client);
    # everything after that is served by the other replica.
    assert len(load.failures) <= load.clients, load.failures
    late = [f for f in load.failures if f[0] > killed_at + 2]
    assert late == [], late
    assert lost == [], lost[:10]
    after_kill = len(load.acknowledged)
    assert after_kill > 50, summary
    survivor_now = release.core.read_namespaced_pod(survivor.metadata.name, release.namespace)
    assert survivor_now.status.container_statuses[0].restart_count == 0
    eventually(release.all_ready, "the killed API container back and Ready", 120)


def kill_container(release: Release, pod: Any) -> None:
    """SIGKILL the Pod's container (the local node's containerd); on another cluster,
    delete the Pod without grace (the closest the API offers)."""
    node = release.cluster.node
    if node is None:
        release.core.delete_namespaced_pod(
            pod.metadata.name, release.namespace, grace_period_seconds=0
        )
        return
    container_id = pod.status.container_statuses[0].container_id.split("://", 1)[1]
    node.ctr("tasks", "kill", "--signal", "SIGKILL", container_id)


def _downstream_writes(stats: dict[str, Any], user_ids: set[str]) -> dict[str, int]:
    """Per SCIM id: the account write requests (PUT/POST/PATCH) Zero served."""
    writes = dict.fromkeys(user_ids, 0)
    for key, by_status in stats["requests"].items():
        method, _, path = key.partition(" ")
        if method in ("PUT", "POST", "PATCH") and "/accounts/" in path:
            user = path.rsplit("/", 1)[1]
            if user in writes:
                writes[user] += sum(by_status.values())
    return writes


def test_a_killed_operator_pod_is_replaced_without_duplicate_downstream_calls(
    release: Release,
) -> None:
    with release.scim() as scim:
        before = {
            scim.post(
                "/Users", json=user_body(f"op-a-{i}-{uuid.uuid4().hex[:4]}@example.com")
            ).json()["id"]
            for i in range(20)
        }
    with release.zero() as zero:
        wait_in_zero(zero, before)
    writes_before = _downstream_writes(release.stats(), before)
    assert set(writes_before.values()) == {1}, writes_before

    (operator,) = pods(release.core, release.namespace, "operator")
    release.core.delete_namespaced_pod(
        operator.metadata.name, release.namespace, grace_period_seconds=0
    )
    replacement = eventually(
        lambda: [
            p for p in pods(release.core, release.namespace, "operator")
            if p.metadata.name != operator.metadata.name and ready(p)
        ],
        "the replacement operator Pod",
        180,
    )[0]  # fmt: skip
    with release.scim() as scim:
        after = {
            scim.post(
                "/Users", json=user_body(f"op-b-{i}-{uuid.uuid4().hex[:4]}@example.com")
            ).json()["id"]
            for i in range(20)
        }
    with release.zero() as zero:
        wait_in_zero(zero, after)
    time.sleep(5)  # time for any duplicate to show
    writes = _downstream_writes(release.stats(), before | after)
    assert set(writes.values()) == {1}, {k: v for k, v in writes.items() if v != 1}
    assert replacement.status.container_statuses[0].ready


# -- uninstall -----------------------------------------------------------------------------


def test_helm_uninstall_keeps_the_crds_and_the_tenants_data(release: Release) -> None:
    custom = client.CustomObjectsApi(release.cluster.kube.api)
    users_before = custom.list_namespaced_custom_object(GROUP, VERSION, release.tenant, "scimusers")
    token_before = release.token()
    with release.helm() as helm:
        helm.uninstall(NAME, wait="watcher", timeout=120)
    eventually(lambda: not release.core.list_namespaced_pod(release.namespace).items,
               "the release's Pods gone", 120)  # fmt: skip
    ext = client.ApiextensionsV1Api(release.cluster.kube.api)
    names = {c.metadata.name for c in ext.list_custom_resource_definition().items}
    assert {
        f"{p}.zeroscim.io" for p in ("zerotenants", "scimusers", "scimgroups", "scimmemberbatches")
    } <= names
    users_after = custom.list_namespaced_custom_object(GROUP, VERSION, release.tenant, "scimusers")
    assert {u["metadata"]["uid"] for u in users_after["items"]} == {
        u["metadata"]["uid"] for u in users_before["items"]
    }
    assert len(users_after["items"]) > 50
    custom.get_cluster_custom_object(GROUP, VERSION, TENANT.plural, release.tenant)
    assert release.token() == token_before


def test_a_second_node_on_this_machine_is_refused(pods: PodCluster, tmp_path: Path) -> None:
    if pods.node is None:
        pytest.skip("the session uses a cluster given by $KUBECONFIG")
    from zero_scim_dev.cluster.build import ensure_binaries

    second = NodeCluster(tmp_path / "second", progress=lambda _: None)
    with pytest.raises(ClusterError, match="already runs on this machine") as refused:
        second.up(ensure_binaries())
    assert str(pods.node.data_dir) in str(refused.value)  # it names the running one
    assert not second.state_path.exists() or not second.status()["processes"]
    assert pods.node.status()["ready"]  # and the running one is untouched
