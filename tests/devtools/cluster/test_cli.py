"""``zero-scim cluster``'s options before or after the action mean the same."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from zero_scim_dev.cluster.cli import add_arguments


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.parametrize("action", ["up", "down", "status", "build"])
def test_node_and_data_dir_are_read_before_or_after_the_action(action: str) -> None:
    after = parse(action, "--node", "--data-dir", "/x")
    before = parse("--node", "--data-dir", "/x", action)
    assert (after.node, after.data_dir) == (before.node, before.data_dir) == (True, Path("/x"))


def test_without_the_options_the_default_cluster() -> None:
    args = parse("status")
    assert (args.node, args.data_dir) == (False, None)
