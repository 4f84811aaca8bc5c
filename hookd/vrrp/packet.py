"""VRRP advertisement codec: RFC 3768 (VRRPv2, IPv4) and RFC 5798 (VRRPv3, IPv4 + IPv6).

Pure functions over bytes: no sockets, no clock. ``decode`` only raises :class:`DropError`,
whatever the input, so the network shell can count drops by :class:`DropReason`.

Wire layout (both versions share the first 8 bytes)::

    0: version(4) | type(4)   1: VRID   2: priority   3: count IPvX addr
    v2: 4: auth type  5: adver int (s)        v3: 4-5: rsvd(4) | max adver int (12 bits, cs)
    6-7: checksum   8..: addresses   v2 only: 8 bytes of authentication data
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from enum import StrEnum

IPPROTO_VRRP = 112
VRRP_TTL = 255
VRRP_TYPE_ADVERTISEMENT = 1
VRRP_MCAST_GROUP4 = "224.0.0.18"
VRRP_MCAST_GROUP6 = "ff02::12"
AUTH_NONE = 0
AUTH_PASS = 1
AUTH_AH = 2
AUTH_DATA_LEN = 8
HEADER_LEN = 8
V2_MAX_ADVER_INT = 0xFF
V3_MAX_ADVER_INT = 0x0FFF

__all__ = [
    "AUTH_AH",
    "AUTH_NONE",
    "AUTH_PASS",
    "IPPROTO_VRRP",
    "VRRP_MCAST_GROUP4",
    "VRRP_MCAST_GROUP6",
    "Advert",
    "DropError",
    "DropReason",
    "addresses_match",
    "checksum",
    "decode",
    "encode",
    "field_to_interval",
    "interval_to_field",
    "parse_ipv4",
    "pass_auth_data",
    "validate",
]


class DropReason(StrEnum):
    """Why a received packet was dropped (one counter per reason in the shell)."""

    TTL = "ttl"
    VERSION = "version"
    TYPE = "type"
    LENGTH = "length"
    CHECKSUM = "checksum"
    VRID = "vrid"
    AUTH = "auth"
    INTERVAL = "interval"
    ADDRESS_LIST = "address_list"
    OWNER = "owner"


class DropError(Exception):
    """A packet that must be dropped; ``reason`` says which RFC 7.1 check failed."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Advert:
    """One VRRP ADVERTISEMENT, version independent.

    ``adver_int`` is the raw wire field (v2: seconds, v3: centiseconds); ``interval`` gives
    seconds. ``auth_data`` is b"" when the 8 v2 authentication bytes are all zero, else the
    8 bytes as sent (so ``decode`` and ``encode`` are exact inverses).
    """

    version: int
    vrid: int
    priority: int
    adver_int: int
    addresses: tuple[str, ...]
    family: int = 4
    auth_type: int = AUTH_NONE
    auth_data: bytes = b""
    type: int = VRRP_TYPE_ADVERTISEMENT

    @property
    def interval(self) -> float:
        """The advertisement interval in seconds."""
        return field_to_interval(self.adver_int, self.version)


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum (16-bit one's complement of the one's complement sum)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _pseudo_header(src: str, dst: str, length: int, family: int) -> bytes:
    """The IPv4 (RFC 768 style) or IPv6 (RFC 8200 8.1) pseudo-header for VRRPv3."""
    if family == 6:
        return (
            ipaddress.IPv6Address(src).packed
            + ipaddress.IPv6Address(dst).packed
            + struct.pack("!I3xB", length, IPPROTO_VRRP)
        )
    return (
        ipaddress.IPv4Address(src).packed
        + ipaddress.IPv4Address(dst).packed
        + struct.pack("!xBH", IPPROTO_VRRP, length)
    )


def pass_auth_data(auth_pass: str) -> bytes:
    """keepalived's PASS auth data: the password truncated / zero padded to 8 bytes."""
    raw = auth_pass.encode()[:AUTH_DATA_LEN]
    return raw.ljust(AUTH_DATA_LEN, b"\x00")


def _canonical_auth_data(raw: bytes) -> bytes:
    return b"" if not raw.strip(b"\x00") else raw


def interval_to_field(seconds: float, version: int) -> int:
    """Seconds -> wire field, rounded and clamped as keepalived does (v2 s, v3 cs)."""
    if version == 2:
        return max(1, min(V2_MAX_ADVER_INT, round(seconds)))
    return max(1, min(V3_MAX_ADVER_INT, round(seconds * 100)))


