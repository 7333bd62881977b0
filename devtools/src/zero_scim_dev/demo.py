"""The demo tenant of ``zero-scim dev``, for both of its modes (host processes, ``--pods``).

One ZeroTenant (``demo``, namespace ``demo``) whose downstream is the demo org of the Zero
accounts service, with that org's API key in the Secret the tenant names; with sign-in,
its ``spec.sso`` names the local identity provider's tenant
(:data:`zero_scim_dev.sso.DEMO_TENANT_ID`), which the operator links to the org. Then the
operator issues the tenant's SCIM token, and the API accepts it a moment later (its token
watch). Everything is idempotent: a second run over the same cluster updates the tenant.

``check`` is called while waiting: the host stack's supervisor restarts a crashed child
there (:meth:`zero_scim_dev.supervisor.Stack.check`), and raises if one cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from zero_scim.jsondata import JsonObject
from zero_scim.kube.client import KubeClient
from zero_scim.kube.coordinates import NAMESPACE, SECRET, TENANT, tenant_manifest
from zero_scim.kube.errors import AlreadyExists, KubeError
from zero_scim.kube.objects import Namespace, Secret
from zero_scim.kube.secrets import DecodedSecret
from zero_scim.kube.tokens import KEY_TOKEN, SECRET_NAME
from zero_scim_dev import sso
from zero_scim_dev.cluster.errors import ClusterError
from zero_scim_dev.kinds import create_or_replace

DEMO = "demo"
ORG = "demo-org"
#: The Secret (in the tenant's namespace) holding the org's Zero API key.
API_KEY_SECRET = "zero-api-key"  # noqa: S105 (a name, not a secret)

Check = Callable[[], None]


def _nothing() -> None:
    pass


async def ensure_demo_tenant(
    kube: KubeClient,
    accounts_url: str,
    api_key: str,
    *,
    tenant: str = DEMO,
    sign_in: bool = False,
) -> None:
    """The tenant's namespace, its API key Secret and the ZeroTenant ``tenant`` (whose
    namespace has the same name), pointing at ``accounts_url`` (as the operator reaches
    it)."""
    namespace: Namespace = {"metadata": {"name": tenant}}
    with contextlib.suppress(AlreadyExists):
        await kube.create(NAMESPACE, namespace)
    secret: Secret = {
        "metadata": {"name": API_KEY_SECRET, "namespace": tenant},
        "stringData": {"apiKey": api_key},
    }
    await create_or_replace(kube, SECRET, secret)
    spec: JsonObject = {
        "namespace": tenant,
        "displayName": "Demo tenant",
        "downstream": {
            "baseUrl": accounts_url,
            "orgId": ORG,
            "apiKeySecretRef": {"name": API_KEY_SECRET},
            "resyncInterval": "1m",
        },
    }
    if sign_in:
        spec["sso"] = {"entraTenantId": sso.DEMO_TENANT_ID}
    try:
        await kube.create(TENANT, tenant_manifest(tenant, spec))
    except AlreadyExists:
        # Without sign-in, a link an earlier run made goes (null deletes in a merge patch).
        await kube.merge_patch(TENANT, tenant, {"spec": {"sso": None, **spec}})


async def wait_token(
    kube: KubeClient, deadline: float, *, tenant: str = DEMO, check: Check = _nothing
) -> str:
    """The tenant's SCIM token, once the operator has issued it."""
    while time.monotonic() < deadline:
        check()
        with contextlib.suppress(KubeError):
            secret = await kube.find(SECRET, SECRET_NAME, tenant)
            token = DecodedSecret.from_object(secret).data.get(KEY_TOKEN) if secret else None
            if token:
                return token
        await asyncio.sleep(0.3)
    raise ClusterError("the operator did not issue the demo tenant's token in time")


async def declare_demo(
    kubeconfig: str | os.PathLike[str],
    accounts_url: str,
    api_key: str,
    deadline: float,
    *,
    tenant: str = DEMO,
    sign_in: bool = False,
    check: Check = _nothing,
) -> str:
    """:func:`ensure_demo_tenant`, then its token (:func:`wait_token`)."""
    async with await KubeClient.connect(kubeconfig) as kube:
        await ensure_demo_tenant(kube, accounts_url, api_key, tenant=tenant, sign_in=sign_in)
        return await wait_token(kube, deadline, tenant=tenant, check=check)


def wait_accepted(base_url: str, token: str, deadline: float, check: Check = _nothing) -> None:
    """Until the SCIM API at ``base_url`` answers 200 to ``token``."""
    request = urllib.request.Request(
        f"{base_url}/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"}
    )
    while time.monotonic() < deadline:
        check()
        try:
            with urllib.request.urlopen(request, timeout=3) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise ClusterError("the SCIM API did not accept the demo token in time")


@dataclass(frozen=True)
class Endpoints:
    """Where the running stack answers, as a person on this host reaches it."""

    scim_base_url: str
    accounts_url: str
    accounts_api_key: str
    accounts_admin_token: str


def start_demo(
    kubeconfig: str | os.PathLike[str],
    endpoints: Endpoints,
    operator_accounts_url: str,
    deadline: float,
    *,
    sign_in: bool,
    check: Check,
) -> str:
    """The demo tenant declared, its token accepted by the API and, with sign-in, the
    demo person provisioned through SCIM and linked for sign-in; the token.
    ``operator_accounts_url`` is the accounts service as the operator reaches it."""
    token = asyncio.run(
        declare_demo(
            kubeconfig, operator_accounts_url, endpoints.accounts_api_key, deadline,
            sign_in=sign_in, check=check,
        )
    )  # fmt: skip
    wait_accepted(endpoints.scim_base_url, token, deadline, check)
    if sign_in:
        sso.provision_demo(endpoints.scim_base_url, token)
        sso.wait_signin_ready(endpoints.accounts_url, ORG, endpoints.accounts_api_key, deadline)
    return token


def print_ready(
    endpoints: Endpoints,
    token: str,
    kubeconfig: str | os.PathLike[str],
    *,
    sso_password: str | None,
    extra: Sequence[str] = (),
    commands: Sequence[str] = (),
    footer: str,
) -> None:
    """The lines ``zero-scim dev`` prints once ready (``NAME=value`` first, for scripts),
    then commands to try. ``extra`` are more such lines, ``commands`` more commands."""
    base_url, accounts_url = endpoints.scim_base_url, endpoints.accounts_url
    lines = [
        f"SCIM_BASE_URL={base_url}",
        f"SCIM_TOKEN={token}",
        f"KUBECONFIG={kubeconfig}",
        f"ZERO_ACCOUNTS_URL={accounts_url}  (admin token: {endpoints.accounts_admin_token})",
    ]
    if sso_password is not None:
        lines += [
            f"SSO_LOGIN_URL={sso.login_url(accounts_url, ORG)}",
            f"SSO_DEMO_USER={sso.DEMO_USER}",
            f"SSO_DEMO_PASSWORD={sso_password}",
        ]
    user = '{"userName":"ada@example.com","active":true}'
    try_it = [
        f"curl -s -H 'Authorization: Bearer {token}' \\\n"
        f"    -H 'Content-Type: application/scim+json' -d '{user}' {base_url}/Users",
        *commands,
        f"kubectl --kubeconfig {kubeconfig} get scimusers -n {DEMO}",
        f"curl -s -H 'Authorization: Bearer {endpoints.accounts_api_key}' \\\n"
        f"    {accounts_url}/v1/orgs/{ORG}/accounts",
    ]
    print("\n".join([*lines, *extra]))
    print("\nTry it:\n" + "".join(f"  {command}\n" for command in try_it))
    print(footer, flush=True)
