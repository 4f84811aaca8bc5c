"""VrrpInstance: single-instance tests and two instances driven against each other."""

from __future__ import annotations

import random

import pytest

from hookd.vrrp.fsm import (
    AddVips,
    AdvertReceived,
    Announce,
    DelVips,
    FaultCleared,
    FaultSet,
    ForceState,
    PriorityChanged,
    SendAdvert,
    Shutdown,
    Start,
    State,
    TimerFired,
    Transition,
    VrrpInstance,
)
from hookd.vrrp.packet import Advert
from tests.unit.vrrp_sim import Net, config

A, B = "10.0.0.1", "10.0.0.2"


def skew(pri_val: int) -> float:
    """v2 skew for (256 - priority) = pri_val, in whole microseconds as the FSM keeps it."""
    return pri_val * 1_000_000 // 256 / 1e6


def advert(priority: int, version: int = 2, adver_int: int = 1) -> Advert:
    return Advert(version, 51, priority, adver_int, ("10.0.0.100",))


def fire(inst: VrrpInstance, now: float) -> list:
    return inst.handle(TimerFired(inst.timer_generation), now)


def backup(**kw: object) -> VrrpInstance:
    inst = VrrpInstance(config(**kw))
    inst.handle(Start(), 0.0)
    assert inst.state is State.BACKUP
    return inst


def master(**kw: object) -> VrrpInstance:
    inst = backup(**kw)
    deadline = inst.next_deadline()
    assert deadline is not None
    fire(inst, deadline)
    assert inst.state is State.MASTER
    return inst


# ------------------------------------------------------------------ timer arithmetic


def test_v2_skew_and_master_down_interval() -> None:
    inst = VrrpInstance(config(priority=100))
    assert inst.skew_time() == 156 / 256 == 0.609375
    assert inst.master_down_interval() == 3.609375
    assert VrrpInstance(config(priority=254)).skew_time() == skew(2)
    assert VrrpInstance(config(priority=1, advert_int=2.0)).master_down_interval() == 6 + skew(255)


def test_v3_skew_scales_with_master_adver_int() -> None:
    inst = VrrpInstance(config(version=3, priority=100, advert_int=1.0))
    assert inst.skew_time() == 0.609375
    half = VrrpInstance(config(version=3, priority=150, advert_int=0.5))
    # (256-150) * 50 cs / 256 = 20.703125 cs, truncated to whole microseconds.
    assert half.skew_time() == 0.207031
    assert half.master_down_interval() == 1.5 + 0.207031


def test_v3_backup_learns_master_adver_int() -> None:
    inst = backup(version=3, priority=100, advert_int=1.0)
    inst.handle(AdvertReceived(advert(200, version=3, adver_int=50), B), 1.0)
    assert inst.master_adver_int == 0.5
    assert inst.master_down_interval() == 1.5 + 156 * 50 * 10_000 // 256 / 1e6
    assert inst.next_deadline() == 1.0 + inst.master_down_interval()
    # v2 never learns: the interval must match (packet.validate drops it otherwise).
    v2 = backup(priority=100)
    v2.handle(AdvertReceived(advert(200, adver_int=3), B), 1.0)
    assert v2.master_adver_int == 1.0


# ------------------------------------------------------------------ start-up


def test_start_backup_then_master_down_timer_expires() -> None:
    inst = VrrpInstance(config(priority=100, garp_master_repeat=5, garp_master_delay=5.0))
    assert inst.state is State.INIT and inst.next_deadline() is None
    actions = inst.handle(Start(), 10.0)
    assert actions == [Transition(State.INIT, State.BACKUP, 100, "startup")]
    assert inst.since == 10.0
    assert inst.next_deadline() == 10.0 + 3.609375
    actions = fire(inst, 13.609375)
    assert [type(a) for a in actions] == [SendAdvert, AddVips, Announce, Transition]
    assert actions[0] == SendAdvert(advert(100))
    assert actions[2] == Announce(5)
    assert actions[3] == Transition(
        State.BACKUP, State.MASTER, 100, "master_down_timer expired (no advert received)"
    )
    assert inst.master_address == A
    # adverts every advert_int, the second GARP burst after garp_master_delay.
    assert inst.next_deadline() == 14.609375
    assert fire(inst, 14.609375) == [SendAdvert(advert(100))]
    t = 14.609375
    for _ in range(3):
        t += 1
        assert fire(inst, t) == [SendAdvert(advert(100))]
    assert inst.next_deadline() == 13.609375 + 5.0
    assert fire(inst, 18.609375) == [SendAdvert(advert(100)), Announce(5)]
    assert inst.next_deadline() == 19.609375


