"""Benchmark: from SCIM ``PATCH active=false`` to the person's Zero session being refused.

    python -m bench.sso_refusal [--users 30]

Everything real, each its own process on this machine: the control plane (fresh, or
$KUBECONFIG), the SCIM API, the operator (production settings), Zero's accounts service
with sign-in on, and the local identity provider (idp/server.mjs). For each of
``--users`` people: provisioned through SCIM, signed in through the provider (the code
flow, over HTTP), then disabled through SCIM while two pollers watch, every 5 ms:

* **baseline**: Zero's account showing ``enabled: false`` (the operator's sync lag, read
  with the org's API key);
* **refusal**: the person's next ``GET /v1/me`` answering 401.

Printed: p50/p95/max of both, and refusal ÷ baseline (the session should end in the very
transaction that disables the account, so the ratio should be ≈ 1; the goal is a refusal
p95 ≤ 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.operator_lag import operator
from bench.support import Timings, accounts_process, api_server, cluster, wait_for
from tests.support.idp import CONTOSO, Browser, running_idp
from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import NAMESPACE, SECRET, TENANT, tenant_manifest
from zero_scim.kube.errors import KubeError
from zero_scim.kube.objects import Namespace, Secret
from zero_scim.kube.secrets import DecodedSecret
from zero_scim.kube.tokens import KEY_TOKEN, SECRET_NAME

ORG = "bench-sso"
API_KEY = "bench-sso-api-key"
CLIENT_ID = "zero-bench"
CLIENT_SECRET = "bench-client-secret-0123456789abcdef"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@contextlib.contextmanager
def accounts_with_sign_in(workdir: Path, authority: str) -> Iterator[str]:
    sign_in = (f"--sso-client-id={CLIENT_ID}", f"--sso-authority={authority}")
    env = {"ZERO_ACCOUNTS_SSO_CLIENT_SECRET": CLIENT_SECRET}
    with accounts_process(workdir, f"--org={ORG}:{API_KEY}", *sign_in, env=env) as (_, url):
        yield url


async def make_tenant(kube: KubeClient, accounts_url: str) -> str:
    name = f"sso-{uuid.uuid4().hex[:6]}"
    namespace: Namespace = {"metadata": {"name": name}}
    await kube.create(NAMESPACE, namespace)
    key: Secret = {
        "metadata": {"name": "zero-api-key", "namespace": name},
        "stringData": {"apiKey": API_KEY},
    }
    await kube.create(SECRET, key)
    spec: JsonObject = {
        "namespace": name,
        "downstream": {
            "baseUrl": accounts_url,
            "orgId": ORG,
            "apiKeySecretRef": {"name": "zero-api-key"},
        },
        "sso": {"entraTenantId": CONTOSO},
    }
    await kube.create(TENANT, tenant_manifest(name, spec))
    return name


async def scim_token(kube: KubeClient, namespace: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(KubeError):
            secret = await kube.find(SECRET, SECRET_NAME, namespace)
            token = DecodedSecret.from_object(secret).data.get(KEY_TOKEN) if secret else None
            if token:
                return token
        await asyncio.sleep(0.2)
    raise RuntimeError("no SCIM token")


def wait_until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("timed out")
        time.sleep(0.05)


def first_true(condition: Any, since: float, results: dict[str, float], name: str) -> None:
    while not condition():
        if time.monotonic() - since > 60:
            raise RuntimeError(f"{name}: not within 60 s")
        time.sleep(0.005)
    results[name] = time.monotonic() - since


async def bench(args: argparse.Namespace) -> None:
    async with contextlib.AsyncExitStack() as stack:
        kubeconfig = await stack.enter_async_context(cluster())
        workdir = Path(tempfile.mkdtemp(prefix="zero-scim-bench-sso-"))
        idp = stack.enter_context(running_idp(workdir / "idp"))
        accounts_url = stack.enter_context(accounts_with_sign_in(workdir, idp.authority))
        idp.register_client(CLIENT_ID, CLIENT_SECRET, [f"{accounts_url}/sso/callback"])
        kube = await stack.enter_async_context(await KubeClient.connect(kubeconfig))
        namespace = await make_tenant(kube, accounts_url)
        stack.enter_context(operator(kubeconfig, namespace, workdir))
        token = await scim_token(kube, namespace)
        async with api_server(kubeconfig, "--operator-finalizer") as api:
            base = f"{api.url}/scim/v2"
            headers = {"Authorization": f"Bearer {token}"}
            await wait_for(f"{base}/ServiceProviderConfig", headers)
            await asyncio.to_thread(measure, args.users, base, headers, accounts_url, idp)


def measure(users: int, base: str, headers: dict[str, str], accounts_url: str, idp: Any) -> None:
    timings = Timings()
    zero = httpx.Client(
        base_url=f"{accounts_url}/v1/orgs/{ORG}", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    scim = httpx.Client(base_url=base, headers=headers, timeout=30)
    ratios: list[float] = []
    with zero, scim:
        wait_until(lambda: zero.get("/sso").status_code == 200)
        for n in range(users):
            person = idp.add_user(f"bench-{n}-{uuid.uuid4().hex[:4]}@contoso.example")
            created = scim.post(
                "/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": person.login,
                    "active": True,
                },
            )
            created.raise_for_status()
            key = created.json()["id"]
            wait_until(lambda key=key: zero.get(f"/accounts/{key}").status_code == 200)
            with Browser(accounts_url) as browser:
                assert browser.sign_in(ORG, person).status_code == 303
                assert browser.me().status_code == 200
                disable = {
                    "schemas": [PATCH_URN],
                    "Operations": [{"op": "Replace", "path": "active", "value": False}],
                }
                results: dict[str, float] = {}
                scim.patch(f"/Users/{key}", json=disable).raise_for_status()
                since = time.monotonic()
                with httpx.Client(base_url=zero.base_url, headers=dict(zero.headers)) as watcher:
                    baseline = threading.Thread(
                        target=first_true,
                        args=(
                            lambda key=key: (
                                watcher.get(f"/accounts/{key}").json()["enabled"] is False
                            ),
                            since,
                            results,
                            "baseline",
                        ),
                    )
                    baseline.start()
                    first_true(lambda: browser.me().status_code == 401, since, results, "refusal")
                    baseline.join()
            timings.add("baseline: account disabled", results["baseline"])
            timings.add("refusal: session refused", results["refusal"])
            ratios.append(results["refusal"] / max(results["baseline"], 1e-3))
    print(f"\nSSO refusal after SCIM PATCH active=false, {users} people, one at a time")
    print(timings.row("baseline: account disabled"))
    print(timings.row("refusal: session refused"))
    base_ms = timings.samples["baseline: account disabled"]
    refusal_ms = timings.samples["refusal: session refused"]
    print(f"max: baseline {max(base_ms) * 1000:.1f} ms, refusal {max(refusal_ms) * 1000:.1f} ms")
    p95 = Timings.percentile(refusal_ms, 95) / Timings.percentile(base_ms, 95)
    print(f"refusal p95 / baseline p95: {p95:.2f}; median per-person ratio: "
          f"{sorted(ratios)[len(ratios) // 2]:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=30)
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
