"""The images: the real ones built here with podman (user, entrypoint, commands, no pip,
no compiler, read-only root), plus cheap checks of the recipe (stages, build context) and
of the wheels the images install.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
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

#: What the Dockerfile copies: the workspace members that ship (never devtools/ or tests/).
CONTEXT = ["core", "api", "operator", "accounts"]
#: Distributions per image: the production image and the demo image (+ Zero's stand-in).
PRODUCTION = ("zero-scim", "zero-scim-api", "zero-scim-operator")
DEMO = (*PRODUCTION, "zero-scim-accounts")
FINAL_STAGES = ("base", "demo", "runtime")


@dataclass(frozen=True)
class Instruction:
    stage: str
    keyword: str
    args: str


def instructions(path: Path = REPO / "Dockerfile") -> list[Instruction]:
    """Instructions with the name of their stage (continuation lines joined, comments dropped)."""
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
    stage = ""
    for line in lines:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stage = args.split()[-1]
        result.append(Instruction(stage, keyword.upper(), args.strip()))
    return result


def stage(name: str) -> list[Instruction]:
    return [i for i in instructions() if i.stage == name]


def test_stages_on_a_slim_python_311_production_last() -> None:
    found = instructions()
    args = {i.args.split("=", 1)[0]: i.args.split("=", 1)[1] for i in found if i.keyword == "ARG"}
    assert re.fullmatch(r"python:3\.11-slim(-\w+)?", args["PYTHON_IMAGE"])
    stages = [i.args for i in found if i.keyword == "FROM"]
    assert stages == [
        "${PYTHON_IMAGE} AS builder",
        "builder AS venv-runtime",
        "builder AS venv-demo",
        "${PYTHON_IMAGE} AS base",
        "base AS demo",
        "base AS runtime",  # the last stage: what a plain `docker build` produces
    ]
    builder = " ".join(i.args for i in stage("builder") if i.keyword == "RUN")
    assert "pip wheel --wheel-dir /wheels ./core ./api ./operator ./accounts" in builder


def test_the_final_stages_install_offline_from_the_builders_wheels() -> None:
    installs = {
        name: " ".join(i.args for i in stage(name) if i.keyword == "RUN")
        for name in ("venv-runtime", "venv-demo")
    }
    assert "--no-index" in installs["venv-runtime"] and "--no-index" in installs["venv-demo"]
    for name in FINAL_STAGES:
        runs = " ".join(i.args for i in stage(name) if i.keyword == "RUN")
        for tool in ("apt-get", "apk", "pip install", "pip wheel"):
            assert tool not in runs, (name, tool)


# -- the real images, built here with podman ----------------------------------------------


@pytest.fixture(scope="module")
def images() -> dict[str, str]:
    """Both targets, built (cached) the way `zero-scim image build` does: target -> ref."""
    from zero_scim_dev.image.build import build_images

    return {b.target: b.reference for b in build_images(lambda _: None)}


def podman(*args: str) -> subprocess.CompletedProcess[str]:
    from zero_scim_dev.image.engine import Podman

    engine = Podman.create()
    result = subprocess.run(
        engine.command(*args), env=engine.env(), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (args, result.stderr)
    return result


def in_image(image: str, script: str) -> str:
    """Python in the image as its own user, with a read-only root and a /tmp tmpfs (as the
    chart runs it)."""
    run = podman(
        "run", "--rm", "--read-only", "--tmpfs", "/tmp", "--entrypoint", "python",
        image, "-c", script,
    )  # fmt: skip
    return run.stdout.strip()


WHO = "import os, pwd; print(os.getuid(), os.getgid(), pwd.getpwuid(os.getuid()).pw_name)"
INVENTORY = """
import importlib.util, json, pathlib, shutil, subprocess, sys
mods = ['pip', 'setuptools', 'wheel', 'zero_scim_dev', 'tests', 'pytest']
tools = ['pip', 'pip3', 'gcc', 'cc', 'c++', 'make', 'git']
ensurepip = subprocess.run([sys.executable, '-m', 'ensurepip', '--root', '/tmp/e'],
                           capture_output=True).returncode