def test_owner_goes_master_at_once() -> None:
    inst = VrrpInstance(config(priority=255))
    actions = inst.handle(Start(), 0.0)
    assert actions[-1] == Transition(State.INIT, State.MASTER, 255, "address owner (priority 255)")
    assert actions[0] == SendAdvert(advert(255))
    assert inst.handle(PriorityChanged(200, "track"), 1.0) == []
    assert inst.effective_priority == 255


def test_state_master_without_owning_waits_one_interval() -> None:
    inst = VrrpInstance(config(priority=100, initial_state=State.MASTER))
    inst.handle(Start(), 0.0)
    assert inst.state is State.BACKUP
    assert inst.next_deadline() == 1.0 + skew(1)


def test_start_with_fault_already_set() -> None:
    inst = VrrpInstance(config())
    assert inst.handle(FaultSet("track_interface:eth0", "interface eth0 carrier down"), 0.0) == []
    assert inst.state is State.INIT
    assert inst.handle(Start(), 1.0) == [
        Transition(State.INIT, State.FAULT, 100, "interface eth0 carrier down")
    ]
    assert inst.next_deadline() is None
    assert inst.handle(Start(), 2.0) == []


def test_stale_timer_generation_is_ignored() -> None:
    inst = backup()
    old = inst.timer_generation
    inst.handle(AdvertReceived(advert(150), B), 1.0)  # re-arms master_down
    assert inst.timer_generation == old + 1
    assert inst.handle(TimerFired(old), 100.0) == []
    assert inst.state is State.BACKUP
    # Same deadline, same generation: a second advert at the same instant changes nothing.
    gen = inst.timer_generation
    inst.handle(AdvertReceived(advert(150), B), 1.0)
    assert inst.timer_generation == gen
    # Firing early does nothing either.
    assert fire(inst, 2.0) == []


# ------------------------------------------------------------------ BACKUP


def test_backup_resets_on_higher_or_equal_and_records_master() -> None:
    inst = backup(priority=100)
    inst.handle(AdvertReceived(advert(100), B), 2.0)
    assert inst.next_deadline() == 2.0 + 3.609375
    assert (inst.master_address, inst.master_priority, inst.last_advert_at) == (B, 100, 2.0)
    actions = fire(inst, 5.609375)
    assert actions[-1].reason == "master_down_timer expired (last advert from 10.0.0.2 3.6s ago)"


def test_backup_priority_zero_waits_skew_only() -> None:
    inst = backup(priority=100)
    inst.handle(AdvertReceived(advert(150), B), 1.0)
    inst.handle(AdvertReceived(advert(0), B), 2.0)
    assert inst.next_deadline() == 2.0 + 0.609375
    actions = fire(inst, 2.609375)
    assert actions[-1] == Transition(
        State.BACKUP, State.MASTER, 100, "priority 0 from 10.0.0.2 (master released)"
    )


def test_backup_preempts_lower_priority_at_expiry() -> None:
    inst = backup(priority=100)
    inst.handle(AdvertReceived(advert(90), B), 1.0)  # ignored: timer still from start
    assert inst.next_deadline() == 3.609375
    assert inst.master_address == B
    actions = fire(inst, 3.609375)
    assert actions[-1].reason == "preempting lower priority 90 from 10.0.0.2"


