"""The chart, rendered offline by Helm v4: lint, schema, and every ci/ permutation.

No cluster here: see test_install.py for the same chart on a real API server.
"""

from __future__ import annotations

import copy
import json
import tarfile
from pathlib import Path
from typing import Any

import helm_python
import pytest

from tests.charts.helm import (
    CHART,
    CI_VALUES,
    KUBE_NEW,
    KUBE_OLD,
    REPO,
    Manifest,
    ci_values,
    find,
    lint,
    notes,
    one,
    pod_specs,
    render,
    validate,
)
from zero_scim_dev.crds import load_crds

CI_IDS = [p.name.removesuffix("-values.yaml") for p in CI_VALUES]
KUBES = [KUBE_OLD, KUBE_NEW]


def test_the_ci_folder_covers_the_scenarios() -> None:
    assert set(CI_IDS) >= {
        "default",
        "ingress-tls",
        "hpa",
        "single-replica",
        "accounts",
        "no-accounts",
        "servicemonitor",
        "networkpolicy-off",
    }


@pytest.mark.parametrize("kube_version", KUBES)
@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_lint_is_clean(values_file: Path, kube_version: str) -> None:
    report = lint(ci_values(values_file), kube_version=kube_version)
    assert report["errors"] == []
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # warnings, errors
    assert problems == []


# -- values.schema.json ------------------------------------------------------------------


