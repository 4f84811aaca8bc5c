"""Pure per-instance VRRP state machine (RFC 3768 / RFC 5798 as keepalived 2.2.7 runs them).

The machine never touches a socket or a clock (like h11 / aioquic): the shell feeds it
inputs with ``handle(event, now)`` and carries out the returned actions in order, then
re-arms one timer at :meth:`VrrpInstance.next_deadline` and, when it passes, feeds
``TimerFired(instance.timer_generation)``. A TimerFired carrying an older generation is
ignored, so a late expiry of a timer that was re-armed meanwhile is harmless.

States and what moves them (every transition lives in this file)::

    INIT   --Start-->              BACKUP | MASTER (priority 255) | FAULT (fault already set)
    BACKUP --master_down_timer-->  MASTER    (no advert, priority 0 seen, or preempting)
    MASTER --higher advert-->      BACKUP    (higher priority, or equal and higher address)
    BACKUP|MASTER --FaultSet-->    FAULT     (MASTER sends a priority 0 advert first)
    FAULT  --last FaultCleared-->  BACKUP    (MASTER at once for the address owner)
    any    --Shutdown-->           STOP      (absorbing; MASTER sends priority 0 first)
    ForceState(MASTER|BACKUP)      used by sync groups (see group.py)

Timer arithmetic is done in integer microseconds (as keepalived does with TIMER_HZ) so
Master_Down_Interval and the skew never drift.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from hookd.vrrp.packet import (
    AUTH_NONE,
    AUTH_PASS,
    Advert,
    interval_to_field,
    pass_auth_data,
)

PRIO_OWNER = 255
PRIO_STOP = 0
US = 1_000_000  # microseconds per second

__all__ = [
    "Action",
    "AddVips",
    "AdvertReceived",
    "Announce",
    "DelVips",
    "Event",
    "FaultCleared",
    "FaultSet",
    "ForceState",
    "InstanceConfig",
    "PriorityChanged",
    "SendAdvert",
    "Shutdown",
    "Start",
    "State",
    "TimerFired",
    "Transition",
    "VrrpInstance",
]


class State(StrEnum):
    """VRRP instance state, spelled as keepalived's notify scripts receive it."""

    INIT = "INIT"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"
    STOP = "STOP"


@dataclass(frozen=True)
class InstanceConfig:
    """What the FSM needs from one ``vrrp_instance`` block."""

    name: str
    vrid: int
    version: int = 2
    family: int = 4
    priority: int = 100
    advert_int: float = 1.0
    primary_address: str = ""
    vips: tuple[str, ...] = ()
    auth_type: int = AUTH_NONE
    auth_pass: str = ""
    initial_state: State = State.BACKUP
    nopreempt: bool = False
    preempt_delay: float = 0.0
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    strict: bool = False


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Start:
    """Leave INIT."""


@dataclass(frozen=True)
class AdvertReceived:
    """An advert that already passed ``packet.validate``; ``src`` is the IP source."""

    advert: Advert
    src: str


@dataclass(frozen=True)
class TimerFired:
    """``next_deadline()`` passed; ``generation`` is ``timer_generation`` when it was armed."""

    generation: int


@dataclass(frozen=True)
class PriorityChanged:
    """New effective priority (base + track weights, already clamped to 1..254)."""

    priority: int
    reason: str = ""


@dataclass(frozen=True)
class FaultSet:
    """A fault source went bad (e.g. source "track_interface:eth0").

    Faults are keyed by ``source``; when only ``reason`` is given it is the key too. The
    instance stays in FAULT while any source is still faulty.
    """

    source: str = ""
    reason: str = ""

    @property
    def key(self) -> str:
        return self.source or self.reason

    @property
    def text(self) -> str:
        return self.reason or self.source


@dataclass(frozen=True)
class FaultCleared:
    """A fault source recovered (same keying as :class:`FaultSet`)."""

    source: str = ""
    reason: str = ""

    @property
    def key(self) -> str:
        return self.source or self.reason

    @property
    def text(self) -> str:
        return self.reason or f"{self.source} recovered"


