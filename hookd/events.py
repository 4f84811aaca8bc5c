"""Events that travel on the bus: frozen dataclasses, serialisable to JSON.

The Transition JSON is a public contract (audit log, webhooks, ``history --json``):
``{"id", "seq", "time", "node", "instance", "group", "vrid", "from", "to", "priority",
"base_priority", "vips", "reason"}``.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

_seq = itertools.count(1)


def next_seq() -> int:
    """Process-wide monotonically increasing sequence number."""
    return next(_seq)


def set_seq_floor(floor: int) -> None:
    """After a restart, continue numbering above what the audit log already holds."""
    global _seq
    _seq = itertools.count(max(floor + 1, 1))


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every bus event."""

    id: str = field(default_factory=new_id)
    seq: int = field(default_factory=next_seq)
    time: float = field(default_factory=time.time)  # wall clock, seconds since epoch
    node: str = ""  # router_id

    kind: str = "event"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False, separators=(",", ":"))


@dataclass(frozen=True, kw_only=True)
class Transition(Event):
    """An instance (or a sync group) changed VRRP state."""

    kind: str = "transition"
    instance: str
    group: str | None = None  # the sync group, for an instance in one
    vrid: int | None = None
    from_state: str
    to_state: str
    priority: int  # effective priority at the time
    base_priority: int
    vips: tuple[str, ...] = ()
    reason: str = ""
    is_group: bool = False  # True: `instance` names a sync group (keepalived's GROUP notify)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape: ``from``/``to`` rather than the Python-safe names."""
        return {
            "kind": self.kind,
            "id": self.id,
            "seq": self.seq,
            "time": self.time,
            "node": self.node,
            "instance": self.instance,
            "group": self.group,
            "vrid": self.vrid,
            "from": self.from_state,
            "to": self.to_state,
            "priority": self.priority,
            "base_priority": self.base_priority,
            "vips": list(self.vips),
            "reason": self.reason,
            "is_group": self.is_group,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Transition:
        return cls(
            id=d["id"],
            seq=d["seq"],
            time=d["time"],
            node=d.get("node", ""),
            instance=d["instance"],
            group=d.get("group"),
            vrid=d.get("vrid"),
            from_state=d["from"],
            to_state=d["to"],
            priority=d["priority"],
            base_priority=d["base_priority"],
            vips=tuple(d.get("vips", ())),
            reason=d.get("reason", ""),
            is_group=d.get("is_group", False),
        )


@dataclass(frozen=True, kw_only=True)
class PriorityChange(Event):
    """An instance's effective priority moved (a check's weight applied or removed)."""

    kind: str = "priority_change"
    instance: str
    old_priority: int
    new_priority: int
    base_priority: int
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class CheckResult(Event):
    """A health check (track_script, track_interface, net_check) changed status."""

    kind: str = "check_result"
    check: str  # "track_script:chk_nginx", "track_interface:eth0", "net_check:VI_1"
    ok: bool
    detail: str = ""
    instances: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Delivery(Event):
    """The outcome of one (event, subscriber) delivery attempt, for the audit log."""

    kind: str = "delivery"
    event_id: str
    subscriber: str
    status: str  # "delivered" | "retry" | "dead" | "superseded"
    attempt: int = 1
    detail: str = ""
    duration: float | None = None
