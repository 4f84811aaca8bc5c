"""The event bus: ``publish()`` persists and returns; per-subscriber workers deliver.

The VRRP engine calls :meth:`Bus.publish` on its hot path. publish never awaits anything:
it writes one outbox row per interested subscriber (SQLite WAL, one transaction, tens of
µs) and sets the wake flag of the workers concerned. Delivery happens in one asyncio task
per (subscriber, instance): a hung script for VI_1 delays neither VI_2's scripts nor the
mail about VI_1, and each subscriber still sees one instance's events in order.

Flapping: when an instance makes more than ``FlappingSettings.threshold`` transitions
within ``window`` seconds, the further transitions are not sent one by one to the
subscribers with ``digest = True`` (email, apprise); they are folded into one
:class:`~hookd.events.FlapDigest` published ``window`` seconds after the first folded one.
Scripts, the FIFO and the audit log always receive every transition, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import deque
from pathlib import Path
from typing import Any

from hookd.config.model import Model
from hookd.events import Delivery, Event, FlapDigest, Transition, set_seq_floor
from hookd.outbox import DB_NAME, RETRY, SUPERSEDED, Outbox, Row, instance_key
from hookd.subscribers.base import Subscriber

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 1.0  # seconds between WAL checkpoints (run in a thread)
PRUNE_INTERVAL = 3600.0  # seconds between retention passes over the outbox


class _Flapping:
    """Per-instance transition counter and the transitions waiting to become a digest."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.folded: list[Transition] = []
        self.timer: asyncio.TimerHandle | None = None


