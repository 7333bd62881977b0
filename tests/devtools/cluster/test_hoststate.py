"""The host-state snapshot's pure parts: whose rules are whose, mount paths, differences."""

from __future__ import annotations

from pathlib import Path

from zero_scim_dev.cluster import hoststate


def test_only_kubernetes_and_cni_rules_count_as_the_nodes() -> None:
    assert hoststate._ours("-A INPUT -j KUBE-FIREWALL")
    assert hoststate._ours("-N CNI-abc123")
    assert not hoststate._ours("-A INPUT -p tcp --dport 22 -j ACCEPT")
    assert not hoststate._ours("-N DOCKER-USER")


def test_a_snapshot_round_trips_through_its_file(tmp_path: Path) -> None:
    state = hoststate.HostState(
        sysctls={"net.ipv4.ip_forward": "0"},
        folders={"/var/lib/kubelet": False},
        mounts=["/", "/proc"],
        iptables={"iptables": {"nat": ["-P PREROUTING ACCEPT"]}},
        nft_tables=[],
        cgroups=[],
        links=["eth0", "lo"],
    )
    path = tmp_path / "host-state.json"
    state.save(path)
    assert hoststate.HostState.load(path) == state


def test_mount_points_decode_octal_escapes() -> None:
    points = hoststate.mount_points()
    assert "/" in points and "/proc" in points
    assert all("\\040" not in p for p in points)
