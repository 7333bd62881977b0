"""The image, as far as it can be checked without a Docker engine: the Dockerfile's
structure, its build context, and the wheel it installs (built and imported here).

Not run here: `docker build` itself (no engine on this machine). What the build does
with the wheel — install it into a fresh venv and import every component — is done by
test_the_wheel_installs_and_imports_every_component, the same way.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.charts.helm import CHART, REPO, one, render, validate

CONTEXT = [
    "pyproject.toml", "setup.py", "README.md", "zero_scim", "api", "operator", "accounts", "crds"
]  # fmt: skip


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    args: str


def instructions(path: Path = REPO / "Dockerfile") -> list[Instruction]:
    """Instructions by stage (continuation lines joined, comments dropped)."""
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    result: list[Instruction] = []
    stage = -1
    for line in lines:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        result.append(Instruction(stage, keyword.upper(), args.strip()))
    return result


def final_stage() -> list[Instruction]:
    found = instructions()
    last = max(i.stage for i in found)
    return [i for i in found if i.stage == last]


def test_two_stages_on_a_slim_python_311() -> None:
    found = instructions()
    args = {i.args.split("=", 1)[0]: i.args.split("=", 1)[1] for i in found if i.keyword == "ARG"}
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", args["PYTHON_IMAGE"])
    stages = [i.args for i in found if i.keyword == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS builder", "${PYTHON_IMAGE} AS runtime"]
    builder = " ".join(i.args for i in found if i.stage == 0 and i.keyword == "RUN")
    assert "pip wheel --wheel-dir /wheels ." in builder


def test_the_runtime_stage_runs_zero_scim_as_a_non_root_user() -> None:
    final = final_stage()
    keywords = {i.keyword: i.args for i in final}
    assert keywords["USER"] == "10001:10001"
    assert keywords["ENTRYPOINT"] == '["zero-scim"]'
    assert keywords["CMD"] == '["api"]'
    assert keywords["EXPOSE"] == "8080"
    env = " ".join(i.args for i in final if i.keyword == "ENV")
    assert "ZERO_SCIM_CRDS_DIR=/opt/zero-scim/crds" in env
    copies = [i.args for i in final if i.keyword == "COPY"]
    assert "crds/ /opt/zero-scim/crds/" in copies
    # The last instructions run as that user: nothing after USER but metadata.
    after_user = [i.keyword for i in final[[i.keyword for i in final].index("USER") :]]
    assert set(after_user) <= {"USER", "WORKDIR", "EXPOSE", "ENTRYPOINT", "CMD", "LABEL"}


def test_the_runtime_stage_has_no_build_tools() -> None:
    runs = " ".join(i.args for i in final_stage() if i.keyword == "RUN")
    for tool in ("apt-get", "apk", "gcc", "build-essential", "make ", "git "):
        assert tool not in runs
    assert "--no-index --find-links=/wheels" in runs  # nothing fetched in the final stage
    assert "pip uninstall --yes pip setuptools" in runs


def test_the_chart_runs_pods_as_the_image_user() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    user = next(i.args for i in final_stage() if i.keyword == "USER")
    uid, gid = (int(x) for x in user.split(":"))
    assert values["podSecurityContext"]["runAsUser"] == uid
    assert values["podSecurityContext"]["runAsGroup"] == gid


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics for the patterns used here (last match wins, ! re-includes)."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        candidates = {path, path.split("/", 1)[0]}
        if any(
            fnmatch.fnmatch(c, pattern) or fnmatch.fnmatch(c, pattern.removeprefix("**/"))
            for c in candidates
        ):
            ignored = not negate
    return ignored


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources: list[str] = []
    for instruction in instructions():
        if instruction.keyword != "COPY" or "--from=" in instruction.args:
            continue
        sources += instruction.args.split()[:-1]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert not _ignored(source.rstrip("/"), patterns), source
    assert set(CONTEXT) <= {s.rstrip("/").removesuffix("/") for s in sources}
    for unwanted in (".venv", ".git", "tests", "build", "charts", "accounts.sqlite3"):
        assert _ignored(unwanted, patterns), unwanted
    assert _ignored("api/__pycache__", patterns)


@pytest.mark.slow
def test_the_wheel_installs_and_imports_every_component(tmp_path: Path) -> None:
    """What the builder and the runtime stage do, minus Docker: build the wheel from the
    build context, install it into a fresh venv, import api, operator and accounts."""
    context = tmp_path / "context"
    context.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in CONTEXT:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, context / name, ignore=ignore)
        else:
            shutil.copy2(source, context / name)
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), "."],
        cwd=context,
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("zero_scim-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    for module in ("api/app.py", "operator/runner.py", "accounts/server.py", "scim/filter.py"):
        assert f"zero_scim/{module}" in names, module
    for crd in (REPO / "crds").glob("*.yaml"):
        assert f"zero_scim/crd_files/{crd.name}" in names, crd.name
    assert not any(n.startswith(("api/", "operator/", "accounts/", "tests/")) for n in names)
    assert not any(n.startswith("operator") for n in names)  # never shadows the stdlib

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([*pip, "--python", str(python), "install", "--no-deps", str(wheel)], check=True)
    # The dependencies come from the project's venv, appended after the fresh site-packages
    # (the project's own editable zero_scim is not a folder there and stays invisible).
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KUBECONFIG")}
    check = (
        "import zero_scim, zero_scim.api.app, zero_scim.operator.runner, "
        "zero_scim.accounts.server; print(zero_scim.__file__)"
    )
    run = subprocess.run(
        [str(python), "-c", check], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().startswith(site), run.stdout  # the wheel's copy, not the checkout
    command = venv / "bin" / "zero-scim"
    usage = subprocess.run(
        [str(command), "--help"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert usage.returncode == 0 and "operator" in usage.stdout, usage.stderr
    # The wheel carries the CRDs (zero_scim.crd_files): no environment variable needed.
    env.pop("ZERO_SCIM_CRDS_DIR", None)
    crds = subprocess.run(
        [str(command), "crds", "print"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert crds.returncode == 0, crds.stderr
    assert len(list(yaml.safe_load_all(crds.stdout))) == 4


# -- skaffold.yaml -------------------------------------------------------------------------

#: Fields of a Helm release in Skaffold's v4beta14 schema (HelmRelease, additionalProperties
#: false there): a misspelt key fails `skaffold` at load time, so it fails here first.
HELM_RELEASE_FIELDS = {
    "name", "chartPath", "remoteChart", "valuesFiles", "namespace", "version", "setValues",
    "setValueTemplates", "setFiles", "createNamespace", "wait", "recreatePods",
    "skipBuildDependencies", "skipTests", "useHelmSecrets", "repo", "upgradeOnChange",
    "overrides", "packaged", "dependsOn",
}  # fmt: skip


def _set_path(values: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for key in parents:
        values = values.setdefault(key, {})
    values[leaf] = value


def test_skaffold_builds_the_image_and_deploys_the_chart_with_it() -> None:
    config = yaml.safe_load((REPO / "skaffold.yaml").read_text())
    assert config["apiVersion"] == "skaffold/v4beta14"
    assert config["kind"] == "Config"
    (artifact,) = config["build"]["artifacts"]
    assert (REPO / artifact["context"] / artifact["docker"]["dockerfile"]).is_file()
    assert config["build"]["local"]["useBuildkit"] is True  # RUN --mount in the Dockerfile
    (release,) = config["deploy"]["helm"]["releases"]
    assert set(release) <= HELM_RELEASE_FIELDS
    assert (REPO / release["chartPath"] / "Chart.yaml").is_file()
    suffix = re.sub(r"[^A-Za-z0-9]", "_", artifact["image"])
    templates = release["setValueTemplates"]
    assert templates["image.repository"] == f"{{{{.IMAGE_REPO_{suffix}}}}}"
    assert templates["image.tag"].startswith(f"{{{{.IMAGE_TAG_{suffix}}}}}")
    # The chart accepts what Skaffold sets (its schema rejects unknown keys).
    values: dict[str, Any] = {}
    for key in templates:
        _set_path(values, key, "registry.example.com/zero-scim")
    (kind,) = [p for p in config["profiles"] if p["name"] == "kind"]
    assert kind["activation"] == [{"kubeContext": "kind-.*"}]
    assert kind["build"]["local"]["push"] is False
    for patch in kind["patches"]:
        assert patch["path"].startswith("/deploy/helm/releases/0/")
        for key, value in patch["value"].items():
            _set_path(values, key, value)
    validate(values)
    # The port-forward names the chart's Service for this release name.
    objects = render(values, name=release["name"], namespace=release["namespace"])
    (forward,) = config["portForward"]
    service = one(objects, "Service", "-api")
    assert forward["resourceName"] == service["metadata"]["name"] == "zero-scim-api"
    assert forward["port"] == service["spec"]["ports"][0]["port"]
