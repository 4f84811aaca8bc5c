"""The bus: fan-out through the durable outbox, ordering, isolation, retries, flapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from hookd.bus import Bus
from hookd.config.model import DeliverySettings, FlappingSettings, Model, Settings
from hookd.events import Event, FlapDigest, Transition
from hookd.subscribers.audit import AuditSubscriber
from hookd.subscribers.base import BaseSubscriber, PermanentError, TransientError
from tests import support

FAST = DeliverySettings(initial_backoff=0.02, max_backoff=0.05, jitter=0.1, max_age=30)


def model(**settings: object) -> Model:
    return Model(settings=Settings(delivery=FAST, **settings))  # type: ignore[arg-type]


def tr(instance: str = "VI_1", to: str = "MASTER", frm: str = "BACKUP") -> Transition:
    return Transition(
        instance=instance,
        from_state=frm,
        to_state=to,
        priority=100,
        base_priority=100,
        reason=f"test {to}",
    )


async def until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    await support.until(pred, timeout)


class Recorder(BaseSubscriber):
    """Records deliveries; can fail the first N attempts or block on a gate."""

    digest: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        *,
        fail: int = 0,
        permanent: bool = False,
        gate: asyncio.Event | None = None,
        digest: bool = False,
    ) -> None:
        self.name = name
        self.got: list[Event] = []
        self.attempts = 0
        self.fail = fail
        self.permanent = permanent
        self.gate = gate
        self.digest = digest  # type: ignore[misc]

    def wants(self, event: Event) -> bool:
        return isinstance(event, (Transition, FlapDigest))

    async def deliver(self, event: Event) -> str | None:
        self.attempts += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.permanent:
            raise PermanentError("HTTP 404")
        if self.fail:
            self.fail -= 1
            raise TransientError("down")
        self.got.append(event)
        return "ok"


def audit_lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines()]


async def test_ordering_per_instance_and_isolation(tmp_path: Path) -> None:
    gate = asyncio.Event()
    slow, fast = Recorder("slow", gate=gate), Recorder("fast")
    bus = Bus(model(), tmp_path, subscribers=[slow, fast])
    await bus.start()
    events = [tr(to=s) for s in ("BACKUP", "MASTER", "FAULT", "BACKUP")] + [tr("VI_2")]
    for e in events:
        bus.publish(e)
    # the hung subscriber blocks neither the other subscriber nor itself on another instance
    await until(lambda: len(fast.got) == 5)
    await until(lambda: [e.instance for e in slow.got] == [])
    assert [e.id for e in fast.got if e.instance == "VI_1"] == [e.id for e in events[:4]]
    gate.set()
    await until(lambda: len(slow.got) == 5)
    assert [e.id for e in slow.got if e.instance == "VI_1"] == [e.id for e in events[:4]]
    await bus.stop()


async def test_transient_retried_then_delivered_once_and_audited(tmp_path: Path) -> None:
    flaky = Recorder("flaky", fail=2)
    audit = AuditSubscriber(tmp_path / "audit.jsonl")
    bus = Bus(model(), tmp_path, subscribers=[flaky, audit])
    await bus.start()
    e = tr()
    bus.publish(e)
    await until(lambda: len(flaky.got) == 1)
    await until(lambda: any(d.get("status") == "delivered" for d in audit_lines(audit.path)))
    await bus.stop()
    assert flaky.attempts == 3 and len(flaky.got) == 1
    lines = audit_lines(audit.path)
    assert lines[0]["kind"] == "transition" and lines[0]["reason"] == "test MASTER"
    statuses = [d["status"] for d in lines if d["kind"] == "delivery"]
    assert statuses == ["retry", "retry", "delivered"]
    # a restart does not send it again
    bus2 = Bus(model(), tmp_path, subscribers=[flaky, AuditSubscriber(audit.path)])
    await bus2.start()
    await asyncio.sleep(0.05)
    await bus2.stop()
    assert len(flaky.got) == 1


async def test_permanent_error_is_dead_and_recorded(tmp_path: Path) -> None:
    bad = Recorder("bad", permanent=True)
    audit = AuditSubscriber(tmp_path / "audit.jsonl")
    bus = Bus(model(), tmp_path, subscribers=[bad, audit])
    await bus.start()
    bus.publish(tr())
    await until(lambda: any(d.get("status") == "dead" for d in audit_lines(audit.path)))
    await bus.stop()
    assert bad.attempts == 1
    dead = next(d for d in audit_lines(audit.path) if d.get("status") == "dead")
    assert dead["subscriber"] == "bad" and "404" in str(dead["detail"])
    assert dead["instance"] == "VI_1"


async def test_max_age_gives_up_as_dead(tmp_path: Path) -> None:
    down = Recorder("down", fail=10**6)
    m = Model(
        settings=Settings(
            delivery=DeliverySettings(initial_backoff=0.01, max_backoff=0.02, max_age=0.1)
        )
    )
    bus = Bus(m, tmp_path, subscribers=[down])
    await bus.start()
    bus.publish(tr())
    await until(lambda: bus.stats()["subscribers"]["down"]["rows"].get("dead") == 1)
    await bus.stop()


async def test_pending_rows_resume_after_restart(tmp_path: Path) -> None:
    down = Recorder("sink", fail=10**6)
    bus = Bus(model(), tmp_path, subscribers=[down])
    await bus.start()
    e = tr()
    bus.publish(e)
    await until(lambda: down.attempts >= 1)
    await bus.stop(timeout=0.1)
    up = Recorder("sink")
    bus2 = Bus(model(), tmp_path, subscribers=[up])
    await bus2.start()
    await until(lambda: len(up.got) == 1)
    await bus2.stop()
    assert up.got[0].id == e.id


async def test_state_action_superseded_after_restart(tmp_path: Path) -> None:
    class Script(Recorder):
        state_action: ClassVar[bool] = True

    blocked = Script("scripts", gate=asyncio.Event())
    bus = Bus(model(), tmp_path, subscribers=[blocked])
    await bus.start()
    evs = [tr(to=s) for s in ("BACKUP", "MASTER", "FAULT")] + [tr("VI_2", to="BACKUP")]
    for e in evs:
        bus.publish(e)
    await bus.stop(timeout=0.05)  # the first run hangs: everything stays pending
    audit = AuditSubscriber(tmp_path / "audit.jsonl")
    script = Script("scripts")
    bus2 = Bus(model(), tmp_path, subscribers=[script, audit])
    await bus2.start()
    await until(lambda: len(script.got) == 2)
    await until(lambda: sum(d.get("status") == "superseded" for d in audit_lines(audit.path)) == 2)
    await bus2.stop()
    assert sorted(e.id for e in script.got) == sorted([evs[2].id, evs[3].id])


async def test_flapping_becomes_one_digest_for_digest_sinks(tmp_path: Path) -> None:
    people = Recorder("email", digest=True)
    script = Recorder("scripts")
    m = model(flapping=FlappingSettings(threshold=3, window=0.3))
    bus = Bus(m, tmp_path, subscribers=[people, script])
    await bus.start()
    states = ["MASTER", "BACKUP"] * 5
    for s in states:
        bus.publish(tr(to=s))
    await until(lambda: len(script.got) == 10)
    await until(lambda: any(isinstance(e, FlapDigest) for e in people.got))
    await bus.stop()
    assert [type(e).__name__ for e in people.got] == ["Transition"] * 3 + ["FlapDigest"]
    digest = people.got[-1]
    assert isinstance(digest, FlapDigest) and len(digest.transitions) == 7
    assert digest.to_state == "BACKUP"
    assert [e.to_state for e in script.got] == states  # type: ignore[attr-defined]


async def test_publish_before_start_and_stats(tmp_path: Path) -> None:
    sink = Recorder("sink")
    bus = Bus(model(), tmp_path, subscribers=[sink])
    bus.publish(tr())
    await bus.start()
    await until(lambda: len(sink.got) == 1)
    st = bus.stats()
    assert st["published"] == 1 and st["subscribers"]["sink"]["rows"] == {"delivered": 1}
    await bus.stop()
