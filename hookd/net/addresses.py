"""Virtual IP addresses on interfaces, through netlink (pyroute2's AsyncIPRoute).

Adds are idempotent (EEXIST is success), deletes too (EADDRNOTAVAIL is success), so the
daemon can reconcile freely: at start it removes VIPs a crashed run left behind, at stop
it removes every VIP it holds. IPv4 VIPs carry keepalived's ``label`` and ``brd``; IPv6
VIPs are added with IFA_F_NODAD so they are usable at once, like keepalived does.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from hookd.config.model import VirtualIP

log = logging.getLogger("hookd.net.addresses")

IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
SCOPES = {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}


@dataclass(frozen=True)
class InterfaceInfo:
    """What the shell needs to know about one interface."""

    name: str
    index: int
    mac: bytes
    ipv4: tuple[str, ...]  # primary first, then secondaries
    ipv6_link_local: tuple[str, ...]
    ipv6_global: tuple[str, ...]
    up: bool
    ipv6_tentative: tuple[str, ...] = ()  # still in DAD: not usable as a source yet

    def primary(self, family: int, exclude: Iterable[str] = ()) -> str:
        """keepalived's source address: the first IPv4, or the IPv6 link-local address."""
        skip = {str(ipaddress.ip_address(a)) for a in exclude}
        pool = self.ipv4 if family == 4 else (self.ipv6_link_local or self.ipv6_global)
        for a in pool:
            if a not in skip:
                return a
        return ""


async def _collect(result: Any) -> list[Any]:
    """pyroute2 0.9 returns either a list or an async generator, depending on the call."""
    if hasattr(result, "__aiter__"):
        return [item async for item in result]
    return list(result)


class AddressManager:
    """One netlink socket for every address operation of the daemon.

    Operations are serialised by a lock so VIPs of one transition are added (or removed)
    before the next transition's, in the order the FSM asked for them.
    """

    def __init__(self) -> None:
        self._ipr: AsyncIPRoute | None = None
        self._lock = asyncio.Lock()

    async def _route(self) -> AsyncIPRoute:
        if self._ipr is None:
            ipr = AsyncIPRoute()
            await ipr.setup_endpoint()
            self._ipr = ipr
        return self._ipr

    async def close(self) -> None:
        if self._ipr is not None:
            try:
                self._ipr.close()
            except Exception:  # closing must not fail a shutdown
                log.debug("closing netlink socket", exc_info=True)
            self._ipr = None

    async def interface(self, ifname: str) -> InterfaceInfo:
        """Index, MAC and addresses of an interface (raises LookupError if absent)."""
        async with self._lock:
            ipr = await self._route()
            found = await ipr.link_lookup(ifname=ifname)
            if not found:
                raise LookupError(f"interface {ifname} does not exist")
            index = found[0]
            link = (await _collect(await ipr.link("get", index=index)))[0]
            mac_text = link.get("address") or "00:00:00:00:00:00"
            mac = bytes(int(b, 16) for b in mac_text.split(":"))
            up = bool(link["flags"] & 0x1)  # IFF_UP
            v4: list[tuple[int, str]] = []
            ll: list[str] = []
            glob: list[str] = []
            tentative: list[str] = []
            for msg in await _collect(await ipr.addr("dump", index=index)):
                addr = msg.get("address")
                if not addr:
                    continue
                flags = msg["flags"]
                if msg["family"] == socket.AF_INET:
                    v4.append((1 if flags & IFA_F_SECONDARY else 0, addr))
                elif flags & IFA_F_TENTATIVE:
                    tentative.append(addr)
                elif ipaddress.IPv6Address(addr).is_link_local:
                    ll.append(addr)
                else:
                    glob.append(addr)
            v4.sort(key=lambda t: t[0])  # stable: primaries before secondaries
            return InterfaceInfo(
                name=ifname,
                index=index,
                mac=mac,
                ipv4=tuple(a for _, a in v4),
                ipv6_link_local=tuple(ll),
                ipv6_global=tuple(glob),
                up=up,
                ipv6_tentative=tuple(tentative),
            )

    async def present(self, ifname: str) -> set[str]:
        """Bare addresses currently on an interface."""
        info = await self.interface(ifname)
        return (
            set(info.ipv4)
            | set(info.ipv6_link_local)
            | set(info.ipv6_global)
            | set(info.ipv6_tentative)
        )

    async def add(self, ifname: str, vips: Iterable[VirtualIP]) -> list[str]:
        """Add VIPs (each on ``vip.dev`` or ``ifname``); returns the ones that failed."""
        failed: list[str] = []
        async with self._lock:
            ipr = await self._route()
            for vip in vips:
                try:
                    await ipr.addr("add", **self._spec(ifname, vip, adding=True))
                except NetlinkError as exc:
                    if exc.code == errno.EEXIST:
                        continue
                    log.error("cannot add VIP %s on %s: %s", vip.address, vip.dev or ifname, exc)
                    failed.append(vip.address)
                except (LookupError, ValueError) as exc:
                    log.error("cannot add VIP %s: %s", vip.address, exc)
                    failed.append(vip.address)
        return failed

    async def delete(self, ifname: str, vips: Iterable[VirtualIP]) -> list[str]:
        """Remove VIPs; an address that is not there is fine. Returns the ones that failed."""
        failed: list[str] = []
        async with self._lock:
            ipr = await self._route()
            for vip in vips:
                try:
                    await ipr.addr("del", **self._spec(ifname, vip, adding=False))
                except NetlinkError as exc:
                    if exc.code in (errno.EADDRNOTAVAIL, errno.ENODEV, errno.ENOENT):
                        continue
                    log.error("cannot remove VIP %s: %s", vip.address, exc)
                    failed.append(vip.address)
                except LookupError:
                    continue  # the interface is gone, and the address with it
                except ValueError as exc:
                    log.error("cannot remove VIP %s: %s", vip.address, exc)
                    failed.append(vip.address)
        return failed

    @staticmethod
    def _spec(ifname: str, vip: VirtualIP, *, adding: bool) -> dict[str, object]:
        dev = vip.dev or ifname
        try:
            # A plain ioctl: a netlink round trip here would delay the VIP on takeover.
            index = socket.if_nametoindex(dev)
        except OSError:
            raise LookupError(f"interface {dev} does not exist") from None
        iface = ipaddress.ip_interface(vip.address)
        spec: dict[str, object] = {
            "index": index,
            "address": str(iface.ip),
            "prefixlen": iface.network.prefixlen,
        }
        if not adding:
            return spec
        if vip.scope is not None:
            spec["scope"] = SCOPES.get(vip.scope, 0) if not vip.scope.isdigit() else int(vip.scope)
        if iface.version == 4:
            if vip.label:
                spec["label"] = vip.label
            if vip.broadcast == "+":
                spec["broadcast"] = str(iface.network.broadcast_address)
            elif vip.broadcast and vip.broadcast != "-":
                spec["broadcast"] = vip.broadcast
            if vip.peer:
                spec["local"] = str(iface.ip)
                spec["address"] = vip.peer
        else:
            spec["flags"] = IFA_F_NODAD
        return spec
