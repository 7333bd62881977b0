"""Where the API server is and who we are to it: the one loader for API, operator and tools.

Sources, the first that applies wins:

1. an explicit kubeconfig file (``--kubeconfig``), optionally a context in it;
2. in-cluster: ``$KUBERNETES_SERVICE_HOST``/``_PORT`` and the Pod's service-account
   token, CA and namespace under ``/var/run/secrets/kubernetes.io/serviceaccount``;
3. ``$KUBECONFIG`` as it is when loading (several files separated by ``:`` are merged,
   as kubectl does), else ``~/.kube/config``.

Reading kubeconfig files (merging, contexts, certificate data written to private temp
files, exec plugins, auth providers) is kubernetes_asyncio's loader: this module is the
only one that imports kubernetes_asyncio, and only for that. What comes out is a plain
:class:`KubeConfig`, whose :class:`Credentials` say, per request, what goes into the
``Authorization`` header:

=========================  =============================================================
kubeconfig user            credentials
=========================  =============================================================
``token``                  that token
``tokenFile``, in-cluster  :class:`TokenFile`: re-read when the file changes (projected
                           service-account tokens rotate: the kubelet swaps the file)
``exec`` plugin            :class:`ExecPlugin`: run again when its token expires
``username``/``password``  HTTP Basic
client certificate/key     none: presented in the TLS handshake (see :meth:`ssl_context`)
=========================  =============================================================

The operator hands the same :class:`KubeConfig` to Kopf (its ``@kopf.on.login``), so
both always authenticate alike.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kubernetes_asyncio.config.kube_config import KubeConfigMerger

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = "~/.kube/config"
#: How often a token file is checked for a change (one ``stat``), at most.
TOKEN_FILE_CHECK_INTERVAL = 1.0
#: An exec plugin's token is renewed this long before it expires.
EXEC_RENEW_BEFORE = timedelta(seconds=30)


class ConfigError(Exception):
    """No usable configuration (the message says which source failed and why)."""


@dataclass(frozen=True, slots=True)
class Authorization:
    """One value of the ``Authorization`` header, and when it stops working (if known)."""

    scheme: str  # "Bearer" or "Basic"
    credentials: str
    expires_at: datetime | None = None

    @property
    def header(self) -> str:
        return f"{self.scheme} {self.credentials}"


class Credentials(Protocol):
    """What authenticates each request (beyond a client certificate)."""

    async def authorization(self, *, refresh: bool = False) -> Authorization | None:
        """The header value to send now; ``refresh``: re-read/renew even if not due
        (after the server answered 401, or for a new login)."""
        ...


class NoCredentials:
    """Client certificates only (or an unauthenticated server)."""

    async def authorization(self, *, refresh: bool = False) -> Authorization | None:
        return None


@dataclass(frozen=True, slots=True)
class StaticCredentials:
    """A token or user/password written into the kubeconfig."""

    value: Authorization

    async def authorization(self, *, refresh: bool = False) -> Authorization | None:
        return self.value


class TokenFile:
    """A bearer token read from a file, re-read whenever the file changes.

    At most one ``stat`` per ``check_interval`` seconds; the file is read only when its
    identity (inode, mtime, size) changed. A file that is briefly missing or empty (the
    kubelet swapping a projected volume) keeps the previous token.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        check_interval: float = TOKEN_FILE_CHECK_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._interval = check_interval
        self._clock = clock
        self._next_check = 0.0
        self._identity: tuple[int, int, int] | None = None
        self._current: Authorization | None = None
        if not self._reload(force=True):
            raise ConfigError(f"token file {self.path} is missing or empty")

    def _reload(self, *, force: bool) -> bool:
        try:
            stat = self.path.stat()
            identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if not force and identity == self._identity:
                return True
            token = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return False
        if not token:
            return False
        self._identity = identity
        self._current = Authorization("Bearer", token, jwt_expiry(token))
        return True

    async def authorization(self, *, refresh: bool = False) -> Authorization | None:
        now = self._clock()
        if refresh or now >= self._next_check:
            self._next_check = now + self._interval
            self._reload(force=refresh)
        return self._current


