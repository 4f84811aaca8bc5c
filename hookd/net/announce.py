"""Gratuitous ARP and unsolicited Neighbor Advertisements for VIPs, over AF_PACKET.

Frames are exactly keepalived 2.2.7's (see ../shared/vectors/keepalived-2.2.7-adverts.pcap):

* ARP: broadcast *request* "who-has VIP tell VIP", sender MAC = interface MAC, target
  MAC ff:ff:ff:ff:ff:ff;
* NA: from the VIP to ff02::1 (33:33:00:00:00:01), hop limit 255, flags Override only,
  target = VIP, option 2 (target link-layer address) = interface MAC.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import struct
from collections.abc import Iterable

from hookd.vrrp.packet import checksum

log = logging.getLogger("hookd.net.announce")

ETH_P_ARP = 0x0806
ETH_P_IPV6 = 0x86DD
BROADCAST_MAC = b"\xff" * 6
ALL_NODES = "ff02::1"
ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
ICMPV6_NA = 136
NA_FLAG_OVERRIDE = 0x20000000
ND_OPT_TARGET_LL = 2


def arp_frame(mac: bytes, vip: str) -> bytes:
    """A gratuitous ARP request for ``vip`` from ``mac`` (Ethernet header included)."""
    ip = socket.inet_aton(vip)
    eth = BROADCAST_MAC + mac + struct.pack("!H", ETH_P_ARP)
    # htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, op 1 (request)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac + ip + BROADCAST_MAC + ip
    return eth + arp


def na_frame(mac: bytes, vip: str) -> bytes:
    """An unsolicited Neighbor Advertisement for ``vip`` to all nodes (Ethernet included)."""
    src = ipaddress.IPv6Address(vip).packed
    dst = ipaddress.IPv6Address(ALL_NODES).packed
    icmp = struct.pack("!BBHI", ICMPV6_NA, 0, 0, NA_FLAG_OVERRIDE) + src
    icmp += struct.pack("!BB", ND_OPT_TARGET_LL, 1) + mac
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), socket.IPPROTO_ICMPV6)
    csum = checksum(pseudo + icmp)
    icmp = icmp[:2] + struct.pack("!H", csum) + icmp[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(icmp), socket.IPPROTO_ICMPV6, 255) + src + dst
    eth = ALL_NODES_MAC + mac + struct.pack("!H", ETH_P_IPV6)
    return eth + ip6 + icmp


def interface_mac(ifname: str) -> bytes:
    """The interface's MAC address, read from sysfs."""
    with open(f"/sys/class/net/{ifname}/address") as f:
        text = f.read().strip()
    return bytes(int(b, 16) for b in text.split(":"))


class Announcer:
    """Sends GARPs / NAs on interfaces through one AF_PACKET socket per interface."""

    def __init__(self, *, garp_interval: float = 0.0, gna_interval: float = 0.0) -> None:
        self.garp_interval = garp_interval
        self.gna_interval = gna_interval
        self._socks: dict[str, tuple[socket.socket, bytes]] = {}
        self.sent = 0

    def _sock(self, ifname: str) -> tuple[socket.socket, bytes]:
        found = self._socks.get(ifname)
        if found is None:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # send only
            try:
                sock.bind((ifname, 0))
                sock.setblocking(False)
            except BaseException:
                sock.close()
                raise
            found = (sock, interface_mac(ifname))
            self._socks[ifname] = found
        return found

    def _send(self, ifname: str, frame_for: str) -> None:
        try:
            sock, mac = self._sock(ifname)
            frame = na_frame(mac, frame_for) if ":" in frame_for else arp_frame(mac, frame_for)
            sock.send(frame)
            self.sent += 1
        except OSError as exc:
            # A dropped socket (interface re-created) is opened again next time.
            self._drop(ifname)
            log.warning("cannot announce %s on %s: %s", frame_for, ifname, exc)

    def _drop(self, ifname: str) -> None:
        found = self._socks.pop(ifname, None)
        if found is not None:
            found[0].close()

    async def announce(self, ifname: str, vips: Iterable[str], count: int) -> None:
        """Send ``count`` announcements per VIP (``vips``: bare addresses).

        With vrrp_garp_interval / vrrp_gna_interval set, consecutive packets of a family
        are spaced by that interval, as keepalived does; otherwise they go out in a burst.
        """
        vips4 = [v for v in vips if ":" not in v]
        vips6 = [v for v in vips if ":" in v]
        order = [(v, self.garp_interval) for v in vips4] + [(v, self.gna_interval) for v in vips6]
        if not order or count <= 0:
            return
        # keepalived sends the whole burst of one VIP before the next VIP's.
        for vip, gap in order:
            for _ in range(count):
                self._send(ifname, vip)
                if gap > 0:
                    await asyncio.sleep(gap)

    def close(self) -> None:
        for ifname in list(self._socks):
            with contextlib.suppress(OSError):
                self._drop(ifname)
