"""``vrrp_sync_group``: instances that fail over together (pure, like fsm.py).

keepalived's rules, applied after every event fed to a member:

* a member entering MASTER forces the members in BACKUP to MASTER;
* a member leaving MASTER for BACKUP forces the members in MASTER to BACKUP;
* a member with a fault of its own puts every other member in FAULT, and they leave FAULT
  together when no member has a fault of its own any more.

Forcing uses the member's own inputs: :class:`~hookd.vrrp.fsm.ForceState` for MASTER /
BACKUP, and :class:`~hookd.vrrp.fsm.FaultSet` / :class:`~hookd.vrrp.fsm.FaultCleared` with
source ``"sync_group:<group>:<member>"`` for FAULT, so a member's own faults still keep it
in FAULT after the group's clear.
"""

from __future__ import annotations

from hookd.vrrp.fsm import (
    Action,
    Event,
    FaultCleared,
    FaultSet,
    ForceState,
    State,
    TimerFired,
    Transition,
    VrrpInstance,
)

__all__ = ["SyncGroup"]


class SyncGroup:
    """A sync group over existing :class:`VrrpInstance` objects (the group owns no timer).

    Actions come back as ``(member name, action)`` in the order they must be carried out.
    """

    def __init__(self, name: str, members: list[VrrpInstance]) -> None:
        self.name = name
        self.members: dict[str, VrrpInstance] = {m.name: m for m in members}
        if len(self.members) != len(members):
            raise ValueError(f"sync group {name}: duplicate member names")

    @property
    def state(self) -> State:
        """The group's state: FAULT if any member is, MASTER if any member is, else BACKUP
        (INIT/STOP when every member is)."""
        states = {m.state for m in self.members.values()}
        for s in (State.FAULT, State.MASTER, State.BACKUP):
            if s in states:
                return s
        return State.STOP if states == {State.STOP} else State.INIT

    def _source(self, member: str) -> str:
        return f"sync_group:{self.name}:{member}"

    def handle(self, member: str, event: Event, now: float) -> list[tuple[str, Action]]:
        """Feed ``event`` to ``member``, then propagate its state change to the others."""
        inst = self.members[member]
        before = inst.state
        out = [(member, a) for a in inst.handle(event, now)]
        out += self._reconcile_faults(now)
        after = inst.state
        if after is before:
            return out
        if after is State.MASTER:
            force = ForceState(State.MASTER, f"sync group {self.name}: {member} entered MASTER")
            wanted = State.BACKUP
        elif after is State.BACKUP and before is State.MASTER:
            force = ForceState(State.BACKUP, f"sync group {self.name}: {member} entered BACKUP")
            wanted = State.MASTER
        else:
            return out
        for name, other in self.members.items():
            if name != member and other.state is wanted:
                out += [(name, a) for a in other.handle(force, now)]
        return out

    def _reconcile_faults(self, now: float) -> list[tuple[str, Action]]:
        """Level-triggered: member m carries a group fault for each other faulty member."""
        out: list[tuple[str, Action]] = []
        faulty = [n for n, m in self.members.items() if m.own_faults()]
        prefix = f"sync_group:{self.name}:"
        # Set before clear, so a member whose faulty peers change stays in FAULT throughout.
        for name, inst in self.members.items():
            wanted = {self._source(o) for o in faulty if o != name}
            have = {k for k in inst.faults if k.startswith(prefix)}
            for origin in sorted(wanted - have):
                who = origin[len(prefix) :]
                ev = FaultSet(origin, f"sync group {self.name}: {who} entered FAULT")
                out += [(name, a) for a in inst.handle(ev, now)]
            for origin in sorted(have - wanted):
                who = origin[len(prefix) :]
                ev = FaultCleared(origin, f"sync group {self.name}: {who} left FAULT")
                out += [(name, a) for a in inst.handle(ev, now)]
        return out

    def next_deadline(self) -> float | None:
        """The earliest member deadline."""
        deadlines = [d for m in self.members.values() if (d := m.next_deadline()) is not None]
        return min(deadlines) if deadlines else None

    def fire_timers(self, now: float) -> list[tuple[str, Action]]:
        """Feed TimerFired to every member whose deadline has passed."""
        out: list[tuple[str, Action]] = []
        for name, inst in self.members.items():
            deadline = inst.next_deadline()
            if deadline is not None and deadline <= now:
                out += self.handle(name, TimerFired(inst.timer_generation), now)
        return out

    @staticmethod
    def transitions(actions: list[tuple[str, Action]]) -> list[tuple[str, Transition]]:
        """Just the Transition actions, for notify / audit."""
        return [(n, a) for n, a in actions if isinstance(a, Transition)]
