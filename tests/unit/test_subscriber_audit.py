"""The audit log and `hookd history`."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import pytest

from hookd.bus import Bus
from hookd.cli import main as cli_main
from hookd.config.model import AuditSettings, DeliverySettings, Model, Settings
from hookd.events import Transition
from hookd.subscribers.audit import history_main, parse_since
from tests.unit.subscriber_helpers import until


def test_parse_since() -> None:
    now = 1_000_000.0
    assert parse_since("10m", now) == now - 600
    assert parse_since("2h", now) == now - 7200
    assert parse_since("1d", now) == now - 86400
    assert parse_since("2026-11-25T15:00:00+00:00") == 1795618800.0
    with pytest.raises(ValueError):
        parse_since("yesterday")


async def test_audit_log_and_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log_path = tmp_path / "custom" / "audit.jsonl"
    m = Model(
        settings=Settings(
            audit=AuditSettings(path=str(log_path)), delivery=DeliverySettings(initial_backoff=0.02)
        )
    )
    bus = Bus(m, tmp_path)
    await bus.start()
    old = Transition(
        instance="VI_2",
        from_state="INIT",
        to_state="BACKUP",
        priority=90,
        base_priority=90,
        reason="startup",
        time=time.time() - 7200,
    )
    t1 = Transition(
        instance="VI_1",
        from_state="BACKUP",
        to_state="MASTER",
        priority=101,
        base_priority=100,
        reason="master_down_timer expired",
    )
    bus.publish(old)
    bus.publish(t1)
    await until(lambda: log_path.exists() and len(log_path.read_text().splitlines()) == 2)
    await bus.stop()
    lines = [json.loads(x) for x in log_path.read_text().splitlines()]
    assert {x["id"] for x in lines} == {old.id, t1.id}
    assert lines[-1]["reason"] in ("master_down_timer expired", "startup")

    rc = history_main(
        argparse.Namespace(state_dir=str(tmp_path), json=True, instance=None, since="1h")
    )
    out = capsys.readouterr().out.splitlines()
    assert rc == 0 and [json.loads(x)["id"] for x in out] == [t1.id]

    rc = cli_main(["history", "--state-dir", str(tmp_path), "--instance", "VI_2"])
    table = capsys.readouterr().out
    assert rc == 0 and "INIT -> BACKUP" in table and "startup" in table and "VI_1" not in table

    rc = cli_main(["history", "--state-dir", str(tmp_path), "--since", "soon"])
    assert rc == 2


async def test_history_shows_delivery_outcomes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "f"  # a regular file where the FIFO should be: a dead delivery
    fifo.write_text("")
    from hookd.config.model import GlobalDefs

    m = Model(
        global_defs=GlobalDefs(notify_fifo=str(fifo)),
        settings=Settings(
            delivery=DeliverySettings(initial_backoff=0.02, max_backoff=0.05, max_age=0.2)
        ),
    )
    bus = Bus(m, tmp_path)
    await bus.start()
    bus.publish(
        Transition(
            instance="VI_1",
            from_state="BACKUP",
            to_state="MASTER",
            priority=101,
            base_priority=100,
            reason="higher priority",
        )
    )
    await until(lambda: bus.stats()["subscribers"][f"fifo:{fifo}"]["rows"].get("dead") == 1)
    await asyncio.sleep(0.1)
    await bus.stop()
    assert (
        history_main(
            argparse.Namespace(state_dir=str(tmp_path), json=False, instance=None, since=None)
        )
        == 0
    )
    table = capsys.readouterr().out
    assert "BACKUP -> MASTER" in table and "higher priority" in table
    assert f"-> fifo:{fifo}: dead" in table and "is not a FIFO" in table
