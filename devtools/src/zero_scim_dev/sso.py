"""Single sign-on in ``zero-scim dev``: the local identity provider and a demo person.

The provider is ``idp/server.mjs`` (node-oidc-provider shaped like Entra ID, one tenant,
"Demo"), started before the accounts service so that Zero's authority is known. Once the
stack is up, a demo person exists at the provider and, through SCIM (so the operator
creates the account, as Entra's provisioning would), in Zero; ``zero-scim dev`` prints::

    SSO_LOGIN_URL=http://127.0.0.1:8090/sso/start?org=demo-org
    SSO_DEMO_USER=demo@zero-demo.example
    SSO_DEMO_PASSWORD=…
"""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from zero_scim_dev.cluster.errors import ClusterError

#: The demo tenant's Entra tenant id (any GUID; the local provider's only tenant).
DEMO_TENANT_ID = "0d0e0a0d-0000-4000-8000-00000000de30"
DEMO_OID = "0d0e0a0d-0000-4000-8000-0000000000a1"
DEMO_USER = "demo@zero-demo.example"
CLIENT_ID = "zero-dev"
IDP_DIR = Path(__file__).resolve().parents[3] / "idp"


@dataclass(frozen=True)
class DevSso:
    """What the stack needs to know about sign-in."""

    client_secret: str
    admin_token: str
    password: str
    config_path: Path

    @property
    def env(self) -> dict[str, str]:
        """For the accounts service's environment (a secret stays out of ``ps``)."""
        return {"ZERO_ACCOUNTS_SSO_CLIENT_SECRET": self.client_secret}


def available() -> str | None:
    """Why sign-in cannot be part of the stack, or ``None``."""
    if shutil.which("node") is None:
        return "Node.js is not installed (./scripts/dev installs it)"
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        return "the identity provider's packages are missing (npm ci --prefix idp)"
    return None


def _secret(data_dir: Path, name: str) -> str:
    path = data_dir / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def prepare(data_dir: Path) -> DevSso:
    """The provider's configuration (one tenant, the demo person) and the secrets."""
    sso = DevSso(
        client_secret=_secret(data_dir, "sso-client-secret"),
        admin_token=secrets.token_urlsafe(24),
        password=_secret(data_dir, "sso-demo-password"),
        config_path=data_dir / "idp.json",
    )
    config = {
        "adminToken": sso.admin_token,
        "tenants": [{"id": DEMO_TENANT_ID, "name": "Demo tenant"}],
        "users": [
            {
                "tenant": DEMO_TENANT_ID,
                "oid": DEMO_OID,
                "login": DEMO_USER,
                "password": sso.password,
                "email": DEMO_USER,
                "name": "Demo Person",
            }
        ],
    }
    sso.config_path.write_text(json.dumps(config))
    sso.config_path.chmod(0o600)
    return sso


def idp_program() -> list[str]:
    """The identity provider's program (its arguments: :func:`idp_args`)."""
    node = shutil.which("node")
    assert node is not None
    return [node, str(IDP_DIR / "server.mjs")]


@dataclass(frozen=True)
class IdpTls:
    """The provider's certificate and key, and the CA that signed them (its clients trust
    that CA; the provider itself too, as it calls its own token endpoint)."""

    cert: Path
    key: Path
    ca: Path

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))


def idp_args(
    sso: DevSso, port: int, *, host: str | None = None, tls: IdpTls | None = None
) -> list[str]:
    """Loopback and http by default; ``host`` listens there (and names itself so),
    ``tls`` serves https."""
    args = ["--config", str(sso.config_path), "--port", str(port)]
    if host is not None:
        args += ["--host", host, "--public-host", host]
    if tls is not None:
        args += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    return args


def idp_env(tls: IdpTls | None) -> dict[str, str]:
    """For the provider's environment: trust its own CA (Node.js reads it at start)."""
    return {"NODE_EXTRA_CA_CERTS": str(tls.ca)} if tls is not None else {}


def authority(idp_url: str) -> str:
    """Zero's authority at the provider: Entra's multi-tenant ``organizations`` endpoint."""
    return f"{idp_url}/organizations/v2.0"


def accounts_args(idp_url: str) -> list[str]:
    return ["--sso-client-id", CLIENT_ID, "--sso-authority", authority(idp_url)]


def register_client(
    sso: DevSso, idp_url: str, accounts_url: str, *, tls: IdpTls | None = None
) -> None:
    body = {"client_secret": sso.client_secret, "redirect_uris": [f"{accounts_url}/sso/callback"]}
    context = tls.context() if tls is not None else None
    _request("PUT", f"{idp_url}/_admin/clients/{CLIENT_ID}", sso.admin_token, body, context=context)


def provision_demo(scim_base_url: str, token: str) -> None:
    """The demo person, through SCIM (as Entra would); already there from a run before: fine."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": DEMO_USER,
        "displayName": "Demo Person",
        "name": {"givenName": "Demo", "familyName": "Person"},
        "emails": [{"value": DEMO_USER, "type": "work", "primary": True}],
        "active": True,
    }
    _request("POST", f"{scim_base_url}/Users", token, body, ok=(201, 409))


def wait_signin_ready(accounts_url: str, org: str, api_key: str, deadline: float) -> None:
    """Until the operator has linked the org and created the demo account."""
    while time.monotonic() < deadline:
        linked, _ = _request("GET", f"{accounts_url}/v1/orgs/{org}/sso", api_key, ok=(200, 404))
        status, page = _request(
            "GET", f"{accounts_url}/v1/orgs/{org}/accounts?limit=1000", api_key, ok=(200,)
        )
        names = {item.get("userName") for item in (page or {}).get("items", [])}
        if linked == 200 and status == 200 and DEMO_USER in names:
            return
        time.sleep(0.3)
    raise ClusterError("the operator did not set up sign-in for the demo org in time")


def login_url(accounts_url: str, org: str) -> str:
    return f"{accounts_url}/sso/start?org={org}"


def _request(
    method: str,
    url: str,
    token: str,
    body: Any = None,
    ok: tuple[int, ...] = (200,),
    *,
    context: ssl.SSLContext | None = None,
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise ClusterError(f"{method} {url}: {exc}") from exc
    if status not in ok:
        raise ClusterError(f"{method} {url} answered {status}: {raw[:300]!r}")
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, None
