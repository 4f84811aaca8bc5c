"""A hostile third node: random and mutated VRRP packets against a hookd master.

n1 (hookd, MASTER) and n2 (hookd, BACKUP) run a VRRPv2 instance with PASS auth (VRID 51),
a VRRPv3 IPv4 instance (VRID 52) and a VRRPv3 IPv6 instance (VRID 53). n3 runs this file
as a script (``send``) that writes ~2300 raw IPPROTO 112 packets to 224.0.0.18 / ff02::12
and to n1's own addresses: bad checksums, wrong auth at priority 255, truncations, wrong
versions, TTL / hop limit != 255, bit flips of a valid advert, random bytes, unknown VRIDs,
VRRPv3 checksummed over a wrong pseudo-header, VRRPv2 over IPv6. Nearly all of them would,
if accepted, make the master step down (priority 254/255).

Asserted: n1 stays MASTER with its VIPs, n2 stays BACKUP, both daemons live, and the drop
counters of ``hookd status --json`` (instances + interfaces) account for every packet the
node received: exactly per reason where the reason is determined (``EXPECTED``, and per
flipped bit in ``_bit_flip_reason``), in total for random bytes. n2 only receives what
went to the groups. A packet the kernel dropped for a full socket buffer (read from
/proc/net/raw) never reached hookd and is left out of the sums.
"""

from __future__ import annotations

import json
import random
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookd.vrrp.packet import (
    AUTH_NONE,
    AUTH_PASS,
    IPPROTO_VRRP,
    VRRP_MCAST_GROUP4,
    VRRP_MCAST_GROUP6,
    Advert,
    DropError,
    checksum,
    decode,
    encode,
    pass_auth_data,
)

GROUP = VRRP_MCAST_GROUP4
GROUP6 = VRRP_MCAST_GROUP6
AUTH = "s3cret"
V2_VRID, V3_VRID, V6_VRID = 51, 52, 53
V2_VIP, V3_VIP, V6_VIP = "10.99.0.100", "10.99.0.102", "fd99::100"
N_PER_CASE = 220  # 9 IPv4 cases -> ~2000 packets
N6_PER_CASE = 60  # 5 IPv6 cases -> 300 packets

# case -> the DropReason value it must be counted under (None: only in the total).
EXPECTED: dict[str, str | None] = {
    "bad_checksum": "checksum",
    "wrong_auth_255": "auth",
    "truncated": "length",
    "wrong_version": "version",
    "wrong_ttl": "ttl",
    "wrong_vrid": "vrid",
    "v3_bad_pseudo_header": "checksum",
    "bit_flip": None,  # reason by flipped bit: see _bit_flip_reason
    "random_bytes": None,
    "v6_bad_checksum": "checksum",
    "v6_wrong_hop_limit": "ttl",
    "v6_bad_pseudo_header": "checksum",
    "v6_truncated": "length",
    "v6_vrrpv2": "version",
}
# Counters that are not "a received packet was dropped".
NOT_RECEIVE_DROPS = {"send_error"}


# --- the sender (runs inside n3's namespace) ------------------------------------------------


def _v2(
    priority: int, *, vrid: int = V2_VRID, auth: str = AUTH, auth_type: int = AUTH_PASS
) -> Advert:
    return Advert(
        2,
        vrid,
        priority,
        1,
        (V2_VIP,),
        family=4,
        auth_type=auth_type,
        auth_data=pass_auth_data(auth) if auth_type == AUTH_PASS else b"",
    )


def _v3(priority: int, *, vrid: int = V3_VRID) -> Advert:
    return Advert(3, vrid, priority, 10, (V3_VIP,), family=4)


def _v6(priority: int, *, vrid: int = V6_VRID) -> Advert:
    return Advert(3, vrid, priority, 10, (V6_VIP,), family=6)