def test_nopreempt_backup_accepts_lower_priority() -> None:
    inst = backup(priority=100, nopreempt=True)
    for t in range(1, 10):
        inst.handle(AdvertReceived(advert(90), B), float(t))
        assert inst.next_deadline() == t + 3.609375
    assert inst.state is State.BACKUP


def test_preempt_delay_holds_then_preempts() -> None:
    inst = backup(priority=100, preempt_delay=10.0)
    # Lower adverts are accepted (timer reset) until preempt_delay after the first one.
    for t in range(1, 11):
        inst.handle(AdvertReceived(advert(90), B), float(t))
        assert inst.next_deadline() == t + 3.609375
    inst.handle(AdvertReceived(advert(90), B), 11.0)  # 11 > 1 + 10: now ignored
    assert inst.next_deadline() == 10 + 3.609375
    actions = fire(inst, 13.609375)
    assert actions[-1].reason == "preempting lower priority 90 from 10.0.0.2"


def test_preempt_delay_restarts_after_a_higher_advert() -> None:
    inst = backup(priority=100, preempt_delay=5.0)
    inst.handle(AdvertReceived(advert(90), B), 1.0)  # delay runs until 6
    inst.handle(AdvertReceived(advert(120), B), 2.0)  # higher master again: delay stopped
    inst.handle(AdvertReceived(advert(90), B), 7.0)  # restarts: until 12
    inst.handle(AdvertReceived(advert(90), B), 8.0)
    assert inst.next_deadline() == 8.0 + 3.609375


def test_backup_priority_change_shifts_running_timer() -> None:
    inst = backup(priority=100)
    inst.handle(AdvertReceived(advert(150), B), 1.0)
    assert inst.handle(PriorityChanged(200, "track_script chk ok (weight +100)"), 2.0) == []
    assert inst.effective_priority == 200
    assert inst.next_deadline() == 1.0 + 3 + skew(56)
    inst.handle(PriorityChanged(300, "clamped"), 2.0)
    assert inst.effective_priority == 254


# ------------------------------------------------------------------ MASTER


def test_master_lower_advert_asserts_itself() -> None:
    inst = master(priority=100)
    deadline = inst.next_deadline()
    assert inst.handle(AdvertReceived(advert(90), B), 4.0) == [SendAdvert(advert(100))]
    assert inst.next_deadline() == deadline
    assert inst.state is State.MASTER


def test_master_priority_zero_sends_and_resets_adver_timer() -> None:
    inst = master(priority=100)
    assert inst.handle(AdvertReceived(advert(0), B), 4.0) == [SendAdvert(advert(100))]
    assert inst.next_deadline() == 5.0


def test_master_yields_to_higher_priority() -> None:
    inst = master(priority=100)
    actions = inst.handle(AdvertReceived(advert(101), B), 4.0)
    assert actions == [
        DelVips(),
        Transition(State.MASTER, State.BACKUP, 100, "higher priority 101 from 10.0.0.2"),
    ]
    assert inst.master_address == B
    assert inst.next_deadline() == 4.0 + 3.609375


def test_master_equal_priority_tie_break_on_address() -> None:
    low = master(priority=100, address=A)
    actions = low.handle(AdvertReceived(advert(100), B), 4.0)
    assert actions[-1].reason == "equal priority 100, higher address 10.0.0.2"
    high = master(priority=100, address=B)
    assert high.handle(AdvertReceived(advert(100), A), 4.0) == [SendAdvert(advert(100))]
    # Our own address with equal priority: keepalived only warns.
    assert high.handle(AdvertReceived(advert(100), B), 4.0) == []
    assert high.state is State.MASTER


def test_v3_master_learns_interval_when_yielding() -> None:
    inst = master(version=3, priority=100, advert_int=1.0)
    inst.handle(AdvertReceived(advert(200, version=3, adver_int=200), B), 10.0)
    assert inst.master_adver_int == 2.0
    assert inst.next_deadline() == 10.0 + 6 + 156 * 200 * 10_000 // 256 / 1e6


