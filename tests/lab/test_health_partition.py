"""Split brain and the native net_check, hookd against hookd: n1, n2 and a gateway gw.

``lab.partition("n1")`` detaches n1's bridge port: its carrier stays up, so neither
track_interface nor VRRP can tell "my peer died" from "I am cut off". Without net_check
both nodes hold the VIP (the split brain); with net_check (policy "gateway") n1, which
reaches neither its peer nor the gateway, demotes itself, and n2, which still reaches
the gateway, keeps serving.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab.helpers import HookdLab, HookdNode, keepalived_conf, vrrp_instance, wait_until

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root + CAP_NET_ADMIN"),
]

MakeLab = Callable[..., HookdLab]

VIP = "10.99.0.100"
FAST = {"version": 3, "advert_int": 0.2}  # Master_Down_Interval ~0.7 s
INTERVAL, TIMEOUT, FALL, RISE = 0.2, 0.15, 3, 2
MARGIN = 5.0
PAIR = ("n1", "n2")


def net_check_toml(instance: str, peer: str, gateway: str) -> str:
    """A hookd.toml with one ``[net_check.INSTANCE]`` table."""
    return (
        f"[net_check.{instance}]\n"
        f'peers = ["{peer}"]\n'
        f'gateway = "{gateway}"\n'
        f"interval = {INTERVAL}\n"
        f"timeout = {TIMEOUT}\n"
        f"fall = {FALL}\n"
        f"rise = {RISE}\n"
        'policy = "gateway"\n'
        'action = "fault"\n'
    )


def _start_pair(hl: HookdLab, workdir: Path, *, net_check: bool) -> tuple[HookdNode, HookdNode]:
    ip = {n: hl.lab.nodes[n].ipv4 for n in ("n1", "n2", "gw")}
    started: list[HookdNode] = []
    for name, peer, prio in (("n1", "n2", 150), ("n2", "n1", 100)):
        args: list[str] = []
        if net_check:
            toml = workdir / f"{name}-hookd.toml"
            toml.write_text(net_check_toml("VI_1", ip[peer], ip["gw"]))
            args = ["--settings", str(toml)]
        conf = keepalived_conf(
            name,
            vrrp_instance("VI_1", vrid=51, priority=prio, vips=[f"{VIP}/24"], **FAST),  # type: ignore[arg-type]
        )
        started.append(hl.start(name, conf, args))
    n1, n2 = started
    assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
    assert wait_until(lambda: hl.holders(VIP, PAIR) == ["n1"], MARGIN), hl.dump()
    return n1, n2


def test_partition_without_net_check_is_split_brain(hookd_lab: MakeLab, tmp_path: Path) -> None:
    hl = hookd_lab(("n1", "n2", "gw"))
    n1, n2 = _start_pair(hl, tmp_path, net_check=False)

    hl.lab.partition("n1")
    assert n2.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    # n1 hears nothing that would demote it: both are MASTER and both hold the VIP.
    assert wait_until(lambda: hl.holders(VIP, PAIR) == ["n1", "n2"], MARGIN), hl.dump()
    time.sleep(1.0)  # and it stays that way
    assert n1.state("VI_1") == "MASTER", hl.dump()
    assert hl.holders(VIP, PAIR) == ["n1", "n2"], hl.dump()

    hl.lab.heal("n1")  # the adverts meet again: the higher priority wins
    assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
    assert wait_until(lambda: hl.holders(VIP, PAIR) == ["n1"], MARGIN), hl.dump()


def test_partition_with_net_check_demotes_only_the_isolated_node(
    hookd_lab: MakeLab, tmp_path: Path
) -> None:
    hl = hookd_lab(("n1", "n2", "gw"))
    n1, n2 = _start_pair(hl, tmp_path, net_check=True)
    ip = {n: hl.lab.nodes[n].ipv4 for n in ("n1", "n2", "gw")}
    # both checks are running and healthy (n1 reaches n2, n2 reaches n1)
    time.sleep(2 * INTERVAL)
    assert n1.state("VI_1") == "MASTER" and n2.state("VI_1") == "BACKUP", hl.dump()

    t_cut = time.monotonic()
    hl.lab.partition("n1")
    assert wait_until(lambda: n1.state("VI_1") != "MASTER", FALL * INTERVAL + MARGIN), hl.dump()
    demoted = time.monotonic() - t_cut
    bound = FALL * INTERVAL + 1.0
    print(f"\nnet_check: n1 left MASTER {demoted:.3f}s after the partition (bound {bound:.1f}s)")
    assert demoted <= bound, hl.dump()
    assert n1.state("VI_1") == "FAULT", hl.dump()
    assert n2.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert wait_until(lambda: hl.holders(VIP, PAIR) == ["n2"], MARGIN), hl.dump()

    fault = n1.transitions("VI_1")[-1]
    assert (fault["from"], fault["to"]) == ("MASTER", "FAULT"), fault
    assert fault["reason"] == (f"net_check: peer {ip['n2']} and gateway {ip['gw']} unreachable"), (
        fault
    )

    time.sleep(FALL * INTERVAL * 2)  # n2 had every chance to (wrongly) demote too
    assert n2.state("VI_1") == "MASTER", hl.dump()
    assert hl.holders(VIP, PAIR) == ["n2"], hl.dump()

    t_heal = time.monotonic()
    hl.lab.heal("n1")
    assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()  # rise, BACKUP, then preempt
    print(f"net_check: n1 MASTER again {time.monotonic() - t_heal:.3f}s after the heal")
    assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
    assert wait_until(lambda: hl.holders(VIP, PAIR) == ["n1"], MARGIN), hl.dump()
    states = [(t["from"], t["to"]) for t in n1.transitions("VI_1")]
    assert states[-3:] == [("MASTER", "FAULT"), ("FAULT", "BACKUP"), ("BACKUP", "MASTER")]

    # n2 lost its peer but kept the gateway: its net_check never failed, it never faulted.
    assert all(t["to"] != "FAULT" for t in n2.transitions("VI_1")), n2.history()
    n2_checks = [e for e in n2.audit() if e["kind"] == "check_result"]
    assert not [e for e in n2_checks if e["check"].startswith("net_check") and not e["ok"]]
    n1_checks = [e for e in n1.audit() if e["kind"] == "check_result"]
    assert [e["ok"] for e in n1_checks if e["check"] == "net_check:VI_1"] == [False, True]
