"""Kopf's login: the operator's own configuration (:mod:`zero_scim.kube.config`).

Kopf's built-in login handlers read ``$KUBECONFIG`` as it was when a client library was
imported and know nothing of a rotating token file; this one hands Kopf exactly what
the operator's :class:`~zero_scim.kube.client.KubeClient` uses, so both authenticate
alike. Kopf calls it again after a 401 or once the credentials expire; each call asks
for fresh credentials (a token file re-read, an exec plugin re-run).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import kopf

from zero_scim.kube.config import KubeConfig

#: Credentials that expire sooner than this are handed over without an expiry (Kopf
#: would log in again at once, in a loop); a 401 then asks for fresh ones.
MIN_LIFETIME = timedelta(minutes=1)


async def connection_info(config: KubeConfig, now: datetime | None = None) -> kopf.ConnectionInfo:
    auth = await config.credentials.authorization(refresh=True)
    expiration = auth.expires_at if auth is not None else None
    if expiration is not None and expiration - (now or datetime.now(UTC)) < MIN_LIFETIME:
        expiration = None
    return kopf.ConnectionInfo(
        server=config.server,
        ca_path=config.ca_file,
        insecure=config.insecure,
        scheme=auth.scheme if auth is not None else None,
        token=auth.credentials if auth is not None else None,
        certificate_path=config.client_cert_file,
        private_key_path=config.client_key_file,
        # No default namespace: Events about tenants (cluster-scoped) go to "default",
        # as the chart's RBAC and docs/operations.md say.
        expiration=expiration,
    )


def register(registry: kopf.OperatorRegistry, config: KubeConfig) -> None:
    @kopf.on.login(registry=registry)
    async def login(**_: object) -> kopf.ConnectionInfo:
        return await connection_info(config)
