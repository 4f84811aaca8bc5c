"""hookd against hookd on the wire, in network namespaces: election, failover, preemption,
graceful release, several instances on one interface, VRRPv3 over IPv6.

The waits below are deadlines (a generous margin over the protocol's own timers), not
performance asserts; the measured numbers are printed (``pytest -s``) and benchmarked in
bench/.
"""

from __future__ import annotations

import ipaddress
import json
import signal
import time
from collections.abc import Callable

import pytest

from hookd.control import request
from tests.lab.helpers import HookdLab, keepalived_conf, measure, vrrp_instance, wait_until

pytestmark = pytest.mark.lab

VIP = "10.99.0.100"
VIP6 = "fd99::100"
MARGIN = 2.0  # seconds on top of a protocol timer before we call it a failure
FAST = {"version": 3, "advert_int": 0.2}  # Master_Down_Interval ~0.7 s

MakeLab = Callable[..., HookdLab]


def _master_down(advert_int: float, priority: int, version: int) -> float:
    skew = (256 - priority) * (advert_int if version == 3 else 1.0) / 256
    return 3 * advert_int + skew


def _two_nodes(make: MakeLab, *, vip: str = f"{VIP}/24", **kw: object) -> HookdLab:
    hl = make(("n1", "n2"))
    for name, prio in (("n1", 150), ("n2", 100)):
        conf = keepalived_conf(
            name, vrrp_instance("VI_1", vrid=51, priority=prio, vips=[vip], **kw)
        )  # type: ignore[arg-type]
        hl.start(name, conf)
    return hl


@pytest.mark.parametrize("nopreempt", [False, True], ids=["preempt", "nopreempt"])
def test_kill_master_fails_over_and_preemption(hookd_lab: MakeLab, nopreempt: bool) -> None:
    hl = _two_nodes(hookd_lab, nopreempt=nopreempt, **FAST)
    n1, n2 = hl.nodes["n1"], hl.nodes["n2"]
    assert n1.wait_state("VI_1", "MASTER", 5), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", 5), hl.dump()
    assert wait_until(lambda: hl.holders(VIP) == ["n1"], 3), hl.dump()
    assert n2.instance("VI_1")["master"] == "10.99.0.1"  # type: ignore[index]

    # Crash: no priority 0; the backup takes over after Master_Down_Interval.
    down = _master_down(0.2, 100, 3)
    n1.kill()
    took = measure(lambda: hl.lab.has_address("n2", VIP), down + MARGIN)
    print(f"\nSIGKILL failover: VIP on n2 after {took}s (Master_Down_Interval {down:.3f}s)")
    assert took is not None, hl.dump()
    assert n2.state("VI_1") == "MASTER"

    # n1 comes back: it removes the VIP its crash left behind, then preempts (or not).
    n1.start()
    assert n1.wait_ready(10), hl.dump()
    if not nopreempt:
        assert n1.wait_state("VI_1", "MASTER", _master_down(0.2, 150, 3) + MARGIN), hl.dump()
        assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()
        assert wait_until(lambda: hl.holders(VIP) == ["n1"], MARGIN), hl.dump()
    else:
        assert n1.wait_state("VI_1", "BACKUP", 5), hl.dump()
        assert wait_until(lambda: hl.holders(VIP) == ["n2"], MARGIN), hl.dump()
        time.sleep(3 * _master_down(0.2, 150, 3))  # several chances to (wrongly) preempt
        assert n1.state("VI_1") == "BACKUP", hl.dump()
        assert n2.state("VI_1") == "MASTER", hl.dump()
        assert hl.holders(VIP) == ["n2"], hl.dump()