def _packets6(
    src: str, unicast: str, n: int, seed: int
) -> Iterator[tuple[str, bytes, str, int, str | None]]:
    """The IPv6 cases; ``src`` is the address the kernel will send from (per destination)."""
    rng = random.Random(seed)
    srcs = {GROUP6: src.split(",")[0], unicast: src.split(",")[1]}
    for i in range(n):
        dst = GROUP6 if i % 2 == 0 else unicast
        msg = bytearray(encode(_v6(254), srcs[dst], dst))
        msg[7] ^= rng.randrange(1, 256)
        yield "v6_bad_checksum", bytes(msg), dst, 255, "checksum"
    for _ in range(n):
        data = encode(_v6(254), srcs[GROUP6], GROUP6)
        yield "v6_wrong_hop_limit", data, GROUP6, rng.choice([1, 64, 254]), "ttl"
    for i in range(n):
        dst = GROUP6 if i % 2 == 0 else unicast
        yield "v6_bad_pseudo_header", encode(_v6(254), "fd99::77", dst), dst, 255, "checksum"
    for i in range(n):
        dst = GROUP6 if i % 2 == 0 else unicast
        full = encode(_v6(254), srcs[dst], dst)
        yield "v6_truncated", full[: rng.randrange(0, len(full))], dst, 255, "length"
    for i in range(n):
        dst = GROUP6 if i % 2 == 0 else unicast
        msg = bytearray(encode(_v6(254), srcs[dst], dst))
        msg[0] = 0x21  # VRRPv2 does not exist over IPv6
        yield "v6_vrrpv2", bytes(msg), dst, 255, "version"


def _bit_flip_reason(byte: int, bit: int) -> str:
    """What one flipped bit in a valid VRRPv2 advert (1 address) must be dropped for."""
    if byte == 0 and bit >= 4:  # version nibble 2 -> 3 gives a v3 of the wrong length
        return "length" if (2 ^ (1 << (bit - 4))) == 3 else "version"
    if byte == 0:
        return "type"
    if byte == 3:  # count of addresses no longer matches the length
        return "length"
    return "checksum"  # the v2 checksum covers every other byte


def _packets(
    src: str, unicast: str, n: int, seed: int
) -> Iterator[tuple[str, bytes, str, int, str | None]]:
    """(case, VRRP message, destination, TTL, expected reason) for every packet to send."""
    rng = random.Random(seed)
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        # bad_checksum: a valid advert at priority 254 whose checksum is off.
        msg = bytearray(encode(_v2(254), src, dst) if i % 3 else encode(_v3(254), src, dst))
        msg[6] ^= rng.randrange(1, 256)
        yield "bad_checksum", bytes(msg), dst, 255, "checksum"
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        wrong = rng.choice(["x", "secret", "s3cre", "s3cret!!", "S3CRET", "\x00"])
        kind = rng.choice([AUTH_PASS, AUTH_PASS, AUTH_NONE, 2])
        adv = _v2(255, auth=wrong if kind == AUTH_PASS else AUTH, auth_type=kind)
        yield "wrong_auth_255", encode(adv, src, dst), dst, 255, "auth"
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        full = encode(_v2(254), src, dst) if i % 2 else encode(_v3(254), src, dst)
        yield "truncated", full[: rng.randrange(0, len(full))], dst, 255, "length"
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        choice = i % 3
        if choice == 0:  # a version that does not exist
            msg = bytearray(encode(_v2(254), src, dst))
            msg[0] = (rng.choice([0, 1, *range(4, 16)]) << 4) | 1
            msg[6:8] = b"\x00\x00"
            msg[6:8] = checksum(bytes(msg)).to_bytes(2, "big")
            data = bytes(msg)
        elif choice == 1:  # VRRPv3 at the VRRPv2 instance's VRID
            data = encode(_v3(254, vrid=V2_VRID), src, dst)
        else:  # VRRPv2 at the VRRPv3 instance's VRID
            data = encode(_v2(254, vrid=V3_VRID), src, dst)
        yield "wrong_version", data, dst, 255, "version"
    for i in range(n):
        # TTL != 255 means the packet crossed a router: never from the LAN (RFC 5798 7.1);
        # to the unicast address too, since these instances have no unicast_peer.
        dst = GROUP if i % 4 < 2 else unicast
        ttl = rng.choice([1, 64, 128, 254])
        data = encode(_v2(254), src, dst) if i % 2 else encode(_v3(254), src, dst)
        yield "wrong_ttl", data, dst, ttl, "ttl"
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        vrid = rng.choice([v for v in range(1, 256) if v not in (V2_VRID, V3_VRID)])
        data = (
            encode(_v2(254, vrid=vrid), src, dst)
            if i % 2
            else encode(_v3(254, vrid=vrid), src, dst)
        )
        yield "wrong_vrid", data, dst, 255, "vrid"
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        liar = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        data = encode(_v3(254), liar, dst)  # pseudo-header with a source that is not ours
        try:
            decode(data, src, dst, 4)
        except DropError:
            yield "v3_bad_pseudo_header", data, dst, 255, "checksum"
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        msg = bytearray(encode(_v2(254), src, dst))
        byte, bit = rng.randrange(len(msg)), rng.randrange(8)
        msg[byte] ^= 1 << bit
        yield "bit_flip", bytes(msg), dst, 255, _bit_flip_reason(byte, bit)
    for i in range(n):
        dst = GROUP if i % 2 == 0 else unicast
        data = rng.randbytes(rng.randrange(0, 64))
        try:
            adv = decode(data, src, dst, 4)
        except DropError:
            adv = None
        if adv is not None and adv.vrid in (V2_VRID, V3_VRID):
            continue  # astronomically unlikely; never send something possibly valid
        yield "random_bytes", data, dst, 255, None


