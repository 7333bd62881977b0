"""Package layout: one import root, ``zero_scim``, with top-level folders mapped into it.

``api/``, ``operator/`` and ``accounts/`` live at the top of the repository (where people
look for them) but are installed as ``zero_scim.api``, ``zero_scim.operator`` and
``zero_scim.accounts``. They deliberately have no ``__init__.py``: a top-level
``operator`` package would shadow the standard library module of the same name.
Metadata lives in pyproject.toml; this file only computes the package mapping.
"""

from setuptools import find_namespace_packages, find_packages, setup

MAPPED = {
    "zero_scim.api": "api",
    "zero_scim.operator": "operator",
    "zero_scim.accounts": "accounts",
}
#: Data folders shipped inside the package: the CRDs, so that an installed
#: `zero-scim crds apply` (and `zero-scim dev`) has them.
DATA = {"zero_scim.crd_files": "crds"}


def _packages() -> list[str]:
    packages = find_packages(include=["zero_scim", "zero_scim.*"])
    for package, folder in MAPPED.items():
        packages.append(package)
        packages += [
            f"{package}.{sub}"
            for sub in find_namespace_packages(where=folder, exclude=["*__pycache__*"])
        ]
    return [*packages, *DATA]


setup(
    packages=_packages(),
    package_dir={"zero_scim": "zero_scim", **MAPPED, **DATA},
    package_data={
        "zero_scim": ["py.typed", "devcluster/*.sh"],
        **{name: ["*.yaml"] for name in DATA},
    },
)
