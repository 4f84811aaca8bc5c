"""``hookd run``: wire the Model to the pure VRRP engine, the network shell and the bus.

One asyncio loop does everything. For each instance the daemon owns a
:class:`~hookd.vrrp.fsm.VrrpInstance`; a *unit* is either one instance or a sync group of
them. Inputs reach a unit from the raw sockets (adverts that pass ``packet.validate``), from
its single timer (``loop.call_at(unit.next_deadline())``), from the health monitor
(priority and faults) and from signals (Shutdown). The actions that come back are carried
out in order: adverts are sent at once, VIP changes and announcements go through a
per-instance queue (so netlink never delays an advert and the VIPs of one transition are in
place before its GARPs), transitions are logged and published on the bus behind that VIP
work.

Reload (SIGHUP or ``{"cmd": "reload"}``): the configuration is read again; units whose
configuration (or the global_defs) changed are stopped exactly as on SIGTERM (the master
sends priority 0 and removes its VIPs) and started again from INIT; unchanged units keep
running untouched. The bus and health monitor are rebuilt from the new Model. An invalid
configuration is refused and the running one kept.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

from hookd import events
from hookd.bus import Bus
from hookd.checks import HealthMonitor
from hookd.config.model import Model, VirtualIP, VrrpInstanceConfig, VrrpSyncGroup
from hookd.control import ControlServer, socket_path
from hookd.net.addresses import AddressManager, InterfaceInfo
from hookd.net.announce import Announcer
from hookd.net.sockets import DropCounters, Received, SocketPool, VrrpSocket
from hookd.vrrp.fsm import (
    Action,
    AddVips,
    AdvertReceived,
    Announce,
    DelVips,
    Event,
    FaultCleared,
    FaultSet,
    InstanceConfig,
    PriorityChanged,
    SendAdvert,
    Shutdown,
    Start,
    State,
    TimerFired,
    Transition,
    VrrpInstance,
)
from hookd.vrrp.group import SyncGroup
from hookd.vrrp.packet import (
    AUTH_AH,
    AUTH_NONE,
    AUTH_PASS,
    Advert,
    encode,
    interval_to_field,
    pass_auth_data,
    validate,
)

log = logging.getLogger("hookd.daemon")

DEFAULT_STATE_DIR = "/var/lib/hookd"
# How long a graceful stop may take to remove VIPs before we give up on them.
STOP_TIMEOUT = 5.0
# GIL slice (CPython default 5 ms). The loop thread re-takes the GIL after every blocking
# call (epoll, SQLite); behind a busy thread (apprise, audit fsync, email rendering) each
# re-take could wait a whole slice, making the advert timer late by up to 5 ms per wait.
SWITCH_INTERVAL = 0.001
# VRRP timers wake this much before their deadline and sleep the rest (see Unit.rearm).
TIMER_LEAD = 0.0015
# How long to wait at start for a tentative IPv6 link-local source address (DAD).
LINK_LOCAL_WAIT = 3.0


def sd_notify(message: str) -> None:
    """systemd ``Type=notify``: send ``READY=1`` etc. to $NOTIFY_SOCKET when set."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]  # abstract namespace
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(message.encode())
    except OSError as exc:
        log.warning("sd_notify(%s) failed: %s", message, exc)


def _iso(wall: float | None) -> str | None:
    if wall is None:
        return None
    return dt.datetime.fromtimestamp(wall, dt.UTC).isoformat()


