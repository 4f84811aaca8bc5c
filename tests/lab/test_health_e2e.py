"""Health checks end to end, hookd against hookd in network namespaces.

track_script with a negative weight hands the VIP to the peer and back; a weight-0
script and a carrier loss put an instance in FAULT (VIP removed); two instances on one
pair fail over independently, each with its own service check.

The checks are flag files tested by ``/usr/bin/test -f FLAG`` (exec'd without a shell).
Waits are deadlines with a generous margin, never performance asserts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.lab.helpers import (
    HookdLab,
    HookdNode,
    keepalived_conf,
    measure,
    vrrp_instance,
    wait_until,
)

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root + CAP_NET_ADMIN"),
]

MakeLab = Callable[..., HookdLab]

VIP = "10.99.0.100"
VIP_A = "10.99.0.161"
VIP_B = "10.99.0.162"
FAST = {"version": 3, "advert_int": 0.2}  # Master_Down_Interval ~0.7 s
SCRIPT_INTERVAL = 0.2
MARGIN = 5.0  # deadline for a transition that the protocol makes in < 2 s


def vrrp_script(name: str, flag: Path, *, weight: int, rise: int = 2, fall: int = 2) -> str:
    """A ``vrrp_script`` block that succeeds while ``flag`` exists."""
    return (
        f"vrrp_script {name} {{\n"
        f'    script "/usr/bin/test -f {flag}"\n'
        f"    interval {SCRIPT_INTERVAL}\n"
        f"    weight {weight}\n"
        f"    rise {rise}\n"
        f"    fall {fall}\n"
        "}\n"
    )


def _pair(
    hl: HookdLab,
    *,
    n1_head: str = "",
    n1_extra: str = "",
    vips: tuple[str, ...] = (f"{VIP}/24",),
    vrid: int = 51,
) -> tuple[HookdNode, HookdNode]:
    """n1 (150, with the given checks) and n2 (100, no checks); n1 MASTER, n2 BACKUP."""
    n1 = hl.start(
        "n1",
        keepalived_conf(
            "n1",
            n1_head,
            vrrp_instance("VI_1", vrid=vrid, priority=150, vips=vips, extra=n1_extra, **FAST),  # type: ignore[arg-type]
        ),
    )
    n2 = hl.start(
        "n2",
        keepalived_conf(
            "n2",
            vrrp_instance("VI_1", vrid=vrid, priority=100, vips=vips, **FAST),  # type: ignore[arg-type]
        ),
    )
    assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
    return n1, n2


def _vip(hl: HookdLab, address: str, holders: list[str]) -> bool:
    return wait_until(lambda: hl.holders(address, ("n1", "n2")) == holders, MARGIN)


def test_failing_script_lowers_priority_and_peer_takes_over(
    hookd_lab: MakeLab, tmp_path: Path
) -> None:
    flag = tmp_path / "healthy"
    flag.touch()
    hl = hookd_lab(("n1", "n2"))
    n1, n2 = _pair(
        hl,
        n1_head=vrrp_script("chk_flag", flag, weight=-60),
        n1_extra="track_script {\n    chk_flag\n}",
    )
    assert _vip(hl, VIP, ["n1"]), hl.dump()
    assert n1.instance("VI_1")["effective_priority"] == 150  # type: ignore[index]

    flag.unlink()  # the service fails: 150 - 60 = 90 < 100
    took = measure(lambda: hl.lab.has_address("n2", VIP), MARGIN)
    print(f"\ntrack_script: VIP on n2 {took}s after the flag file went away")
    assert took is not None, hl.dump()
    assert n2.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert n1.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
    assert _vip(hl, VIP, ["n2"]), hl.dump()
    assert n1.instance("VI_1")["effective_priority"] == 90  # type: ignore[index]

    # n1's history: MASTER -> BACKUP, and the reason names the failed track_script.
    down = [t for t in n1.transitions("VI_1") if (t["from"], t["to"]) == ("MASTER", "BACKUP")]
    assert down, n1.history()
    print(f"n1 MASTER -> BACKUP reason: {down[-1]['reason']}")
    assert "track_script chk_flag failed (weight -60)" in down[-1]["reason"], down[-1]
    assert down[-1]["priority"] == 90 and down[-1]["base_priority"] == 150
    # the audit log has the priority change itself, with the same cause
    prio = [e for e in n1.audit() if e["kind"] == "priority_change"]
    assert prio and prio[-1]["new_priority"] == 90, n1.audit()
    assert "track_script chk_flag failed (weight -60)" in prio[-1]["reason"]

    flag.touch()  # healthy again: after `rise` successes n1 (150) preempts back
    assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
    assert _vip(hl, VIP, ["n1"]), hl.dump()
    assert n1.instance("VI_1")["effective_priority"] == 150  # type: ignore[index]
    up = n1.transitions("VI_1")[-1]
    assert (up["from"], up["to"]) == ("BACKUP", "MASTER"), up


def test_weight_zero_script_faults_and_removes_vip(hookd_lab: MakeLab, tmp_path: Path) -> None:
    flag = tmp_path / "healthy"
    flag.touch()
    hl = hookd_lab(("n1", "n2"))
    n1, n2 = _pair(
        hl,
        n1_head=vrrp_script("chk_svc", flag, weight=0),
        n1_extra="track_script {\n    chk_svc\n}",
    )
    assert _vip(hl, VIP, ["n1"]), hl.dump()

    flag.unlink()
    assert n1.wait_state("VI_1", "FAULT", MARGIN), hl.dump()
    assert n2.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert _vip(hl, VIP, ["n2"]), hl.dump()
    # `hookd status` (the CLI, inside the namespace) says FAULT and why.
    rc, out, err = n1.status_cli()
    assert rc == 0, err
    vi = json.loads(out)["instances"][0]
    assert vi["state"] == "FAULT", vi
    fault = n1.transitions("VI_1")[-1]
    assert (fault["from"], fault["to"]) == ("MASTER", "FAULT"), fault
    assert "track_script chk_svc failed" in fault["reason"], fault

    flag.touch()
    assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()  # via BACKUP, preempting
    assert _vip(hl, VIP, ["n1"]), hl.dump()
    states = [(t["from"], t["to"]) for t in n1.transitions("VI_1")]
    assert states[-2:] == [("FAULT", "BACKUP"), ("BACKUP", "MASTER")], states


def test_carrier_loss_faults_then_recovers(hookd_lab: MakeLab) -> None:
    hl = hookd_lab(("n1", "n2"))
    n1, n2 = _pair(hl)  # no track_interface: the instance's own interface is tracked
    assert _vip(hl, VIP, ["n1"]), hl.dump()

    hl.lab.carrier("n1", False)
    took = measure(lambda: n1.state("VI_1") == "FAULT", MARGIN)
    print(f"\ncarrier loss: n1 FAULT after {took}s")
    assert took is not None, hl.dump()
    assert wait_until(lambda: not hl.lab.has_address("n1", VIP), MARGIN), hl.dump()
    assert n2.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert _vip(hl, VIP, ["n2"]), hl.dump()
    fault = n1.transitions("VI_1")[-1]
    assert fault["to"] == "FAULT" and "interface eth0 carrier down" in fault["reason"], fault

    hl.lab.carrier("n1", True)
    assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
    assert _vip(hl, VIP, ["n1"]), hl.dump()
    states = [(t["from"], t["to"]) for t in n1.transitions("VI_1")]
    assert states[-2:] == [("FAULT", "BACKUP"), ("BACKUP", "MASTER")], states
    assert "interface eth0 carrier up" in n1.transitions("VI_1")[-2]["reason"]


def test_per_service_failover_moves_only_its_vip(hookd_lab: MakeLab, tmp_path: Path) -> None:
    flag_a, flag_b = tmp_path / "serviceA", tmp_path / "serviceB"
    flag_a.touch()
    flag_b.touch()
    hl = hookd_lab(("n1", "n2"))
    nodes: dict[str, HookdNode] = {}
    for name, prio in (("n1", 150), ("n2", 100)):
        checks = (
            vrrp_script("check_serviceA", flag_a, weight=-60)
            + vrrp_script("check_serviceB", flag_b, weight=-60)
            if name == "n1"
            else ""
        )
        blocks = [
            vrrp_instance(
                inst,
                vrid=vrid,
                priority=prio,
                vips=[f"{vip}/24"],
                extra=f"track_script {{\n    {script}\n}}" if name == "n1" else "",
                **FAST,  # type: ignore[arg-type]
            )
            for inst, vrid, vip, script in (
                ("VI_A", 61, VIP_A, "check_serviceA"),
                ("VI_B", 62, VIP_B, "check_serviceB"),
            )
        ]
        nodes[name] = hl.start(name, keepalived_conf(name, checks, *blocks))
    n1, n2 = nodes["n1"], nodes["n2"]
    for inst in ("VI_A", "VI_B"):
        assert n1.wait_state(inst, "MASTER", MARGIN), hl.dump()
        assert n2.wait_state(inst, "BACKUP", MARGIN), hl.dump()
    assert _vip(hl, VIP_A, ["n1"]) and _vip(hl, VIP_B, ["n1"]), hl.dump()

    flag_a.unlink()  # service A fails on n1: only VI_A moves
    assert n2.wait_state("VI_A", "MASTER", MARGIN), hl.dump()
    assert n1.wait_state("VI_A", "BACKUP", MARGIN), hl.dump()
    assert _vip(hl, VIP_A, ["n2"]), hl.dump()
    assert hl.holders(VIP_B, ("n1", "n2")) == ["n1"], hl.dump()
    assert n1.state("VI_B") == "MASTER" and n2.state("VI_B") == "BACKUP", hl.dump()
    assert n1.instance("VI_B")["effective_priority"] == 150  # type: ignore[index]
    assert all(t["instance"] == "VI_A" for t in n1.transitions() if t["from"] == "MASTER")

    flag_a.touch()
    assert n1.wait_state("VI_A", "MASTER", MARGIN), hl.dump()
    assert _vip(hl, VIP_A, ["n1"]) and _vip(hl, VIP_B, ["n1"]), hl.dump()
