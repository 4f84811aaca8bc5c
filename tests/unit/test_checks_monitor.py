"""HealthMonitor: weights, FAULTs, sync groups, net_check policy (no processes, no network)."""

from __future__ import annotations

from typing import Any

from hookd.checks import HealthMonitor
from hookd.checks.netcheck import Round, judge
from hookd.checks.scripts import ScriptStatus
from hookd.config.model import (
    GlobalDefs,
    Model,
    NetCheck,
    Settings,
    TrackInterface,
    TrackScript,
    VrrpInstanceConfig,
    VrrpScript,
    VrrpSyncGroup,
)
from hookd.events import CheckResult, Event, PriorityChange
from hookd.proc import ProcResult
from tests.support import RecordingSink

PASS = ProcResult(0, False, 0.01, "")
FAIL = ProcResult(1, False, 0.01, "nginx down\n")


def inst(name: str, **kw: Any) -> VrrpInstanceConfig:
    kw.setdefault("virtual_router_id", 51)
    return VrrpInstanceConfig(name=name, interface="eth0", **kw)


def make(model: Model) -> tuple[HealthMonitor, RecordingSink, list[Event]]:
    sink, events = RecordingSink(), []
    return HealthMonitor(model, sink, events.append), sink, events


def test_negative_weight_applied_while_failed() -> None:
    m = Model(
        global_defs=GlobalDefs(router_id="lb1"),
        vrrp_scripts={"chk_nginx": VrrpScript(name="chk_nginx", script=["/bin/true"], weight=-20)},
        vrrp_instances={"VI_1": inst("VI_1", track_script=[TrackScript(name="chk_nginx")])},
    )
    mon, sink, events = make(m)
    runner = mon.scripts["chk_nginx"]
    runner.feed(PASS)
    assert mon.effective_priority("VI_1") == 100 and sink.calls == []
    runner.feed(FAIL)
    assert mon.effective_priority("VI_1") == 80
    assert sink.calls == [("prio", "VI_1", 80, "track_script chk_nginx failed (weight -20)")]
    checks = [e for e in events if isinstance(e, CheckResult)]
    assert [(c.check, c.ok) for c in checks] == [
        ("track_script:chk_nginx", True),
        ("track_script:chk_nginx", False),
    ]
    assert checks[1].instances == ("VI_1",) and checks[1].node == "lb1"
    pc = [e for e in events if isinstance(e, PriorityChange)]
    assert (pc[0].old_priority, pc[0].new_priority, pc[0].base_priority) == (100, 80, 100)
    runner.feed(PASS)
    assert sink.calls[-1] == ("prio", "VI_1", 100, "track_script chk_nginx succeeded (weight +20)")


def test_positive_weight_override_and_reverse_per_instance() -> None:
    m = Model(
        vrrp_scripts={"chk": VrrpScript(name="chk", script=["/bin/true"], weight=-20)},
        vrrp_instances={
            "A": inst("A", track_script=[TrackScript(name="chk", weight=30)]),
            "B": inst("B", track_script=[TrackScript(name="chk", weight=10, reverse=True)]),
        },
    )
    mon, _, _ = make(m)
    mon.scripts["chk"].feed(PASS)
    assert mon.effective_priority("A") == 130 and mon.effective_priority("B") == 90
    mon.scripts["chk"].feed(FAIL)
    assert mon.effective_priority("A") == 100 and mon.effective_priority("B") == 100


def test_clamp_and_owner() -> None:
    m = Model(
        vrrp_scripts={
            "up": VrrpScript(name="up", script=["/bin/true"], weight=200),
            "down": VrrpScript(name="down", script=["/bin/true"], weight=-253),
        },
        vrrp_instances={
            "HI": inst("HI", priority=200, track_script=[TrackScript(name="up")]),
            "LO": inst("LO", priority=50, track_script=[TrackScript(name="down")]),
            "OWN": inst("OWN", priority=255, track_script=[TrackScript(name="down")]),
        },
    )
    mon, _, _ = make(m)
    mon.scripts["up"].feed(PASS)
    mon.scripts["down"].feed(FAIL)
    assert mon.effective_priority("HI") == 254
    assert mon.effective_priority("LO") == 1
    assert mon.effective_priority("OWN") == 255