@dataclass(frozen=True)
class Shutdown:
    """Graceful stop: the MASTER releases (priority 0 advert) and everyone goes to STOP."""

    reason: str = "shutdown"


@dataclass(frozen=True)
class ForceState:
    """Sync-group forcing: BACKUP -> MASTER, or MASTER/FAULT (no fault left) -> BACKUP.

    Ignored in any other state. FAULT is forced through FaultSet/FaultCleared instead.
    """

    state: State
    reason: str


Event = (
    Start
    | AdvertReceived
    | TimerFired
    | PriorityChanged
    | FaultSet
    | FaultCleared
    | Shutdown
    | ForceState
)

# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class SendAdvert:
    """Encode and send this advert (multicast group or each unicast peer)."""

    advert: Advert


@dataclass(frozen=True)
class AddVips:
    """Add every VIP (and eVIP) to the interface."""


@dataclass(frozen=True)
class DelVips:
    """Remove every VIP from the interface."""


@dataclass(frozen=True)
class Announce:
    """Send ``count`` gratuitous ARPs / unsolicited NAs for every VIP now."""

    count: int


@dataclass(frozen=True)
class Transition:
    """The instance changed state; ``reason`` says why in words for the audit log."""

    from_state: State
    to_state: State
    priority: int
    reason: str


Action = SendAdvert | AddVips | DelVips | Announce | Transition


def _us(seconds: float) -> int:
    return round(seconds * US)


