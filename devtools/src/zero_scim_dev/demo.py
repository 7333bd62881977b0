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
from collections.abc import Callable

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
