"""The local identity provider (idp/server.mjs, node-oidc-provider) for tests, and a browser.

``running_idp(tmp)`` starts ``node idp/server.mjs`` on a free loopback port with two
Entra-shaped tenants and yields an :class:`Idp`: its URL (``http://localhost:<port>``, so
that Zero at ``127.0.0.1`` and the provider are different sites, as in real life), the
``organizations`` authority, and an admin client (users, clients, key rotation,
tampered tokens).

:class:`Browser` is what a person's browser does, over plain HTTP: it follows redirects
one hop at a time, keeps cookies per host, and fills the provider's forms (fields
``login`` and ``password``). Steps can be taken one by one, so a test can stop at the
redirect back to Zero and replay or alter it.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import queue
import re
import secrets
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
IDP_DIR = ROOT / "idp"
START_TIMEOUT = 30.0
PREFIX = "IDP_URL="

CONTOSO = "11111111-1111-4111-8111-111111111111"
FABRIKAM = "22222222-2222-4222-8222-222222222222"


class IdpUnavailable(RuntimeError):
    """Node.js or the provider's packages are missing (``npm ci --prefix idp`` installs them)."""


@dataclass(frozen=True)
class User:
    tenant: str
    oid: str
    login: str
    password: str
    name: str
    email: str | None


@dataclass
class Idp:
    url: str
    admin_token: str
    tenants: tuple[str, str] = (CONTOSO, FABRIKAM)
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    @property
    def authority(self) -> str:
        """Entra's multi-tenant authority, locally."""
        return f"{self.url}/organizations/v2.0"

    def issuer(self, tenant: str) -> str:
        return f"{self.url}/{tenant}/v2.0"

    def _admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        response = httpx.request(
            method,
            f"{self.url}/_admin/{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=10,
        )
        response.raise_for_status()
        return response

    def add_user(
        self,
        login: str | None = None,
        *,
        tenant: str = CONTOSO,
        name: str | None = None,
        oid: str | None = None,
        email: str | None = None,
    ) -> User:
        login = login or f"user-{secrets.token_hex(4)}@contoso.example"
        user = User(
            tenant=tenant,
            oid=oid or str(uuid.uuid4()),
            login=login,
            password=f"pw-{secrets.token_urlsafe(12)}",
            name=name or login.split("@")[0].title(),
            email=email if email is not None else login,
        )
        self.put_user(user)
        return user

    def put_user(self, user: User) -> None:
        body = {
            "tenant": user.tenant,
            "login": user.login,
            "password": user.password,
            "name": user.name,
            "email": user.email,
        }
        self._admin("PUT", f"users/{user.oid}", body)

    def delete_user(self, user: User) -> None:
        self._admin("DELETE", f"users/{user.oid}")

    def register_client(self, client_id: str, secret: str, redirect_uris: list[str]) -> None:
        self._admin(
            "PUT", f"clients/{client_id}", {"client_secret": secret, "redirect_uris": redirect_uris}
        )

    def rotate_keys(self) -> list[str]:
        kids: list[str] = self._admin("POST", "rotate-keys").json()["kids"]
        return kids

    def tamper_next_token(self, mode: str) -> None:
        self._admin("PUT", "tamper", {"mode": mode})

    def stop_tampering(self) -> None:
        self._admin("DELETE", "tamper")

    def requests(self, path: str) -> int:
        """How many requests the provider served for ``path`` (e.g. the JWKS)."""
        counts: dict[str, int] = self._admin("GET", "stats").json()["requests"]
        return counts.get(path, 0)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise IdpUnavailable("Node.js is not installed (./scripts/bootstrap installs it)")
    if not (IDP_DIR / "node_modules" / "oidc-provider").is_dir():
        raise IdpUnavailable("the identity provider's packages are missing: npm ci --prefix idp")
    return node


