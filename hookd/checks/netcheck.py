"""Native ``net_check``: ICMP echo to the peer(s) and the gateway, against split brain.

A node cut off from its peer cannot tell whether the peer died (it should become MASTER)
or whether it is itself isolated (it must not: that is split brain). The gateway breaks
the tie: policy ``gateway`` demotes only when the peer *and* the gateway are unreachable
(a node that still reaches the gateway is the healthy side); policy ``peer`` demotes as
soon as the peer is unreachable. ``rise``/``fall`` count whole rounds, as vrrp_script does.

ICMP goes through icmplib's ``async_ping`` with privileged raw sockets (hookd runs as
root): asyncio-native, no ``ping`` process per probe. Sockets are created in the
namespace hookd runs in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import icmplib

from hookd.checks.scripts import CheckCallback, CheckUpdate, RiseFall, ScriptStatus
from hookd.config.model import NetCheck

log = logging.getLogger(__name__)

# ping(address, timeout) -> reachable?
Pinger = Callable[[str, float], Awaitable[bool]]


async def icmp_ping(address: str, timeout: float) -> bool:
    """One ICMP echo (raw socket); False on no reply or any socket error."""
    try:
        host = await icmplib.async_ping(address, count=1, timeout=timeout, privileged=True)
    except (icmplib.ICMPLibError, OSError) as exc:
        log.debug("net_check: ping %s: %s", address, exc)
        return False
    return bool(host.is_alive)


@dataclass(frozen=True)
class Round:
    """The outcome of one probe round."""

    bad: bool
    reason: str


def _names(label: str, addrs: Sequence[str]) -> str:
    return f"{label}{'s' if len(addrs) > 1 else ''} {', '.join(addrs)}"


def judge(
    policy: str,
    peers: dict[str, bool],
    gateway: str | None,
    gateway_ok: bool | None,
) -> Round:
    """Decide one round. ``peers``: address -> reachable (empty: no peer known)."""
    peer_ok = any(peers.values())
    plist = list(peers)
    if policy == "peer":
        if peers and not peer_ok:
            return Round(True, f"net_check: {_names('peer', plist)} unreachable")
        return Round(
            False,
            "net_check: " + (f"{_names('peer', plist)} reachable" if peers else "no peer known"),
        )
    # policy "gateway"
    if not peers and gateway is None:
        return Round(False, "net_check: no peer and no gateway to probe")
    if gateway is None:
        if not peer_ok:
            return Round(True, f"net_check: {_names('peer', plist)} unreachable")
        return Round(False, f"net_check: {_names('peer', plist)} reachable")
    if not peers:
        if not gateway_ok:
            return Round(True, f"net_check: gateway {gateway} unreachable (no peer known)")
        return Round(False, f"net_check: gateway {gateway} reachable")
    if not peer_ok and not gateway_ok:
        return Round(True, f"net_check: {_names('peer', plist)} and gateway {gateway} unreachable")
    if peer_ok:
        return Round(False, f"net_check: {_names('peer', plist)} reachable")
    return Round(
        False, f"net_check: {_names('peer', plist)} unreachable but gateway {gateway} reachable"
    )


class NetChecker:
    """Probes every ``interval`` for one instance; reports status changes.

    ``peers()`` gives the current peer list (configured, unicast_peer, or the learned
    master). Starts OK; ``fall`` bad rounds -> FAILED, ``rise`` good rounds -> OK.
    """

    def __init__(
        self,
        instance: str,
        config: NetCheck,
        peers: Callable[[], list[str]],
        on_update: CheckCallback,
        *,
        ping: Pinger | None = None,
    ) -> None:
        self.instance = instance
        self.config = config
        self._peers = peers
        self._on_update = on_update
        self._ping = ping or icmp_ping
        self.counter = RiseFall(config.rise, config.fall, start_ok=True)
        self.last_round: Round | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def status(self) -> ScriptStatus:
        return self.counter.status

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"net_check:{self.instance}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def feed(self, rnd: Round) -> None:
        """Count one round (tests feed rounds directly)."""
        self.last_round = rnd
        changed = self.counter.record(not rnd.bad)
        if changed is not None:
            self._on_update(CheckUpdate(self.instance, changed, rnd.reason))

    async def probe(self) -> Round:
        peers = list(dict.fromkeys(self._peers()))
        cfg = self.config
        gw = cfg.gateway if cfg.policy == "gateway" else None
        targets = peers + ([gw] if gw is not None else [])
        results = await asyncio.gather(*(self._ping(t, cfg.timeout) for t in targets))
        reach = dict(zip(targets, results, strict=True))
        return judge(
            cfg.policy,
            {p: reach[p] for p in peers},
            gw,
            reach.get(gw) if gw is not None else None,
        )

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                rnd = await self.probe()
            except asyncio.CancelledError:
                raise
            except Exception:  # a probe bug must not stop the check
                log.exception("net_check %s", self.instance)
                rnd = None
            if rnd is not None:
                self.feed(rnd)
            await asyncio.sleep(max(0.0, self.config.interval - (time.monotonic() - started)))
