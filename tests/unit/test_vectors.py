"""Real keepalived 2.2.7 adverts (pcap in shared/vectors) against the codec.

Expected values were read off ``tcpdump -nn -v -r keepalived-2.2.7-adverts.pcap`` (tcpdump
4.99) and hard-coded below, in capture order.
"""

from __future__ import annotations

import socket

import pytest

from hookd.vrrp import packet
from hookd.vrrp.packet import Advert
from tests.shared import require, shared_dir

dpkt = pytest.importorskip("dpkt")

PCAP_NAME = "keepalived-2.2.7-adverts.pcap"


VECTORS = shared_dir() / "vectors"

N1, N2, MC4 = "10.99.0.1", "10.99.0.2", "224.0.0.18"
LL6, MC6 = "fe80::a0cb:f8ff:fe74:7c7e", "ff02::12"

# (src, dst, ttl/hlim, version, vrid, prio, tcpdump authtype, intvl (s or cs), VRRP length,
#  addrs, tcpdump auth string)
TCPDUMP: list[tuple[str, str, int, int, int, int, str, int, int, tuple[str, ...], str]] = [
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (LL6, MC6, 255, 3, 53, 120, "", 100, 24, ("fd99::100",), ""),
    (N1, MC4, 255, 2, 51, 101, "simple", 1, 24, ("10.99.0.100", "10.99.0.101"), "secretpa"),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (LL6, MC6, 255, 3, 53, 120, "", 100, 24, ("fd99::100",), ""),
    (N1, MC4, 255, 2, 51, 101, "simple", 1, 24, ("10.99.0.100", "10.99.0.101"), "secretpa"),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (LL6, MC6, 255, 3, 53, 120, "", 100, 24, ("fd99::100",), ""),
    (N1, MC4, 255, 2, 51, 101, "simple", 1, 24, ("10.99.0.100", "10.99.0.101"), "secretpa"),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, N2, 255, 2, 54, 200, "none", 2, 20, ("10.99.0.104",), ""),
    (LL6, MC6, 255, 3, 53, 120, "", 100, 24, ("fd99::100",), ""),
    (N1, MC4, 255, 2, 51, 101, "simple", 1, 24, ("10.99.0.100", "10.99.0.101"), "secretpa"),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (LL6, MC6, 255, 3, 53, 120, "", 100, 24, ("fd99::100",), ""),
    (N1, MC4, 255, 2, 51, 101, "simple", 1, 24, ("10.99.0.100", "10.99.0.101"), "secretpa"),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, N2, 255, 2, 54, 200, "none", 2, 20, ("10.99.0.104",), ""),
    (LL6, MC6, 255, 3, 53, 120, "", 100, 24, ("fd99::100",), ""),
    (N1, MC4, 255, 2, 51, 101, "simple", 1, 24, ("10.99.0.100", "10.99.0.101"), "secretpa"),
    (N1, MC4, 255, 3, 52, 150, "", 50, 12, ("10.99.0.102",), ""),
    (N1, MC4, 255, 2, 51, 0, "simple", 1, 24, ("10.99.0.100", "10.99.0.101"), "secretpa"),
    (N1, MC4, 255, 3, 52, 0, "", 50, 12, ("10.99.0.102",), ""),
    (LL6, MC6, 255, 3, 53, 0, "", 100, 24, ("fd99::100",), ""),
    (N1, N2, 255, 2, 54, 0, "none", 2, 20, ("10.99.0.104",), ""),
]


def _read_vrrp() -> list[tuple[str, str, int, int, bytes]]:
    """(src, dst, ttl, family, vrrp message) for every IP proto / next header 112 frame."""
    path = require(VECTORS / PCAP_NAME)
    found = []
    with path.open("rb") as fh:
        for _ts, frame in dpkt.pcap.Reader(fh):
            ip = dpkt.ethernet.Ethernet(frame).data
            if isinstance(ip, dpkt.ip.IP) and ip.p == packet.IPPROTO_VRRP:
                src, dst, ttl, payload = packet.parse_ipv4(bytes(ip))
                found.append((src, dst, ttl, 4, payload))
            elif isinstance(ip, dpkt.ip6.IP6) and ip.nxt == packet.IPPROTO_VRRP:
                src = socket.inet_ntop(socket.AF_INET6, ip.src)
                dst = socket.inet_ntop(socket.AF_INET6, ip.dst)
                found.append((src, dst, ip.hlim, 6, bytes(ip.data)))
    return found


def test_pcap_matches_tcpdump() -> None:
    found = _read_vrrp()
    assert len(found) == len(TCPDUMP) == 33
    for (src, dst, ttl, family, payload), expected in zip(found, TCPDUMP, strict=True):
        e_src, e_dst, e_ttl, version, vrid, prio, authtype, intvl, length, addrs, auth = expected
        adv = packet.decode(payload, src, dst, family)
        assert (src, dst, ttl) == (e_src, e_dst, e_ttl)
        assert (adv.version, adv.vrid, adv.priority, adv.adver_int) == (version, vrid, prio, intvl)
        assert adv.family == (6 if ":" in src else 4)
        assert len(payload) == length
        assert adv.addresses == addrs
        if version == 2:
            assert adv.auth_type == {"none": 0, "simple": 1}[authtype]
            assert adv.auth_data == auth.encode()
            assert adv.interval == float(intvl)
        else:
            assert adv.interval == intvl / 100


def test_pcap_reencodes_byte_for_byte() -> None:
    for src, dst, _ttl, family, payload in _read_vrrp():
        adv = packet.decode(payload, src, dst, family)
        assert packet.encode(adv, src, dst) == payload


def test_pcap_adverts_pass_validation_as_a_peer_would_see_them() -> None:
    """What the capturing peer (10.99.0.2) with the same config would accept."""
    ours = {
        51: (2, packet.AUTH_PASS, packet.pass_auth_data("secretpassword"), 1),
        52: (3, 0, b"", 50),
        53: (3, 0, b"", 100),
        54: (2, 0, b"", 2),
    }
    for src, dst, ttl, family, payload in _read_vrrp():
        adv: Advert = packet.decode(payload, src, dst, family)
        version, auth_type, auth_data, adver_int = ours[adv.vrid]
        reason = packet.validate(
            adv,
            ttl=ttl,
            vrid=adv.vrid,
            version=version,
            auth_type=auth_type,
            auth_data=auth_data,
            adver_int=adver_int,
            addresses=adv.addresses,
            owner_addresses=frozenset({"10.99.0.2"}),
            src=src,
        )
        assert reason is None
        # The sender itself would recognise its own adverts.
        assert (
            packet.validate(
                adv,
                ttl=ttl,
                vrid=adv.vrid,
                version=version,
                auth_type=auth_type,
                auth_data=auth_data,
                adver_int=adver_int,
                addresses=adv.addresses,
                owner_addresses=frozenset({src}),
                src=src,
            )
            is packet.DropReason.OWNER
        )


def test_keepalived_checksum_forms() -> None:
    """v3/IPv4 includes the pseudo-header (the README says so); v2 covers the message only."""
    for src, dst, _ttl, family, payload in _read_vrrp():
        adv = packet.decode(payload, src, dst, family)
        if adv.version == 3 and family == 4:
            assert packet.checksum(payload) != 0
            no_ph = packet.encode(adv, src, dst, v3_ipv4_pseudo_header=False)
            assert no_ph != payload
            assert packet.decode(no_ph, src, dst, 4) == adv
        elif adv.version == 2:
            assert packet.checksum(payload) == 0