class InstanceRunner:
    """One vrrp_instance: its FSM, its socket, its VIPs and its counters."""

    def __init__(
        self,
        daemon: Daemon,
        cfg: VrrpInstanceConfig,
        group: str | None,
        info: InterfaceInfo | None,
    ) -> None:
        self.daemon = daemon
        self.cfg = cfg
        self.name = cfg.name
        self.group = group
        self.info = info
        gd = daemon.model.global_defs
        self.family = cfg.family
        self.vips: list[VirtualIP] = [*cfg.virtual_ipaddress, *cfg.virtual_ipaddress_excluded]
        self.advert_vips = tuple(v.ip for v in cfg.virtual_ipaddress if v.family == cfg.family)
        # Never pick a VIP (ours or another instance's) as the advert source.
        own = [
            v.ip
            for i in daemon.model.vrrp_instances.values()
            for v in (*i.virtual_ipaddress, *i.virtual_ipaddress_excluded)
        ]
        self.src = (
            cfg.unicast_src_ip
            or cfg.mcast_src_ip
            or (info.primary(cfg.family, exclude=own) if info else "")
        )
        self.peers = list(cfg.unicast_peer)
        group_addr = gd.vrrp_mcast_group6 if cfg.family == 6 else gd.vrrp_mcast_group4
        self.destinations = self.peers or [group_addr]
        self.mcast_group = group_addr
        self.strict = cfg.strict_mode if cfg.strict_mode is not None else gd.vrrp_strict
        auth_type, auth_pass = AUTH_NONE, ""
        if cfg.version == 2 and cfg.authentication is not None:
            auth_type = AUTH_PASS if cfg.authentication.auth_type == "PASS" else AUTH_AH
            auth_pass = cfg.authentication.auth_pass
            if auth_type == AUTH_AH:
                log.warning(
                    "%s: auth_type AH is not supported; adverts carry AH type only", self.name
                )
        self.auth_type = auth_type
        self.auth_data = pass_auth_data(auth_pass) if auth_type == AUTH_PASS else b""
        if not self.auth_data.strip(b"\x00"):
            self.auth_data = b""
        self.adver_int_field = interval_to_field(cfg.advert_int, cfg.version)
        self.fsm = VrrpInstance(
            InstanceConfig(
                name=cfg.name,
                vrid=cfg.virtual_router_id,
                version=cfg.version,
                family=cfg.family,
                priority=cfg.priority,
                advert_int=cfg.advert_int,
                primary_address=self.src,
                vips=self.advert_vips,
                auth_type=auth_type,
                auth_pass=auth_pass,
                initial_state=State.MASTER if cfg.state == "MASTER" else State.BACKUP,
                nopreempt=cfg.nopreempt,
                preempt_delay=cfg.preempt_delay,
                garp_master_delay=cfg.garp_master_delay,
                garp_master_repeat=cfg.garp_master_repeat,
                garp_master_refresh=cfg.garp_master_refresh,
                garp_master_refresh_repeat=cfg.garp_master_refresh_repeat,
                strict=self.strict,
            )
        )
        self.sock: VrrpSocket | None = None
        self.unit: Unit | None = None
        self.adverts_sent = 0
        self.adverts_received = 0
        self.transitions = 0
        self.since_wall: float | None = None
        self.last_master: str | None = None
        self.foreign: set[str] = set()  # addresses we found in place and must not touch
        self._ops: asyncio.Queue[Callable[[], Coroutine[Any, Any, None]] | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._closing = False

    # --- life cycle ----------------------------------------------------------------------

    def attach(self, pool: SocketPool) -> None:
        """Open/share the raw socket and register our VRID on it."""
        self.sock = pool.get(self.cfg.interface, self.family, self.mcast_group)
        self.sock.register(self.cfg.virtual_router_id, self.on_packet)
        self._closing = False
        self._worker = asyncio.create_task(self._work(), name=f"net-{self.name}")

    async def detach(self) -> None:
        """Wait for queued VIP work, then leave the socket."""
        if self._worker is not None:
            self._closing = True  # later transitions publish directly, not behind None
            self._ops.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._worker), STOP_TIMEOUT)
            except TimeoutError:
                log.error("%s: VIP operations did not finish in %.0fs", self.name, STOP_TIMEOUT)
                self._worker.cancel()
            self._worker = None
        if self.sock is not None:
            self.sock.unregister(self.cfg.virtual_router_id)
            self.sock = None

    async def _work(self) -> None:
        while True:
            op = await self._ops.get()
            if op is None:
                return
            try:
                await op()
            except Exception:
                log.exception("%s: VIP/announce operation failed", self.name)

    # --- receive -------------------------------------------------------------------------

    def on_packet(self, rx: Received) -> None:
        """A decoded advert for our VRID: validate (counting drops) and feed the FSM."""
        adv = rx.advert
        drops = self.daemon.drops
        gd = self.daemon.model.global_defs
        if self.peers and gd.vrrp_check_unicast_src and rx.src not in self.peers:
            drops.drop(self.name, "unicast_src", f"{rx.src} is not a unicast_peer", rx.src)
            return
        from_master = rx.src == self.fsm.master_address
        reason = validate(
            adv,
            ttl=rx.ttl,
            vrid=self.cfg.virtual_router_id,
            version=self.cfg.version,
            auth_type=self.auth_type,
            auth_data=self.auth_data,
            adver_int=self.adver_int_field,
            addresses=self.advert_vips,
            owner_addresses=frozenset({self.src}) if self.src else frozenset(),
            src=rx.src,
            strict=self.strict,
            unicast=bool(self.peers),
            check_addresses=not (gd.vrrp_skip_check_adv_addr and from_master),
        )
        if reason is not None:
            drops.drop(self.name, reason, f"VRRPv{adv.version} prio {adv.priority}", rx.src)
            return
        self.adverts_received += 1
        assert self.unit is not None
        self.unit.feed(self.name, AdvertReceived(adv, rx.src))

    # --- actions -------------------------------------------------------------------------

    def execute(self, action: Action) -> None:
        """Carry out one FSM action (in the order the FSM returned them)."""
        match action:
            case SendAdvert(advert=adv):
                self._send(adv)
            case AddVips():
                vips = list(self.vips)
                self._ops.put_nowait(lambda: self._add(vips))
            case DelVips():
                vips = list(self.vips)
                self._ops.put_nowait(lambda: self._delete(vips))
            case Announce(count=count):
                self._ops.put_nowait(lambda: self._announce(count))
            case Transition():
                self._transition(action)

    def _send(self, adv: Advert) -> None:
        sock = self.sock
        if sock is None:
            return
        for dst in self.destinations:
            try:
                message = encode(adv, self.src, dst)
            except ValueError as exc:  # e.g. no source address of this family
                self.daemon.drops.drop(self.name, "send_error", str(exc))
                continue
            if sock.send(message, self.src, dst):
                self.adverts_sent += 1

    async def _add(self, vips: list[VirtualIP]) -> None:
        vips = [v for v in vips if v.ip not in self.foreign]
        failed = await self.daemon.addresses.add(self.cfg.interface, vips)
        if failed:
            log.error("%s: could not add %s", self.name, ", ".join(failed))

    async def _delete(self, vips: list[VirtualIP]) -> None:
        vips = [v for v in vips if v.ip not in self.foreign]
        await self.daemon.addresses.delete(self.cfg.interface, vips)

    async def _announce(self, count: int) -> None:
        by_dev: dict[str, list[str]] = {}
        for v in self.vips:
            by_dev.setdefault(v.dev or self.cfg.interface, []).append(v.ip)
        for dev, ips in by_dev.items():
            await self.daemon.announcer.announce(dev, ips, count)

    def _transition(self, tr: Transition) -> None:
        self.transitions += 1
        self.since_wall = time.time()
        reason = tr.reason
        monitor = self.daemon.monitor
        if tr.from_state is State.MASTER and tr.to_state is State.BACKUP and monitor is not None:
            # Lost to a peer because a check lowered our priority: the audit says which.
            why = monitor.failing_weights(self.name)
            if why:
                reason = f"{reason} (own priority {tr.priority}: {why})"
        log.info(
            "%s: %s -> %s (priority %d): %s",
            self.name,
            tr.from_state,
            tr.to_state,
            tr.priority,
            reason,
        )
        event = events.Transition(
            node=self.daemon.router_id,
            instance=self.name,
            group=self.group,
            vrid=self.cfg.virtual_router_id,
            from_state=str(tr.from_state),
            to_state=str(tr.to_state),
            priority=tr.priority,
            base_priority=self.cfg.priority,
            vips=tuple(v.ip for v in self.vips),
            reason=reason,
        )
        if self._worker is None or self._worker.done() or self._closing:
            self.daemon.publish(event)
            return
        # Published behind the VIP work this transition queued: the outbox's SQLite write
        # must not delay a takeover, and a notify_master hook (nginx binding the VIP) runs
        # once the VIP is in place, as with keepalived. The event keeps its own timestamp.
        self._ops.put_nowait(lambda: self._publish(event))

    async def _publish(self, event: events.Event) -> None:
        self.daemon.publish(event)

    def after_event(self) -> None:
        """Tell the health monitor about a master we learned (net_check default peer)."""
        master = self.fsm.master_address
        if master != self.last_master:
            self.last_master = master
            if master and master != self.src and self.daemon.monitor is not None:
                try:
                    self.daemon.monitor.learned_master(self.name, master)
                except Exception:
                    log.exception("%s: monitor.learned_master failed", self.name)

    def status(self) -> dict[str, Any]:
        fsm = self.fsm
        return {
            "name": self.name,
            "group": self.group,
            "state": str(fsm.state),
            "priority": self.cfg.priority,
            "effective_priority": fsm.effective_priority,
            "vrid": self.cfg.virtual_router_id,
            "interface": self.cfg.interface,
            "version": self.cfg.version,
            "family": self.family,
            "vips": [v.address for v in self.vips],
            "source": self.src,
            "unicast_peer": self.peers,
            "advert_int": self.cfg.advert_int,
            "master": fsm.master_address,
            "since": _iso(self.since_wall),
            "faults": dict(fsm.faults),
            "drops": self.daemon.drops.for_key(self.name),
            "adverts_sent": self.adverts_sent,
            "adverts_received": self.adverts_received,
            "transitions": self.transitions,
            "master_down_interval": fsm.master_down_interval(),
        }


