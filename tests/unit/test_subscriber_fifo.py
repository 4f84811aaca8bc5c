"""notify_fifo: keepalived's line format, in order, retried while nobody reads."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from hookd.bus import Bus
from hookd.config.model import DeliverySettings, GlobalDefs, Model, Settings
from hookd.events import Transition
from hookd.subscribers.fifo import fifo_line
from tests.unit.subscriber_helpers import until


def tr(to: str, prio: int = 100, instance: str = "VI_1", is_group: bool = False) -> Transition:
    return Transition(
        instance=instance,
        from_state="BACKUP",
        to_state=to,
        priority=prio,
        base_priority=100,
        is_group=is_group,
    )


def test_line_format_like_keepalived() -> None:
    assert fifo_line(tr("MASTER")) == 'INSTANCE "VI_1" MASTER 100\n'
    assert fifo_line(tr("BACKUP", 90, "G1", is_group=True)) == 'GROUP "G1" BACKUP 0\n'


async def test_lines_in_order_and_retried_without_reader(tmp_path: Path) -> None:
    path = tmp_path / "notify.fifo"
    m = Model(
        global_defs=GlobalDefs(notify_fifo=str(path)),
        settings=Settings(delivery=DeliverySettings(initial_backoff=0.02, max_backoff=0.05)),
    )
    bus = Bus(m, tmp_path)
    assert f"fifo:{path}" in bus.subscribers
    await bus.start()
    bus.publish(tr("BACKUP"))
    bus.publish(tr("MASTER", 101))
    bus.publish(tr("FAULT", 0, "G1", is_group=True))
    name = f"fifo:{path}"
    await until(lambda: bus.stats()["subscribers"][name]["outcomes"].get("retry", 0) >= 2)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a reader arrives
    data = b""
    try:
        while data.count(b"\n") < 3:
            await asyncio.sleep(0.01)
            with contextlib.suppress(BlockingIOError):
                data += os.read(fd, 4096)
    finally:
        os.close(fd)
    await bus.stop()
    lines = data.decode().splitlines()
    instance_lines = [x for x in lines if x.startswith("INSTANCE")]
    assert instance_lines == ['INSTANCE "VI_1" BACKUP 100', 'INSTANCE "VI_1" MASTER 101']
    assert 'GROUP "G1" FAULT 0' in lines
