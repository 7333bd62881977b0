"""The chart on a real API server: dry runs, a real install, CRD upgrades, and the API
and the operator working (and refused) as the chart's own ServiceAccounts.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import httpx
import pytest
from kubernetes import client

from tests.charts.cluster import (
    api_client,
    container_args,
    dry_run_apply,
    eventually,
    forbidden,
    free_port,
    release_finalizers,
    replace_arg,
    running,
    service_account_kubeconfig,
)
from tests.charts.helm import (
    CHART,
    CI_VALUES,
    Manifest,
    ci_values,
    find,
    helm_config,
    one,
    parse,
    render,
)
from tests.support.accounts import AccountsService, running_accounts_service
from tests.support.kube import KubeEnv, create_namespace, delete_namespace
from zero_scim.kube.coordinates import GROUP, VERSION
from zero_scim_dev.crds import load_crds

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

CI_IDS = [p.name.removesuffix("-values.yaml") for p in CI_VALUES]
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def server_version(kube: KubeEnv) -> str:
    info = client.VersionApi(kube.api).get_code()
    return str(info.git_version).split("+")[0]


def server_has(kube: KubeEnv, group_version: str) -> bool:
    group, version = group_version.split("/")
    groups = client.ApisApi(kube.api).get_api_versions().groups
    return any(g.name == group and version in {v.version for v in g.versions} for g in groups)


# -- dry runs of every permutation ---------------------------------------------------------


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_every_permutation_passes_a_server_side_dry_run(
    kube: KubeEnv, namespace: str, values_file: Path
) -> None:
    values = ci_values(values_file)
    values.setdefault("crds", {})["install"] = False  # the session owns the CRDs
    monitoring = server_has(kube, "monitoring.coreos.com/v1")
    if values.get("serviceMonitor", {}).get("force") and not monitoring:
        values["serviceMonitor"]["force"] = False  # then the capability decides
    with helm_config(kube.kubeconfig, namespace) as helm:
        release = helm.install(CHART, "dry", values, namespace=namespace, dry_run="server")
    # Rendered with the cluster's own capabilities (Helm's discovery):
    objects = parse(release["manifest"])
    pdbs = find(objects, "PodDisruptionBudget")
    if pdbs:
        expected = "policy/v1" if server_has(kube, "policy/v1") else "policy/v1beta1"
        assert {p["apiVersion"] for p in pdbs} == {expected}
    if values.get("serviceMonitor", {}).get("enabled"):
        assert bool(find(objects, "ServiceMonitor")) == monitoring
    # ... plus what install leaves out: the CRDs and the `helm test` hook.
    extra = render(
        {**values, "crds": {"install": True}},
        name="dry",
        namespace=namespace,
        kube_version=server_version(kube),
    )
    objects += find(extra, "CustomResourceDefinition") + find(extra, "Pod")
    assert len(objects) >= 12
    for obj in objects:
        dry_run_apply(kube, obj)


def test_the_dry_run_is_a_real_check(kube: KubeEnv, namespace: str) -> None:
    """The API server, not the client, judges: a broken object is refused."""
    (deployment,) = find(render(namespace=namespace), "Deployment", "-api")
    deployment["spec"]["template"]["metadata"]["labels"] = {"other": "labels"}  # != selector
    with pytest.raises(AssertionError, match="422"):
        dry_run_apply(kube, deployment)


# -- a real install ------------------------------------------------------------------------


@dataclass
class Release:
    name: str
    namespace: str
    tenant_namespace: str
    objects: list[Manifest]

    def deployment(self, component: str) -> Manifest:
        return one(self.objects, "Deployment", f"-{component}")

    @property
    def api_account(self) -> str:
        return f"{self.name}-zero-scim-api"

    @property
    def operator_account(self) -> str:
        return f"{self.name}-zero-scim-operator"


@pytest.fixture(scope="module")
def release(kube: KubeEnv) -> Iterator[Release]:
    """The chart installed for real by Helm (CRDs left to the session)."""
    namespace = create_namespace(kube, "chart")
    name = f"zs{uuid.uuid4().hex[:6]}"
    tenant_namespace = f"zt-{uuid.uuid4().hex[:10]}"
    values = {
        "crds": {"install": False},
        # Served namespaces: the release's own and the test's tenant's, so that other
        # tests' tenants stay untouched. (Kopf watches cluster-scoped ZeroTenants only
        # while a served namespace exists: the tenant's does not exist yet.)
        "operator": {"namespaces": [namespace, tenant_namespace]},
    }
    with helm_config(kube.kubeconfig, namespace) as helm:
        installed = helm.install(CHART, name, values, namespace=namespace)
        try:
            yield Release(name, namespace, tenant_namespace, parse(installed["manifest"]))
        finally:
            helm.uninstall(name, ignore_not_found=True)
            release_finalizers(kube, tenant_namespace, tenant=tenant_namespace)
            delete_namespace(kube, namespace)
            delete_namespace(kube, tenant_namespace)


def test_the_release_exists_on_the_api_server(kube: KubeEnv, release: Release) -> None:
    apps = client.AppsV1Api(kube.api)
    rbac = kube.rbac
    prefix = f"{release.name}-zero-scim"
    api = apps.read_namespaced_deployment(f"{prefix}-api", release.namespace)
    operator = apps.read_namespaced_deployment(f"{prefix}-operator", release.namespace)
    assert (api.spec.replicas, operator.spec.replicas) == (2, 1)
    assert operator.spec.strategy.type == "Recreate"
    assert api.status.ready_replicas is None  # no kubelet here: objects, never Pods
    kube.core.read_namespaced_service(f"{prefix}-api", release.namespace)
    for account in (release.api_account, release.operator_account):
        kube.core.read_namespaced_service_account(account, release.namespace)
    for role in (f"{prefix}-api", f"{prefix}-operator"):
        rbac.read_cluster_role(role)
        rbac.read_cluster_role_binding(role)
    policies = client.NetworkingV1Api(kube.api).list_namespaced_network_policy(release.namespace)
    assert {p.metadata.name for p in policies.items} == {f"{prefix}-api", f"{prefix}-operator"}
    pdb_group = "policy/v1" if server_has(kube, "policy/v1") else "policy/v1beta1"
    assert one(release.objects, "PodDisruptionBudget")["apiVersion"] == pdb_group


def _crd_metadata(kube: KubeEnv) -> dict[str, Any]:
    ext = client.ApiextensionsV1Api(kube.api)
    return {
        crd["metadata"]["name"]: ext.read_custom_resource_definition(crd["metadata"]["name"])
        for crd in load_crds()
    }


def test_crds_through_helm_upgrade_updates_them_uninstall_keeps_them(kube: KubeEnv) -> None:
    """The CRDs are templates: installed, *upgraded* and kept by Helm (not Helm's crds/)."""
    namespace = create_namespace(kube, "crds")
    name = f"crd{uuid.uuid4().hex[:6]}"
    ext = client.ApiextensionsV1Api(kube.api)
    names = list(_crd_metadata(kube))
    owner_metadata = {
        "labels": {"app.kubernetes.io/managed-by": "Helm"},
        "annotations": {
            "meta.helm.sh/release-name": name,
            "meta.helm.sh/release-namespace": namespace,
        },
    }
    # The session created the CRDs; let this release adopt them, as `helm install` would
    # on a fresh cluster.
    for crd in names:
        ext.patch_custom_resource_definition(crd, {"metadata": owner_metadata})

    def label(version: str) -> dict[str, Any]:
        return {"commonLabels": {"zeroscim.io/chart-test": version}}

    try:
        with helm_config(kube.kubeconfig, namespace) as helm:
            helm.install(CHART, name, label("one"), namespace=namespace)
            for crd in _crd_metadata(kube).values():
                assert crd.metadata.labels["zeroscim.io/chart-test"] == "one"
                assert crd.metadata.annotations["helm.sh/resource-policy"] == "keep"
            helm.upgrade(CHART, name, label("two"), namespace=namespace)
            for crd in _crd_metadata(kube).values():
                assert crd.metadata.labels["zeroscim.io/chart-test"] == "two"
            helm.uninstall(name)
        kept = _crd_metadata(kube)
        assert set(kept) == set(names)  # keep: the CRDs (and every tenant's data) survive
        apps = client.AppsV1Api(kube.api)
        assert apps.list_namespaced_deployment(namespace).items == []
    finally:
        cleanup = {
            "metadata": {
                "labels": {"app.kubernetes.io/managed-by": None, "zeroscim.io/chart-test": None},
                "annotations": {
                    "meta.helm.sh/release-name": None,
                    "meta.helm.sh/release-namespace": None,
                },
            }
        }
        for crd in names:
            with contextlib.suppress(client.ApiException):
                ext.patch_custom_resource_definition(crd, cleanup)
        delete_namespace(kube, namespace)


# -- the ServiceAccounts: enough ... -------------------------------------------------------


@pytest.fixture(scope="module")
def accounts_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AccountsService]:
    with running_accounts_service(tmp_path_factory.mktemp("accounts") / "zero.sqlite3") as svc:
        yield svc


