"""The local control plane's own life: up, idempotent up, identities, stale state, down."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config

from zero_scim_dev.cluster.build import Binaries, ensure_binaries
from zero_scim_dev.cluster.cluster import PROCESS_ORDER, LocalCluster, State, _alive
from zero_scim_dev.cluster.errors import ClusterError

pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(
        bool(os.environ.get("KUBECONFIG")),
        reason="tests the local control plane itself; the session uses $KUBECONFIG",
    ),
]


@pytest.fixture(scope="module")
def binaries() -> Binaries:
    return ensure_binaries()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, binaries: Binaries) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("cluster"), progress=lambda _: None)
    local.up(binaries)
    yield local
    local.down(purge=True)


def readyz(kubeconfig: Path) -> bytes:
    raw = yaml.safe_load(kubeconfig.read_text())
    cluster = raw["clusters"][0]["cluster"]
    assert "insecure-skip-tls-verify" not in cluster
    ctx = ssl.create_default_context(cafile=cluster["certificate-authority"])
    request = urllib.request.Request(
        f"{cluster['server']}/readyz",
        headers={"Authorization": f"Bearer {raw['users'][0]['user']['token']}"},
    )
    with urllib.request.urlopen(request, context=ctx, timeout=5) as resp:
        body: bytes = resp.read()
        return body


def test_up_is_ready_and_trusted_by_its_kubeconfig(cluster: LocalCluster) -> None:
    assert readyz(cluster.kubeconfig) == b"ok"
    status = cluster.status()
    assert status["ready"] is True
    processes = status["processes"]
    assert isinstance(processes, dict)
    assert set(processes) == set(PROCESS_ORDER)


def test_second_up_reuses_running_processes_quickly(
    cluster: LocalCluster, binaries: Binaries
) -> None:
    before = State.load(cluster.state_path).processes
    started = time.monotonic()
    assert cluster.up(binaries) == cluster.kubeconfig
    assert time.monotonic() - started < 10
    after = State.load(cluster.state_path).processes
    assert {k: v.pid for k, v in before.items()} == {k: v.pid for k, v in after.items()}


def test_controller_manager_deletes_namespaces_and_garbage(cluster: LocalCluster) -> None:
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    core = client.CoreV1Api(api)
    core.create_namespace({"metadata": {"name": "gc-check"}})
    owner = core.create_namespaced_config_map("gc-check", {"metadata": {"name": "owner"}})
    core.create_namespaced_config_map(
        "gc-check",
        {
            "metadata": {
                "name": "dependent",
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "ConfigMap",
                        "name": "owner",
                        "uid": owner.metadata.uid,
                    }
                ],
            }
        },
    )
    core.delete_namespaced_config_map("owner", "gc-check")
    deadline = time.monotonic() + 30
    names = {"dependent"}
    while names and time.monotonic() < deadline:
        names = {cm.metadata.name for cm in core.list_namespaced_config_map("gc-check").items}
        names &= {"dependent"}
        time.sleep(0.2)
    assert not names, "garbage collector did not delete the dependent"
    core.delete_namespace("gc-check")
    while time.monotonic() < deadline:
        if "gc-check" not in {n.metadata.name for n in core.list_namespace().items}:
            break
        time.sleep(0.2)
    else:
        pytest.fail("namespace was not deleted by the namespace controller")


def test_added_identity_is_subject_to_rbac(cluster: LocalCluster) -> None:
    identity = cluster.add_identity("system:serviceaccount:zero-scim:api")
    admin = client.CoreV1Api(config.new_client_from_config(config_file=str(cluster.kubeconfig)))
    as_sa = client.CoreV1Api(config.new_client_from_config(config_file=str(identity.kubeconfig)))
    with pytest.raises(client.ApiException) as info:
        as_sa.list_namespaced_secret("default")
    assert info.value.status == 403
    rbac = client.RbacAuthorizationV1Api(admin.api_client)
    rbac.create_namespaced_role(
        "default",
        {
            "metadata": {"name": "read-secrets"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        "default",
        {
            "metadata": {"name": "read-secrets"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "read-secrets",
            },
            "subjects": [{"kind": "User", "name": identity.name}],
        },
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            as_sa.list_namespaced_secret("default")
            break
        except client.ApiException as exc:
            if exc.status != 403 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    with pytest.raises(client.ApiException) as denied:
        as_sa.list_namespaced_secret("kube-system")
    assert denied.value.status == 403


def test_down_stops_exactly_what_up_started(tmp_path: Path, binaries: Binaries) -> None:
    local = LocalCluster(tmp_path / "c", progress=lambda _: None)
    local.up(binaries)
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        records = State.load(local.state_path).processes
        stopped = local.down()
        assert sorted(stopped) == sorted(PROCESS_ORDER)
        assert not any(_alive(r) for r in records.values())
        assert bystander.poll() is None
        assert local.down() == []
    finally:
        bystander.kill()
        bystander.wait()
        local.down(purge=True)


def test_down_never_kills_a_reused_pid(tmp_path: Path, binaries: Binaries) -> None:
    local = LocalCluster(tmp_path / "c", progress=lambda _: None)
    local.up(binaries)
    real = State.load(local.state_path)
    try:
        fake = State.load(local.state_path)
        fake.processes = {
            name: replace(rec, start_ticks=rec.start_ticks + 1)
            for name, rec in fake.processes.items()
        }
        fake.save(local.state_path)
        assert local.down() == []
        assert all(_alive(r) for r in real.processes.values())
    finally:
        real.save(local.state_path)
        local.down(purge=True)


def test_stale_state_is_recovered_with_a_message(tmp_path: Path, binaries: Binaries) -> None:
    messages: list[str] = []
    local = LocalCluster(tmp_path / "c", progress=messages.append)
    local.up(binaries)
    try:
        for record in State.load(local.state_path).processes.values():
            os.kill(record.pid, signal.SIGKILL)
        time.sleep(0.2)
        assert local.up(binaries) == local.kubeconfig
        assert any("stale" in m or "partly" in m for m in messages)
        assert readyz(local.kubeconfig) == b"ok"
    finally:
        local.down(purge=True)


def test_a_process_that_cannot_start_fails_fast_with_its_log(
    tmp_path: Path, binaries: Binaries
) -> None:
    broken = replace(binaries, etcd=Path("/bin/false"), kube_apiserver=Path("/bin/false"))
    local = LocalCluster(tmp_path / "c", progress=lambda _: None)
    started = time.monotonic()
    with pytest.raises(ClusterError) as info:
        local.up(broken)
    assert time.monotonic() - started < 20
    assert info.value.log_path is not None and info.value.log_path.exists()
    assert "exited" in str(info.value)
    status = local.status()
    assert status["processes"] == {}


def test_cli_up_prints_the_kubeconfig_line(tmp_path: Path, binaries: Binaries) -> None:
    data = tmp_path / "cli"
    env = {**os.environ}
    env.pop("KUBECONFIG", None)
    result = subprocess.run(
        [sys.executable, "-m", "zero_scim.cli", "cluster", "--data-dir", str(data), "up"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    try:
        assert result.returncode == 0, result.stderr
        lines = [line for line in result.stdout.splitlines() if line.startswith("KUBECONFIG=")]
        assert lines == [f"KUBECONFIG={data.resolve() / 'kubeconfig'}"]
        status = subprocess.run(
            [sys.executable, "-m", "zero_scim.cli", "cluster", "--data-dir", str(data), "status"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert status.returncode == 0
        assert json.loads(status.stdout)["ready"] is True
    finally:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "zero_scim.cli",
                "cluster",
                "--data-dir",
                str(data),
                "down",
                "--purge",
            ],
            check=False,
        )
