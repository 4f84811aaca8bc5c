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
    instance: str | None = None  # the instance/group of the delivered event (for history)
    event_kind: str = ""  # kind of the delivered event ("transition", "flap_digest", ...)


@dataclass(frozen=True, kw_only=True)
class FlapDigest(Event):
    """Several transitions of one flapping instance folded into one notification.

    Only people-facing sinks (email, apprise) get digests; scripts, the FIFO and the audit
    log always get every Transition. ``transitions`` holds their public JSON dicts, in order.
    """

    kind: str = "flap_digest"
    instance: str
    is_group: bool = False
    group: str | None = None
    transitions: tuple[dict[str, Any], ...] = ()
    window: float = 0.0  # FlappingSettings.window

    @property
    def to_state(self) -> str:
        """The state the instance ended up in (the last folded transition's)."""
        return str(self.transitions[-1]["to"]) if self.transitions else ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["transitions"] = [dict(t) for t in self.transitions]
        return d


_KINDS: dict[str, type[Event]] = {}


def event_from_dict(d: dict[str, Any]) -> Event:
    """Rebuild any bus event from its ``to_dict()`` form (the outbox stores events as JSON)."""
    if not _KINDS:
        for cls in (Event, Transition, PriorityChange, CheckResult, Delivery, FlapDigest):
            _KINDS[cls.kind] = cls  # type: ignore[assignment]
    kind = d.get("kind", "event")
    cls = _KINDS.get(kind, Event)
    if cls is Transition:
        return Transition.from_dict(d)
    names = {f for f in cls.__dataclass_fields__}
    kwargs = {k: v for k, v in d.items() if k in names}
    for k, v in kwargs.items():
        if isinstance(v, list):  # JSON has no tuples; every sequence field is a tuple
            kwargs[k] = tuple(v)
    return cls(**kwargs)