class Unit:
    """What owns a timer: one instance, or a sync group of instances."""

    def __init__(
        self, daemon: Daemon, runners: list[InstanceRunner], group: VrrpSyncGroup | None
    ) -> None:
        self.daemon = daemon
        self.runners = {r.name: r for r in runners}
        self.group_cfg = group
        self.group = SyncGroup(group.name, [r.fsm for r in runners]) if group else None
        self.name = group.name if group else runners[0].name
        self._timer: asyncio.TimerHandle | None = None
        self._armed: float | None = None
        self.stopped = False
        for r in runners:
            r.unit = self

    def feed(self, member: str, event: Event, now: float | None = None) -> None:
        """Feed one input to a member, execute the actions, re-arm the timer."""
        loop = asyncio.get_running_loop()
        now = loop.time() if now is None else now
        try:
            if self.group is not None:
                before = self.group.state
                pairs = self.group.handle(member, event, now)
            else:
                pairs = [(member, a) for a in self.runners[member].fsm.handle(event, now)]
            self._execute(pairs)
            if self.group is not None and self.group.state is not before:
                self._group_transition(before, self.group.state, event)
        except Exception:  # one bad input must not stop the instance's timers
            log.exception("%s: handling %r failed", member, event)
        finally:
            self.rearm()

    def _execute(self, pairs: list[tuple[str, Action]]) -> None:
        for name, action in pairs:
            runner = self.runners.get(name)
            if runner is None:
                continue
            try:
                runner.execute(action)
            except Exception:
                log.exception("%s: executing %s failed", name, action)
        for runner in self.runners.values():
            runner.after_event()

    def _group_transition(self, before: State, after: State, event: Event) -> None:
        assert self.group is not None
        log.info("sync group %s: %s -> %s", self.name, before, after)
        # Published on the next loop turn: the VIP work queued just before must not wait
        # for the outbox's SQLite write (the event keeps its own timestamp and order).
        asyncio.get_running_loop().call_soon(
            self.daemon.publish,
            events.Transition(
                node=self.daemon.router_id,
                instance=self.name,
                group=None,
                vrid=None,
                from_state=str(before),
                to_state=str(after),
                priority=0,
                base_priority=0,
                vips=tuple(v.ip for r in self.runners.values() for v in r.vips),
                reason=str(getattr(event, "reason", "") or type(event).__name__),
                is_group=True,
            )
        )

    def next_deadline(self) -> float | None:
        if self.group is not None:
            return self.group.next_deadline()
        return next(iter(self.runners.values())).fsm.next_deadline()

    def rearm(self) -> None:
        deadline = None if self.stopped else self.next_deadline()
        if deadline == self._armed and (deadline is None or self._timer is not None):
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._armed = deadline
        if deadline is not None:
            # Woken a little early: epoll rounds its timeout up to whole milliseconds,
            # _fire sleeps the rest so adverts and takeovers are on time to ~0.1 ms.
            self._timer = asyncio.get_running_loop().call_at(
                deadline - TIMER_LEAD, self._fire, deadline
            )

    def _fire(self, deadline: float) -> None:
        self._timer = None
        self._armed = None
        loop = asyncio.get_running_loop()
        early = deadline - loop.time()
        if early > 0:
            time.sleep(early)  # at most TIMER_LEAD: the engine's own deadline comes first
        # Never present a time before the deadline, or the FSM would see its timer as not
        # yet due.
        now = max(loop.time(), deadline)
        try:
            if self.group is not None:
                before = self.group.state
                self._execute(self.group.fire_timers(now))
                if self.group.state is not before:
                    self._group_transition(before, self.group.state, TimerFired(0))
            else:
                runner = next(iter(self.runners.values()))
                self._execute(
                    [
                        (runner.name, a)
                        for a in runner.fsm.handle(TimerFired(runner.fsm.timer_generation), now)
                    ]
                )
        except Exception:
            log.exception("%s: timer handling failed", self.name)
        self.rearm()

    def start(self) -> None:
        for name in self.runners:
            self.feed(name, Start())

    async def stop(self, reason: str = "shutdown") -> None:
        """Graceful stop: Shutdown to every member, wait for the VIPs to go."""
        for name in self.runners:
            try:
                self.feed(name, Shutdown(reason))
            except Exception:
                log.exception("%s: shutdown failed", name)
        self.stopped = True
        self.rearm()
        for runner in self.runners.values():
            await runner.detach()

    def status(self) -> list[dict[str, Any]]:
        return [r.status() for r in self.runners.values()]


