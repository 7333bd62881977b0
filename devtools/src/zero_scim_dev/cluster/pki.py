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


def ensure_pki(folder: Path, openssl: Path) -> Pki:
    """Create the CA, serving certificate and SA keys once; reuse them afterwards."""
    pki = Pki.in_dir(folder)
    if pki.complete():
        return pki
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    days = "3650"
    _openssl(
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", pki.ca_key.name, "-out", pki.ca_cert.name, "-days", days,
        "-subj", "/CN=zero-scim-local-ca", cwd=folder,
    )  # fmt: skip
    ext = folder / "apiserver.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        f"subjectAltName={','.join(SANS)}\n"
    )
    _openssl(
        openssl, "req", "-newkey", "rsa:2048", "-nodes", "-sha256",
        "-keyout", pki.serving_key.name, "-out", "apiserver.csr",
        "-subj", "/CN=kube-apiserver", cwd=folder,
    )  # fmt: skip
    _openssl(
        openssl, "x509", "-req", "-in", "apiserver.csr", "-sha256",
        "-CA", pki.ca_cert.name, "-CAkey", pki.ca_key.name, "-CAcreateserial",
        "-out", pki.serving_cert.name, "-days", days, "-extfile", ext.name, cwd=folder,
    )  # fmt: skip
    _openssl(openssl, "genrsa", "-out", pki.sa_key.name, "2048", cwd=folder)
    _openssl(openssl, "rsa", "-in", pki.sa_key.name, "-pubout", "-out", pki.sa_pub.name, cwd=folder)
    for key in (pki.ca_key, pki.serving_key, pki.sa_key):
        key.chmod(0o600)
    return pki
