"""Link watcher and track_interface inside a lab namespace: carrier loss -> FAULT."""

from __future__ import annotations

import asyncio
import os

import pytest

from hookd.checks import HealthMonitor
from hookd.config.model import Model, TrackInterface, VrrpInstanceConfig
from hookd.net.links import LinkWatcher
from hookd.netns import Lab
from tests.support import RecordingSink, until

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root + CAP_NET_ADMIN"),
]


async def test_watcher_sees_carrier_loss_in_namespace() -> None:
    changes: list[tuple[str, bool]] = []
    with Lab(nodes_wanted=("n1", "n2")) as lab:
        w = LinkWatcher(lambda n, c: changes.append((n, c)), netns=lab.nodes["n1"].ns)
        await w.start()
        try:
            assert w.carrier("eth0") is True  # from the initial dump
            assert w.carrier("lo") is True
            assert w.carrier("nope0") is None
            await asyncio.to_thread(lab.carrier, "n1", False)
            await until(lambda: w.carrier("eth0") is False)
            await asyncio.to_thread(lab.carrier, "n1", True)
            await until(lambda: w.carrier("eth0") is True)
            assert ("eth0", False) in changes and changes[-1] == ("eth0", True)
        finally:
            await w.stop()


async def test_monitor_faults_on_carrier_loss_and_missing_interface() -> None:
    model = Model(
        vrrp_instances={
            "VI_1": VrrpInstanceConfig(
                name="VI_1",
                interface="eth0",
                virtual_router_id=51,
                track_interface=[TrackInterface(name="eth9")],
            ),
        }
    )
    sink = RecordingSink()
    with Lab(nodes_wanted=("n1",)) as lab:
        mon = HealthMonitor(model, sink, lambda e: None, netns=lab.nodes["n1"].ns)
        await mon.start()
        try:
            # eth9 does not exist: FAULT reported at start; eth0 is up: no fault.
            assert sink.calls == [
                ("fault", "VI_1", "track_interface:eth9", "interface eth9 carrier down")
            ]
            await asyncio.to_thread(lab.carrier, "n1", False)
            await until(lambda: "track_interface:eth0" in mon.faults("VI_1"))
            await asyncio.to_thread(lab.carrier, "n1", True)
            await until(lambda: "track_interface:eth0" not in mon.faults("VI_1"))
            assert sink.calls[-1] == (
                "clear",
                "VI_1",
                "track_interface:eth0",
                "interface eth0 carrier up",
            )
        finally:
            await mon.stop()