def _objects_of(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(schema, dict):
        if "properties" in schema:
            found.append((path or "/", schema))
        for key, value in schema.items():
            found.extend(_objects_of(value, f"{path}/{key}"))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found.extend(_objects_of(value, f"{path}/{index}"))
    return found


def test_schema_closes_every_object_it_describes() -> None:
    schema = json.loads((CHART / "values.schema.json").read_text())
    objects = _objects_of(schema)
    assert len(objects) > 20
    open_objects = [path for path, o in objects if o.get("additionalProperties") is not False]
    assert open_objects == []


def test_schema_describes_every_default_value() -> None:
    """values.yaml and the schema agree (a key in one only is a mistake in one)."""
    validate({})


@pytest.mark.parametrize(
    "values",
    [
        {"replicas": 3},
        {"api": {"replica": 3}},
        {"api": {"ingress": {"tlsSecret": "x"}}},
        {"api": {"autoscaling": {"targetCPU": 50}}},
        {"operator": {"rbac": {"secretNames": ["x"]}}},
        {"accounts": {"persistence": {"storageClass": "fast"}}},
        {"networkPolicy": {"kubeApiServer": {"cidr": "10.0.0.1/32"}}},
        {"serviceMonitor": {"enable": True}},
        {"crds": {"installed": True}},
        {"image": {"tags": "1.0"}},
    ],
    ids=lambda v: json.dumps(v, separators=(",", ":")),
)
def test_unknown_keys_are_rejected(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError, match="additional properties"):
        validate(values)
    with pytest.raises(helm_python.HelmValuesError):
        render(values)


@pytest.mark.parametrize(
    "values",
    [
        {"api": {"replicas": 0}},
        {"api": {"logLevel": "LOUD"}},
        {"api": {"basePath": "scim"}},
        {"image": {"pullPolicy": "Sometimes"}},
        {"api": {"ingress": {"pathType": "Regex"}}},
    ],
    ids=lambda v: json.dumps(v, separators=(",", ":")),
)
def test_invalid_values_are_rejected(values: dict[str, Any]) -> None:
    with pytest.raises(helm_python.HelmValuesError):
        validate(values)


# -- the CRDs: one source of truth --------------------------------------------------------


def _strip_chart_metadata(crd: Manifest) -> Manifest:
    crd = copy.deepcopy(crd)
    metadata = crd["metadata"]
    metadata.pop("annotations", None)
    metadata["labels"] = {
        "app.kubernetes.io/part-of": metadata["labels"]["app.kubernetes.io/part-of"]
    }
    return crd


def test_the_chart_renders_the_repository_crds_with_a_keep_policy() -> None:
    crds = find(render(), "CustomResourceDefinition")
    by_name = {c["metadata"]["name"]: c for c in crds}
    source = {c["metadata"]["name"]: c for c in load_crds()}
    assert (
        set(by_name)
        == set(source)
        == {
            "zerotenants.zeroscim.io",
            "scimusers.zeroscim.io",
            "scimgroups.zeroscim.io",
            "scimmemberbatches.zeroscim.io",
        }
    )
    for name, crd in by_name.items():
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"
        assert _strip_chart_metadata(crd) == source[name], name


def test_crds_can_be_left_out_or_unkept() -> None:
    assert find(render({"crds": {"install": False}}), "CustomResourceDefinition") == []
    for crd in find(render({"crds": {"keep": False}}), "CustomResourceDefinition"):
        assert "annotations" not in crd["metadata"]


def test_the_packaged_chart_carries_byte_identical_crds(tmp_path: Path) -> None:
    """files/crds is a symlink to crds/: `helm package` must store the files themselves."""
    archive = Path(helm_python.package(CHART, destination=tmp_path))
    with tarfile.open(archive) as tar:
        members = {m.name: m for m in tar.getmembers()}
        packaged = {
            Path(name).name: tar.extractfile(member).read()
            for name, member in members.items()
            if name.startswith("zero-scim/files/crds/") and member.isfile()
        }
        assert "zero-scim/ci/default-values.yaml" not in members  # .helmignore
    source = {p.name: p.read_bytes() for p in sorted((REPO / "crds").glob("*.yaml"))}
    assert packaged == source
    with helm_python.Chart.load(archive) as chart:
        assert len(chart.render(name="zs")) > 5


# -- every permutation ---------------------------------------------------------------------


@pytest.mark.parametrize("kube_version", KUBES)
@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_every_pod_is_hardened(values_file: Path, kube_version: str) -> None:
    objects = render(ci_values(values_file), kube_version=kube_version)
    specs = dict(pod_specs(objects))
    assert {"zs-zero-scim-api", "zs-zero-scim-operator", "zs-zero-scim-test"} <= set(specs)
    for name, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec.get("hostNetwork") is not True
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["runAsNonRoot"] is True, name
            assert sc["readOnlyRootFilesystem"] is True, name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"] == {"drop": ["ALL"]}, name
            assert sc["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert container["image"] == "zero-scim:0.1.0"
            assert "limits" in container["resources"], name
            if name != "zs-zero-scim-test":
                mounts = {m["mountPath"] for m in container["volumeMounts"]}
                assert "/tmp" in mounts, name


@pytest.mark.parametrize("values_file", CI_VALUES, ids=CI_IDS)
def test_every_object_is_labelled_and_namespaced(values_file: Path) -> None:
    cluster_scoped = {"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}
    for o in render(ci_values(values_file), namespace="team-idp"):
        labels = o["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "zero-scim", o["metadata"]["name"]
        assert labels["app.kubernetes.io/instance"] == "zs"
        if o["kind"] not in cluster_scoped:
            assert o["metadata"]["namespace"] == "team-idp", o["metadata"]["name"]


def test_the_api_deployment() -> None:
    objects = render()
    deployment = one(objects, "Deployment", "-api")
    assert deployment["spec"]["replicas"] == 2
    spec = deployment["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "zs-zero-scim-api"
    (container,) = spec["containers"]
    assert container["args"][0] == "api"
    assert "--port=8080" in container["args"]
    assert "--operator-finalizer" in container["args"]  # the chart always runs the operator
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "256Mi"}
    service = one(objects, "Service", "-api")
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]


def test_the_operator_deployment_is_one_recreated_replica() -> None:
    deployment = one(render(), "Deployment", "-operator")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = deployment["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "zs-zero-scim-operator"
    (container,) = spec["containers"]
    assert container["args"] == [
        "operator",
        "--all-namespaces",
        "--liveness=http://0.0.0.0:8081/healthz",
        "--log-level=info",
    ]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "liveness"}
    scoped = one(render({"operator": {"namespaces": ["t-*"]}}), "Deployment", "-operator")
    assert scoped["spec"]["template"]["spec"]["containers"][0]["args"][1] == "--namespace=t-*"


@pytest.mark.parametrize(
    ("kube_version", "api_version"), [(KUBE_OLD, "policy/v1beta1"), (KUBE_NEW, "policy/v1")]
)
def test_a_pdb_only_when_more_than_one_replica_runs(kube_version: str, api_version: str) -> None:
    def pdbs(values_file: str) -> list[Manifest]:
        values = ci_values(CHART / "ci" / values_file)
        return find(render(values, kube_version=kube_version), "PodDisruptionBudget")

    (pdb,) = pdbs("default-values.yaml")
    assert pdb["apiVersion"] == api_version
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdbs("single-replica-values.yaml") == []
    assert len(pdbs("hpa-values.yaml")) == 1  # minReplicas 3


@pytest.mark.parametrize(
    ("kube_version", "api_version"),
    [(KUBE_OLD, "autoscaling/v2beta2"), (KUBE_NEW, "autoscaling/v2")],
)
def test_the_hpa_owns_the_replica_count(kube_version: str, api_version: str) -> None:
    objects = render(ci_values(CHART / "ci" / "hpa-values.yaml"), kube_version=kube_version)
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == api_version
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (3, 10)
    metrics = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["spec"]["metrics"]}
    assert metrics == {
        "cpu": {"type": "Utilization", "averageUtilization": 60},
        "memory": {"type": "Utilization", "averageUtilization": 80},
    }
    assert "replicas" not in one(objects, "Deployment", "-api")["spec"]
    assert find(render(), "HorizontalPodAutoscaler") == []


def test_the_ingress_publishes_only_the_scim_root_over_tls() -> None:
    assert find(render(), "Ingress") == []
    ingress = one(render(ci_values(CHART / "ci" / "ingress-tls-values.yaml")), "Ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == "letsencrypt"
    spec = ingress["spec"]
    assert spec["ingressClassName"] == "nginx"
    assert spec["tls"] == [{"hosts": ["scim.example.com"], "secretName": "scim-example-com-tls"}]
    (rule,) = spec["rules"]
    assert rule["host"] == "scim.example.com"
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/scim/v2", "Prefix")
    assert path["backend"]["service"] == {"name": "zs-zero-scim-api", "port": {"name": "http"}}
    no_tls = one(
        render({"api": {"ingress": {"enabled": True, "tls": {"enabled": False}}}}), "Ingress"
    )
    assert "tls" not in no_tls["spec"]
    assert "ingressClassName" not in no_tls["spec"]


def test_the_service_monitor_needs_its_crd_or_force() -> None:
    enabled = {"serviceMonitor": {"enabled": True}}
    assert find(render(), "ServiceMonitor") == []
    assert find(render(enabled), "ServiceMonitor") == []  # the CRD is not served
    served = render(enabled, api_versions=("monitoring.coreos.com/v1",))
    forced = render(ci_values(CHART / "ci" / "servicemonitor-values.yaml"))
    for objects in (served, forced):
        monitor = one(objects, "ServiceMonitor")
        (endpoint,) = monitor["spec"]["endpoints"]
        assert (endpoint["port"], endpoint["path"]) == ("http", "/metrics")
    assert one(forced, "ServiceMonitor")["metadata"]["labels"]["release"] == "prometheus"


def test_network_policies() -> None:
    objects = render(ci_values(CHART / "ci" / "accounts-values.yaml"))
    policies = {p["metadata"]["name"]: p["spec"] for p in find(objects, "NetworkPolicy")}
    assert set(policies) == {"zs-zero-scim-api", "zs-zero-scim-operator", "zs-zero-scim-accounts"}
    api = policies["zs-zero-scim-api"]
    assert api["ingress"] == [{"ports": [{"protocol": "TCP", "port": 8080}]}]  # from anyone
    egress_ports = {p["port"] for rule in api["egress"] for p in rule["ports"]}
    assert egress_ports == {443, 6443, 53}
    accounts = policies["zs-zero-scim-accounts"]
    assert accounts["egress"] == []
    assert (
        accounts["ingress"][0]["from"][0]["podSelector"]["matchLabels"][
            "app.kubernetes.io/component"
        ]
        == "operator"
    )
    restricted = render(ci_values(CHART / "ci" / "ingress-tls-values.yaml"))
    (rule,) = one(restricted, "NetworkPolicy", "-api")["spec"]["ingress"]
    assert len(rule["from"]) == 2  # the ingress controller's namespace, and `helm test`
    off = render(ci_values(CHART / "ci" / "networkpolicy-off-values.yaml"))
    assert find(off, "NetworkPolicy") == []


def test_the_accounts_service_is_optional() -> None:
    assert [o for o in render() if "accounts" in o["metadata"]["name"]] == []
    assert [
        o
        for o in render(ci_values(CHART / "ci" / "no-accounts-values.yaml"))
        if "accounts" in o["metadata"]["name"]
    ] == []
    objects = render(ci_values(CHART / "ci" / "accounts-values.yaml"))
    deployment = one(objects, "Deployment", "-accounts")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    spec = deployment["spec"]["template"]["spec"]
    assert spec["automountServiceAccountToken"] is False
    assert spec["volumes"][0]["persistentVolumeClaim"] == {"claimName": "zs-zero-scim-accounts"}
    (container,) = spec["containers"]
    assert "--db=/data/zero-accounts.sqlite3" in container["args"]
    assert one(objects, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"] == (
        "256Mi"
    )
    secret = one(objects, "Secret", "-accounts")
    assert set(secret["data"]) == {"apiKey", "orgs", "adminToken"}
    env = {e["name"]: e["valueFrom"]["secretKeyRef"]["key"] for e in container["env"]}
    assert env == {"ZERO_ACCOUNTS_ORGS": "orgs", "ZERO_ACCOUNTS_ADMIN_TOKEN": "adminToken"}
    assert (
        container["image"]
        == one(objects, "Deployment", "-api")["spec"]["template"]["spec"]["containers"][0]["image"]
    )  # one image by default ...
    own = render({"accounts": {"enabled": True, "image": {"repository": "r/demo", "tag": "t"}}})
    (container,) = one(own, "Deployment", "-accounts")["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "r/demo:t"  # ... or its own (the demo image)


def test_the_api_drains_for_its_shutdown_delay_within_the_grace_period() -> None:
    deployment = one(render(), "Deployment", "-api")
    spec = deployment["spec"]["template"]["spec"]
    assert "--shutdown-delay=5" in spec["containers"][0]["args"]
    assert spec["terminationGracePeriodSeconds"] > 5 + 10  # drain + uvicorn's 10 s


def test_the_api_storage_deadline_is_a_value() -> None:
    """The deadline of the API's calls to the API server (503 + Retry-After after it)."""
    for values, expected in (({}, "10"), ({"api": {"storageTimeout": 4.5}}, "4.5")):
        spec = one(render(values), "Deployment", "-api")["spec"]["template"]["spec"]
        assert f"--storage-timeout={expected}" in spec["containers"][0]["args"]
    with pytest.raises(helm_python.HelmValuesError):  # beyond the schema's bound
        render({"api": {"storageTimeout": 0}})


def test_the_accounts_service_signs_people_in_with_a_secret_from_a_secret() -> None:
    objects = render(ci_values(CHART / "ci" / "accounts-sso-values.yaml"))
    (container,) = one(objects, "Deployment", "-accounts")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["ZERO_ACCOUNTS_SSO_CLIENT_ID"]["value"] == "00000000-0000-4000-8000-00000000c11e"
    assert env["ZERO_ACCOUNTS_SSO_CLIENT_SECRET"]["valueFrom"] == {
        "secretKeyRef": {"name": "zero-entra-app", "key": "clientSecret"}
    }
    assert env["ZERO_ACCOUNTS_SSO_AUTHORITY"]["value"] == (
        "https://login.microsoftonline.com/organizations/v2.0"
    )
    assert env["ZERO_ACCOUNTS_PUBLIC_URL"]["value"] == "https://zero.example.com"
    assert env["ZERO_ACCOUNTS_COOKIE_SECURE"]["value"] == "auto"
    # Off by default, and a half configuration is refused.
    plain = one(render(ci_values(CHART / "ci" / "accounts-values.yaml")), "Deployment", "-accounts")
    names = {e["name"] for e in plain["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert not {n for n in names if n.startswith("ZERO_ACCOUNTS_SSO")}
    with pytest.raises(Exception, match=r"clientId|secretName"):
        render({"accounts": {"enabled": True, "sso": {"enabled": True}}})


def test_the_accounts_service_can_trust_a_private_authoritys_ca() -> None:
    """A ConfigMap of CA certificates, mounted read-only and named by SSL_CERT_FILE (which
    the service's HTTP client reads), for an identity provider with a private CA."""
    values = ci_values(CHART / "ci" / "accounts-sso-values.yaml")
    values["accounts"]["sso"]["caBundle"] = {"configMapName": "idp-ca"}
    pod = one(render(values), "Deployment", "-accounts")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["SSL_CERT_FILE"] == "/etc/zero-accounts/sso-ca/ca.crt"
    mount = {"name": "sso-ca", "mountPath": "/etc/zero-accounts/sso-ca", "readOnly": True}
    assert mount in container["volumeMounts"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == "sso-ca"]
    assert volume["configMap"] == {"name": "idp-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    # Without it, or without sign-in, the image's public CAs and no extra volume.
    values["accounts"]["sso"]["enabled"] = False
    for plain_values in (ci_values(CHART / "ci" / "accounts-sso-values.yaml"), values):
        plain = one(render(plain_values), "Deployment", "-accounts")["spec"]["template"]["spec"]
        assert "SSL_CERT_FILE" not in {e["name"] for e in plain["containers"][0]["env"]}
        assert "sso-ca" not in {v["name"] for v in plain["volumes"]}


def _rules(objects: list[Manifest], suffix: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = one(objects, "ClusterRole", suffix)["rules"]
    return rules


def test_the_api_role_is_exactly_what_the_api_needs() -> None:
    assert _rules(render(), "-api") == [
        {
            "apiGroups": ["zeroscim.io"],
            "resources": ["scimusers", "scimgroups", "scimmemberbatches"],
            "verbs": ["get", "list", "watch", "create", "patch", "delete"],
        },
        {
            "apiGroups": ["zeroscim.io"],
            "resources": ["zerotenants"],
            "verbs": ["get", "list", "watch"],
        },
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["zero-scim-token"],
            "verbs": ["get", "list", "watch"],
        },
    ]


def test_the_operator_reads_only_secrets_it_is_told_about() -> None:
    def secret_rules(values: dict[str, Any]) -> list[dict[str, Any]]:
        rules = _rules(render(values), "-operator")
        return [r for r in rules if r["resources"] == ["secrets"]]

    readable = [r for r in secret_rules({}) if "get" in r["verbs"]]
    assert [r.get("resourceNames") for r in readable] == [["zero-scim-token"], ["zero-api-key"]]
    everything = secret_rules({"operator": {"rbac": {"apiKeySecretNames": []}}})
    assert {"resources": ["secrets"], "apiGroups": [""], "verbs": ["get"]} in everything
    writes = [r for r in secret_rules({}) if "get" not in r["verbs"]]
    assert writes == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}]
    rules = _rules(render(), "-operator")
    namespace_verbs = [r["verbs"] for r in rules if r["resources"] == ["namespaces"]]
    assert namespace_verbs == [["get", "create", "patch", "delete"]]
    scoped = _rules(render({"operator": {"namespaces": ["t-*"]}}), "-operator")
    assert ["list", "watch"] in [r["verbs"] for r in scoped if r["resources"] == ["namespaces"]]
    for rule in rules:  # nothing anywhere with wildcards
        assert "*" not in rule["verbs"] and "*" not in rule["resources"], rule


def test_bindings_name_the_chart_service_accounts() -> None:
    objects = render(namespace="idp")
    for component in ("api", "operator"):
        binding = one(objects, "ClusterRoleBinding", f"-{component}")
        assert binding["roleRef"]["name"] == f"zs-zero-scim-{component}"
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": f"zs-zero-scim-{component}", "namespace": "idp"}
        ]
        account = one(objects, "ServiceAccount", f"-{component}")
        assert account["automountServiceAccountToken"] is False  # only its own Pods mount it
    assert find(render(), "ClusterRole", "-view") == []
    viewer = one(render({"rbac": {"aggregateToView": True}}), "ClusterRole", "-view")
    assert viewer["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert {v for r in viewer["rules"] for v in r["verbs"]} == {"get", "list", "watch"}


def test_image_values_reach_every_container() -> None:
    image = {"repository": "registry.example.com/zero-scim", "tag": "1.2.3", "pullPolicy": "Always"}
    for _, spec in pod_specs(render({"image": image, "accounts": {"enabled": True}})):
        for container in spec["containers"]:
            assert container["image"] == "registry.example.com/zero-scim:1.2.3"
            assert container["imagePullPolicy"] == "Always"
    digest = "sha256:" + "a" * 64
    for _, spec in pod_specs(render({"image": {"digest": digest}})):
        assert spec["containers"][0]["image"] == f"zero-scim@{digest}"


def test_the_helm_test_hook_calls_the_scim_endpoint() -> None:
    pod = one(render(), "Pod", "-test")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    (container,) = pod["spec"]["containers"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["API"] == "http://zs-zero-scim-api.zero-scim.svc:80"
    assert env["SCIM_PATH"] == "/scim/v2"
    assert "/ServiceProviderConfig" in container["args"][0]
    compile(container["args"][0], "helm-test", "exec")  # the script is valid Python
    with_token = one(render({"tests": {"tokenSecretName": "demo-token"}}), "Pod", "-test")
    refs = [e for e in with_token["spec"]["containers"][0]["env"] if e["name"] == "SCIM_TOKEN"]
    assert refs[0]["valueFrom"]["secretKeyRef"] == {"name": "demo-token", "key": "token"}
    assert find(render({"tests": {"enabled": False}}), "Pod") == []


def test_notes_say_how_to_read_the_token_and_configure_entra() -> None:
    text = notes()
    assert (
        "kubectl get secret zero-scim-token -n <tenant-ns> -o jsonpath='{.data.token}' | base64 -d"
        in text
    )
    assert "Tenant URL:    https://<your host>/scim/v2/" in text
    assert "Secret Token:" in text
    with_ingress = notes(ci_values(CHART / "ci" / "ingress-tls-values.yaml"))
    assert "Tenant URL:    https://scim.example.com/scim/v2/" in with_ingress
    assert "zeroscim.io/rotate-token" in text


def test_every_port_names_its_protocol() -> None:
    """Helm 4 applies server-side; a 1.20 API server refuses a port list without
    `protocol` (its list-map key). Every rendering, every kind of port."""
    for values_file in CI_VALUES:
        for obj in render(ci_values(values_file)):
            ports: list[dict[str, Any]] = []
            if obj["kind"] == "Service":
                ports += obj["spec"]["ports"]
            for _, spec in pod_specs([obj]):
                for container in spec["containers"]:
                    ports += container.get("ports", [])
            assert all(p.get("protocol") == "TCP" for p in ports), (
                values_file.name,
                obj["metadata"]["name"],
                ports,
            )
