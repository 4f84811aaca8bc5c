"""Health checks feeding VRRP priority and FAULT: the one facade the daemon uses.

:class:`HealthMonitor` runs the tracked ``vrrp_script`` checks, watches interface carrier
(``track_interface`` + each instance's own interface) and runs the native ``net_check``.
Every tracked check is a *source* on an instance: it either faults the instance while
failed (weight 0 / no weight / action "fault") or adds a weight to its priority.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hookd.checks.interfaces import InterfaceTrack, carrier_status, interface_tracks
from hookd.checks.netcheck import NetChecker, Pinger
from hookd.checks.scripts import (
    CheckUpdate,
    ScriptRunner,
    ScriptStatus,
    causes_fault,
    weight_contribution,
)
from hookd.config.model import Model, NetCheck
from hookd.events import CheckResult, Event, PriorityChange
from hookd.net.links import LinkWatcher

log = logging.getLogger(__name__)

PRIO_OWNER = 255  # an address owner's priority never moves


class HealthSink(Protocol):
    """What the VRRP side receives from the health checks."""

    def priority_changed(self, instance: str, effective_priority: int, reason: str) -> None: ...

    def fault_set(self, instance: str, source: str, reason: str) -> None: ...

    def fault_cleared(self, instance: str, source: str, reason: str) -> None: ...


@dataclass
class _Source:
    """One check tracked by one instance."""

    source: str  # "track_script:chk_nginx", "track_interface:eth0", "net_check:VI_1"
    weight: int  # 0: FAULT while failed
    reverse: bool = False
    status: ScriptStatus = ScriptStatus.UNKNOWN

    @property
    def contribution(self) -> int:
        return weight_contribution(self.weight, self.reverse, self.status)

    @property
    def faulted(self) -> bool:
        return causes_fault(self.weight, self.reverse, self.status)


@dataclass
class _Instance:
    name: str
    base: int
    sources: dict[str, _Source] = field(default_factory=dict)
    reported_priority: int = 0
    faults: set[str] = field(default_factory=set)


def _clamp(priority: int) -> int:
    return max(1, min(254, priority))


class HealthMonitor:
    """Runs every check of a :class:`Model` and reports priority and FAULT changes.

    ``sink`` gets ``priority_changed`` / ``fault_set`` / ``fault_cleared``; ``publish`` gets
    a :class:`PriorityChange` per priority move and a :class:`CheckResult` per check status
    change. ``netns_safe``: every socket (netlink, ICMP) is opened in the namespace this
    process runs in (or in ``netns`` for the link watcher, via pyroute2's helper process);
    no thread ever setns()es, so the monitor works under ``ip netns exec``.
    ``ping`` replaces ICMP (tests).
    """

    def __init__(
        self,
        model: Model,
        sink: HealthSink,
        publish: Callable[[Event], None],
        *,
        netns_safe: bool = True,
        netns: str | None = None,
        ping: Pinger | None = None,
    ) -> None:
        self.model = model
        self.sink = sink
        self.publish = publish
        self.netns_safe = netns_safe
        self.node = model.global_defs.router_id
        self._instances: dict[str, _Instance] = {}
        self._learned: dict[str, str | None] = {}
        self.scripts: dict[str, ScriptRunner] = {}
        self.netchecks: dict[str, NetChecker] = {}
        self._script_users: dict[str, list[tuple[str, _Source]]] = {}
        self._if_users: dict[str, list[tuple[str, _Source]]] = {}
        self.links: LinkWatcher | None = None
        self._netns = netns
        self._started = False
        self._build(ping)

    # --- wiring ----------------------------------------------------------------------

    def _build(self, ping: Pinger | None) -> None:
        m = self.model
        for name, inst in m.vrrp_instances.items():
            self._instances[name] = _Instance(name, inst.priority, reported_priority=inst.priority)
        # track_script: the instance's own entries, then its sync group's (own entry wins).
        for name, inst in m.vrrp_instances.items():
            entries = list(inst.track_script)
            group = m.group_of(name)
            if group is not None:
                entries += group.track_script
            for ts in entries:
                script = m.vrrp_scripts.get(ts.name)
                if script is None:
                    log.warning("%s: track_script %s: no such vrrp_script", name, ts.name)
                    continue
                src_name = f"track_script:{ts.name}"
                if src_name in self._instances[name].sources:
                    continue
                if ts.weight is None:
                    weight, reverse = script.weight, script.reverse
                else:
                    weight, reverse = ts.weight, ts.reverse
                src = _Source(src_name, weight, reverse)
                self._instances[name].sources[src_name] = src
                self._script_users.setdefault(ts.name, []).append((name, src))
                if ts.name not in self.scripts:
                    runner = ScriptRunner(script, m.global_defs, self._on_script)
                    self.scripts[ts.name] = runner
                    src.status = runner.status  # init_fail: FAILED from the start
                else:
                    src.status = self.scripts[ts.name].status
        # interfaces
        for tr in interface_tracks(m):
            self._add_interface(tr)
        # net_check: instance name, else its sync group's name, else "*"
        for name in m.vrrp_instances:
            cfg = self._net_check_for(name)
            if cfg is None:
                continue
            weight = 0 if cfg.action == "fault" else int(cfg.action)
            src = _Source(f"net_check:{name}", weight, False, ScriptStatus.OK)
            self._instances[name].sources[src.source] = src
            self.netchecks[name] = NetChecker(
                name, cfg, lambda n=name: self._peers(n), self._on_netcheck, ping=ping
            )

    def _add_interface(self, tr: InterfaceTrack) -> None:
        src_name = f"track_interface:{tr.ifname}"
        inst = self._instances[tr.instance]
        if src_name in inst.sources:
            # Primary and an explicit entry on the same interface: FAULT wins (weight 0).
            if tr.weight is None:
                inst.sources[src_name].weight = 0
            return
        src = _Source(src_name, tr.weight or 0, tr.reverse)
        inst.sources[src_name] = src
        self._if_users.setdefault(tr.ifname, []).append((tr.instance, src))

    def _net_check_for(self, instance: str) -> NetCheck | None:
        checks = self.model.settings.net_check
        if instance in checks:
            return checks[instance]
        group = self.model.group_of(instance)
        if group is not None and group.name in checks:
            return checks[group.name]
        return checks.get("*")

    def _peers(self, instance: str) -> list[str]:
        cfg = self._net_check_for(instance)
        if cfg is not None and cfg.peers:
            return list(cfg.peers)
        inst = self.model.vrrp_instances[instance]
        if inst.unicast_peer:
            return list(inst.unicast_peer)
        learned = self._learned.get(instance)
        return [learned] if learned else []

    # --- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Report the initial state (init_fail, links down), then start every check."""
        self._started = True
        for inst in self._instances.values():
            self._reconcile(inst, "initial state")
        if self._if_users:
            self.links = LinkWatcher(self.link_changed, netns=self._netns)
            await self.links.start()  # the dump reports every present interface
            for ifname in self._if_users:
                if self.links.carrier(ifname) is None:
                    self.link_changed(ifname, False)  # absent: down
        for runner in self.scripts.values():
            runner.start()
            if runner.disabled is not None:
                self._publish_check(
                    f"track_script:{runner.script.name}",
                    False,
                    f"disabled: {runner.disabled}",
                    [i for i, _ in self._script_users.get(runner.script.name, [])],
                )
        for nc in self.netchecks.values():
            nc.start()

    async def stop(self) -> None:
        for runner in self.scripts.values():
            await runner.stop()
        for nc in self.netchecks.values():
            await nc.stop()
        if self.links is not None:
            await self.links.stop()
            self.links = None
        self._started = False

    # --- inputs ------------------------------------------------------------------------

    def learned_master(self, instance: str, address: str | None) -> None:
        """The VRRP side saw ``address`` as master (None: no other master known)."""
        self._learned[instance] = address

    def effective_priority(self, instance: str) -> int:
        """clamp(base + sum of weights, 1, 254); an owner (255) never moves."""
        inst = self._instances[instance]
        if inst.base == PRIO_OWNER:
            return PRIO_OWNER
        return _clamp(inst.base + sum(s.contribution for s in inst.sources.values()))

    def failing_weights(self, instance: str) -> str:
        """The weighted checks of ``instance`` now failing, in words ('' when none).

        A MASTER that loses to a peer because its own priority dropped would otherwise be
        audited only as "higher priority N from X"; this says why its priority dropped.
        """
        inst = self._instances.get(instance)
        if inst is None:
            return ""
        return "; ".join(
            f"{_what(s)} (weight {s.weight:+d})"
            for s in inst.sources.values()
            if s.weight != 0 and s.status is ScriptStatus.FAILED
        )

    def faults(self, instance: str) -> set[str]:
        """The sources currently holding ``instance`` in FAULT."""
        return set(self._instances[instance].faults)

    def link_changed(self, ifname: str, carrier: bool) -> None:
        """LinkWatcher callback (public for tests)."""
        users = self._if_users.get(ifname)
        if not users:
            return
        status = carrier_status(carrier)
        detail = f"interface {ifname} carrier {'up' if carrier else 'down'}"
        self._apply(f"track_interface:{ifname}", users, status, detail, detail)

    def _on_script(self, upd: CheckUpdate) -> None:
        users = self._script_users.get(upd.name, [])
        word = {ScriptStatus.OK: "succeeded", ScriptStatus.FAILED: "failed"}.get(
            upd.status, "unknown"
        )
        self._apply(
            f"track_script:{upd.name}",
            users,
            upd.status,
            upd.detail,
            f"track_script {upd.name} {word}",
        )

    def _on_netcheck(self, upd: CheckUpdate) -> None:
        src = self._instances[upd.name].sources[f"net_check:{upd.name}"]
        self._apply(src.source, [(upd.name, src)], upd.status, upd.detail, upd.detail)

    # --- the core ------------------------------------------------------------------------

    def _apply(
        self,
        check: str,
        users: list[tuple[str, _Source]],
        status: ScriptStatus,
        detail: str,
        what: str,
    ) -> None:
        changed = [(i, s) for i, s in users if s.status is not status]
        if not changed:
            return
        deltas = []
        for _, src in changed:
            before = src.contribution
            src.status = status
            deltas.append(src.contribution - before)
        self._publish_check(check, status is ScriptStatus.OK, detail, [i for i, _ in users])
        for (instance, _src), delta in zip(changed, deltas, strict=True):
            self._reconcile(self._instances[instance], what, detail, delta)

    def _publish_check(self, check: str, ok: bool, detail: str, instances: list[str]) -> None:
        self.publish(
            CheckResult(
                node=self.node, check=check, ok=ok, detail=detail, instances=tuple(instances)
            )
        )

    def _reconcile(self, inst: _Instance, what: str, detail: str = "", delta: int = 0) -> None:
        """Report fault and priority differences against what was last reported."""
        for src in inst.sources.values():
            if src.faulted and src.source not in inst.faults:
                inst.faults.add(src.source)
                self.sink.fault_set(inst.name, src.source, _fault_reason(src, what, detail))
            elif not src.faulted and src.source in inst.faults:
                inst.faults.discard(src.source)
                self.sink.fault_cleared(inst.name, src.source, _fault_reason(src, what, detail))
        new = self.effective_priority(inst.name)
        old = inst.reported_priority
        if new == old:
            return
        inst.reported_priority = new
        if what == "initial state":
            parts = [
                f"{_what(s)} (weight {s.contribution:+d})"
                for s in inst.sources.values()
                if s.contribution
            ]
            reason = "; ".join(parts)
        else:
            reason = f"{what} (weight {delta or new - old:+d})"
        self.sink.priority_changed(inst.name, new, reason)
        self.publish(
            PriorityChange(
                node=self.node,
                instance=inst.name,
                old_priority=old,
                new_priority=new,
                base_priority=inst.base,
                reason=reason,
            )
        )


def _what(src: _Source) -> str:
    kind, _, name = src.source.partition(":")
    word = "failed" if src.status is ScriptStatus.FAILED else "succeeded"
    if kind == "track_interface":
        return f"interface {name} carrier {'down' if src.status is ScriptStatus.FAILED else 'up'}"
    if kind == "net_check":
        return f"net_check {word}"
    return f"{kind} {name} {word}"


def _fault_reason(src: _Source, what: str, detail: str) -> str:
    if src.source.startswith("track_interface:"):
        return _what(src)
    if src.source.startswith("net_check:"):
        return detail or _what(src)
    base = _what(src) if what == "initial state" else what
    return f"{base} ({detail})" if detail and detail != base else base


__all__ = ["HealthMonitor", "HealthSink"]