@pytest.fixture(scope="module")
def kubeconfigs(
    kube: KubeEnv, release: Release, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sa")
    return {
        component: service_account_kubeconfig(
            kube, release.namespace, account, folder / f"{component}.kubeconfig"
        )
        for component, account in (
            ("api", release.api_account),
            ("operator", release.operator_account),
        )
    }


def _secret_value(secret: client.V1Secret, key: str) -> str:
    return base64.b64decode(secret.data[key]).decode()


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for condition in obj.get("status", {}).get("conditions", []):
        if condition["type"] == type_:
            return dict(condition)
    return None


def test_the_api_and_the_operator_work_as_the_chart_service_accounts(
    kube: KubeEnv,
    release: Release,
    kubeconfigs: dict[str, Path],
    accounts_service: AccountsService,
    tmp_path: Path,
) -> None:
    tenant_ns = release.tenant_namespace
    tenant_name = tenant_ns
    custom = kube.custom
    # The chart's own command lines, with local addresses and the SA kubeconfigs.
    api_args = container_args(release.deployment("api"))
    api_args = replace_arg(replace_arg(api_args, "--host", "127.0.0.1"), "--port", "0")
    api_args += ["--kubeconfig", str(kubeconfigs["api"])]
    liveness = free_port()
    operator_args = container_args(release.deployment("operator"))
    assert f"--namespace={tenant_ns}" in operator_args
    operator_args = replace_arg(operator_args, "--liveness", f"http://127.0.0.1:{liveness}/healthz")
    operator_args += ["--kubeconfig", str(kubeconfigs["operator"])]
    operator_args += ["--probe-interval=1", "--status-interval=1", "--backoff-cap=2"]

    tenant = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ZeroTenant",
        "metadata": {"name": tenant_name},
        "spec": {
            "namespace": tenant_ns,
            "downstream": {
                "baseUrl": accounts_service.url,
                "orgId": accounts_service.org_id,
                "apiKeySecretRef": {"name": "zero-api-key"},
            },
            "tokenRotation": {"gracePeriod": "1h"},
        },
    }
    with (
        running("operator", operator_args, tmp_path / "op.log") as op,
        running("api", api_args, tmp_path / "api.log") as api,
        contextlib.ExitStack() as clients,
    ):
        base = api.wait_for_line("SCIM_API_URL=") + "/scim/v2"
        eventually(
            lambda: httpx.get(f"http://127.0.0.1:{liveness}/healthz").status_code == 200,
            "the operator's liveness endpoint",
        )
        custom.create_cluster_custom_object(GROUP, VERSION, "zerotenants", tenant)
        try:
            # The operator creates and labels the tenant's namespace (it does not exist).
            namespace = eventually(
                lambda: kube.core.read_namespace(tenant_ns), "the tenant namespace"
            )
            assert namespace.metadata.labels["zeroscim.io/tenant"] == tenant_name
            # ... and issues the token Secret, before the Zero API key is even there.
            secret = eventually(
                lambda: kube.core.read_namespaced_secret("zero-scim-token", tenant_ns),
                "the token Secret",
            )
            token = _secret_value(secret, "token")
            kube.core.create_namespaced_secret(
                tenant_ns,
                {
                    "metadata": {"name": "zero-api-key"},
                    "stringData": {"apiKey": accounts_service.api_key},
                },
            )

            def ready() -> bool:
                body = custom.get_cluster_custom_object(GROUP, VERSION, "zerotenants", tenant_name)
                condition = _condition(body, "Ready")
                return condition is not None and condition["status"] == "True"

            eventually(ready, "the tenant to be Ready (downstream reachable)")

            # The API, as its ServiceAccount: authenticates with the tenant's token,
            # writes a ScimUser; the operator syncs it to Zero.
            scim = clients.enter_context(
                httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=10
                )
            )
            eventually(
                lambda: scim.get("/ServiceProviderConfig").status_code == 200,
                "the API to accept the tenant's token",
            )
            created = scim.post(
                "/Users",
                json={"schemas": [SCIM_USER], "userName": "ada@example.com", "active": True},
            )
            assert created.status_code == 201, created.text
            user_id = created.json()["id"]
            zero = clients.enter_context(
                httpx.Client(
                    base_url=f"{accounts_service.url}/v1/orgs/{accounts_service.org_id}",
                    headers={"Authorization": f"Bearer {accounts_service.api_key}"},
                    timeout=10,
                )
            )
            eventually(
                lambda: zero.get(f"/accounts/{user_id}").status_code == 200,
                "the account in Zero",
            )
            group = scim.post("/Groups", json={"schemas": [SCIM_GROUP], "displayName": "Ops"})
            assert group.status_code == 201, group.text
            group_id = group.json()["id"]
            patched = scim.patch(
                f"/Groups/{group_id}",
                json={
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "Add", "path": "members", "value": [{"value": user_id}]}],
                },
            )
            assert patched.status_code == 204, patched.text

            def member_synced() -> bool:
                members = zero.get(f"/groups/{group_id}/members")
                return members.status_code == 200 and user_id in members.text

            eventually(member_synced, "the group member in Zero")

            # Rotation on demand: the operator updates the Secret (previous token kept)
            # and posts an Event (for a cluster-scoped tenant: in namespace "default").
            custom.patch_cluster_custom_object(
                GROUP,
                VERSION,
                "zerotenants",
                tenant_name,
                {"metadata": {"annotations": {"zeroscim.io/rotate-token": "chart-test"}}},
            )

            def rotated() -> str | None:
                current = kube.core.read_namespaced_secret("zero-scim-token", tenant_ns)
                new = _secret_value(current, "token")
                return new if new != token else None

            new_token = eventually(rotated, "the rotated token")
            scim.headers["Authorization"] = f"Bearer {new_token}"
            eventually(
                lambda: scim.get("/Users").status_code == 200, "the API to accept the new token"
            )
            eventually(
                lambda: any(
                    e.reason == "TokenRotated"
                    for e in kube.core.list_event_for_all_namespaces(
                        field_selector=f"involvedObject.name={tenant_name}"
                    ).items
                ),
                "the TokenRotated Event",
            )

            # Deletion: the operator's finalizer deletes the account in Zero first.
            assert scim.delete(f"/Users/{user_id}").status_code == 204
            eventually(
                lambda: zero.get(f"/accounts/{user_id}").status_code == 404,
                "the account deleted in Zero",
            )
            eventually(
                lambda: (
                    not custom.list_namespaced_custom_object(
                        GROUP, VERSION, tenant_ns, "scimusers"
                    )["items"]
                ),
                "the ScimUser to be gone (finalizer released)",
            )
        finally:
            # Retain: the operator deletes the token Secret, then releases the tenant.
            custom.delete_cluster_custom_object(GROUP, VERSION, "zerotenants", tenant_name)

        def tenant_gone() -> bool:
            try:
                custom.get_cluster_custom_object(GROUP, VERSION, "zerotenants", tenant_name)
            except client.ApiException as exc:
                return exc.status == 404
            return False

        eventually(tenant_gone, "the tenant's finalizer to be released")
        with pytest.raises(client.ApiException) as gone:
            kube.core.read_namespaced_secret("zero-scim-token", tenant_ns)
        assert gone.value.status == 404
        # Nothing the two processes did was refused.
        for process in (op, api):
            log = process.text()
            assert "Forbidden" not in log and " 403" not in log, f"{process.name}:\n{log[-3000:]}"


