"""Endpoints SCIM defines that this server does not implement: 501 with a SCIM error.

``/Bulk`` (RFC 7644 §3.7; ServiceProviderConfig says ``bulk.supported: false``) and
``/Me`` (§3.11; a provisioning token is a tenant, not a user).
"""

from __future__ import annotations

import falcon.asgi

from zero_scim.scim import NotSupported
from zero_scim_api.request import ScimRequest


class Bulk:
    async def on_post(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        raise NotSupported("bulk operations are not supported (see /ServiceProviderConfig)")


class Me:
    async def _unsupported(self, req: ScimRequest, resp: falcon.asgi.Response) -> None:
        raise NotSupported("/Me is not supported: the bearer token identifies a tenant")

    on_get = on_post = on_put = on_patch = on_delete = _unsupported
