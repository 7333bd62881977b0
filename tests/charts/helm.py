"""The chart under test, rendered and linted by a real Helm engine.

Helm is ``helm-python-sdk`` (PyPI): Helm v4's Go SDK compiled into a shared library and
bound with ctypes, so no ``helm`` binary and no Go toolchain are needed. Its public
``Chart.render`` cannot set the capabilities (``--kube-version``, ``--api-versions``);
the library's render call accepts both, so :func:`render` passes them through the
package's own call wrapper (``helm_python._native``). Everything that talks to a cluster
uses the public ``helm_python.Config``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import helm_python
import yaml
from helm_python import _native

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "zero-scim"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))

#: Kubernetes versions the chart must render for: the local control plane, and current.
KUBE_OLD = "v1.20.2"
KUBE_NEW = "v1.32.0"

helm_python.disable_logging()  # e.g. "found symbolic link in path" (files/crds)

Manifest = dict[str, Any]


def ci_values(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text()) or {}
    assert isinstance(loaded, dict)
    return loaded


@functools.cache
def _chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART)


def render_files(
    values: dict[str, Any] | None = None,
    *,
    name: str = "zs",
    namespace: str = "zero-scim",
    kube_version: str = KUBE_NEW,
    api_versions: tuple[str, ...] = (),
) -> dict[str, str]:
    """``helm template``: template path -> rendered text (NOTES.txt included)."""
    options = {
        "name": name,
        "namespace": namespace,
        "is_install": True,
        "kube_version": kube_version,
        "api_versions": list(api_versions),
    }
    rendered = _native.call_string(
        "helm_render",
        _chart()._raw(),
        json.dumps(values or {}),
        json.dumps(options),
    )
    files: dict[str, str] = json.loads(rendered)
    return files


def render(values: dict[str, Any] | None = None, **options: Any) -> list[Manifest]:
    """The rendered objects (hooks included), in template order."""
    objects: list[Manifest] = []
    for path, text in sorted(render_files(values, **options).items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(parse(text))
    return objects


def parse(text: str) -> list[Manifest]:
    # libyaml's loader: pure-Python PyYAML spends ~0.2 s per render on the CRDs alone.
    return [doc for doc in yaml.load_all(text, Loader=yaml.CSafeLoader) if doc]


def notes(values: dict[str, Any] | None = None, **options: Any) -> str:
    files = render_files(values, **options)
    return next(text for path, text in files.items() if path.endswith("NOTES.txt"))


def lint(values: dict[str, Any] | None = None, *, kube_version: str = KUBE_NEW) -> dict[str, Any]:
    return helm_python.lint(CHART, values, strict=True, kube_version=kube_version)


def validate(values: dict[str, Any]) -> None:
    """The chart's values.schema.json on ``values`` (raises HelmValuesError)."""
    _chart().validate_schema(values)


def find(objects: list[Manifest], kind: str, name_suffix: str = "") -> list[Manifest]:
    return [
        o for o in objects if o["kind"] == kind and str(o["metadata"]["name"]).endswith(name_suffix)
    ]


def one(objects: list[Manifest], kind: str, name_suffix: str = "") -> Manifest:
    found = find(objects, kind, name_suffix)
    assert len(found) == 1, f"{kind} *{name_suffix}: {[o['metadata']['name'] for o in found]}"
    return found[0]


def pod_specs(objects: list[Manifest]) -> Iterator[tuple[str, Manifest]]:
    """(object name, Pod spec) of every Deployment and bare Pod."""
    for o in objects:
        if o["kind"] == "Deployment":
            yield o["metadata"]["name"], o["spec"]["template"]["spec"]
        elif o["kind"] == "Pod":
            yield o["metadata"]["name"], o["spec"]


@contextmanager
def helm_config(kubeconfig: Path, namespace: str) -> Iterator[helm_python.Config]:
    with helm_python.Config(kubeconfig_path=kubeconfig, namespace=namespace) as config:
        yield config