def test_two_owners_reduce_priority() -> None:
    inst = VrrpInstance(config(priority=255, address=A))
    inst.handle(Start(), 0.0)
    actions = inst.handle(AdvertReceived(advert(255), B), 1.0)
    assert inst.effective_priority == 254
    assert actions[-1].reason == "higher priority 255 from 10.0.0.2"


def test_master_priority_change_shows_in_next_advert() -> None:
    inst = master(priority=100)
    deadline = inst.next_deadline()
    assert deadline is not None
    assert inst.handle(PriorityChanged(80, "track_script chk_nginx failed (weight -20)"), 4.0) == []
    assert fire(inst, deadline) == [SendAdvert(advert(80))]


def test_garp_refresh() -> None:
    inst = VrrpInstance(
        config(
            priority=255,
            garp_master_delay=0,
            garp_master_refresh=2.5,
            garp_master_refresh_repeat=2,
        )
    )
    inst.handle(Start(), 0.0)
    announces = []
    for t in (1.0, 2.0, 2.5, 3.0, 4.0, 5.0):
        announces += [(t, a) for a in fire(inst, t) if isinstance(a, Announce)]
    assert announces == [(2.5, Announce(2)), (5.0, Announce(2))]


def test_auth_pass_goes_into_adverts() -> None:
    inst = VrrpInstance(config(priority=255, auth_type=1, auth_pass="secretpassword"))
    actions = inst.handle(Start(), 0.0)
    sent = actions[0]
    assert isinstance(sent, SendAdvert)
    assert (sent.advert.auth_type, sent.advert.auth_data) == (1, b"secretpa")


# ------------------------------------------------------------------ faults / stop


def test_fault_from_master_releases_and_recovers_to_backup() -> None:
    inst = master(priority=100)
    actions = inst.handle(FaultSet("track_interface:eth0", "interface eth0 carrier down"), 5.0)
    assert actions == [
        SendAdvert(advert(0)),
        DelVips(),
        Transition(State.MASTER, State.FAULT, 100, "interface eth0 carrier down"),
    ]
    assert inst.next_deadline() is None
    assert (
        inst.handle(FaultSet("track_script:chk_nginx", "track_script chk_nginx failed"), 6.0) == []
    )
    assert inst.handle(AdvertReceived(advert(150), B), 6.5) == []
    assert inst.handle(FaultCleared("track_interface:eth0", "interface eth0 carrier up"), 7.0) == []
    assert inst.state is State.FAULT
    actions = inst.handle(FaultCleared("track_script:chk_nginx", "chk_nginx ok"), 8.0)
    assert actions == [Transition(State.FAULT, State.BACKUP, 100, "chk_nginx ok")]
    assert inst.next_deadline() == 8.0 + 3.609375
    assert inst.faults == {}


def test_fault_keyed_by_reason_only() -> None:
    inst = backup()
    actions = inst.handle(FaultSet(reason="net_check: peer and gateway unreachable"), 1.0)
    assert actions == [
        Transition(State.BACKUP, State.FAULT, 100, "net_check: peer and gateway unreachable")
    ]
    actions = inst.handle(FaultCleared(reason="net_check: peer and gateway unreachable"), 2.0)
    assert [a.to_state for a in actions] == [State.BACKUP]
    inst.handle(FaultSet("link"), 3.0)
    assert inst.handle(FaultCleared("link"), 4.0)[0].reason == "link recovered"


def test_owner_leaves_fault_straight_to_master() -> None:
    inst = VrrpInstance(config(priority=255))
    inst.handle(Start(), 0.0)
    inst.handle(FaultSet("if"), 1.0)
    actions = inst.handle(FaultCleared("if", "interface eth0 carrier up"), 2.0)
    assert actions[-1] == Transition(State.FAULT, State.MASTER, 255, "interface eth0 carrier up")