class Bus:
    """publish() never blocks and never awaits a subscriber."""

    def __init__(
        self, model: Model, state_dir: str | Path, *, subscribers: list[Subscriber] | None = None
    ) -> None:
        self.model = model
        self.state_dir = Path(state_dir)
        if subscribers is None:
            from hookd.subscribers import build

            subscribers = build(model, self.state_dir)
        names = [s.name for s in subscribers]
        if len(set(names)) != len(names):
            raise ValueError(f"subscriber names must be unique: {names}")
        self.subscribers: dict[str, Subscriber] = {s.name: s for s in subscribers}
        self.outbox = Outbox(self.state_dir / DB_NAME, model.settings.delivery)
        self.outbox.open()
        # Continue numbering above what a previous run stored, so seq orders across restarts.
        set_seq_floor(self.outbox.max_seq())
        self._flap: dict[str, _Flapping] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._wake: dict[tuple[str, str], asyncio.Event] = {}
        self._busy: set[tuple[str, str]] = set()
        self._started = False
        self._stopping = False
        self._checkpointer: asyncio.Task[None] | None = None
        self._published = 0
        self._publish_errors = 0
        self._publish_time = 0.0
        self._folded = 0
        self._outcomes_published = 0
        self._outcomes: dict[str, dict[str, int]] = {}

    # --- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Open the outbox and resume what a previous run left pending (also after SIGKILL)."""
        self.outbox.open()
        self._started = True
        self._stopping = False
        for sub in self.subscribers.values():
            if getattr(sub, "state_action", False):
                self._supersede_stale(sub)
        for sub_name, ikey in sorted(self.outbox.pending_keys()):
            if sub_name in self.subscribers:
                self._ensure_worker(sub_name, ikey)
            else:
                log.warning("outbox: pending deliveries for unknown subscriber %s", sub_name)
        for key in list(self._wake):
            self._ensure_worker(*key)
        self._checkpointer = asyncio.get_running_loop().create_task(
            self._checkpoint_loop(), name="hookd-outbox-checkpoint"
        )

    async def _checkpoint_loop(self) -> None:
        next_prune = 0.0  # at start, then every PRUNE_INTERVAL
        while True:
            try:
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + PRUNE_INTERVAL
                    await asyncio.to_thread(self._prune)
                await asyncio.to_thread(self.outbox.checkpoint)
            except Exception:
                log.exception("outbox: WAL checkpoint / prune failed")
            await asyncio.sleep(CHECKPOINT_INTERVAL)

    def _prune(self) -> None:
        days = self.model.settings.audit.retention_days
        rows, events = self.outbox.prune(time.time() - days * 86400)
        if rows or events:
            log.info("outbox: pruned %d deliveries and %d events older than %g days",
                     rows, events, days)

    async def stop(self, timeout: float = 5.0) -> None:
        """Flush what can be delivered quickly (within ``timeout``), then stop the workers.

        Rows still pending (a sink down, a backoff running) stay in the outbox for the
        next :meth:`start`.
        """
        for ikey in list(self._flap):
            self._flush_digest(ikey)
        deadline = time.monotonic() + timeout
        while self._busy and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._stopping = True
        tasks = list(self._workers.values())
        if self._checkpointer is not None:
            tasks.append(self._checkpointer)
            self._checkpointer = None
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._workers.clear()
        self._busy.clear()
        for f in self._flap.values():
            if f.timer is not None:
                f.timer.cancel()
        self._flap.clear()
        for sub in self.subscribers.values():
            aclose = getattr(sub, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        self._started = False
        with contextlib.suppress(Exception):
            self.outbox.checkpoint()
        self.outbox.close()

    # --- publishing --------------------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Persist one outbox row per interested subscriber, then wake their workers.

        Synchronous and quick; never raises (a failing disk is logged and counted).
        """
        t0 = time.perf_counter()
        if isinstance(event, Delivery):
            self._outcomes_published += 1  # our own audit records, not the engine's events
        else:
            self._published += 1
        digest_subs_only_folded = False
        if isinstance(event, Transition):
            digest_subs_only_folded = self._fold_if_flapping(event)
        targets = [
            s.name
            for s in self.subscribers.values()
            if not (digest_subs_only_folded and getattr(s, "digest", False))
            and self._wants(s, event)
        ]
        self._persist(event, targets)
        self._publish_time += time.perf_counter() - t0

    def _persist(self, event: Event, targets: list[str]) -> None:
        try:
            self.outbox.add(event, targets)
        except sqlite3.Error:
            self._publish_errors += 1
            log.exception("outbox: cannot persist event %s (%s)", event.id, event.kind)
            return
        ikey = instance_key(event)
        for name in targets:
            self._wake_worker(name, ikey)

    @staticmethod
    def _wants(sub: Subscriber, event: Event) -> bool:
        try:
            return bool(sub.wants(event))
        except Exception:
            log.exception("subscriber %s: wants() failed", sub.name)
            return False

    # --- flapping ----------------------------------------------------------------------

    def _fold_if_flapping(self, t: Transition) -> bool:
        """Count the transition; True if digest subscribers must not get it on its own."""
        fs = self.model.settings.flapping
        if not fs.enabled:
            return False
        ikey = instance_key(t)
        f = self._flap.setdefault(ikey, _Flapping())
        now = time.monotonic()
        f.times.append(now)
        while f.times and f.times[0] < now - fs.window:
            f.times.popleft()
        if len(f.times) <= fs.threshold and not f.folded:
            return False
        f.folded.append(t)
        self._folded += 1
        if f.timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return True  # no loop yet: flushed by the next stop() or publish with a loop
            f.timer = loop.call_later(fs.window, self._flush_digest, ikey)
        return True

    def _flush_digest(self, ikey: str) -> None:
        f = self._flap.get(ikey)
        if f is None:
            return
        if f.timer is not None:
            f.timer.cancel()
            f.timer = None
        if not f.folded:
            return
        folded, f.folded = f.folded, []
        last = folded[-1]
        digest = FlapDigest(
            node=last.node,
            instance=last.instance,
            is_group=last.is_group,
            group=last.group,
            transitions=tuple(t.to_dict() for t in folded),
            window=self.model.settings.flapping.window,
        )
        targets = [
            s.name
            for s in self.subscribers.values()
            if getattr(s, "digest", False) and self._wants(s, digest)
        ]
        self._published += 1
        self._persist(digest, targets)

    # --- workers -----------------------------------------------------------------------

    def _wake_worker(self, sub_name: str, ikey: str) -> None:
        key = (sub_name, ikey)
        ev = self._wake.get(key)
        if ev is None:
            ev = self._wake[key] = asyncio.Event()
        ev.set()
        if self._started and not self._stopping:
            self._ensure_worker(sub_name, ikey)

    def _ensure_worker(self, sub_name: str, ikey: str) -> None:
        key = (sub_name, ikey)
        task = self._workers.get(key)
        if task is not None and not task.done():
            return
        if key not in self._wake:
            self._wake[key] = asyncio.Event()
        self._wake[key].set()
        self._busy.add(key)
        self._workers[key] = asyncio.get_running_loop().create_task(
            self._run(self.subscribers[sub_name], ikey), name=f"hookd-deliver:{sub_name}:{ikey}"
        )

    async def _run(self, sub: Subscriber, ikey: str) -> None:
        key = (sub.name, ikey)
        wake = self._wake[key]
        while True:
            wake.clear()
            try:
                row = self.outbox.next_pending(sub.name, ikey)
            except sqlite3.Error:
                log.exception("outbox: cannot read pending rows of %s", sub.name)
                row = None
            if row is None:
                self._busy.discard(key)
                await wake.wait()
                self._busy.add(key)
                continue
            delay = row.next_attempt - time.time()
            if delay > 0:  # backing off: nothing due now, so not busy
                self._busy.discard(key)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), delay)
                self._busy.add(key)
                continue
            await self._deliver_row(sub, row)

    async def _deliver_row(self, sub: Subscriber, row: Row) -> None:
        event = self.outbox.load_event(row.event_id)
        if event is None:
            self.outbox.mark_dead(row, row.attempts, "event missing from the outbox")
            return
        outcome = await self.outbox.attempt(sub, row, event)
        self._record(sub, event, outcome)

    def _record(self, sub: Subscriber, event: Event, outcome: Delivery) -> None:
        counts = self._outcomes.setdefault(sub.name, {})
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
        if outcome.status in ("dead",):
            log.warning(
                "delivery to %s of %s %s is dead: %s",
                sub.name,
                event.kind,
                event.id,
                outcome.detail,
            )
        elif outcome.status == RETRY:
            log.info(
                "delivery to %s of %s %s failed (attempt %d), will retry: %s",
                sub.name,
                event.kind,
                event.id,
                outcome.attempt,
                outcome.detail,
            )
        # The audit log gets every outcome, except outcomes about itself or about Delivery
        # events (which would loop).
        if event.kind != "delivery" and not getattr(sub, "is_audit", False):
            self.publish(outcome)

    def _supersede_stale(self, sub: Subscriber) -> None:
        """State actions (scripts): only the newest pending event per instance still runs."""
        newest: dict[str, Row] = {}
        stale: list[tuple[Row, Row | None]] = []
        rows = self.outbox.pending_rows(sub.name)
        for row in reversed(rows):
            if row.ikey and row.ikey in newest:
                stale.append((row, newest[row.ikey]))
            else:
                newest[row.ikey] = row
        for row, by in reversed(stale):
            detail = f"superseded by event {by.event_id if by else '?'} after a restart"
            self.outbox.mark_superseded(row, detail)
            event = self.outbox.load_event(row.event_id)
            if event is not None:
                self._record(
                    sub, event, Outbox.outcome(event, sub.name, SUPERSEDED, row.attempts, detail)
                )

    # --- introspection -----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters for `hookd status` / metrics: per subscriber row counts and outcomes."""
        try:
            rows = self.outbox.counts()
        except sqlite3.Error:
            rows = {}
        return {
            "published": self._published,
            "delivery_records": self._outcomes_published,
            "publish_errors": self._publish_errors,
            "publish_avg_us": (
                self._publish_time / (self._published + self._outcomes_published) * 1e6
            )
            if self._published + self._outcomes_published
            else 0.0,
            "folded_by_flapping": self._folded,
            "workers": len(self._workers),
            "busy_workers": len(self._busy),
            "subscribers": {
                name: {
                    "rows": rows.get(name, {}),
                    "outcomes": dict(self._outcomes.get(name, {})),
                }
                for name in self.subscribers
            },
        }