def unit_plan(model: Model) -> dict[str, tuple[VrrpSyncGroup | None, list[str]]]:
    """Unit name -> (sync group or None, member instance names)."""
    plan: dict[str, tuple[VrrpSyncGroup | None, list[str]]] = {}
    grouped: set[str] = set()
    for g in model.vrrp_sync_groups.values():
        members = [m for m in g.group if m in model.vrrp_instances and m not in grouped]
        if members:
            plan[f"group:{g.name}"] = (g, members)
            grouped.update(members)
    for name in model.vrrp_instances:
        if name not in grouped:
            plan[name] = (None, [name])
    return plan


def unit_signature(model: Model, group: VrrpSyncGroup | None, members: list[str]) -> str:
    data = {
        "group": group.model_dump(mode="json") if group else None,
        "members": {n: model.vrrp_instances[n].model_dump(mode="json") for n in sorted(members)},
        "global_defs": model.global_defs.model_dump(mode="json"),
    }
    return json.dumps(data, sort_keys=True)


class Daemon:
    """The running hookd: units, shared sockets, VIP manager, bus, monitor, control."""

    def __init__(
        self,
        model: Model,
        state_dir: str,
        loader: Callable[[], Model] | None = None,
    ) -> None:
        self.model = model
        self.state_dir = state_dir
        self.loader = loader
        self.router_id = model.global_defs.router_id or socket.gethostname().split(".")[0]
        self.drops = DropCounters()
        self.pool = SocketPool(self.drops)
        self.addresses = AddressManager()
        self.announcer = self._announcer(model)
        self.units: dict[str, Unit] = {}
        self.signatures: dict[str, str] = {}
        self.bus: Bus | None = None
        self.monitor: HealthMonitor | None = None
        self.control: ControlServer | None = None
        self.metrics: Any = None
        self.started_at = time.time()
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()

    @staticmethod
    def _announcer(model: Model) -> Announcer:
        gd = model.global_defs
        return Announcer(garp_interval=gd.vrrp_garp_interval, gna_interval=gd.vrrp_gna_interval)

    # --- publish / health sink -----------------------------------------------------------

    def publish(self, event: events.Event) -> None:
        if self.bus is None:
            return
        try:
            self.bus.publish(event)
        except Exception:  # the engine never fails because of delivery
            log.exception("bus.publish failed")

    def _runner(self, instance: str) -> InstanceRunner | None:
        for unit in self.units.values():
            if instance in unit.runners:
                return unit.runners[instance]
        return None

    def _feed(self, instance: str, event: Event) -> None:
        runner = self._runner(instance)
        if runner is None or runner.unit is None or runner.unit.stopped:
            log.debug("health event for unknown instance %s ignored", instance)
            return
        runner.unit.feed(instance, event)

    def priority_changed(self, instance: str, effective_priority: int, reason: str) -> None:
        """HealthSink: a check moved the effective priority."""
        self._feed(instance, PriorityChanged(effective_priority, reason))

    def fault_set(self, instance: str, source: str, reason: str) -> None:
        """HealthSink: a fault source went bad."""
        self._feed(instance, FaultSet(source, reason))

    def fault_cleared(self, instance: str, source: str, reason: str) -> None:
        """HealthSink: a fault source recovered."""
        self._feed(instance, FaultCleared(source, reason))

    # --- units ---------------------------------------------------------------------------

    async def _build_unit(self, group: VrrpSyncGroup | None, members: list[str]) -> Unit:
        runners: list[InstanceRunner] = []
        for name in members:
            cfg = self.model.vrrp_instances[name]
            info: InterfaceInfo | None
            try:
                info = await self._interface(cfg)
            except LookupError as exc:
                log.error("%s: %s", name, exc)
                info = None
            runner = InstanceRunner(self, cfg, group.name if group else None, info)
            if info is None:
                runner.fsm.handle(FaultSet("interface", f"interface {cfg.interface} missing"), 0)
            else:
                explicit = cfg.unicast_src_ip or cfg.mcast_src_ip
                if not runner.src:
                    log.error("%s: no IPv%d source address on %s", name, cfg.family, cfg.interface)
                elif explicit and explicit not in (
                    set(info.ipv4)
                    | set(info.ipv6_link_local)
                    | set(info.ipv6_global)
                    | set(info.ipv6_tentative)
                ):
                    # keepalived: "entering FAULT state (src address not configured)"
                    runner.fsm.handle(
                        FaultSet("source", f"src address {explicit} not configured"), 0
                    )
                try:
                    runner.attach(self.pool)
                except (OSError, ValueError) as exc:
                    log.error("%s: cannot open VRRP socket on %s: %s", name, cfg.interface, exc)
                    runner.fsm.handle(FaultSet("socket", f"VRRP socket: {exc}"), 0)
                # Remove VIPs a crashed run may have left. The address owner's addresses
                # are the interface's own: those present now are never added nor removed.
                if cfg.priority != 255:
                    await self.addresses.delete(cfg.interface, runner.vips)
                else:
                    present = await self.addresses.present(cfg.interface)
                    runner.foreign = {v.ip for v in runner.vips if v.ip in present}
            runners.append(runner)
        return Unit(self, runners, group)

    async def _interface(self, cfg: VrrpInstanceConfig) -> InterfaceInfo:
        """The interface of an instance; for IPv6 without an explicit source, wait (briefly)
        for its link-local address to finish DAD: VRRPv3 over IPv6 is sent from it."""
        info = await self.addresses.interface(cfg.interface)
        if cfg.family != 6 or cfg.unicast_src_ip or cfg.mcast_src_ip:
            return info
        deadline = asyncio.get_running_loop().time() + LINK_LOCAL_WAIT
        while not info.ipv6_link_local and any(a.startswith("fe80:") for a in info.ipv6_tentative):
            if asyncio.get_running_loop().time() >= deadline:
                log.warning(
                    "%s: link-local address of %s still tentative, sending from %s",
                    cfg.name,
                    cfg.interface,
                    info.primary(6) or "nothing",
                )
                break
            await asyncio.sleep(0.05)
            info = await self.addresses.interface(cfg.interface)
        return info

    async def _start_units(self, names: list[str] | None = None, *, start: bool = True) -> None:
        plan = unit_plan(self.model)
        for key, (group, members) in plan.items():
            if names is not None and key not in names:
                continue
            unit = await self._build_unit(group, members)
            self.units[key] = unit
            self.signatures[key] = unit_signature(self.model, group, members)
            if start:
                unit.start()

    async def _stop_units(self, keys: list[str], reason: str) -> None:
        units = [self.units.pop(k) for k in keys if k in self.units]
        for k in keys:
            self.signatures.pop(k, None)
        await asyncio.gather(*(u.stop(reason) for u in units), return_exceptions=True)
        self.pool.release_unused()

    # --- facades (bus, monitor) ----------------------------------------------------------

    async def _start_facades(self, *, strict: bool) -> None:
        """Start the bus, then the health monitor (whose first report may publish).

        ``strict`` (at start-up): a failure is fatal, hookd must not run without the
        notifications users rely on. On reload a failure is logged and VRRP keeps going.
        """
        try:
            self.bus = Bus(self.model, self.state_dir)
            await self.bus.start()
            self.monitor = HealthMonitor(self.model, self, self.publish)
            await self.monitor.start()
        except Exception:
            if strict:
                raise
            log.exception("restarting the bus / health monitor failed")

    async def _stop_facades(self) -> None:
        if self.monitor is not None:
            try:
                await self.monitor.stop()
            except Exception:
                log.exception("stopping the health monitor failed")
            self.monitor = None
        if self.bus is not None:
            try:
                await self.bus.stop()
            except Exception:
                log.exception("stopping the bus failed")
            self.bus = None

    # --- control -------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        instances = [s for u in self.units.values() for s in u.status()]
        ifaces = {
            sock.key: {
                "drops": self.drops.for_key(sock.key),
                "received": sock.received,
                "sent": sock.sent,
            }
            for sock in self.pool.sockets.values()
        }
        bus: dict[str, Any] | None = None
        if self.bus is not None:
            try:
                bus = self.bus.stats()
            except Exception:
                log.debug("bus.stats failed", exc_info=True)
        return {
            "ok": True,
            "bus": bus,
            "node": self.router_id,
            "pid": os.getpid(),
            "started": _iso(self.started_at),
            "instances": instances,
            "interfaces": ifaces,
        }

    async def reload(self) -> dict[str, Any]:
        """Re-read the configuration; restart only what changed."""
        if self.loader is None:
            return {"ok": False, "errors": ["no configuration file to reload from"]}
        async with self._reload_lock:
            try:
                model = self.loader()
            except Exception as exc:
                errors = [str(d) for d in getattr(exc, "diagnostics", [])] or [str(exc)]
                for e in errors:
                    log.error("reload refused: %s", e)
                return {"ok": False, "errors": errors}
            plan = unit_plan(model)
            wanted = {k: unit_signature(model, g, m) for k, (g, m) in plan.items()}
            stale = [k for k in self.units if wanted.get(k) != self.signatures.get(k)]
            # Stop first with the old bus, so the STOP transitions are still delivered.
            await self._stop_units(stale, "reload")
            await self._stop_facades()
            self.model = model
            self.router_id = model.global_defs.router_id or self.router_id
            self.announcer.close()
            self.announcer = self._announcer(model)
            new = [k for k in plan if k not in self.units]
            await self._start_units(new, start=False)
            await self._start_facades(strict=False)
            for key in new:
                self.units[key].start()
            log.info(
                "reloaded: restarted %s, unchanged %s",
                sorted(new) or "nothing",
                sorted(k for k in self.units if k not in new) or "nothing",
            )
            return {"ok": True, "restarted": sorted(new), "stopped": sorted(stale)}

    # --- main ----------------------------------------------------------------------------

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))
        self.control = ControlServer(
            socket_path(self.state_dir),
            {"status": lambda _r: self.status(), "reload": lambda _r: self.reload()},
        )
        try:
            await self.control.start()
        except (RuntimeError, OSError) as exc:
            log.error("%s", exc)
            return 1
        rc = 0
        try:
            # Units are built first (sockets open, FSMs in INIT) so the monitor's initial
            # report (init_fail, carrier down) reaches them before they Start.
            await self._start_units(start=False)
            await self._start_facades(strict=True)
            for unit in self.units.values():
                unit.start()
            listen = self.model.settings.metrics.listen
            if listen:
                from hookd.metrics import MetricsServer

                self.metrics = MetricsServer(listen, self.status)
                try:
                    await self.metrics.start()
                except OSError as exc:
                    log.error("metrics: cannot listen on %s: %s", listen, exc)
                    self.metrics = None
            log.info(
                "hookd running as %s with %d instance(s)",
                self.router_id,
                sum(len(u.runners) for u in self.units.values()),
            )
            sd_notify("READY=1")
            await self._stop.wait()
            log.info("stopping")
            sd_notify("STOPPING=1")
        except Exception:
            log.exception("hookd failed")
            rc = 1
        finally:
            await self._shutdown()
        return rc

    async def _shutdown(self) -> None:
        await self._stop_units(list(self.units), "shutdown")
        # Belt and braces: no VIP of ours is left behind.
        for cfg in self.model.vrrp_instances.values():
            if cfg.priority != 255:
                with contextlib.suppress(Exception):
                    await self.addresses.delete(
                        cfg.interface,
                        [*cfg.virtual_ipaddress, *cfg.virtual_ipaddress_excluded],
                    )
        if self.metrics is not None:
            await self.metrics.stop()
        await self._stop_facades()
        if self.control is not None:
            await self.control.stop()
        self.pool.close()
        self.announcer.close()
        await self.addresses.close()

    def request_stop(self) -> None:
        self._stop.set()


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # pyroute2 logs every netlink message at DEBUG: far too much for hookd's own debugging.
    logging.getLogger("pyroute2").setLevel(logging.WARNING)