@pytest.mark.parametrize("start_master", [True, False])
def test_shutdown_is_absorbing(start_master: bool) -> None:
    inst = master() if start_master else backup()
    before = inst.state
    actions = inst.handle(Shutdown(), 9.0)
    if start_master:
        assert actions == [
            SendAdvert(advert(0)),
            DelVips(),
            Transition(State.MASTER, State.STOP, 100, "shutdown"),
        ]
    else:
        assert actions == [Transition(before, State.STOP, 100, "shutdown")]
    assert inst.next_deadline() is None
    for ev in (
        Start(),
        AdvertReceived(advert(0), B),
        TimerFired(inst.timer_generation),
        FaultSet("x"),
        FaultCleared("x"),
        PriorityChanged(10),
        Shutdown(),
        ForceState(State.MASTER, "x"),
    ):
        assert inst.handle(ev, 10.0) == []
    assert inst.state is State.STOP


def test_shutdown_from_init_and_fault() -> None:
    inst = VrrpInstance(config())
    assert inst.handle(Shutdown("reload"), 0.0) == [
        Transition(State.INIT, State.STOP, 100, "reload")
    ]
    inst = backup()
    inst.handle(FaultSet("x"), 1.0)
    assert inst.handle(Shutdown(), 2.0)[0].from_state is State.FAULT


def test_force_state() -> None:
    inst = backup()
    actions = inst.handle(ForceState(State.MASTER, "sync group G: VI_2 entered MASTER"), 1.0)
    assert actions[-1].to_state is State.MASTER
    assert inst.handle(ForceState(State.MASTER, "again"), 1.0) == []
    actions = inst.handle(ForceState(State.BACKUP, "sync group G: VI_2 entered BACKUP"), 2.0)
    assert actions == [
        DelVips(),
        Transition(State.MASTER, State.BACKUP, 100, "sync group G: VI_2 entered BACKUP"),
    ]
    with pytest.raises(ValueError):
        inst.handle(ForceState(State.FAULT, "no"), 3.0)
    with pytest.raises(TypeError):
        inst.handle("nonsense", 3.0)  # type: ignore[arg-type]


# ------------------------------------------------------------------ two instances


def test_pair_elects_higher_priority_and_fails_over_on_silence() -> None:
    net = Net(config(address=A, priority=101), config(address=B, priority=100))
    net.feed(A, Start())
    net.feed(B, Start())
    net.run(10.0)
    assert net.states() == {A: State.MASTER, B: State.BACKUP}
    assert net[A].transitions[-1][1].reason == "master_down_timer expired (no advert received)"
    assert net[A].transitions[-1][0] == 3 + skew(155)
    # A disappears (crash: no priority 0). B takes over after Master_Down_Interval.
    net[A].connected = False
    last_advert = net[B].inst.last_advert_at
    assert last_advert is not None
    net.run(20.0)
    assert net[B].inst.state is State.MASTER
    when, tr = net[B].transitions[-1]
    assert when == last_advert + 3.609375
    assert tr.reason == "master_down_timer expired (last advert from 10.0.0.1 3.6s ago)"
    # A comes back: B sees the higher advert and yields; A never saw B's lower one.
    net[A].connected = True
    net.run(25.0)
    assert net.masters() == [A]
    assert net[B].transitions[-1][1].reason == "higher priority 101 from 10.0.0.1"


def test_pair_graceful_shutdown_hands_over_after_skew() -> None:
    net = Net(config(address=A, priority=101), config(address=B, priority=100))
    net.feed(A, Start())
    net.feed(B, Start())
    net.run(10.0)
    net.feed(A, Shutdown())
    assert net[A].inst.state is State.STOP
    net.run(10.0 + 0.609375)
    assert net.masters() == [B]
    assert net[B].transitions[-1] == (
        10.609375,
        Transition(State.BACKUP, State.MASTER, 100, "priority 0 from 10.0.0.1 (master released)"),
    )


