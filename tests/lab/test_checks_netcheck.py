"""net_check in a partition: the isolated node demotes, the one reaching the gateway stays.

n1, n2 and gw share a bridge. Each node runs a NetChecker (real ICMP via icmplib) in a
subprocess inside its own namespace, printing its status changes as JSON lines.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hookd.netns import Lab

HOOKS = Path(__file__).resolve().parents[2] / "hooks"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root + CAP_NET_ADMIN"),
]

INTERVAL, TIMEOUT, FALL, RISE = 0.3, 0.25, 3, 2

DRIVER = r"""
import asyncio, json, sys, time
from hookd.checks.netcheck import NetChecker
from hookd.config.model import NetCheck

peer, gateway = sys.argv[1], sys.argv[2]
cfg = NetCheck(peers=[peer], gateway=gateway, interval=float(sys.argv[3]),
               timeout=float(sys.argv[4]), fall=int(sys.argv[5]), rise=int(sys.argv[6]))

def report(upd):
    print(json.dumps({"t": time.monotonic(), "status": upd.status.value,
                      "detail": upd.detail}), flush=True)

async def main():
    nc = NetChecker("VI_1", cfg, lambda: [peer], report)
    rounds = 0
    while True:  # run rounds by hand to announce readiness after the first one
        rnd = await nc.probe()
        nc.feed(rnd)
        rounds += 1
        if rounds == 1:
            print(json.dumps({"t": time.monotonic(), "ready": True, "first": rnd.reason}),
                  flush=True)
        await asyncio.sleep(cfg.interval)

asyncio.run(main())
"""


class Driver:
    """One NetChecker in a node; its JSON lines arrive on a queue."""

    def __init__(self, lab: Lab, node: str, peer: str) -> None:
        gw = lab.nodes["gw"].ipv4
        self.proc = lab.popen(
            node,
            [
                sys.executable,
                "-c",
                DRIVER,
                peer,
                gw,
                str(INTERVAL),
                str(TIMEOUT),
                str(FALL),
                str(RISE),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(json.loads(raw))

    def next(self, timeout: float = 15.0) -> dict[str, Any]:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            err = self.proc.stderr.read().decode() if self.proc.poll() is not None else ""
            raise AssertionError(f"no report from net_check driver {err}") from None


def test_partition_demotes_only_the_isolated_node() -> None:
    with Lab(nodes_wanted=("n1", "n2", "gw")) as lab:
        n1 = Driver(lab, "n1", lab.nodes["n2"].ipv4)
        n2 = Driver(lab, "n2", lab.nodes["n1"].ipv4)
        for d in (n1, n2):
            first = d.next()
            assert first.get("ready"), first
            assert "reachable" in first["first"] and "unreachable" not in first["first"]

        lab.partition("n1")
        t_cut = time.monotonic()
        down = n1.next()
        assert down["status"] == "failed"
        n1_ip, n2_ip, gw_ip = (lab.nodes[n].ipv4 for n in ("n1", "n2", "gw"))
        assert down["detail"] == f"net_check: peer {n2_ip} and gateway {gw_ip} unreachable"
        # Detected within fall x interval (+ one round in flight, + 1 s scheduling slack).
        assert down["t"] - t_cut <= FALL * INTERVAL + INTERVAL + 1.0

        # The shipped script form of the same check agrees.
        hook = str(HOOKS / "check-peer")
        r1 = lab.run("n1", [hook, n2_ip, gw_ip], check=False)
        assert r1.returncode == 1 and "unreachable" in r1.stderr
        r2 = lab.run("n2", [hook, n1_ip, gw_ip], check=False)
        assert r2.returncode == 0 and "gateway" in r2.stderr
        assert lab.run("n2", [hook, n1_ip], check=False).returncode == 1
        time.sleep(FALL * INTERVAL)  # give n2 every chance to (wrongly) demote too

        lab.heal("n1")
        up = n1.next()
        assert up["status"] == "ok" and f"peer {n2_ip} reachable" in up["detail"]

        # n2 lost its peer but kept the gateway: it never demoted.
        assert n2.lines.empty(), n2.lines.get()