def test_sigterm_releases_with_priority_zero(hookd_lab: MakeLab) -> None:
    # VRRPv2, advert_int 1: the backup must take over after Skew_Time (0.61 s for priority
    # 100), far sooner than its Master_Down_Interval (3.61 s).
    hl = _two_nodes(hookd_lab, version=2, advert_int=1, state="MASTER", auth_pass="hookd123")
    n1, n2 = hl.nodes["n1"], hl.nodes["n2"]
    assert n1.wait_state("VI_1", "MASTER", 5), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", 5), hl.dump()
    assert wait_until(lambda: n2.instance("VI_1")["adverts_received"] > 0, 3)  # type: ignore[index]
    assert wait_until(lambda: hl.holders(VIP) == ["n1"], 3), hl.dump()

    t0 = time.monotonic()
    rc = n1.stop()
    took = measure(lambda: n2.state("VI_1") == "MASTER", 3.61)
    print(
        f"\nSIGTERM release: n2 MASTER {took}s after hookd exited"
        f" ({time.monotonic() - t0:.3f}s after SIGTERM); skew 0.609s"
    )
    assert rc == 0, hl.dump()
    assert took is not None, hl.dump()  # sooner than Master_Down_Interval: priority 0 seen
    assert "priority 0 from 10.99.0.1" in hl.nodes["n2"].log(), hl.dump()
    assert not hl.lab.has_address("n1", VIP), hl.dump()
    assert wait_until(lambda: hl.holders(VIP) == ["n2"], MARGIN), hl.dump()
    assert not (n1.state_dir / "hookd.sock").exists()

    # `hookd status` says clearly that nothing runs; and reads the live node as JSON.
    rc1, out1, err1 = n1.status_cli()
    assert rc1 == 1 and "not running" in err1 and not out1
    rc2, out2, _ = n2.status_cli()
    assert rc2 == 0
    vi = json.loads(out2)["instances"][0]
    assert vi["name"] == "VI_1" and vi["state"] == "MASTER" and vi["vrid"] == 51
    assert vi["priority"] == 100 and vi["effective_priority"] == 100
    assert vi["version"] == 2 and vi["interface"] == "eth0" and vi["vips"] == [f"{VIP}/24"]
    assert vi["drops"] == {} and vi["adverts_sent"] > 0 and vi["since"]


def test_several_instances_share_one_interface(hookd_lab: MakeLab) -> None:
    hl = hookd_lab(("n1", "n2"))
    prios = {"n1": (150, 100), "n2": (100, 150)}
    for name, (pa, pb) in prios.items():
        conf = keepalived_conf(
            name,
            vrrp_instance("VI_A", vrid=51, priority=pa, vips=["10.99.0.101/24"], **FAST),
            vrrp_instance("VI_B", vrid=52, priority=pb, vips=["10.99.0.102/24"], **FAST),
        )
        hl.start(name, conf)
    n1, n2 = hl.nodes["n1"], hl.nodes["n2"]
    assert n1.wait_state("VI_A", "MASTER", 5) and n2.wait_state("VI_B", "MASTER", 5), hl.dump()
    assert n1.wait_state("VI_B", "BACKUP", 5) and n2.wait_state("VI_A", "BACKUP", 5), hl.dump()
    assert wait_until(lambda: hl.holders("10.99.0.101") == ["n1"], 3), hl.dump()
    assert wait_until(lambda: hl.holders("10.99.0.102") == ["n2"], 3), hl.dump()
    time.sleep(1.0)  # a few adverts each way, then nothing may have been dropped
    for hn in (n1, n2):
        st = hn.status()
        assert st is not None
        assert len(st["interfaces"]) == 1, st  # one socket for both instances
        for inst in st["instances"]:
            assert inst["drops"] == {}, st
            if inst["state"] == "BACKUP":
                assert inst["adverts_received"] > 0, st
            else:
                assert inst["adverts_sent"] > 0, st
        assert st["interfaces"]["eth0/ipv4"]["drops"] == {}, st


def test_vrrpv3_ipv6(hookd_lab: MakeLab) -> None:
    hl = _two_nodes(hookd_lab, vip=f"{VIP6}/64", **FAST)
    n1, n2 = hl.nodes["n1"], hl.nodes["n2"]
    assert n1.wait_state("VI_1", "MASTER", 5), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", 5), hl.dump()
    assert wait_until(lambda: hl.holders(VIP6) == ["n1"], 3), hl.dump()
    # Adverts come from the link-local address (as keepalived's).
    assert wait_until(lambda: str(n2.instance("VI_1")["master"]).startswith("fe80::"), 3), (  # type: ignore[index]
        hl.dump()
    )
    vi = n2.instance("VI_1")
    assert vi is not None and vi["family"] == 6 and vi["state"] == "BACKUP", vi
    n1.kill()
    took = measure(lambda: hl.lab.has_address("n2", VIP6), _master_down(0.2, 100, 3) + MARGIN)
    print(f"\nIPv6 SIGKILL failover: VIP on n2 after {took}s")
    assert took is not None, hl.dump()
    assert n2.state("VI_1") == "MASTER"