def _source6(dst: str, ifindex: int) -> str:
    """The source address the kernel picks towards dst (link-local for ff02::12)."""
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
        probe.connect((dst, 9, 0, ifindex))
        return str(probe.getsockname()[0]).split("%")[0]


def send_main(argv: list[str]) -> int:
    """``python test_fuzz.py send SRC UNICAST UNICAST6 N N6 SEED``: send, print JSON."""
    src, unicast, unicast6 = argv[0], argv[1], argv[2]
    n, n6, seed = int(argv[3]), int(argv[4]), int(argv[5])
    ifindex = socket.if_nametoindex("eth0")
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_VRRP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
    sock6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_VRRP)
    sock6.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")
    sock6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    sock6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    src6 = f"{_source6(GROUP6, ifindex)},{_source6(unicast6, ifindex)}"
    sent: Counter[str] = Counter()
    expected: dict[str, Counter[str]] = {"group": Counter(), "unicast": Counter()}
    unknown: Counter[str] = Counter()
    packets = [(4, p) for p in _packets(src, unicast, n, seed)]
    packets += [(6, p) for p in _packets6(src6, unicast6, n6, seed)]
    for k, (family, (case, data, dst, ttl, reason)) in enumerate(packets):
        if family == 4:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            sock.sendto(data, (dst, 0))
        else:
            sock6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
            sock6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
            sock6.sendto(data, (dst, 0, 0, ifindex if dst == GROUP6 else 0))
        where = "group" if dst in (GROUP, GROUP6) else "unicast"
        sent[case] += 1
        if reason is None:
            unknown[where] += 1
        else:
            expected[where][reason] += 1
        # Pace the burst so the daemon's socket buffer never overflows (a kernel drop would
        # be a packet the daemon never saw, not one it failed to count).
        time.sleep(0.0008 if k % 8 else 0.003)
    print(json.dumps({"sent": sent, "expected": expected, "unknown": unknown}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "send":
        sys.exit(send_main(sys.argv[2:]))
    sys.exit(2)


# --- the test -------------------------------------------------------------------------------

pytestmark = pytest.mark.lab


def _receive_drops(status: dict[str, object] | None) -> Counter[str]:
    """All receive drops of a daemon: per instance plus per interface (unknown VRID...)."""
    from hookd.lab import receive_drops

    return receive_drops(status)


def _kernel_drops(lab: object, node: str) -> int:
    """Packets the kernel dropped on IPPROTO 112 raw sockets of a node (buffer full)."""
    total = 0
    for table in ("/proc/net/raw", "/proc/net/raw6"):
        out = lab.run(node, ["cat", table]).stdout.splitlines()[1:]  # type: ignore[attr-defined]
        for line in out:
            cols = line.split()
            if len(cols) > 12 and cols[1].endswith(":0070"):
                total += int(cols[-1])
    return total


def test_hostile_node_cannot_move_the_master() -> None:
    from hookd.lab import HookdNode, VrrpSpec, render_keepalived_conf
    from hookd.netns import Lab, LabError

    try:
        lab = Lab(nodes_wanted=("n1", "n2", "n3"))
        lab.create()
    except LabError as exc:
        pytest.skip(str(exc))
    workdir = Path(tempfile.mkdtemp(prefix="hookd-fuzz-"))
    nodes: dict[str, HookdNode] = {}
    instances = ("V2", "V3", "V6")
    try:
        for node in lab.nodes:  # IPv6 adverts need a link-local address past DAD
            lab.wait_for(
                lambda node=node: (
                    "tentative"
                    not in lab.run(node, ["ip", "-6", "addr", "show", "dev", "eth0"]).stdout
                ),
                timeout=5,
            )
        for name, prio, state in (("n1", 150, "MASTER"), ("n2", 100, "BACKUP")):
            conf = render_keepalived_conf(
                name,
                [
                    VrrpSpec(
                        name="V2",
                        vrid=V2_VRID,
                        version=2,
                        priority=prio,
                        advert_int=1,
                        vips=(f"{V2_VIP}/24",),
                        state=state,
                        auth_pass=AUTH,
                    ),
                    VrrpSpec(
                        name="V3",
                        vrid=V3_VRID,
                        version=3,
                        priority=prio,
                        advert_int=0.1,
                        vips=(f"{V3_VIP}/24",),
                        state=state,
                    ),
                    VrrpSpec(
                        name="V6",
                        vrid=V6_VRID,
                        version=3,
                        priority=prio,
                        advert_int=0.1,
                        vips=(f"{V6_VIP}/64",),
                        state=state,
                    ),
                ],
            )
            nodes[name] = HookdNode(lab, name, workdir, conf)
            nodes[name].start()
        n1, n2 = nodes["n1"], nodes["n2"]

        def settled() -> bool:
            return all(n1.state(i) == "MASTER" and n2.state(i) == "BACKUP" for i in instances)

        elected = lab.wait_for(lambda: settled() or not (n1.alive and n2.alive), timeout=15)
        assert elected and settled(), f"no election: {n1.instances()}\n{n1.log()[-3000:]}"
        vips = (V2_VIP, V3_VIP, V6_VIP)
        assert all(lab.has_address("n1", v) for v in vips)
        time.sleep(0.5)
        before = {name: _receive_drops(node.status()) for name, node in nodes.items()}
        kbefore = {name: _kernel_drops(lab, name) for name in nodes}

        out = lab.run(
            "n3",
            [
                sys.executable,
                __file__,
                "send",
                lab.nodes["n3"].ipv4,
                lab.nodes["n1"].ipv4,
                lab.nodes["n1"].ipv6,
                str(N_PER_CASE),
                str(N6_PER_CASE),
                "1234",
            ],
            timeout=180,
        )
        summary = json.loads(out.stdout)
        total = sum(summary["sent"].values())
        assert total >= 2200, summary["sent"]
        expected, unknown = summary["expected"], summary["unknown"]

        def delta(name: str) -> Counter[str]:
            d = Counter(_receive_drops(nodes[name].status()))
            d.subtract(before[name])
            return Counter({k: v for k, v in d.items() if v})

        # n1 receives everything; n2 only what went to the groups.
        want = {
            "n1": (
                Counter(expected["group"]) + Counter(expected["unicast"]),
                unknown.get("group", 0) + unknown.get("unicast", 0),
            ),
            "n2": (Counter(expected["group"]), unknown.get("group", 0)),
        }
        for name, (expect, n_unknown) in want.items():
            n_sent = sum(expect.values()) + n_unknown
            # Wait until every packet has been read (the sum settles), then compare.
            lab.wait_for(
                lambda name=name, n_sent=n_sent: sum(delta(name).values()) >= n_sent, timeout=10
            )
            got = delta(name)
            # A packet the kernel dropped (socket buffer full) never reached hookd.
            lost = _kernel_drops(lab, name) - kbefore[name]
            print(f"{name}: sent {n_sent}, kernel dropped {lost}, hookd drops {dict(got)}")
            assert got.get("internal", 0) == 0, got
            assert sum(got.values()) == n_sent - lost, (name, got, expect, lost)
            if lost == 0:  # per reason: exact where determined, the rest is random bytes
                for reason, n in expect.items():
                    assert got[reason] >= n, (name, reason, got, expect)
                assert sum(got.values()) - sum(expect.values()) == n_unknown

        assert n1.alive and n2.alive, n1.log()[-3000:]
        assert all(n1.state(i) == "MASTER" for i in instances), n1.instances()
        assert all(n2.state(i) == "BACKUP" for i in instances), n2.instances()
        assert all(lab.has_address("n1", v) for v in vips)
        assert not any(lab.has_address("n2", v) for v in vips)
    finally:
        for node in nodes.values():
            node.kill()
        lab.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