def test_weight_zero_script_faults_and_clears() -> None:
    m = Model(
        vrrp_scripts={"chk": VrrpScript(name="chk", script=["/bin/true"], fall=2)},
        vrrp_instances={"VI_1": inst("VI_1", track_script=[TrackScript(name="chk")])},
    )
    mon, sink, _ = make(m)
    r = mon.scripts["chk"]
    r.feed(PASS)
    r.feed(FAIL)
    assert sink.calls == []
    r.feed(FAIL)
    assert sink.calls == [
        ("fault", "VI_1", "track_script:chk", "track_script chk failed (exit 1: nginx down)")
    ]
    assert mon.faults("VI_1") == {"track_script:chk"}
    r.feed(PASS)
    assert sink.calls[-1][:3] == ("clear", "VI_1", "track_script:chk")
    assert mon.faults("VI_1") == set()


async def test_init_fail_reported_at_start() -> None:
    m = Model(
        vrrp_scripts={
            "f": VrrpScript(name="f", script=["/bin/false"], init_fail=True, interval=60),
            "w": VrrpScript(
                name="w", script=["/bin/false"], init_fail=True, weight=-30, interval=60
            ),
        },
        vrrp_instances={
            "A": inst("A", dont_track_primary=True, track_script=[TrackScript(name="f")]),
            "B": inst("B", dont_track_primary=True, track_script=[TrackScript(name="w")]),
        },
    )
    mon, sink, _ = make(m)
    await mon.start()
    try:
        assert ("fault", "A", "track_script:f", "track_script f failed") in sink.calls
        assert ("prio", "B", 70, "track_script w failed (weight -30)") in sink.calls
    finally:
        await mon.stop()


def test_sync_group_track_script_applies_to_members() -> None:
    m = Model(
        vrrp_scripts={"chk": VrrpScript(name="chk", script=["/bin/true"], weight=-10)},
        vrrp_instances={
            "VI_1": inst("VI_1"),
            "VI_2": inst("VI_2", virtual_router_id=52),
            "VI_3": inst("VI_3"),
        },
        vrrp_sync_groups={
            "G": VrrpSyncGroup(
                name="G", group=["VI_1", "VI_2"], track_script=[TrackScript(name="chk")]
            )
        },
    )
    mon, _, events = make(m)
    mon.scripts["chk"].feed(FAIL)
    assert [mon.effective_priority(i) for i in ("VI_1", "VI_2", "VI_3")] == [90, 90, 100]
    assert {e.instance for e in events if isinstance(e, PriorityChange)} == {"VI_1", "VI_2"}


def test_interfaces_primary_and_tracked() -> None:
    m = Model(
        vrrp_instances={
            "VI_1": inst(
                "VI_1",
                track_interface=[
                    TrackInterface(name="eth1"),
                    TrackInterface(name="eth2", weight=-25),
                ],
            ),
            "VI_2": inst("VI_2", dont_track_primary=True),
        }
    )
    mon, sink, events = make(m)
    mon.link_changed("eth0", True)
    mon.link_changed("eth1", True)
    mon.link_changed("eth2", True)
    assert sink.calls == []
    mon.link_changed("eth0", False)
    assert sink.calls == [("fault", "VI_1", "track_interface:eth0", "interface eth0 carrier down")]
    mon.link_changed("eth2", False)
    assert sink.calls[-1] == ("prio", "VI_1", 75, "interface eth2 carrier down (weight -25)")
    mon.link_changed("eth0", True)
    assert sink.calls[-1] == ("clear", "VI_1", "track_interface:eth0", "interface eth0 carrier up")
    mon.link_changed("eth1", False)
    assert sink.calls[-1][:3] == ("fault", "VI_1", "track_interface:eth1")
    checks = [e.check for e in events if isinstance(e, CheckResult)]
    assert "track_interface:eth0" in checks