def test_reload_restarts_only_what_changed(hookd_lab: MakeLab) -> None:
    hl = hookd_lab(("n1",))
    fast = {"version": 3, "advert_int": 0.1}
    vi1 = vrrp_instance("VI_1", vrid=51, priority=150, vips=["10.99.0.101/24"], **fast)
    n1 = hl.start("n1", keepalived_conf("n1", vi1))
    assert n1.wait_state("VI_1", "MASTER", 5), hl.dump()
    before = n1.instance("VI_1")
    assert before is not None

    # SIGHUP with one more instance: VI_2 starts, VI_1 keeps running untouched.
    vi2 = vrrp_instance("VI_2", vrid=52, priority=150, vips=["10.99.0.102/24"], **fast)
    n1.conf.write_text(keepalived_conf("n1", vi1, vi2))
    n1.signal(signal.SIGHUP)
    assert n1.wait_state("VI_2", "MASTER", 5), hl.dump()
    assert wait_until(lambda: hl.lab.has_address("n1", "10.99.0.102"), 3), hl.dump()
    after = n1.instance("VI_1")
    assert after is not None and after["state"] == "MASTER"
    assert after["transitions"] == before["transitions"] and after["since"] == before["since"]

    # A broken file is refused over the control socket; the running instances stay.
    n1.conf.write_text("vrrp_instance { broken\n")
    reply = request(str(n1.state_dir), "reload")
    assert reply["ok"] is False and reply["errors"], reply
    assert n1.state("VI_1") == "MASTER" and n1.state("VI_2") == "MASTER"

    # VI_2 removed: it stops and its VIP goes; VI_1 stays.
    n1.conf.write_text(keepalived_conf("n1", vi1))
    reply = request(str(n1.state_dir), "reload")
    assert reply["ok"] is True and reply["stopped"] == ["VI_2"], reply
    assert n1.state("VI_2") is None
    assert wait_until(lambda: not hl.lab.has_address("n1", "10.99.0.102"), 3), hl.dump()
    assert hl.lab.has_address("n1", "10.99.0.101") and n1.state("VI_1") == "MASTER"
    assert n1.stop() == 0
    assert not hl.lab.has_address("n1", "10.99.0.101")


def test_announce_frames_match_keepalived() -> None:
    """Our GARP / unsolicited NA are byte for byte keepalived 2.2.7's (no namespace needed)."""
    dpkt = pytest.importorskip("dpkt")
    from hookd.net.announce import arp_frame, na_frame
    from tests.shared import require, shared_dir

    pcap = require(shared_dir() / "vectors" / "keepalived-2.2.7-adverts.pcap")
    arps: list[bytes] = []
    nas: list[bytes] = []
    with open(pcap, "rb") as f:
        for _ts, frame in dpkt.pcap.Reader(f):
            ethertype = frame[12:14]
            if ethertype == b"\x08\x06":
                arps.append(bytes(frame[:42]))
            elif ethertype == b"\x86\xdd" and frame[20] == 58 and frame[54] == 136:
                nas.append(bytes(frame))
    assert arps and nas
    for frame in arps:
        mac, vip = frame[6:12], ".".join(str(b) for b in frame[28:32])
        assert arp_frame(mac, vip) == frame
    for frame in nas:
        mac = frame[6:12]
        vip = str(ipaddress.IPv6Address(frame[22:38]))
        assert na_frame(mac, vip) == frame


def test_track_script_weight_hands_over(hookd_lab: MakeLab) -> None:
    """The daemon wires the health monitor: a failing track_script (weight -60) takes n1
    from 150 to 90, below n2's 100, so n2 preempts; the monitor's very first report
    reaches the instance (it is built before it starts)."""
    hl = hookd_lab(("n1", "n2"))
    script = 'vrrp_script chk {\n    script "/bin/false"\n    interval 0.2\n    weight -60\n}\n'
    vi1 = vrrp_instance(
        "VI_1",
        vrid=60,
        priority=150,
        vips=["10.99.0.110/24"],
        extra="track_script {\n chk\n}",
        **FAST,
    )
    n1 = hl.start("n1", keepalived_conf("n1", script, vi1))
    n2 = hl.start(
        "n2",
        keepalived_conf(
            "n2", vrrp_instance("VI_1", vrid=60, priority=100, vips=["10.99.0.110/24"], **FAST)
        ),
    )
    assert n2.wait_state("VI_1", "MASTER", 5), hl.dump()
    assert n1.wait_state("VI_1", "BACKUP", 5), hl.dump()
    vi = n1.instance("VI_1")
    assert vi is not None and vi["priority"] == 150 and vi["effective_priority"] == 90, vi
    assert wait_until(lambda: hl.holders("10.99.0.110") == ["n2"], 3), hl.dump()
