"""Raw VRRP sockets: one per (interface, family), shared by every instance on it.

Each :class:`VrrpSocket` is an IPPROTO 112 raw socket bound to its interface
(SO_BINDTODEVICE), joined to the VRRP group there, sending with TTL / hop limit 255 and
without multicast loop-back. Received packets are decoded with :mod:`hookd.vrrp.packet`
and handed to the instance registered for the packet's VRID; everything a peer sends that
cannot be used is counted per (instance or interface, :class:`DropReason`) and logged at
a limited rate. Nothing a peer sends can raise out of the receive path.

The I/O is asyncio-native: the socket is non-blocking and read through
``loop.add_reader``, so a packet reaches its FSM without a thread hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from hookd.vrrp.packet import (
    IPPROTO_VRRP,
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    VRRP_TTL,
    Advert,
    DropError,
    DropReason,
    decode,
    parse_ipv4,
)

log = logging.getLogger("hookd.net.sockets")

# Linux values the socket module does not export.
IP_PKTINFO = 8
IP_MULTICAST_ALL = 49
IP_MTU_DISCOVER = 10
IP_PMTUDISC_DONT = 0
IPV6_TCLASS = 67
# keepalived sends adverts as network control traffic (IPTOS_PREC_INTERNETCONTROL).
TOS_INTERNETCONTROL = 0xC0

RECV_BUFSIZE = 65535
_ANC_BUFSIZE = socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20) + 64
# One log line per (key, reason) at most this often; the counters are always exact.
LOG_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class Received:
    """One decoded advertisement with what the IP layer said about it."""

    advert: Advert
    src: str
    dst: str
    ttl: int  # IPv4 TTL or IPv6 hop limit (-1 if the kernel did not tell us)
    ifname: str
    at: float  # loop.time() when read


PacketHandler = Callable[[Received], None]


@dataclass
class DropCounters:
    """Dropped packets per (instance or interface, reason), with rate-limited logging."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    _last_log: dict[tuple[str, str], float] = field(default_factory=dict)
    _suppressed: Counter[tuple[str, str]] = field(default_factory=Counter)

    def drop(self, key: str, reason: DropReason | str, detail: str = "", src: str = "") -> None:
        """Count one drop and log it unless the same (key, reason) was logged recently."""
        reason = str(reason)
        self.counts.setdefault(key, Counter())[reason] += 1
        now = time.monotonic()
        k = (key, reason)
        last = self._last_log.get(k)
        if last is not None and now - last < LOG_INTERVAL:
            self._suppressed[k] += 1
            return
        self._last_log[k] = now
        more = self._suppressed.pop(k, 0)
        extra = f" ({more} more since last message)" if more else ""
        log.warning(
            "%s: dropped VRRP packet from %s: %s%s%s",
            key,
            src or "?",
            reason,
            f" ({detail})" if detail else "",
            extra,
        )

    def for_key(self, key: str) -> dict[str, int]:
        return dict(self.counts.get(key, {}))

    def total(self) -> dict[tuple[str, str], int]:
        return {(k, r): n for k, c in self.counts.items() for r, n in c.items()}


def _ifindex(ifname: str) -> int:
    return socket.if_nametoindex(ifname)


