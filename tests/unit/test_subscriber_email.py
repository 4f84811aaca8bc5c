"""SMTP alerts against a real aiosmtpd server on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hookd.bus import Bus
from hookd.config.model import (
    DeliverySettings,
    FlappingSettings,
    GlobalDefs,
    Model,
    Settings,
    VrrpInstanceConfig,
    VrrpSyncGroup,
)
from hookd.events import Transition
from hookd.subscribers import build
from hookd.subscribers.email import EmailSubscriber, alert_enabled
from tests.unit.subscriber_helpers import audit, until

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def email_model(port: int, *, smtp_alert: bool | None = True, **settings: Any) -> Model:
    return Model(
        global_defs=GlobalDefs(
            router_id="hk1",
            notification_email=["ops@lab.test", "b@lab.test"],
            notification_email_from="hookd@lab.test",
            smtp_server="127.0.0.1",
            smtp_port=port,
            smtp_alert=smtp_alert,
            smtp_connect_timeout=2,
        ),
        vrrp_instances={
            "VI_1": VrrpInstanceConfig(name="VI_1", interface="lo", virtual_router_id=51)
        },
        vrrp_sync_groups={"G1": VrrpSyncGroup(name="G1", group=["VI_1"])},
        settings=Settings(
            delivery=DeliverySettings(initial_backoff=0.05, max_backoff=0.1), **settings
        ),
    )


def tr(to: str = "MASTER", **kw: Any) -> Transition:
    return Transition(
        instance=kw.pop("instance", "VI_1"),
        from_state="BACKUP",
        to_state=to,
        priority=101,
        base_priority=100,
        vips=("10.0.0.100",),
        reason="master_down_timer expired (last advert from 10.0.0.1 3.6s ago)",
        node="hk1",
        **kw,
    )


class Sink:
    """aiosmtpd handler: keeps parsed messages; can refuse recipients with 550."""

    def __init__(self, refuse: bool = False) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Sink, int]]:
    sink, port = Sink(), free_port()
    c = Controller(sink, hostname="127.0.0.1", port=port)
    c.start()
    yield sink, port
    c.stop()


async def test_mail_content_like_keepalived(tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    m = email_model(port)
    bus = Bus(m, tmp_path)
    assert [s.name for s in bus.subscribers.values()] == ["audit", "email"]
    await bus.start()
    e = tr("MASTER")
    bus.publish(e)
    bus.publish(tr("STOP", instance="G1", is_group=True))
    await until(lambda: len(sink.messages) == 2)
    await bus.stop()
    msg = next(x for x in sink.messages if "Instance" in x["Subject"])
    assert msg["Subject"] == "[hk1] VRRP Instance VI_1 - Entering MASTER state"
    assert msg["From"] == "hookd@lab.test"
    assert msg["To"] == "ops@lab.test, b@lab.test"
    assert msg["X-Mailer"] == "Keepalived"
    assert msg["Message-ID"] == f"<{e.id}@hk1>"
    body = msg.get_content().replace("\r\n", "\n")
    assert msg["Content-Transfer-Encoding"] == "8bit"
    assert body.splitlines()[0] == "=> VRRP Instance is now owning VRRP VIPs <="
    assert "Reason: master_down_timer expired" in body
    assert json.loads(body.split("Event:\n", 1)[1]) == e.to_dict()
    assert sink.envelopes[0] == ("hookd@lab.test", ["ops@lab.test", "b@lab.test"])
    grp = next(x for x in sink.messages if "Group" in x["Subject"])
    assert grp["Subject"] == "[hk1] VRRP Group G1 - Stopping"
    assert grp.get_content().startswith("=> All VRRP group instances are now stopping <=")


def test_smtp_alert_resolution_like_keepalived() -> None:
    m = email_model(25, smtp_alert=None)
    assert not alert_enabled(m, "VI_1", False)
    m.global_defs.smtp_alert = True
    assert alert_enabled(m, "VI_1", False) and alert_enabled(m, "G1", True)
    m.global_defs.smtp_alert_vrrp = False  # smtp_alert_vrrp wins over smtp_alert
    assert not alert_enabled(m, "VI_1", False)
    m.vrrp_instances["VI_1"].smtp_alert = True  # the instance's own setting wins
    assert alert_enabled(m, "VI_1", False) and not alert_enabled(m, "G1", True)
    assert not email_model(25, smtp_alert=False).global_defs.smtp_alert
    # no recipients -> no email subscriber at all
    m2 = email_model(25)
    m2.global_defs.notification_email = []
    assert [s.name for s in build(m2, "/nonexistent")] == ["audit"]


async def test_smtp_down_then_up_delivered_exactly_once(tmp_path: Path) -> None:
    sink, port = Sink(), free_port()
    bus = Bus(email_model(port), tmp_path)
    await bus.start()
    bus.publish(tr("MASTER"))
    await until(lambda: bus.stats()["subscribers"]["email"]["outcomes"].get("retry", 0) >= 2)
    c = Controller(sink, hostname="127.0.0.1", port=port)
    c.start()
    try:
        await until(
            lambda: any(
                d.get("subscriber") == "email" and d["status"] == "delivered"
                for d in audit(tmp_path)
            )
        )
        await asyncio.sleep(0.3)  # more than the backoff: nothing is sent twice
        await bus.stop()
    finally:
        c.stop()
    assert len(sink.messages) == 1


async def test_smtp_5xx_is_dead_not_retried(tmp_path: Path) -> None:
    sink, port = Sink(refuse=True), free_port()
    c = Controller(sink, hostname="127.0.0.1", port=port)
    c.start()
    try:
        bus = Bus(email_model(port), tmp_path)
        await bus.start()
        bus.publish(tr("BACKUP"))
        await until(lambda: any(d.get("status") == "dead" for d in audit(tmp_path)))
        await bus.stop()
    finally:
        c.stop()
    dead = [d for d in audit(tmp_path) if d.get("kind") == "delivery"]
    assert len(dead) == 1 and dead[0]["attempt"] == 1 and "550" in dead[0]["detail"]


async def test_flapping_instance_yields_one_digest(tmp_path: Path, smtp: tuple[Sink, int]) -> None:
    sink, port = smtp
    m = email_model(port, flapping=FlappingSettings(threshold=2, window=0.3))
    bus = Bus(m, tmp_path)
    await bus.start()
    for s in ["MASTER", "BACKUP"] * 4:
        bus.publish(tr(s))
    await until(lambda: len(sink.messages) == 3)
    await asyncio.sleep(0.1)
    await bus.stop()
    subjects = [x["Subject"] for x in sink.messages]
    assert subjects[:2] == [
        "[hk1] VRRP Instance VI_1 - Entering MASTER state",
        "[hk1] VRRP Instance VI_1 - Entering BACKUP state",
    ]
    assert subjects[2] == "[hk1] VRRP Instance VI_1 - Flapping: 6 more transitions, now BACKUP"
    # the audit log still has all 8 transitions
    assert sum(d["kind"] == "transition" for d in audit(tmp_path)) == 8


CHILD = textwrap.dedent("""
    import asyncio, sys, time
    from tests.unit.test_subscriber_email import email_model, tr
    from hookd.bus import Bus

    async def main():
        bus = Bus(email_model(int(sys.argv[1])), sys.argv[2])
        await bus.start()
        bus.publish(tr("MASTER"))
        while bus.stats()["subscribers"]["email"]["outcomes"].get("retry", 0) < 1:
            await asyncio.sleep(0.01)
        print("READY", flush=True)
        await asyncio.sleep(60)

    asyncio.run(main())
""")


async def test_sigkill_with_pending_then_restart_delivers_once(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(port), str(tmp_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 20)
        assert line.strip() == "READY"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    sink = Sink()
    c = Controller(sink, hostname="127.0.0.1", port=port)
    c.start()
    try:
        bus = Bus(email_model(port), tmp_path)
        await bus.start()
        await until(lambda: len(sink.messages) == 1)
        await asyncio.sleep(0.3)
        await bus.stop()
        bus2 = Bus(email_model(port), tmp_path)  # and once more: nothing left to send
        await bus2.start()
        await asyncio.sleep(0.2)
        await bus2.stop()
    finally:
        c.stop()
    assert len(sink.messages) == 1
    assert sink.messages[0]["Subject"] == "[hk1] VRRP Instance VI_1 - Entering MASTER state"
    assert [d["status"] for d in audit(tmp_path) if d.get("subscriber") == "email"][-1] == (
        "delivered"
    )


def test_subscriber_names_stable() -> None:
    assert EmailSubscriber(email_model(25)).name == "email"