class ExecPlugin:
    """A kubeconfig ``exec`` credential plugin: its token, renewed before it expires."""

    def __init__(
        self,
        run: Callable[[], Awaitable[Authorization]],
        current: Authorization | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._run = run
        self._current = current
        self._now = now
        self._lock = asyncio.Lock()

    def _due(self) -> bool:
        current = self._current
        if current is None:
            return True
        return current.expires_at is not None and self._now() >= (
            current.expires_at - EXEC_RENEW_BEFORE
        )

    async def authorization(self, *, refresh: bool = False) -> Authorization | None:
        if not refresh and not self._due():
            return self._current
        before = self._current
        async with self._lock:
            if self._current is before:  # nobody renewed it while we waited
                self._current = await self._run()
        return self._current


@dataclass(frozen=True)
class KubeConfig:
    """An API server and how to authenticate to it."""

    server: str
    credentials: Credentials
    ca_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    insecure: bool = False
    #: The context's namespace (in-cluster: the Pod's); where cluster-scoped objects'
    #: Events go.
    namespace: str | None = None
    #: Where this came from, for logs: "in-cluster" or "kubeconfig <path> (context <c>)".
    origin: str = ""

    def ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if self.client_cert_file:
            context.load_cert_chain(self.client_cert_file, keyfile=self.client_key_file)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


# -- loading -------------------------------------------------------------------------------


async def load_config(
    kubeconfig: str | os.PathLike[str] | None = None,
    *,
    context: str | None = None,
    environ: Mapping[str, str] = os.environ,
) -> KubeConfig:
    """The configuration to use (sources and their order: the module docstring)."""
    if kubeconfig is not None:
        return await load_kubeconfig(os.fspath(kubeconfig), context=context)
    if environ.get("KUBERNETES_SERVICE_HOST"):
        try:
            return load_incluster(environ)
        except ConfigError as incluster:
            if not environ.get("KUBECONFIG"):
                raise
            try:
                return await load_kubeconfig(environ["KUBECONFIG"], context=context)
            except ConfigError as exc:
                raise ConfigError(f"in-cluster: {incluster}; {exc}") from exc
    return await load_kubeconfig(environ.get("KUBECONFIG") or DEFAULT_KUBECONFIG, context=context)


def load_incluster(
    environ: Mapping[str, str] = os.environ,
    *,
    directory: Path = SERVICE_ACCOUNT_DIR,
    check_interval: float = TOKEN_FILE_CHECK_INTERVAL,
) -> KubeConfig:
    """The Pod's service account: the API server's Service, the projected token and CA."""
    host = environ.get("KUBERNETES_SERVICE_HOST", "")
    port = environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise ConfigError("in-cluster: KUBERNETES_SERVICE_HOST/_PORT are not set")
    ca = directory / "ca.crt"
    if not ca.is_file():
        raise ConfigError(f"in-cluster: no CA certificate at {ca}")
    token = TokenFile(directory / "token", check_interval=check_interval)
    namespace_file = directory / "namespace"
    try:
        namespace: str | None = namespace_file.read_text(encoding="utf-8").strip() or None
    except OSError:
        namespace = None
    host = f"[{host}]" if ":" in host else host
    return KubeConfig(
        server=f"https://{host}:{port}",
        credentials=token,
        ca_file=str(ca),
        namespace=namespace,
        origin="in-cluster",
    )


async def load_kubeconfig(
    paths: str,
    *,
    context: str | None = None,
    check_interval: float = TOKEN_FILE_CHECK_INTERVAL,
) -> KubeConfig:
    """A kubeconfig file (or several, ``:``-separated, merged) and one of its contexts."""
    # kubernetes_asyncio is imported here only: nothing else in zero-scim uses it.
    from kubernetes_asyncio.client import Configuration
    from kubernetes_asyncio.config.exec_provider import ExecProvider
    from kubernetes_asyncio.config.kube_config import KubeConfigLoader

    where = f"kubeconfig {paths}"
    try:
        merger = _read_kubeconfig(paths)
        if merger.config is None:
            raise ConfigError(f"{where}: no such file")
        loader = KubeConfigLoader(
            config_dict=merger.config, active_context=context, config_base_path=None
        )
        configuration = Configuration()
        await loader.load_and_set(configuration)
        current = loader.current_context or {}
        context_name = str(current.get("name", ""))
        context_spec = current.get("context") or {}
        user_name = context_spec.get("user")
        user = None
        if user_name and merger.config.safe_get("users"):
            entry = merger.config["users"].get_with_name(user_name, safe=True)
            user = entry["user"] if entry is not None and "user" in entry else None
    except ConfigError:
        raise
    except Exception as exc:  # the library raises ConfigException, KeyError, AssertionError
        raise ConfigError(f"{where}: {type(exc).__name__}: {exc}") from exc

    where = f"{where} (context {context_name})" if context_name else where
    header = configuration.api_key.get("BearerToken")
    static = _authorization(str(header)) if header else None
    credentials: Credentials
    if user is not None and "exec" in user:
        exec_config = user["exec"]

        async def run_plugin() -> Authorization:
            status = await ExecProvider(exec_config).run()
            token = status.get("token") if isinstance(status, dict) else None
            if not isinstance(token, str) or not token:
                raise ConfigError(f"{where}: the exec plugin returned no token")
            return Authorization("Bearer", token, _rfc3339(status.get("expirationTimestamp")))

        expiry = getattr(loader, "exec_plugin_expiry", None)
        if static is not None and isinstance(expiry, datetime):
            static = Authorization(static.scheme, static.credentials, _aware(expiry))
        credentials = ExecPlugin(run_plugin, static)
    elif user is not None and "tokenFile" in user:  # kubectl: it wins over ``token``
        base = Path(user.path).parent if getattr(user, "path", None) else Path()
        credentials = TokenFile(base / str(user["tokenFile"]), check_interval=check_interval)
    elif static is not None:
        credentials = StaticCredentials(static)
    else:
        credentials = NoCredentials()
    namespace = context_spec.get("namespace")
    return KubeConfig(
        server=str(configuration.host).rstrip("/"),
        credentials=credentials,
        ca_file=_optional(configuration.ssl_ca_cert),
        client_cert_file=_optional(configuration.cert_file),
        client_key_file=_optional(configuration.key_file),
        insecure=not configuration.verify_ssl,
        namespace=str(namespace) if namespace else None,
        origin=where,
    )


# -- helpers -------------------------------------------------------------------------------


def _read_kubeconfig(paths: str) -> KubeConfigMerger:
    """The kubeconfig files (``:``-separated, ``~`` expanded), merged as kubectl does."""
    from kubernetes_asyncio.config.kube_config import KubeConfigMerger

    return KubeConfigMerger(os.pathsep.join(os.path.expanduser(p) for p in paths.split(os.pathsep)))


def _optional(value: object) -> str | None:
    return str(value) if value else None


def _authorization(header: str) -> Authorization:
    scheme, _, value = header.partition(" ")
    return Authorization(scheme, value) if value else Authorization("Bearer", scheme)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _rfc3339(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT (service-account tokens are JWTs), unverified; None if
    the token is not a JWT or has no expiry."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return None
    return datetime.fromtimestamp(exp, UTC)