def field_to_interval(field: int, version: int) -> float:
    """Wire field -> seconds."""
    return float(field) if version == 2 else field / 100


def _addr_len(family: int) -> int:
    return 16 if family == 6 else 4


def encode(adv: Advert, src: str, dst: str, *, v3_ipv4_pseudo_header: bool = True) -> bytes:
    """Build the VRRP message (no IP header) with its checksum filled in.

    ``src``/``dst`` only matter for the VRRPv3 pseudo-header. ``v3_ipv4_pseudo_header=False``
    sends the pre-RFC-5798-erratum form (VRRPv3 over IPv4 checksummed without it).
    """
    if adv.version not in (2, 3):
        raise ValueError(f"VRRP version must be 2 or 3, not {adv.version}")
    if adv.family not in (4, 6):
        raise ValueError(f"family must be 4 or 6, not {adv.family}")
    if adv.version == 2 and adv.family == 6:
        raise ValueError("VRRPv2 is IPv4 only")
    body = b"".join(ipaddress.ip_address(a).packed for a in adv.addresses)
    if len(body) != len(adv.addresses) * _addr_len(adv.family):
        raise ValueError(f"addresses {adv.addresses} are not all IPv{adv.family}")
    first = (adv.version << 4) | (adv.type & 0x0F)
    if adv.version == 2:
        fields = struct.pack("!BB", adv.auth_type, adv.adver_int)
        body += adv.auth_data[:AUTH_DATA_LEN].ljust(AUTH_DATA_LEN, b"\x00")
    else:
        fields = struct.pack("!H", adv.adver_int & V3_MAX_ADVER_INT)
    head = struct.pack("!BBBB", first, adv.vrid, adv.priority, len(adv.addresses)) + fields
    message = head + b"\x00\x00" + body
    covered = message
    if adv.version == 3 and (adv.family == 6 or v3_ipv4_pseudo_header):
        covered = _pseudo_header(src, dst, len(message), adv.family) + message
    return head + struct.pack("!H", checksum(covered)) + body


def decode(data: bytes, src: str, dst: str, family: int) -> Advert:
    """Parse and checksum-verify one VRRP message (the IP payload).

    Raises :class:`DropError` (LENGTH, VERSION, TYPE, CHECKSUM) and nothing else. VRRPv3 over
    IPv4 is accepted with the pseudo-header (RFC 5798), with the pseudo-header built on the
    multicast group (old keepalived unicast form) and without any pseudo-header.
    """
    if len(data) < HEADER_LEN:
        raise DropError(DropReason.LENGTH, f"{len(data)} bytes, header needs {HEADER_LEN}")
    first, vrid, priority, count = data[0], data[1], data[2], data[3]
    version, ptype = first >> 4, first & 0x0F
    if version not in (2, 3) or family not in (4, 6) or (version == 2 and family == 6):
        raise DropError(DropReason.VERSION, f"VRRPv{version} over IPv{family}")
    if ptype != VRRP_TYPE_ADVERTISEMENT:
        raise DropError(DropReason.TYPE, f"type {ptype}")
    alen = _addr_len(family)
    expected = HEADER_LEN + count * alen + (AUTH_DATA_LEN if version == 2 else 0)
    if len(data) != expected:
        raise DropError(DropReason.LENGTH, f"{len(data)} bytes, expected {expected}")
    try:
        ok = checksum(data) == 0 if version == 2 else _v3_checksum_ok(data, src, dst, family)
    except ValueError as exc:  # src/dst not addresses of this family
        raise DropError(DropReason.CHECKSUM, f"bad pseudo-header address: {exc}") from None
    if not ok:
        raise DropError(DropReason.CHECKSUM, f"checksum 0x{data[6]:02x}{data[7]:02x} is wrong")
    addr_cls = ipaddress.IPv6Address if family == 6 else ipaddress.IPv4Address
    addresses = tuple(
        str(addr_cls(data[HEADER_LEN + i * alen : HEADER_LEN + (i + 1) * alen]))
        for i in range(count)
    )
    if version == 2:
        return Advert(
            version=2,
            vrid=vrid,
            priority=priority,
            adver_int=data[5],
            addresses=addresses,
            family=4,
            auth_type=data[4],
            auth_data=_canonical_auth_data(data[-AUTH_DATA_LEN:]),
            type=ptype,
        )
    # The 4 reserved bits are ignored on receive (RFC 5798 5.2.5).
    adver_int = struct.unpack_from("!H", data, 4)[0] & V3_MAX_ADVER_INT
    return Advert(3, vrid, priority, adver_int, addresses, family=family, type=ptype)