class VrrpSocket:
    """The raw IPPROTO_VRRP socket of one (interface, family), demultiplexed by VRID."""

    def __init__(
        self,
        ifname: str,
        family: int,
        drops: DropCounters,
        *,
        group: str | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.ifname = ifname
        self.family = family
        self.group = group or (VRRP_MCAST_GROUP6 if family == 6 else VRRP_MCAST_GROUP4)
        self.drops = drops
        self.key = f"{ifname}/ipv{family}"
        self.handlers: dict[int, PacketHandler] = {}
        self.received = 0
        self.sent = 0
        self.send_errors = 0
        self._loop = loop
        self._sock: socket.socket | None = None
        self._ifindex = 0

    # --- life cycle ----------------------------------------------------------------------

    def open(self) -> None:
        """Create, configure and start reading the socket (raises OSError on failure)."""
        self._ifindex = _ifindex(self.ifname)
        af = socket.AF_INET6 if self.family == 6 else socket.AF_INET
        sock = socket.socket(af, socket.SOCK_RAW, IPPROTO_VRRP)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, self.ifname.encode())
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            group = socket.inet_pton(af, self.group)
            if self.family == 4:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, VRRP_TTL)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, VRRP_TTL)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, TOS_INTERNETCONTROL)
                # No DF bit, as keepalived's adverts.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DONT)
                # Only the groups this socket joined, not every group any socket joined.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
                mreqn = struct.pack("4s4si", group, b"\x00" * 4, self._ifindex)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, VRRP_TTL)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, TOS_INTERNETCONTROL)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, self._ifindex)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
                mreq = struct.pack("16si", group, self._ifindex)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        loop = self._loop or asyncio.get_running_loop()
        self._loop = loop
        loop.add_reader(sock.fileno(), self._on_readable)
        log.debug("opened VRRP socket on %s (group %s)", self.key, self.group)

    def close(self) -> None:
        if self._sock is None:
            return
        if self._loop is not None:
            with contextlib.suppress(Exception):
                self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._sock = None

    # --- demultiplexing ------------------------------------------------------------------

    def register(self, vrid: int, handler: PacketHandler) -> None:
        if vrid in self.handlers:
            raise ValueError(f"VRID {vrid} is already in use on {self.key}")
        self.handlers[vrid] = handler

    def unregister(self, vrid: int) -> None:
        self.handlers.pop(vrid, None)

    # --- receive -------------------------------------------------------------------------

    def _on_readable(self) -> None:
        # Drain what is queued (bounded, so one busy socket cannot starve the timers).
        for _ in range(64):
            sock = self._sock
            if sock is None:
                return
            try:
                data, anc, _flags, addr = sock.recvmsg(RECV_BUFSIZE, _ANC_BUFSIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("%s: receive failed: %s", self.key, exc)
                return
            try:
                self._dispatch(data, anc, addr)
            except Exception:  # a peer must never be able to crash us
                self.drops.drop(self.key, "internal", "unexpected error, see debug log")
                log.debug("%s: error handling a packet", self.key, exc_info=True)

    def _dispatch(self, data: bytes, anc: list[tuple[int, int, bytes]], addr: object) -> None:
        at = self._loop.time() if self._loop is not None else time.monotonic()
        if self.family == 4:
            try:
                src, dst, ttl, payload = parse_ipv4(data)
            except DropError as exc:
                self.drops.drop(self.key, exc.reason, exc.detail)
                return
        else:
            src = str(addr[0]).split("%", 1)[0] if isinstance(addr, tuple) else ""
            ttl, dst = -1, ""
            for level, ctype, cdata in anc:
                if level != socket.IPPROTO_IPV6:
                    continue
                if ctype == socket.IPV6_HOPLIMIT and len(cdata) >= 4:
                    ttl = struct.unpack("i", cdata[:4])[0]
                elif ctype == socket.IPV6_PKTINFO and len(cdata) >= 16:
                    dst = str(ipaddress.IPv6Address(cdata[:16]))
            payload = data
            if not dst:
                dst = self.group
        self.received += 1
        try:
            advert = decode(payload, src, dst, self.family)
        except DropError as exc:
            self.drops.drop(self.key, exc.reason, exc.detail, src)
            return
        handler = self.handlers.get(advert.vrid)
        if handler is None:
            self.drops.drop(self.key, DropReason.VRID, f"no instance has VRID {advert.vrid}", src)
            return
        handler(Received(advert, src, dst, ttl, self.ifname, at))

    # --- send ----------------------------------------------------------------------------

    def send(self, message: bytes, src: str, dst: str) -> bool:
        """Send one VRRP message from ``src`` to ``dst``; False (logged) if the kernel refused."""
        sock = self._sock
        if sock is None:
            return False
        try:
            if self.family == 4:
                # in_pktinfo: ifindex, spec_dst (our source), addr (ignored on send)
                pktinfo = struct.pack(
                    "i4s4s", self._ifindex, socket.inet_aton(src) if src else bytes(4), bytes(4)
                )
                sock.sendmsg([message], [(socket.IPPROTO_IP, IP_PKTINFO, pktinfo)], 0, (dst, 0))
            else:
                scope = (
                    self._ifindex
                    if ipaddress.IPv6Address(dst).is_link_local
                    or (ipaddress.IPv6Address(dst).is_multicast)
                    else 0
                )
                pktinfo = struct.pack(
                    "16si",
                    socket.inet_pton(socket.AF_INET6, src) if src else bytes(16),
                    self._ifindex,
                )
                sock.sendmsg(
                    [message],
                    [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)],
                    0,
                    (dst, 0, 0, scope),
                )
        except OSError as exc:
            self.send_errors += 1
            self.drops.drop(self.key, "send_error", f"to {dst}: {exc.strerror or exc}")
            return False
        self.sent += 1
        return True


class SocketPool:
    """The open :class:`VrrpSocket` objects, one per (interface, family, group)."""

    def __init__(self, drops: DropCounters | None = None) -> None:
        self.drops = drops if drops is not None else DropCounters()
        self.sockets: dict[tuple[str, int, str], VrrpSocket] = {}

    def get(self, ifname: str, family: int, group: str | None = None) -> VrrpSocket:
        """The socket for (ifname, family, group), opened on first use."""
        group = group or (VRRP_MCAST_GROUP6 if family == 6 else VRRP_MCAST_GROUP4)
        key = (ifname, family, group)
        sock = self.sockets.get(key)
        if sock is None:
            sock = VrrpSocket(ifname, family, self.drops, group=group)
            sock.open()
            self.sockets[key] = sock
        return sock

    def release_unused(self) -> None:
        """Close sockets no instance listens on any more (after a reload)."""
        for key, sock in list(self.sockets.items()):
            if not sock.handlers:
                sock.close()
                del self.sockets[key]

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()