def test_pair_higher_priority_joining_later_preempts() -> None:
    net = Net(config(address=A, priority=150), config(address=B, priority=100))
    net.feed(B, Start())
    net.run(10.0)
    assert net.masters() == [B]
    net.feed(A, Start())
    net.run(20.0)
    assert net.masters() == [A]
    when, tr = net[A].transitions[-1]
    assert tr.reason == "preempting lower priority 100 from 10.0.0.2"
    assert when == 10.0 + 3 + skew(106)
    assert net[B].transitions[-1][1].reason == "higher priority 150 from 10.0.0.1"


def test_pair_nopreempt_keeps_the_current_master() -> None:
    net = Net(config(address=A, priority=150, nopreempt=True), config(address=B, priority=100))
    net.feed(B, Start())
    net.run(10.0)
    net.feed(A, Start())
    net.run(60.0)
    assert net.masters() == [B]


def test_pair_preempt_delay() -> None:
    net = Net(config(address=A, priority=150, preempt_delay=20.0), config(address=B, priority=100))
    net.feed(B, Start())
    net.run(10.0)
    net.feed(A, Start())
    net.run(30.0)
    assert net.masters() == [B]
    net.run(40.0)
    assert net.masters() == [A]
    when = net[A].transitions[-1][0]
    # B adverts at 10.609375 + k; the first one A sees starts the 20 s delay, the one at
    # exactly 30.609375 is the first ignored, so A takes over one Master_Down_Interval
    # after the last accepted advert (29.609375).
    assert when == 29.609375 + 3 + skew(106)


def test_pair_equal_priority_resolves_to_higher_address() -> None:
    net = Net(config(address=A, priority=100), config(address=B, priority=100))
    # Whoever times out first wins if its advert arrives first: A here (fed first).
    net.feed(A, Start())
    net.feed(B, Start())
    net.run(10.0)
    assert net.masters() == [A]
    # Split brain: both become master while partitioned, then the link heals.
    net = Net(config(address=A, priority=100), config(address=B, priority=100))
    net[A].connected = net[B].connected = False
    net.feed(A, Start())
    net.feed(B, Start())
    net.run(5.0)
    assert sorted(net.masters()) == [A, B]
    net[A].connected = net[B].connected = True
    net.run(10.0)
    assert net.masters() == [B]
    assert net[A].transitions[-1][1].reason == "equal priority 100, higher address 10.0.0.2"
    assert [tr.reason for _, tr in net[B].transitions] == [
        "startup",
        "master_down_timer expired (no advert received)",
    ]


def test_pair_priority_drop_on_master_lets_backup_preempt() -> None:
    net = Net(config(address=A, priority=110), config(address=B, priority=100))
    net.feed(A, Start())
    net.feed(B, Start())
    net.run(10.0)
    net.feed(A, PriorityChanged(90, "track_script chk_nginx failed (weight -20)"))
    net.run(20.0)
    assert net.masters() == [B]
    assert net[B].transitions[-1][1].reason == "preempting lower priority 90 from 10.0.0.1"
    assert net[A].transitions[-1][1].reason == "higher priority 100 from 10.0.0.2"


def test_pair_fault_on_master_hands_over_quickly() -> None:
    net = Net(config(address=A, priority=110), config(address=B, priority=100))
    net.feed(A, Start())
    net.feed(B, Start())
    net.run(10.0)
    net.feed(A, FaultSet("track_interface:eth0", "interface eth0 carrier down"))
    net.run(10.0 + 0.609375)
    assert net.states() == {A: State.FAULT, B: State.MASTER}
    net.feed(A, FaultCleared("track_interface:eth0", "interface eth0 carrier up"))
    net.run(30.0)
    assert net.states() == {A: State.MASTER, B: State.BACKUP}