def _v3_checksum_ok(data: bytes, src: str, dst: str, family: int) -> bool:
    if checksum(_pseudo_header(src, dst, len(data), family) + data) == 0:
        return True
    if family == 6:
        return False
    # Interoperability: keepalived < 2.0.x unicast put 224.0.0.18 in the pseudo-header and
    # some stacks leave the pseudo-header out over IPv4 altogether.
    if dst != VRRP_MCAST_GROUP4 and (
        checksum(_pseudo_header(src, VRRP_MCAST_GROUP4, len(data), 4) + data) == 0
    ):
        return True
    return checksum(data) == 0


def parse_ipv4(datagram: bytes) -> tuple[str, str, int, bytes]:
    """Split a raw IPv4 datagram (as SOCK_RAW returns it) into (src, dst, ttl, payload).

    The payload is cut at the header's total length so Ethernet padding is not included.
    """
    if len(datagram) < 20:
        raise DropError(DropReason.LENGTH, f"IPv4 datagram of {len(datagram)} bytes")
    if datagram[0] >> 4 != 4:
        raise DropError(DropReason.LENGTH, f"IP version {datagram[0] >> 4}, not 4")
    ihl = (datagram[0] & 0x0F) * 4
    total = struct.unpack_from("!H", datagram, 2)[0]
    if ihl < 20 or total < ihl or total > len(datagram):
        raise DropError(
            DropReason.LENGTH, f"ihl {ihl}, total length {total}, received {len(datagram)}"
        )
    src = str(ipaddress.IPv4Address(datagram[12:16]))
    dst = str(ipaddress.IPv4Address(datagram[16:20]))
    return src, dst, datagram[8], datagram[ihl:total]


def addresses_match(adv: Advert, addresses: tuple[str, ...]) -> bool:
    """True when the advert carries exactly our VIP set (order does not matter)."""
    try:
        ours = sorted(ipaddress.ip_address(a) for a in addresses)
        theirs = sorted(ipaddress.ip_address(a) for a in adv.addresses)
    except (ValueError, TypeError):
        return False
    return ours == theirs


def validate(
    adv: Advert,
    *,
    ttl: int,
    vrid: int,
    version: int,
    auth_type: int,
    auth_data: bytes,
    adver_int: int,
    addresses: tuple[str, ...],
    owner_addresses: frozenset[str] = frozenset(),
    src: str = "",
    strict: bool = False,
    unicast: bool = False,
    check_addresses: bool = True,
) -> DropReason | None:
    """RFC 3768 / RFC 5798 section 7.1 receive checks, in keepalived 2.2.7's order.

    Returns the reason to drop, or None to accept. ``auth_data`` is ours (8 bytes from
    :func:`pass_auth_data`, or b""), ``adver_int`` our raw field.

    keepalived 2.2.7 (vrrp_check_packet) drops an advert whose address list differs from
    ours; ``check_addresses=False`` is its ``skip_check_adv_addr`` (the shell passes it for
    adverts from the current master). :func:`addresses_match` tells the shell the same
    thing without dropping. keepalived skips the TTL check for unicast peers
    (``unicast=True``) unless ``strict`` (vrrp_strict) is set.
    """
    if ttl != VRRP_TTL and (strict or not unicast):
        return DropReason.TTL
    if adv.version != version:
        return DropReason.VERSION
    if adv.type != VRRP_TYPE_ADVERTISEMENT:
        return DropReason.TYPE
    if adv.vrid != vrid:
        return DropReason.VRID
    if src and owner_addresses and _normalise(src) in {_normalise(a) for a in owner_addresses}:
        return DropReason.OWNER
    if version == 2:
        if adv.auth_type not in (AUTH_NONE, AUTH_PASS, AUTH_AH) or adv.auth_type != auth_type:
            return DropReason.AUTH
        if auth_type == AUTH_PASS and _canonical_auth_data(
            adv.auth_data.ljust(AUTH_DATA_LEN, b"\x00")
        ) != _canonical_auth_data(auth_data.ljust(AUTH_DATA_LEN, b"\x00")):
            return DropReason.AUTH
        # v2 only: an interval mismatch means another VRID set-up (RFC 3768 7.1).
        if adv.adver_int != adver_int:
            return DropReason.INTERVAL
    if check_addresses and not addresses_match(adv, addresses):
        return DropReason.ADDRESS_LIST
    return None


def _normalise(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return address
