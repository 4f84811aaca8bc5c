"""notify_fifo: keepalived's line format, in order, held open as keepalived does."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from hookd.bus import Bus
from hookd.config.model import GlobalDefs, Model
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


async def test_lines_wait_in_the_pipe_for_a_late_reader(tmp_path: Path) -> None:
    # keepalived holds the FIFO open O_RDWR: lines written before a reader exists are kept
    # in the pipe, in order, and the reader gets them when it arrives.
    path = tmp_path / "notify.fifo"
    m = Model(global_defs=GlobalDefs(notify_fifo=str(path)))
    bus = Bus(m, tmp_path)
    assert f"fifo:{path}" in bus.subscribers
    await bus.start()
    bus.publish(tr("BACKUP"))
    bus.publish(tr("MASTER", 101))
    bus.publish(tr("FAULT", 0, "G1", is_group=True))
    name = f"fifo:{path}"
    await until(lambda: bus.stats()["subscribers"][name]["outcomes"].get("delivered", 0) >= 3)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a reader arrives late
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


async def test_notify_fifo_script_reads_every_line(tmp_path: Path) -> None:
    # The classic reader loop survives many lines (no EOF between them), is started with
    # the FIFO as its last argument, and is stopped with the bus.
    path, out = tmp_path / "notify.fifo", tmp_path / "seen"
    script = tmp_path / "reader.sh"
    script.write_text(f'#!/bin/sh\nwhile read -r line; do echo "$line" >> {out}; done < "$1"\n')
    script.chmod(0o755)
    m = Model(global_defs=GlobalDefs(notify_fifo=str(path), notify_fifo_script=[str(script)]))
    bus = Bus(m, tmp_path)
    await bus.start()
    states = ["BACKUP", "MASTER", "FAULT", "BACKUP", "MASTER"]
    for state in states:
        bus.publish(tr(state))
        await asyncio.sleep(0.05)  # separate writes: a per-line open/close would end the loop
    await until(lambda: out.exists() and len(out.read_text().splitlines()) >= len(states))
    (sub,) = [s for s in bus.subscribers.values() if s.name == f"fifo:{path}"]
    proc = sub._proc  # type: ignore[attr-defined]
    assert proc is not None and proc.poll() is None
    await bus.stop()
    assert proc.poll() is not None  # stopped with the bus
    assert out.read_text().splitlines() == [f'INSTANCE "VI_1" {s} 100' for s in states]