class VrrpInstance:
    """One VRRP instance: inputs in, actions out, no I/O.

    Public read-only attributes: ``state``, ``effective_priority``, ``master_address``
    (the current master, ourselves when MASTER), ``master_priority``, ``master_adver_int``
    (seconds; learned from the master in VRRPv3), ``since`` (time of the last transition),
    ``last_advert_at`` (time of the last advert that reset the master_down timer),
    ``timer_generation`` and ``faults`` (source -> reason).
    """

    def __init__(self, config: InstanceConfig) -> None:
        self.config = config
        self.name = config.name
        self.state = State.INIT
        self.effective_priority = config.priority
        self.master_address: str | None = None
        self.master_priority: int | None = None
        self.since: float | None = None
        self.last_advert_at: float | None = None
        self.timer_generation = 0
        self.faults: dict[str, str] = {}
        self._adver_int_us = _us(config.advert_int)
        self._master_adver_int_us = self._adver_int_us
        self._vrrp_timer: float | None = None  # master_down (BACKUP) / adver (MASTER)
        self._garp_delay_at: float | None = None
        self._garp_refresh_at: float | None = None
        self._armed: float | None = None
        self._preempt_time: float | None = None
        self._released_by: str | None = None  # source of a priority 0 advert (BACKUP)
        self._preempting: tuple[int, str] | None = None  # lower advert we ignored
        self._auth_data = b""
        if config.version == 2 and config.auth_type == AUTH_PASS:
            data = pass_auth_data(config.auth_pass)
            self._auth_data = data if data.strip(b"\x00") else b""

    # ------------------------------------------------------------ derived values

    @property
    def master_adver_int(self) -> float:
        """Master_Adver_Interval in seconds."""
        return self._master_adver_int_us / US

    def _skew_us(self, pri_val: int) -> int:
        if self.config.version == 3:
            # RFC 5798: ((256 - priority) * Master_Adver_Interval) / 256, in centiseconds.
            centis = self._master_adver_int_us // 10_000
            return pri_val * centis * 10_000 // 256
        return pri_val * US // 256

    def skew_time(self) -> float:
        """Skew_Time in seconds for the current effective priority."""
        return self._skew_us(256 - self.effective_priority) / US

    def _master_down_us(self) -> int:
        return 3 * self._master_adver_int_us + self._skew_us(256 - self.effective_priority)

    def master_down_interval(self) -> float:
        """Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time, in seconds."""
        return self._master_down_us() / US

    def own_faults(self) -> dict[str, str]:
        """Faults not imposed by a sync group."""
        return {k: v for k, v in self.faults.items() if not k.startswith("sync_group:")}

    def advert(self, priority: int | None = None) -> Advert:
        """The advert we send now (``priority`` 0 to release mastership)."""
        cfg = self.config
        return Advert(
            version=cfg.version,
            vrid=cfg.vrid,
            priority=self.effective_priority if priority is None else priority,
            adver_int=interval_to_field(self._adver_int_us / US, cfg.version),
            addresses=cfg.vips,
            family=cfg.family,
            auth_type=cfg.auth_type if cfg.version == 2 else AUTH_NONE,
            auth_data=self._auth_data,
        )

    # ------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        """When the shell must feed TimerFired(timer_generation), or None for no timer."""
        return self._armed

    def _rearm(self) -> None:
        candidates = (self._vrrp_timer, self._garp_delay_at, self._garp_refresh_at)
        timers = [t for t in candidates if t is not None]
        nxt = min(timers) if timers else None
        if self.state is State.STOP:
            nxt = None
        if nxt != self._armed:
            self._armed = nxt
            self.timer_generation += 1

    def _clear_timers(self) -> None:
        self._vrrp_timer = self._garp_delay_at = self._garp_refresh_at = None

    # ------------------------------------------------------------ entry point

    def handle(self, event: Event, now: float) -> list[Action]:
        """Feed one input at monotonic time ``now``; return the actions to carry out."""
        if self.state is State.STOP:
            return []
        match event:
            case Start():
                actions = self._on_start(now)
            case AdvertReceived(advert=adv, src=src):
                actions = self._on_advert(adv, src, now)
            case TimerFired(generation=gen):
                actions = self._on_timer(now) if gen == self.timer_generation else []
            case PriorityChanged(priority=prio):
                actions = self._on_priority(prio)
            case FaultSet():
                actions = self._on_fault_set(event, now)
            case FaultCleared():
                actions = self._on_fault_cleared(event, now)
            case Shutdown(reason=reason):
                actions = self._on_shutdown(reason, now)
            case ForceState(state=state, reason=reason):
                actions = self._on_force(state, reason, now)
            case _:
                raise TypeError(f"not a VRRP input: {event!r}")
        self._rearm()
        return actions

    # ------------------------------------------------------------ transitions

    def _transition(self, to: State, reason: str, now: float) -> Transition:
        tr = Transition(self.state, to, self.effective_priority, reason)
        self.state = to
        self.since = now
        return tr

    def _enter_backup(self, now: float, down_us: int | None = None) -> None:
        self._clear_timers()
        self._preempt_time = None
        self._released_by = None
        self._preempting = None
        if down_us is None:
            down_us = self._master_down_us()
        self._vrrp_timer = now + down_us / US

    def _goto_master(self, reason: str, now: float) -> list[Action]:
        cfg = self.config
        # Send the advert first so the old master drops the VIPs before our GARPs.
        actions: list[Action] = [SendAdvert(self.advert()), AddVips()]
        if cfg.garp_master_repeat > 0:
            actions.append(Announce(cfg.garp_master_repeat))
        actions.append(self._transition(State.MASTER, reason, now))
        self._clear_timers()
        self._master_adver_int_us = self._adver_int_us
        self._vrrp_timer = now + self._adver_int_us / US
        if cfg.garp_master_delay > 0 and cfg.garp_master_repeat > 0:
            self._garp_delay_at = now + cfg.garp_master_delay
        if cfg.garp_master_refresh > 0:
            self._garp_refresh_at = now + cfg.garp_master_refresh
        self.master_address = cfg.primary_address or None
        self.master_priority = self.effective_priority
        self._preempt_time = None
        self._released_by = None
        self._preempting = None
        return actions

    def _leave_master(self, to: State, reason: str, now: float) -> list[Action]:
        actions: list[Action] = []
        if to is not State.BACKUP:
            actions.append(SendAdvert(self.advert(PRIO_STOP)))
        actions.append(DelVips())
        actions.append(self._transition(to, reason, now))
        self._clear_timers()
        self.master_address = self.master_priority = None  # unknown until the next advert
        if to is State.BACKUP:
            self._enter_backup(now)
        return actions

    def _on_start(self, now: float) -> list[Action]:
        if self.state is not State.INIT:
            return []
        if self.faults:
            return [self._transition(State.FAULT, next(iter(self.faults.values())), now)]
        if self.effective_priority == PRIO_OWNER:
            return self._goto_master("address owner (priority 255)", now)
        tr = self._transition(State.BACKUP, "startup", now)
        if self.config.initial_state is State.MASTER:
            # keepalived: `state MASTER` without owning the addresses waits one advert
            # interval (+ minimal skew) for a master to show up before taking over.
            self._enter_backup(now, self._master_adver_int_us + self._skew_us(1))
        else:
            self._enter_backup(now)
        return [tr]

    def _addr_cmp(self, src: str) -> int:
        """<0 when our primary address is higher, >0 when theirs is, 0 when equal."""
        try:
            theirs = ipaddress.ip_address(src)
            ours = ipaddress.ip_address(self.config.primary_address)
        except ValueError:
            return 1  # cannot compare: let the other router win rather than two masters
        if theirs.version != ours.version:
            return 1
        return (theirs > ours) - (theirs < ours)

    def _on_advert(self, adv: Advert, src: str, now: float) -> list[Action]:
        if self.state is State.BACKUP:
            return self._backup_rx(adv, src, now)
        if self.state is State.MASTER:
            return self._master_rx(adv, src, now)
        return []  # INIT / FAULT do not listen

    def _backup_rx(self, adv: Advert, src: str, now: float) -> list[Action]:
        cfg = self.config
        if adv.priority == PRIO_STOP:
            # The master released: take over after Skew_Time only.
            self._vrrp_timer = now + self._skew_us(256 - self.effective_priority) / US
            self._released_by = src
            return []
        preempt_held = cfg.preempt_delay > 0 and (
            self._preempt_time is None or self._preempt_time > now
        )
        if cfg.nopreempt or adv.priority >= self.effective_priority or preempt_held:
            if cfg.version == 3 and adv.adver_int > 0:
                self._master_adver_int_us = adv.adver_int * 10_000
            self._vrrp_timer = now + self._master_down_us() / US
            self.master_address = src
            self.master_priority = adv.priority
            self.last_advert_at = now
            self._released_by = None
            self._preempting = None
            if cfg.preempt_delay > 0:
                if adv.priority >= self.effective_priority:
                    self._preempt_time = None
                elif self._preempt_time is None:
                    self._preempt_time = now + cfg.preempt_delay
            return []
        # Lower priority and we preempt: ignore it, master_down keeps running.
        self._preempting = (adv.priority, src)
        self.master_address = src
        self.master_priority = adv.priority
        return []

    def _master_rx(self, adv: Advert, src: str, now: float) -> list[Action]:
        if adv.priority == PRIO_STOP:
            # Another master released (RFC: send an advert, reset the Adver_Timer).
            self._vrrp_timer = now + self._adver_int_us / US
            return [SendAdvert(self.advert())]
        addr_cmp = self._addr_cmp(src)
        if adv.priority == self.effective_priority:
            if addr_cmp == 0:
                return []  # our own address: keepalived only warns
            if self.effective_priority == PRIO_OWNER:
                # Two address owners: keepalived drops its own priority to break the tie.
                self.effective_priority = PRIO_OWNER - 1
        if adv.priority < self.effective_priority or (
            adv.priority == self.effective_priority and addr_cmp < 0
        ):
            return [SendAdvert(self.advert())]  # assert ourselves: forces a new election
        if adv.priority > self.effective_priority:
            reason = f"higher priority {adv.priority} from {src}"
        else:
            reason = f"equal priority {adv.priority}, higher address {src}"
        if self.config.version == 3 and adv.adver_int > 0:
            learned = adv.adver_int * 10_000
        else:
            learned = self._adver_int_us
        actions = self._leave_master(State.BACKUP, reason, now)
        self._master_adver_int_us = learned
        self._vrrp_timer = now + self._master_down_us() / US
        self.master_address = src
        self.master_priority = adv.priority
        self.last_advert_at = now
        return actions

    def _on_timer(self, now: float) -> list[Action]:
        actions: list[Action] = []
        if self._vrrp_timer is not None and self._vrrp_timer <= now:
            self._vrrp_timer = None
            if self.state is State.BACKUP:
                actions += self._goto_master(self._takeover_reason(now), now)
            elif self.state is State.MASTER:
                actions.append(SendAdvert(self.advert()))
                self._vrrp_timer = now + self._adver_int_us / US
        if self.state is not State.MASTER:
            return actions
        if self._garp_delay_at is not None and self._garp_delay_at <= now:
            self._garp_delay_at = None
            actions.append(Announce(self.config.garp_master_repeat))
        if self._garp_refresh_at is not None and self._garp_refresh_at <= now:
            self._garp_refresh_at = now + self.config.garp_master_refresh
            actions.append(Announce(self.config.garp_master_refresh_repeat))
        return actions

    def _takeover_reason(self, now: float) -> str:
        if self._released_by is not None:
            return f"priority 0 from {self._released_by} (master released)"
        if self._preempting is not None:
            prio, src = self._preempting
            return f"preempting lower priority {prio} from {src}"
        if self.last_advert_at is None or self.master_address is None:
            return "master_down_timer expired (no advert received)"
        ago = now - self.last_advert_at
        return f"master_down_timer expired (last advert from {self.master_address} {ago:.1f}s ago)"

    def _on_priority(self, priority: int) -> list[Action]:
        if self.config.priority == PRIO_OWNER:
            return []  # the address owner's priority never changes
        priority = max(1, min(PRIO_OWNER - 1, priority))
        if priority == self.effective_priority:
            return []
        old_down = self._master_down_us()
        self.effective_priority = priority
        if self.state is State.BACKUP and self._vrrp_timer is not None:
            # keepalived shifts the running master_down timer by the change in skew.
            self._vrrp_timer += (self._master_down_us() - old_down) / US
        return []  # a MASTER advertises the new priority at the next adver timer

    def _on_fault_set(self, event: FaultSet, now: float) -> list[Action]:
        self.faults[event.key] = event.text
        if self.state is State.MASTER:
            return self._leave_master(State.FAULT, event.text, now)
        if self.state is State.BACKUP:
            tr = self._transition(State.FAULT, event.text, now)
            self._clear_timers()
            return [tr]
        return []

    def _on_fault_cleared(self, event: FaultCleared, now: float) -> list[Action]:
        self.faults.pop(event.key, None)
        if self.state is not State.FAULT or self.faults:
            return []
        return self._leave_fault(event.text, now)

    def _leave_fault(self, reason: str, now: float) -> list[Action]:
        self._master_adver_int_us = self._adver_int_us
        if self.effective_priority == PRIO_OWNER:
            return self._goto_master(reason, now)
        tr = self._transition(State.BACKUP, reason, now)
        self._enter_backup(now)
        return [tr]

    def _on_shutdown(self, reason: str, now: float) -> list[Action]:
        if self.state is State.MASTER:
            return self._leave_master(State.STOP, reason, now)
        tr = self._transition(State.STOP, reason, now)
        self._clear_timers()
        return [tr]

    def _on_force(self, state: State, reason: str, now: float) -> list[Action]:
        if state is State.MASTER:
            if self.state is State.BACKUP:
                return self._goto_master(reason, now)
            return []
        if state is State.BACKUP:
            if self.state is State.MASTER:
                return self._leave_master(State.BACKUP, reason, now)
            if self.state is State.FAULT and not self.faults:
                return self._leave_fault(reason, now)
            return []
        raise ValueError(f"ForceState supports MASTER and BACKUP, not {state}")