print(json.dumps({
    'modules': [m for m in mods if importlib.util.find_spec(m)],
    'tools': [t for t in tools if shutil.which(t)],
    'ensurepip': ensurepip,
    'wheels': [str(p) for p in pathlib.Path('/usr').rglob('*.whl')],
    'src': pathlib.Path('/src').exists(),
    'python': sys.version.split()[0],
}))
"""


@pytest.mark.image
def test_the_images_run_zero_scim_as_a_non_root_user(images: dict[str, str]) -> None:
    for target, image in images.items():
        config = json.loads(podman("image", "inspect", image).stdout)[0]["Config"]
        assert config["User"] == "10001:10001", target
        assert config["Entrypoint"] == ["zero-scim"] and config["Cmd"] == ["api"], target
        assert "8080/tcp" in config.get("ExposedPorts", {}), target
        assert in_image(image, WHO) == "10001 10001 zero-scim", target


@pytest.mark.image
def test_each_image_has_exactly_its_commands(images: dict[str, str]) -> None:
    expected = {"runtime": {"api", "operator"}, "demo": {"api", "operator", "accounts"}}
    for target, image in images.items():
        usage = podman("run", "--rm", "--read-only", image, "--help").stdout
        listed = set(re.findall(r"^    (\w+)", usage, re.MULTILINE))
        assert listed == expected[target], (target, usage)
        # Each command loads its module and parses its options inside the image.
        for command in sorted(expected[target]):
            podman("run", "--rm", "--read-only", image, command, "--help")


@pytest.mark.image
def test_the_images_have_no_pip_no_compiler_no_sources_no_dev_tooling(
    images: dict[str, str],
) -> None:
    for target, image in images.items():
        found = json.loads(in_image(image, INVENTORY).splitlines()[-1])
        assert found["modules"] == [] and found["tools"] == [], (target, found)
        assert found["ensurepip"] != 0 and found["wheels"] == [], (target, found)
        assert found["src"] is False, (target, found)
        assert found["python"].startswith("3.11."), (target, found)


def test_the_chart_runs_pods_as_the_image_user() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    user = stage("runtime")[-1].args
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
    assert set(CONTEXT) == {s.rstrip("/") for s in sources}
    for unwanted in (".venv", ".git", "tests", "devtools", "build", "charts", "accounts.sqlite3"):
        assert _ignored(unwanted, patterns), unwanted
    assert _ignored("api/src/zero_scim_api/__pycache__", patterns)


def _wheels(tmp_path: Path) -> dict[str, Path]:
    """Every workspace member built into a wheel (as the builder stage does), by name."""
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    members = [str(REPO / m) for m in (*CONTEXT, "devtools")]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), *members],
        check=True,
        timeout=300,
    )
    found = {}
    for wheel in wheels.glob("*.whl"):
        found[wheel.name.split("-")[0].replace("_", "-")] = wheel
    return found


def _install(tmp_path: Path, name: str, wheels: list[Path]) -> tuple[Path, dict[str, str]]:
    """A fresh venv with ``wheels`` only; their dependencies come from the project's venv,
    appended after the fresh site-packages (the editable checkout stays invisible)."""
    venv = tmp_path / name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "--python", str(python), "install", "--no-deps", *map(str, wheels)], check=True
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Everything of the project's venv but zero-scim's own (editable) distributions.
    deps = tmp_path / f"{name}-deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if entry.suffix == ".pth" or entry.name.startswith(("__editable__", "zero_scim")):
            continue
        (deps / entry.name).symlink_to(entry)
    (Path(site) / "deps.pth").write_text(f"{deps}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KUBECONFIG")}
    return venv, env


@pytest.mark.slow
def test_the_wheels_hold_only_their_package_and_the_images_only_what_they_run(
    tmp_path: Path,
) -> None:
    wheels = _wheels(tmp_path)
    assert set(wheels) == {*DEMO, "zero-scim-dev"}
    roots = {
        "zero-scim": "zero_scim/",
        "zero-scim-api": "zero_scim_api/",
        "zero-scim-operator": "zero_scim_operator/",
        "zero-scim-accounts": "zero_scim_accounts/",
        "zero-scim-dev": "zero_scim_dev/",
    }
    for name, wheel in wheels.items():
        with zipfile.ZipFile(wheel) as archive:
            code = [n for n in archive.namelist() if ".dist-info/" not in n]
        assert code and all(n.startswith(roots[name]) for n in code), (name, code[:5])
    with zipfile.ZipFile(wheels["zero-scim-dev"]) as archive:
        names = set(archive.namelist())
    for crd in (REPO / "crds").glob("*.yaml"):
        assert f"zero_scim_dev/crd_files/{crd.name}" in names, crd.name

    venv, env = _install(tmp_path, "production", [wheels[n] for n in PRODUCTION])
    check = (
        "import zero_scim, zero_scim_api.app, zero_scim_operator.runner; print(zero_scim.__file__)"
    )
    imported = _run(venv / "bin" / "python", env, tmp_path, "-c", check)
    assert imported.stdout.strip().startswith(str(venv)), imported.stdout  # the wheel's copy
    assert _commands(_run(venv / "bin" / "zero-scim", env, tmp_path, "--help")) == {
        "api",
        "operator",
    }

    venv, env = _install(tmp_path, "demo", [wheels[n] for n in DEMO])
    assert _commands(_run(venv / "bin" / "zero-scim", env, tmp_path, "--help")) == {
        "api",
        "operator",
        "accounts",
    }


def _run(
    program: Path, env: dict[str, str], cwd: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    """``program args`` in ``cwd``; it must succeed."""
    run = subprocess.run([str(program), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run


def _commands(usage: subprocess.CompletedProcess[str]) -> set[str]:
    """The subcommands ``zero-scim --help`` lists."""
    return set(re.findall(r"^    (\w+)", usage.stdout, re.MULTILINE))


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