def _loader(args: argparse.Namespace) -> Callable[[], Model]:
    def load_model() -> Model:
        from hookd.config import load

        config = getattr(args, "config", None)
        model, warnings = load(
            config, getattr(args, "settings", None), getattr(args, "config_id", None)
        )
        for w in warnings:
            log.warning("%s", w)
        return model

    return load_model


def set_realtime(priority: int) -> bool:
    """SCHED_RR at ``priority`` (keepalived's vrrp_rt_priority) so adverts stay on time
    under CPU load; RESET_ON_FORK keeps notify and check scripts at normal priority."""
    try:
        policy = os.SCHED_RR | getattr(os, "SCHED_RESET_ON_FORK", 0)
        os.sched_setscheduler(0, policy, os.sched_param(priority))
    except (OSError, AttributeError) as exc:
        log.warning("vrrp_rt_priority %d: cannot switch to SCHED_RR: %s", priority, exc)
        return False
    log.info("running with SCHED_RR priority %d", priority)
    return True


def main(args: argparse.Namespace) -> int:
    """``hookd run``: returns the exit code (0 after a graceful stop)."""
    _setup_logging(getattr(args, "log_level", None) or "INFO")
    loader = _loader(args)
    try:
        model = loader()
    except Exception as exc:
        diags = getattr(exc, "diagnostics", None)
        if diags:
            for d in diags:
                print(str(d), file=sys.stderr)
        else:
            print(f"hookd: {exc}", file=sys.stderr)
        return 1
    if not getattr(args, "log_level", None):
        logging.getLogger().setLevel(model.settings.log_level)
    state_dir = getattr(args, "state_dir", None) or model.settings.state_dir or DEFAULT_STATE_DIR
    try:
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
    except OSError as exc:
        print(f"hookd: cannot create state dir {state_dir}: {exc}", file=sys.stderr)
        return 1
    sys.setswitchinterval(SWITCH_INTERVAL)
    if model.global_defs.vrrp_rt_priority:
        set_realtime(model.global_defs.vrrp_rt_priority)
    return asyncio.run(Daemon(model, state_dir, loader).run())
