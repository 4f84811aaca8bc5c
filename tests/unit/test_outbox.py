"""The durable outbox: persistence, ordering, backoff policy."""

from __future__ import annotations

import time
from pathlib import Path

from hookd.config.model import DeliverySettings
from hookd.events import Transition
from hookd.outbox import DELIVERED, PENDING, Outbox, instance_key


def _t(instance: str = "VI_1", to: str = "MASTER", **kw: object) -> Transition:
    return Transition(
        instance=instance,
        from_state="BACKUP",
        to_state=to,
        priority=100,
        base_priority=100,
        reason="test",
        **kw,
    )  # type: ignore[arg-type]


def test_rows_survive_reopen_and_keep_order(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db")
    e1, e2, e3 = _t(), _t(to="BACKUP"), _t("VI_2")
    for e in (e1, e2, e3):
        ob.add(e, ["a", "b"])
    ob.add(e1, ["a"])  # publishing twice is idempotent
    ob.close()
    ob = Outbox(tmp_path / "o.db")
    head = ob.next_pending("a", instance_key(e1))
    assert head is not None and head.event_id == e1.id
    ob.mark_delivered(head, 1)
    head2 = ob.next_pending("a", instance_key(e1))
    assert head2 is not None and head2.event_id == e2.id
    assert ob.load_event(e2.id) == e2
    assert ob.counts()["a"] == {DELIVERED: 1, PENDING: 2}
    assert ("b", "I:VI_2") in ob.pending_keys()
    assert ob.max_seq() == max(e.seq for e in (e1, e2, e3))


def test_instance_key_separates_groups() -> None:
    assert instance_key(_t("X")) != instance_key(_t("X", is_group=True))


def test_backoff_is_exponential_capped_and_jittered(tmp_path: Path) -> None:
    d = DeliverySettings(initial_backoff=1, multiplier=2, max_backoff=10, jitter=0.2)
    ob = Outbox(tmp_path / "o.db", d)
    for attempts, base in ((1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (9, 10)):
        for _ in range(20):
            assert base * 0.8 <= ob.backoff(attempts) <= base * 1.2


def test_gives_up_after_max_age_or_attempts(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db", DeliverySettings(max_age=60, max_attempts=3))
    e = _t()
    ob.add(e, ["a"])
    row = ob.next_pending("a", instance_key(e))
    assert row is not None
    assert ob.gives_up(row, 1, row.created + 1) is None
    assert ob.gives_up(row, 3, row.created + 1) is not None
    assert ob.gives_up(row, 1, row.created + 61) is not None



def test_prune_forgets_old_finished_rows_but_never_pending(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o.db")
    old_done, new_done = _t(time=1000.0), _t(to="BACKUP")
    old_pending = _t("VI_2", time=1000.0)
    for e in (old_done, new_done, old_pending):
        ob.add(e, ["a"])
    for e in (old_done, new_done):
        row = ob.next_pending("a", instance_key(e))
        assert row is not None and row.event_id == e.id
        ob.mark_delivered(row, 1)
    assert ob.prune(before=1500.0) == (0, 0)  # finished just now: kept
    # A cut-off in the future makes every finished row old; the pending one stays.
    future = time.time() + 60
    assert ob.prune(before=future) == (2, 2)
    assert ob.load_event(old_pending.id) == old_pending
    assert ob.load_event(old_done.id) is None and ob.load_event(new_done.id) is None
    assert ob.counts()["a"] == {PENDING: 1}
    assert ob.prune(before=future) == (0, 0)
