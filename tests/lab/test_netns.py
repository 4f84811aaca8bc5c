"""The lab helper itself: builds, connects, partitions, and always cleans up."""

from __future__ import annotations

import subprocess

import pytest

from hookd.netns import Lab


def _namespaces() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_lab_connects_partitions_and_cleans_up() -> None:
    with Lab(nodes_wanted=("n1", "n2")) as lab:
        tag = lab.tag
        assert tag in _namespaces()
        n2 = lab.nodes["n2"].ipv4
        assert lab.run("n1", ["ping", "-c1", "-W1", n2], check=False).returncode == 0
        lab.partition("n1")
        assert lab.run("n1", ["ping", "-c1", "-W1", n2], check=False).returncode != 0
        # A partition keeps the carrier up: that is the split-brain case.
        assert lab.run("n1", ["cat", "/sys/class/net/eth0/carrier"]).stdout.strip() == "1"
        lab.heal("n1")
        assert lab.run("n1", ["ping", "-c1", "-W1", n2], check=False).returncode == 0
    assert tag not in _namespaces()


def test_lab_cleans_up_on_failure() -> None:
    tag = ""
    with pytest.raises(RuntimeError), Lab(nodes_wanted=("n1",)) as lab:
        tag = lab.tag
        raise RuntimeError("boom")
    assert tag and tag not in _namespaces()