def test_pair_v3_ipv6_with_learned_interval() -> None:
    common = {"version": 3, "family": 6, "vips": ("fd99::100",)}
    net = Net(
        config(address="fe80::1", priority=150, advert_int=0.5, **common),
        config(address="fe80::2", priority=100, advert_int=2.0, **common),
    )
    net.feed("fe80::1", Start())
    net.feed("fe80::2", Start())
    net.run(20.0)
    assert net.masters() == ["fe80::1"]
    backup_inst = net["fe80::2"].inst
    assert backup_inst.master_adver_int == 0.5
    assert backup_inst.master_down_interval() == 1.5 + 156 * 50 * 10_000 // 256 / 1e6


# ------------------------------------------------------------------ random sequences


def test_random_event_sequences_keep_invariants() -> None:
    """Thousands of random inputs on a 2-3 node link; Net checks per-input invariants.

    Extra: once the link is healthy and nothing has changed for a settling time, there is
    exactly one master, and (without nopreempt) none of the backups has a higher priority.
    """
    addresses = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    total_inputs = 0
    for seed in range(150):
        rng = random.Random(seed)
        n = rng.choice([2, 3])
        version = rng.choice([2, 3])
        configs = [
            config(
                address=addresses[i],
                version=version,
                priority=rng.choice([50, 100, 100, 100, 150, 254, 255]),
                advert_int=rng.choice([1.0, 2.0]) if version == 2 else rng.choice([0.5, 1.0]),
                nopreempt=rng.random() < 0.2,
                preempt_delay=rng.choice([0.0, 0.0, 3.0]),
                initial_state=rng.choice([State.BACKUP, State.MASTER]),
            )
            for i in range(n)
        ]
        if version == 2:  # v2 peers must agree on the interval
            configs = [
                config(**{**c.__dict__, "advert_int": configs[0].advert_int}) for c in configs
            ]
        net = Net(*configs)
        stopped: set[str] = set()
        for addr in addresses[:n]:
            net.feed(addr, Start())
        for _ in range(40):
            addr = rng.choice(addresses[:n])
            node = net[addr]
            roll = rng.random()
            if roll < 0.25:
                net.run(net.now + rng.uniform(0.1, 8.0))
            elif roll < 0.4:
                net.feed(addr, PriorityChanged(rng.choice([1, 90, 100, 100, 110, 254]), "random"))
            elif roll < 0.55:
                net.feed(addr, FaultSet(rng.choice(["if", "script"]), "random fault"))
            elif roll < 0.75:
                net.feed(addr, FaultCleared(rng.choice(["if", "script"]), "random clear"))
            elif roll < 0.85:
                node.connected = not node.connected
            elif roll < 0.88:
                net.feed(addr, Shutdown())
                stopped.add(addr)
            elif roll < 0.93:
                # A stale timer must never do anything.
                assert node.inst.handle(TimerFired(node.inst.timer_generation - 1), net.now) == []
            else:
                net.feed(addr, TimerFired(node.inst.timer_generation))
            total_inputs += 1
        # Heal: reconnect everyone, clear faults, let it settle.
        for addr in addresses[:n]:
            net[addr].connected = True
            for src in ("if", "script"):
                net.feed(addr, FaultCleared(src, "heal"))
        longest = max(c.advert_int for c in configs)
        net.run(net.now + 4 * longest + 1 + max(c.preempt_delay for c in configs) * 2)
        settled = sum(len(net[a].transitions) for a in addresses[:n])
        net.run(net.now + 4 * longest + 1)
        # Stable: nobody flaps once the link is healthy and the inputs stop.
        assert sum(len(net[a].transitions) for a in addresses[:n]) == settled, seed
        live = [a for a in addresses[:n] if a not in stopped]
        masters = net.masters()
        if live:
            assert len(masters) == 1, (seed, net.states())
            if not any(net[a].inst.config.nopreempt for a in live):
                # A backup only preempts a strictly lower master (ties keep the master).
                top = max(net[a].inst.effective_priority for a in live)
                assert net[masters[0]].inst.effective_priority == top, (seed, net.states())
        for addr in stopped:
            assert net[addr].inst.state is State.STOP
    assert total_inputs >= 6000