@contextlib.contextmanager
def running_idp(workdir: Path) -> Iterator[Idp]:
    """``node idp/server.mjs`` with tenants Contoso and Fabrikam; stopped afterwards."""
    admin_token = secrets.token_urlsafe(24)
    config = {
        "adminToken": admin_token,
        "tenants": [{"id": CONTOSO, "name": "Contoso"}, {"id": FABRIKAM, "name": "Fabrikam"}],
    }
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "idp.json"
    config_path.write_text(json.dumps(config))
    config_path.chmod(0o600)
    log_path = workdir / "idp.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [_node(), str(IDP_DIR / "server.mjs"), "--config", str(config_path), "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=log,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=IDP_DIR,
            env={**os.environ, "NODE_ENV": "production"},
        )
        try:
            url = _wait_for_url(process, log_path)
            yield Idp(url, admin_token, process=process)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _wait_for_url(process: subprocess.Popen[str], log_path: Path) -> str:
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=START_TIMEOUT)
            if line is None:
                break
            if line.startswith(PREFIX):
                return line[len(PREFIX) :].strip()
    except queue.Empty:
        pass
    process.kill()
    process.wait()
    raise IdpUnavailable(f"the identity provider did not start:\n{log_path.read_text()[-3000:]}")


# -- a browser, over HTTP ----------------------------------------------------------------------

_FORM = re.compile(r'<form[^>]*method="post"[^>]*action="([^"]*)"', re.IGNORECASE)
_INPUT = re.compile(r"<input\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r'(\w+)="([^"]*)"')


def form_fields(page: str) -> tuple[str, dict[str, str]]:
    """The first POST form of ``page``: its action and its inputs' names and values."""
    found = _FORM.search(page)
    if found is None:
        raise AssertionError(f"no form on the page:\n{page[:2000]}")
    fields: dict[str, str] = {}
    for match in _INPUT.finditer(page):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
        if "name" in attrs:
            fields[attrs["name"]] = attrs.get("value", "")
    return html.unescape(found.group(1)), fields


class Browser:
    """One person's browser: cookies per host, redirects followed hop by hop."""

    def __init__(
        self, zero_url: str, *, timeout: float = 15.0, verify: ssl.SSLContext | bool = True
    ) -> None:
        self.zero_url = zero_url.rstrip("/")
        self.http = httpx.Client(timeout=timeout, follow_redirects=False, verify=verify)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, url: str) -> httpx.Response:
        return self.http.get(self._absolute(url))

    def post(self, url: str, data: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(self._absolute(url), data=data)

    def _absolute(self, url: str) -> str:
        return url if url.startswith("http") else self.zero_url + url

    def start(self, org_id: str) -> str:
        """``GET /sso/start?org=``: the provider's authorization URL it redirects to."""
        response = self.get(f"/sso/start?org={org_id}")
        assert response.status_code == 302, (response.status_code, response.text[:500])
        return response.headers["Location"]

    def authenticate(self, authorize_url: str, user: User) -> str:
        """Sign in at the provider (username page, then password); the redirect back to Zero."""
        response = self.http.get(authorize_url)
        for _ in range(12):
            if response.is_redirect:
                location = str(response.url.join(response.headers["Location"]))
                if location.startswith(self.zero_url):
                    return location
                response = self.http.get(location)
                continue
            assert response.status_code == 200, (response.status_code, response.text[:500])
            action, fields = form_fields(response.text)
            if "login" in fields:
                fields["login"] = user.login
            if "password" in fields:
                fields["password"] = user.password
            response = self.http.post(str(response.url.join(action)), data=fields)
        raise AssertionError(f"never redirected back to Zero; last page:\n{response.text[:2000]}")

    def sign_in(self, org_id: str, user: User) -> httpx.Response:
        """The whole flow; the response to the callback (303 to /me, or an error page)."""
        return self.get(self.authenticate(self.start(org_id), user))

    def me(self) -> httpx.Response:
        return self.get("/v1/me")
