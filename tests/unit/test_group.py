"""SyncGroup: members fail over together."""

from __future__ import annotations

import pytest

from hookd.vrrp.fsm import (
    AddVips,
    AdvertReceived,
    DelVips,
    FaultCleared,
    FaultSet,
    SendAdvert,
    Shutdown,
    Start,
    State,
    Transition,
    VrrpInstance,
)
from hookd.vrrp.group import SyncGroup
from hookd.vrrp.packet import Advert
from tests.unit.vrrp_sim import config

PEER = "10.0.0.2"


def make_group() -> tuple[SyncGroup, VrrpInstance, VrrpInstance]:
    vi1 = VrrpInstance(config("VI_1", vrid=51, priority=101, vips=("10.0.0.100",)))
    vi2 = VrrpInstance(config("VI_2", vrid=52, priority=100, vips=("10.0.1.100",)))
    group = SyncGroup("G1", [vi1, vi2])
    group.handle("VI_1", Start(), 0.0)
    group.handle("VI_2", Start(), 0.0)
    return group, vi1, vi2


def transitions(actions: list) -> list[tuple[str, State, State, str]]:
    return [(n, a.from_state, a.to_state, a.reason) for n, a in SyncGroup.transitions(actions)]


def test_first_master_drags_the_others_along() -> None:
    group, vi1, vi2 = make_group()
    assert group.state is State.BACKUP
    deadline = group.next_deadline()
    assert deadline == vi1.next_deadline() == 3 + 155 * 1_000_000 // 256 / 1e6
    actions = group.fire_timers(deadline)
    assert transitions(actions) == [
        (
            "VI_1",
            State.BACKUP,
            State.MASTER,
            "master_down_timer expired (no advert received)",
        ),
        ("VI_2", State.BACKUP, State.MASTER, "sync group G1: VI_1 entered MASTER"),
    ]
    # VI_2 went MASTER properly: advert, VIPs, GARPs, in that order.
    vi2_actions = [type(a) for n, a in actions if n == "VI_2"]
    assert vi2_actions[:2] == [SendAdvert, AddVips]
    assert group.state is State.MASTER
    # VI_2's own master_down deadline is gone; only adver timers remain.
    assert group.fire_timers(deadline + 0.001) == []
    assert vi2.next_deadline() == deadline + 1.0


def test_one_member_yielding_pulls_the_others_to_backup() -> None:
    group, vi1, vi2 = make_group()
    group.fire_timers(group.next_deadline() or 0.0)
    higher = Advert(2, 52, 200, 1, ("10.0.1.100",))
    actions = group.handle("VI_2", AdvertReceived(higher, PEER), 5.0)
    assert transitions(actions) == [
        ("VI_2", State.MASTER, State.BACKUP, "higher priority 200 from 10.0.0.2"),
        ("VI_1", State.MASTER, State.BACKUP, "sync group G1: VI_2 entered BACKUP"),
    ]
    assert ("VI_1", DelVips()) in actions
    assert vi1.state is vi2.state is State.BACKUP


def test_fault_spreads_and_recovers_together() -> None:
    group, vi1, vi2 = make_group()
    group.fire_timers(group.next_deadline() or 0.0)
    actions = group.handle(
        "VI_2", FaultSet("track_interface:eth1", "interface eth1 carrier down"), 6.0
    )
    assert transitions(actions) == [
        ("VI_2", State.MASTER, State.FAULT, "interface eth1 carrier down"),
        ("VI_1", State.MASTER, State.FAULT, "sync group G1: VI_2 entered FAULT"),
    ]
    # Each master released its VRID with a priority 0 advert.
    zero = [(n, a.advert.vrid) for n, a in actions if isinstance(a, SendAdvert)]
    assert zero == [("VI_2", 52), ("VI_1", 51)]
    assert group.state is State.FAULT
    assert group.next_deadline() is None
    actions = group.handle(
        "VI_2", FaultCleared("track_interface:eth1", "interface eth1 carrier up"), 7.0
    )
    assert transitions(actions) == [
        ("VI_2", State.FAULT, State.BACKUP, "interface eth1 carrier up"),
        ("VI_1", State.FAULT, State.BACKUP, "sync group G1: VI_2 left FAULT"),
    ]
    assert vi1.faults == vi2.faults == {}
    assert vi1.next_deadline() == 7.0 + vi1.master_down_interval()


def test_group_stays_in_fault_while_any_member_has_its_own() -> None:
    group, vi1, vi2 = make_group()
    group.handle("VI_1", FaultSet("script", "track_script chk_a failed"), 1.0)
    group.handle("VI_2", FaultSet("script", "track_script chk_b failed"), 2.0)
    assert vi1.state is vi2.state is State.FAULT
    actions = group.handle("VI_1", FaultCleared("script", "chk_a ok"), 3.0)
    assert transitions(actions) == []
    assert vi1.state is vi2.state is State.FAULT
    actions = group.handle("VI_2", FaultCleared("script", "chk_b ok"), 4.0)
    assert sorted(t[0] for t in transitions(actions)) == ["VI_1", "VI_2"]
    assert vi1.state is vi2.state is State.BACKUP


def test_member_faulty_before_start_keeps_the_group_in_fault() -> None:
    vi1 = VrrpInstance(config("VI_1", vrid=51))
    vi2 = VrrpInstance(config("VI_2", vrid=52))
    group = SyncGroup("G1", [vi1, vi2])
    group.handle("VI_2", FaultSet("track_interface:eth1", "interface eth1 carrier down"), 0.0)
    actions = group.handle("VI_1", Start(), 0.0)
    # The group fault was recorded while VI_1 was still in INIT: it starts in FAULT.
    assert transitions(actions) == [
        ("VI_1", State.INIT, State.FAULT, "sync group G1: VI_2 entered FAULT"),
    ]
    actions = group.handle("VI_2", Start(), 0.0)
    assert transitions(actions) == [
        ("VI_2", State.INIT, State.FAULT, "interface eth1 carrier down"),
    ]


def test_shutdown_of_one_member_does_not_force_others() -> None:
    group, _vi1, vi2 = make_group()
    group.fire_timers(group.next_deadline() or 0.0)
    actions = group.handle("VI_1", Shutdown(), 9.0)
    assert transitions(actions) == [("VI_1", State.MASTER, State.STOP, "shutdown")]
    assert vi2.state is State.MASTER
    group.handle("VI_2", Shutdown(), 9.0)
    assert group.state is State.STOP
    assert isinstance(actions[-1][1], Transition)


def test_duplicate_member_names_rejected() -> None:
    with pytest.raises(ValueError):
        SyncGroup("G", [VrrpInstance(config("VI_1")), VrrpInstance(config("VI_1"))])
