"""A tiny fake-clock network for driving VrrpInstance objects against each other.

Adverts are delivered instantly to every other connected node; the clock only jumps from
deadline to deadline (no real time passes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hookd.vrrp.fsm import (
    Action,
    AddVips,
    AdvertReceived,
    DelVips,
    Event,
    InstanceConfig,
    SendAdvert,
    State,
    TimerFired,
    Transition,
    VrrpInstance,
)


def config(name: str = "VI_1", address: str = "10.0.0.1", **kw: object) -> InstanceConfig:
    """A v2 instance on VRID 51 with one VIP; override anything with keywords."""
    base: dict[str, object] = {
        "name": name,
        "vrid": 51,
        "primary_address": address,
        "vips": ("10.0.0.100",),
    }
    base.update(kw)
    return InstanceConfig(**base)  # type: ignore[arg-type]


@dataclass
class Node:
    inst: VrrpInstance
    vips_up: bool = False
    connected: bool = True
    sent: list[tuple[float, SendAdvert]] = field(default_factory=list)
    transitions: list[tuple[float, Transition]] = field(default_factory=list)
    actions: list[tuple[float, Action]] = field(default_factory=list)


class Net:
    """Nodes on one link; ``feed`` delivers an input and everything it causes."""

    def __init__(self, *configs: InstanceConfig) -> None:
        self.now = 0.0
        self.nodes = {c.primary_address: Node(VrrpInstance(c)) for c in configs}

    def __getitem__(self, address: str) -> Node:
        return self.nodes[address]

    def feed(self, address: str, event: Event) -> list[Action]:
        node = self.nodes[address]
        before = node.inst.state
        actions = node.inst.handle(event, self.now)
        self._check(node, before, actions)
        for action in actions:
            if isinstance(action, SendAdvert):
                node.sent.append((self.now, action))
                if node.connected:
                    for other_addr, other in self.nodes.items():
                        if other is not node and other.connected:
                            self.feed(other_addr, AdvertReceived(action.advert, address))
        return actions

    def _check(self, node: Node, before: State, actions: list[Action]) -> None:
        """Invariants that hold after every single input."""
        trs = [a for a in actions if isinstance(a, Transition)]
        if node.inst.state is before:
            assert not trs, (before, actions)
        else:
            assert len(trs) == 1, actions
            assert (trs[0].from_state, trs[0].to_state) == (before, node.inst.state)
            assert node.inst.since == self.now
        for action in actions:
            node.actions.append((self.now, action))
            if isinstance(action, AddVips):
                assert not node.vips_up
                node.vips_up = True
            elif isinstance(action, DelVips):
                assert node.vips_up
                node.vips_up = False
            elif isinstance(action, Transition):
                node.transitions.append((self.now, action))
        assert node.vips_up == (node.inst.state is State.MASTER)
        if before is State.STOP:
            assert actions == []

    def next_deadline(self) -> float | None:
        deadlines = [d for n in self.nodes.values() if (d := n.inst.next_deadline()) is not None]
        return min(deadlines) if deadlines else None

    def run(self, until: float) -> None:
        """Fire timers in time order up to ``until`` (inclusive), then set the clock there."""
        while (deadline := self.next_deadline()) is not None and deadline <= until:
            self.now = max(self.now, deadline)
            for address, node in self.nodes.items():
                d = node.inst.next_deadline()
                if d is not None and d <= self.now:
                    self.feed(address, TimerFired(node.inst.timer_generation))
        self.now = max(self.now, until)

    def states(self) -> dict[str, State]:
        return {a: n.inst.state for a, n in self.nodes.items()}

    def masters(self) -> list[str]:
        return [a for a, n in self.nodes.items() if n.inst.state is State.MASTER]
