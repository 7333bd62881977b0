"""Keys and certificates for a local control plane, made with the openssl CLI.

A private CA signs the API server's serving certificate (SANs: 127.0.0.1, localhost and
the in-cluster names), so kubeconfigs trust the CA instead of skipping TLS checks. An
RSA key pair signs service-account tokens (TokenRequest works, so tests can act as real
ServiceAccounts).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from zero_scim_dev.cluster.errors import ClusterError

SANS = (
    "IP:127.0.0.1",
    "DNS:localhost",
    "DNS:kubernetes",
    "DNS:kubernetes.default",
    "DNS:kubernetes.default.svc",
    "DNS:kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    sa_key: Path
    sa_pub: Path

    @classmethod
    def in_dir(cls, folder: Path) -> Pki:
        return cls(
            ca_cert=folder / "ca.crt",
            ca_key=folder / "ca.key",
            serving_cert=folder / "apiserver.crt",
            serving_key=folder / "apiserver.key",
            sa_key=folder / "sa.key",
            sa_pub=folder / "sa.pub",
        )

    def complete(self) -> bool:
        return all(p.is_file() for p in vars(self).values())


def _openssl(openssl: Path, *args: str, cwd: Path) -> None:
    result = subprocess.run(
        [str(openssl), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise ClusterError(f"openssl {args[0]} failed: {result.stderr.strip()}")


def ensure_pki(folder: Path, openssl: Path, extra_sans: tuple[str, ...] = ()) -> Pki:
    """Create the CA, serving certificate and SA keys once; reuse them afterwards.

    ``extra_sans`` (``IP:10.96.0.1``, ...) go into the serving certificate, which is made
    again if an earlier one was made for other names.
    """
    pki = Pki.in_dir(folder)
    sans = ",".join((*SANS, *extra_sans))
    stamp = folder / "apiserver.sans"
    if pki.complete() and stamp.is_file() and stamp.read_text() == sans:
        return pki
    if pki.complete() and not extra_sans and not stamp.exists():
        return pki  # made before the stamp existed, for the default names
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    days = "3650"
    if pki.ca_cert.is_file() and pki.ca_key.is_file() and pki.sa_key.is_file():
        _serving_cert(openssl, folder, pki, sans)
        stamp.write_text(sans)
        return pki
    _openssl(
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", pki.ca_key.name, "-out", pki.ca_cert.name, "-days", days,
        "-subj", "/CN=zero-scim-local-ca", cwd=folder,
    )  # fmt: skip
    _serving_cert(openssl, folder, pki, sans)
    _openssl(openssl, "genrsa", "-out", pki.sa_key.name, "2048", cwd=folder)
    _openssl(openssl, "rsa", "-in", pki.sa_key.name, "-pubout", "-out", pki.sa_pub.name, cwd=folder)
    for key in (pki.ca_key, pki.sa_key):
        key.chmod(0o600)
    stamp.write_text(sans)
    return pki


def _signed(
    openssl: Path, folder: Path, pki: Pki, name: str, subject: str, extensions: str
) -> tuple[Path, Path]:
    """A key and a certificate ``<name>.key``/``<name>.crt`` signed by the CA."""
    ext = folder / f"{name}.ext"
    ext.write_text(extensions)
    _openssl(
        openssl, "req", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=folder,
    )  # fmt: skip
    _openssl(
        openssl, "x509", "-req", "-in", f"{name}.csr", "-sha256",
        "-CA", pki.ca_cert.name, "-CAkey", pki.ca_key.name, "-CAcreateserial",
        "-out", f"{name}.crt", "-days", "3650", "-extfile", ext.name, cwd=folder,
    )  # fmt: skip
    (folder / f"{name}.key").chmod(0o600)
    return folder / f"{name}.crt", folder / f"{name}.key"


def _serving_cert(openssl: Path, folder: Path, pki: Pki, sans: str) -> None:
    _signed(
        openssl, folder, pki, "apiserver", "/CN=kube-apiserver",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={sans}\n",
    )  # fmt: skip


def ensure_client_cert(
    folder: Path, openssl: Path, name: str, common_name: str, organization: str
) -> tuple[Path, Path]:
    """A client certificate (``/O=<organization>/CN=<common_name>``) signed by the CA."""
    pki = Pki.in_dir(folder)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    if cert.is_file() and key.is_file():
        return cert, key
    return _signed(
        openssl, folder, pki, name, f"/O={organization}/CN={common_name}",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=clientAuth\n",
    )  # fmt: skip


def ensure_serving_cert(folder: Path, openssl: Path, name: str, sans: str) -> tuple[Path, Path]:
    """A serving certificate ``<name>.crt``/``<name>.key`` for ``sans`` (``IP:…,DNS:…``),
    signed by the CA; made again when the names change."""
    pki = Pki.in_dir(folder)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    stamp = folder / f"{name}.sans"
    if cert.is_file() and key.is_file() and stamp.is_file() and stamp.read_text() == sans:
        return cert, key
    _signed(
        openssl, folder, pki, name, f"/CN={name}",
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={sans}\n",
    )  # fmt: skip
    stamp.write_text(sans)
    return cert, key
