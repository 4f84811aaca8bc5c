"""hookd and real keepalived 2.2.7 as VRRP peers, each taking each role.

Per case (v2 multicast + PASS auth, v3 IPv4 at 0.1 s, v3 IPv6 at 0.1 s, v2 unicast):

1. hookd (priority 150, ``state MASTER``) and keepalived (100) start: hookd is MASTER,
   keepalived BACKUP, only hookd's node has the VIP.
2. SIGKILL hookd (no goodbye): keepalived takes over the VIP.
3. hookd restarts at priority 50: it follows keepalived as BACKUP (its status names
   keepalived's node as master); only keepalived's node has the VIP.
4. SIGKILL keepalived (parent and VRRP child at once): hookd takes over.

Throughout, hookd counts no checksum/auth/ttl/version/length/... drops and keepalived logs
nothing about invalid packets: each accepts the other as a valid peer.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from hookd.lab import HookdNode, VrrpSpec, instances_of, receive_drops, render_keepalived_conf
from hookd.netns import Lab, LabError
from tests.lab.keepalived import Keepalived, available

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not available(), reason="keepalived is not installed"),
]

# hookd must never drop what keepalived sends for one of these reasons.
PEER_REASONS = (
    "checksum",
    "auth",
    "ttl",
    "version",
    "length",
    "type",
    "interval",
    "address_list",
    "vrid",
    "unicast_src",
    "internal",
)


@dataclass(frozen=True)
class Case:
    """One interop configuration; addresses are filled in per node."""

    id: str
    version: int
    advert_int: float
    vip: str
    auth_pass: str | None = None
    unicast: bool = False
    family: int = 4


CASES = [
    Case("v2-multicast-pass", 2, 1.0, "10.99.0.100/24", auth_pass="interop1"),
    Case("v3-ipv4", 3, 0.1, "10.99.0.100/24"),
    Case("v3-ipv6", 3, 0.1, "fd99::100/64", family=6),
    Case("v2-unicast", 2, 1.0, "10.99.0.100/24", unicast=True),
]


def _spec(case: Case, lab: Lab, me: str, peer: str, priority: int, state: str) -> VrrpSpec:
    spec = VrrpSpec(
        name="VI_1",
        vrid=61,
        version=case.version,
        priority=priority,
        advert_int=case.advert_int,
        vips=(case.vip,),
        state=state,
        auth_pass=case.auth_pass,
    )
    if case.unicast:
        spec = replace(
            spec, unicast_src_ip=lab.nodes[me].ipv4, unicast_peers=(lab.nodes[peer].ipv4,)
        )
    return spec


@pytest.fixture
def env() -> Iterator[tuple[Lab, Path]]:
    try:
        lab = Lab(nodes_wanted=("n1", "n2"))
        lab.create()
    except LabError as exc:
        pytest.skip(str(exc))
    workdir = Path(tempfile.mkdtemp(prefix="hookd-interop-"))
    try:
        # eth0's link-local address is still tentative (DAD) right after the lab is built;
        # an IPv6 advert sent from it then fails with EINVAL in keepalived and in hookd.
        for node in lab.nodes:
            lab.wait_for(
                lambda node=node: (
                    "tentative"
                    not in lab.run(node, ["ip", "-6", "addr", "show", "dev", "eth0"]).stdout
                ),
                timeout=5,
            )
        yield lab, workdir
    finally:
        lab.destroy()
        shutil.rmtree(workdir, ignore_errors=True)


def _wait(lab: Lab, pred: Callable[[], bool], alive: Callable[[], bool], timeout: float) -> bool:
    """Poll ``pred`` until true; give up at once if a process we need died."""
    return lab.wait_for(lambda: pred() or not alive(), timeout=timeout, interval=0.05) and pred()


def _diag(hk: HookdNode, ka: Keepalived) -> str:
    return (
        f"\nhookd status: {hk.instances()}\n--- hookd log\n{hk.log()[-3000:]}"
        f"\n--- keepalived log\n{ka.log()[-3000:]}"
    )


def _peer_drops(hk: HookdNode) -> dict[str, int]:
    drops = receive_drops(hk.status())
    return {r: n for r, n in drops.items() if r in PEER_REASONS and n}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hookd_and_keepalived_are_peers(case: Case, env: tuple[Lab, Path]) -> None:
    lab, workdir = env
    vip = case.vip.split("/")[0]
    # Every failover must complete within Master_Down_Interval (+ start-up slack).
    slack = 4 * case.advert_int + 5

    def vip_on(node: str) -> bool:
        return lab.has_address(node, vip)

    def only(node: str) -> bool:
        other = "n2" if node == "n1" else "n1"
        return vip_on(node) and not vip_on(other)

    ka = Keepalived(
        lab,
        "n2",
        workdir,
        render_keepalived_conf("n2", [_spec(case, lab, "n2", "n1", 100, "BACKUP")]),
    )
    hk = HookdNode(
        lab,
        "n1",
        workdir / "a",
        render_keepalived_conf("n1", [_spec(case, lab, "n1", "n2", 150, "MASTER")]),
        log_level="INFO",
    )
    ka.start()
    hk.start()

    # 1. hookd is elected; keepalived follows it.
    assert _wait(
        lab,
        lambda: hk.state("VI_1") == "MASTER" and only("n1"),
        lambda: hk.alive and ka.alive,
        slack,
    ), "hookd not MASTER" + _diag(hk, ka)
    assert ka.wait_state("VI_1", "BACKUP", 2), _diag(hk, ka)
    # A few adverts later keepalived still agrees (it never preempted or complained).
    time.sleep(max(1.5, 4 * case.advert_int))  # let a few adverts go by
    assert ka.state("VI_1") == "BACKUP" and only("n1"), _diag(hk, ka)
    assert _peer_drops(hk) == {}, _diag(hk, ka)

    # 2. hookd dies without a word: keepalived takes over.
    hk.kill()
    assert _wait(
        lab, lambda: ka.state("VI_1") == "MASTER" and vip_on("n2"), lambda: ka.alive, slack
    ), "keepalived did not take over" + _diag(hk, ka)
    if hk.proc is not None:
        hk.proc.wait(timeout=5)
    # The dead hookd left its VIP behind (SIGKILL): remove it as a reboot would.
    lab.run("n1", ["ip", "addr", "del", case.vip, "dev", "eth0"], check=False)

    # 3. hookd comes back at priority 50 and follows keepalived.
    hk2 = HookdNode(
        lab,
        "n1",
        workdir / "b",
        render_keepalived_conf("n1", [_spec(case, lab, "n1", "n2", 50, "BACKUP")]),
        log_level="INFO",
    )
    hk2.start()

    def follows() -> bool:
        rec = instances_of(hk2.status()).get("VI_1") or {}
        return str(rec.get("state")).upper() == "BACKUP" and bool(rec.get("master"))

    assert _wait(lab, follows, lambda: hk2.alive and ka.alive, slack), _diag(hk2, ka)
    time.sleep(max(1.5, 4 * case.advert_int))  # let a few adverts go by
    rec = instances_of(hk2.status())["VI_1"]
    master = str(rec.get("master"))
    if case.family == 4:
        assert master == lab.nodes["n2"].ipv4, rec
    else:
        assert master.startswith("fe80:"), rec  # VRRPv3 over IPv6 is sent from link-local
    assert str(rec.get("state")).upper() == "BACKUP" and only("n2"), _diag(hk2, ka)
    assert ka.state("VI_1") == "MASTER", _diag(hk2, ka)

    # 4. keepalived dies hard (parent and VRRP child): hookd takes over.
    ka.kill()
    assert _wait(
        lab, lambda: hk2.state("VI_1") == "MASTER" and vip_on("n1"), lambda: hk2.alive, slack
    ), "hookd did not take over" + _diag(hk2, ka)

    assert _peer_drops(hk2) == {}, _diag(hk2, ka)
    assert ka.errors() == [], _diag(hk2, ka)
    hk2.stop()