# -- ... and nothing more ------------------------------------------------------------------

POD = {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
DEPLOYMENT = {
    "metadata": {"name": "x"},
    "spec": {
        "selector": {"matchLabels": {"app": "x"}},
        "template": {"metadata": {"labels": {"app": "x"}}, "spec": POD["spec"]},
    },
}
BINDING = {
    "metadata": {"name": "x"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "x"}],
}


def event(namespace: str) -> dict[str, Any]:
    return {
        "metadata": {"name": "x"},
        "involvedObject": {"kind": "Pod", "name": "x", "namespace": namespace},
    }


def test_the_api_service_account_is_refused_everything_else(
    kube: KubeEnv, release: Release, kubeconfigs: dict[str, Path], request: pytest.FixtureRequest
) -> None:
    ns = release.namespace
    kube.core.create_namespaced_secret(
        ns, {"metadata": {"name": "zero-api-key"}, "stringData": {"apiKey": "secret"}}
    )
    as_api = api_client(kubeconfigs["api"])
    request.addfinalizer(as_api.close)
    core = client.CoreV1Api(as_api)
    custom = client.CustomObjectsApi(as_api)
    apps = client.AppsV1Api(as_api)
    # What it may do: token Secrets by name, across namespaces.
    core.list_secret_for_all_namespaces(field_selector="metadata.name=zero-scim-token")
    custom.list_cluster_custom_object(GROUP, VERSION, "zerotenants")
    refused = {
        "read another Secret": lambda: core.read_namespaced_secret("zero-api-key", ns),
        "list Secrets": lambda: core.list_namespaced_secret(ns),
        "list Secrets of another name": lambda: core.list_secret_for_all_namespaces(
            field_selector="metadata.name=zero-api-key"
        ),
        "create a Secret": lambda: core.create_namespaced_secret(
            ns, {"metadata": {"name": "zero-scim-token"}}
        ),
        "update a token Secret": lambda: core.patch_namespaced_secret(
            "zero-scim-token", ns, {"metadata": {"labels": {"x": "y"}}}
        ),
        "delete a namespace": lambda: core.delete_namespace(ns),
        "create a namespace": lambda: core.create_namespace({"metadata": {"name": "nope"}}),
        "change a tenant": lambda: custom.patch_cluster_custom_object(
            GROUP, VERSION, "zerotenants", "any", {"metadata": {"labels": {"x": "y"}}}
        ),
        "write a ScimUser's status": lambda: custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, ns, "scimusers", "any", {"status": {}}
        ),
        "read ConfigMaps": lambda: core.list_namespaced_config_map(ns),
        "create a Deployment": lambda: apps.create_namespaced_deployment(ns, DEPLOYMENT),
        "post an Event": lambda: core.create_namespaced_event(ns, event(ns)),
    }
    allowed = [what for what, call in refused.items() if not forbidden(call)]
    assert allowed == []