def test_net_check_selection_and_actions() -> None:
    m = Model(
        vrrp_instances={
            "VI_1": inst("VI_1", unicast_peer=["10.0.0.2"]),
            "VI_2": inst("VI_2"),
            "VI_3": inst("VI_3"),
        },
        vrrp_sync_groups={"G": VrrpSyncGroup(name="G", group=["VI_2"])},
        settings=Settings(
            net_check={
                "VI_1": NetCheck(gateway="10.0.0.254", action=-50),
                "G": NetCheck(peers=["10.0.0.9"]),
                "*": NetCheck(),
            }
        ),
    )
    mon, sink, _ = make(m)
    assert set(mon.netchecks) == {"VI_1", "VI_2", "VI_3"}
    assert mon._peers("VI_1") == ["10.0.0.2"]
    assert mon._peers("VI_2") == ["10.0.0.9"]
    assert mon._peers("VI_3") == []
    mon.learned_master("VI_3", "10.0.0.7")
    assert mon._peers("VI_3") == ["10.0.0.7"]
    reason = "net_check: peer 10.0.0.2 and gateway 10.0.0.254 unreachable"
    for _ in range(3):
        mon.netchecks["VI_1"].feed(Round(True, reason))
    assert sink.calls == [("prio", "VI_1", 50, f"{reason} (weight -50)")]
    for _ in range(3):
        mon.netchecks["VI_2"].feed(Round(True, "net_check: peer 10.0.0.9 unreachable"))
    assert sink.calls[-1] == (
        "fault",
        "VI_2",
        "net_check:VI_2",
        "net_check: peer 10.0.0.9 unreachable",
    )
    mon.netchecks["VI_2"].feed(Round(False, "net_check: peer 10.0.0.9 reachable"))
    assert mon.netchecks["VI_2"].status is ScriptStatus.FAILED  # rise 2
    mon.netchecks["VI_2"].feed(Round(False, "net_check: peer 10.0.0.9 reachable"))
    assert sink.calls[-1][0] == "clear"


def test_judge_policies() -> None:
    p, g = "10.0.0.2", "10.0.0.254"
    assert judge("gateway", {p: False}, g, False) == Round(
        True, "net_check: peer 10.0.0.2 and gateway 10.0.0.254 unreachable"
    )
    assert not judge("gateway", {p: False}, g, True).bad  # we still reach the gateway
    assert not judge("gateway", {p: True}, g, False).bad
    assert judge("gateway", {p: False}, None, None).bad
    assert judge("gateway", {}, g, False).bad
    assert not judge("gateway", {}, None, None).bad
    assert judge("peer", {p: False}, None, None).bad
    assert not judge("peer", {p: False, "10.0.0.3": True}, None, None).bad
    assert not judge("peer", {}, None, None).bad
    assert judge("peer", {p: False, "10.0.0.3": False}, None, None).reason == (
        "net_check: peers 10.0.0.2, 10.0.0.3 unreachable"
    )


async def test_netchecker_probe_with_fake_ping() -> None:
    from hookd.checks.netcheck import NetChecker

    reach = {"10.0.0.2": False, "10.0.0.254": True}

    async def ping(addr: str, timeout: float) -> bool:
        return reach[addr]

    nc = NetChecker(
        "VI_1", NetCheck(gateway="10.0.0.254"), lambda: ["10.0.0.2"], lambda u: None, ping=ping
    )
    assert not (await nc.probe()).bad
    reach["10.0.0.254"] = False
    assert (await nc.probe()).bad
    nc2 = NetChecker(
        "VI_1",
        NetCheck(gateway="10.0.0.254", policy="peer"),
        lambda: ["10.0.0.2"],
        lambda u: None,
        ping=ping,
    )
    assert (await nc2.probe()).reason == "net_check: peer 10.0.0.2 unreachable"
