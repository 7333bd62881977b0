"""The layering contracts hold, and the checker does find a broken one."""

from __future__ import annotations

from zero_scim import layers


def test_the_code_base_keeps_every_contract() -> None:
    assert layers.check() == []


def test_a_transitive_import_into_a_forbidden_module_is_found() -> None:
    graph = {
        "zero_scim.scim.patch": {"zero_scim.scim.helpers"},
        "zero_scim.scim.helpers": {"zero_scim.k8s.names"},
        "zero_scim.k8s.names": {"hashlib"},
    }
    contract = layers.CONTRACTS[0]
    assert layers._find(graph, "zero_scim.scim.patch", contract) == [
        "zero_scim.scim.patch",
        "zero_scim.scim.helpers",
        "zero_scim.k8s.names",
    ]


def test_every_source_file_is_seen_under_its_installed_name() -> None:
    modules = dict(layers._modules())
    assert "zero_scim.operator.runner" in modules
    assert "zero_scim.api.storage.index" in modules
    assert "zero_scim.accounts.server" in modules
    assert "zero_scim.scim.patch" in modules