def test_the_operator_service_account_is_refused_everything_else(
    kube: KubeEnv, release: Release, kubeconfigs: dict[str, Path], request: pytest.FixtureRequest
) -> None:
    ns = release.namespace
    with contextlib.suppress(client.ApiException):
        kube.core.create_namespaced_secret(
            ns, {"metadata": {"name": "other"}, "stringData": {"value": "secret"}}
        )
    as_operator = api_client(kubeconfigs["operator"])
    request.addfinalizer(as_operator.close)
    core = client.CoreV1Api(as_operator)
    custom = client.CustomObjectsApi(as_operator)
    apps = client.AppsV1Api(as_operator)
    rbac = client.RbacAuthorizationV1Api(as_operator)
    user = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ScimUser",
        "metadata": {"name": "u-x"},
        "spec": {"id": "x", "userName": "x"},
    }
    refused = {
        "read any other Secret": lambda: core.read_namespaced_secret("other", ns),
        "read a Secret in kube-system": lambda: core.read_namespaced_secret("other", "kube-system"),
        "list Secrets": lambda: core.list_secret_for_all_namespaces(),
        "watch token Secrets by name": lambda: core.list_secret_for_all_namespaces(
            field_selector="metadata.name=zero-scim-token"
        ),
        "create a ScimUser (the API's job)": lambda: custom.create_namespaced_custom_object(
            GROUP, VERSION, ns, "scimusers", user
        ),
        "delete a ScimUser": lambda: custom.delete_namespaced_custom_object(
            GROUP, VERSION, ns, "scimusers", "u-x"
        ),
        "write member batches": lambda: custom.delete_namespaced_custom_object(
            GROUP, VERSION, ns, "scimmemberbatches", "x"
        ),
        "create a tenant": lambda: custom.create_cluster_custom_object(
            GROUP, VERSION, "zerotenants", {**user, "kind": "ZeroTenant"}
        ),
        "replace a tenant": lambda: custom.replace_cluster_custom_object(
            GROUP, VERSION, "zerotenants", "x", {**user, "kind": "ZeroTenant"}
        ),
        "create Pods": lambda: core.create_namespaced_pod(ns, POD),
        "create Deployments": lambda: apps.create_namespaced_deployment(ns, DEPLOYMENT),
        "read ConfigMaps": lambda: core.list_namespaced_config_map(ns),
        "bind cluster-admin": lambda: rbac.create_cluster_role_binding(BINDING),
    }
    allowed = [what for what, call in refused.items() if not forbidden(call)]
    assert allowed == []


def test_helm_sees_the_release(kube: KubeEnv, release: Release) -> None:
    with helm_config(kube.kubeconfig, release.namespace) as helm:
        status = helm.status(release.name)
        assert status["status"] == "deployed"
        stored = helm.get_all(release.name)
        assert [h["name"] for h in stored["hooks"]] == [f"{release.name}-zero-scim-test"]
        with pytest.raises(helm_python.HelmError):
            helm.upgrade(CHART, release.name, {"api": {"replicaz": 3}}, namespace=release.namespace)
