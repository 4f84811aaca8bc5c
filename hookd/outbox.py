"""The durable outbox: one SQLite row per (event, subscriber), written before any attempt.

Why SQLite: a crash (even SIGKILL) between "the FSM decided" and "the mail went out" must
not lose the notification, and a restart must neither drop nor resend what was done. WAL
mode with ``synchronous=NORMAL`` makes a commit survive a process crash for tens of
microseconds per publish (power loss may lose the last commits: acceptable for alerts).

Tables (``<state_dir>/outbox.sqlite3``):

- ``events``: every published event as JSON (also the queryable store behind
  ``hookd history``);
- ``deliveries``: one row per (event, subscriber) with ``status`` pending | delivered |
  dead | superseded, ``attempts``, ``next_attempt`` (wall clock) and the last detail.

Retry policy (``DeliverySettings``): exponential backoff ``initial_backoff *
multiplier**(attempt-1)`` capped at ``max_backoff``, +/- ``jitter``; a row older than
``max_age`` (or past ``max_attempts``) is marked dead instead of retried. A
:class:`~hookd.subscribers.base.PermanentError` is dead at once. Each outcome becomes a
:class:`~hookd.events.Delivery` event for the audit log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hookd.config.model import DeliverySettings
from hookd.events import Delivery, Event, event_from_dict
from hookd.subscribers.base import PermanentError, Subscriber

log = logging.getLogger(__name__)

DB_NAME = "outbox.sqlite3"

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"
SUPERSEDED = "superseded"
RETRY = "retry"  # not a row status: the Delivery event of an attempt that will be retried

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    instance TEXT,
    time REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    subscriber TEXT NOT NULL,
    ikey TEXT NOT NULL,
    created REAL NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    updated REAL NOT NULL,
    UNIQUE(event_id, subscriber)
);
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries(subscriber, ikey, status, id);
"""


def instance_key(event: Event) -> str:
    """The ordering key: deliveries of one subscriber are in order per instance (or group)."""
    name = getattr(event, "instance", None)
    if not name:
        return ""
    return ("G:" if getattr(event, "is_group", False) else "I:") + str(name)


@dataclass(frozen=True)
class Row:
    """One pending (event, subscriber) delivery."""

    id: int
    event_id: str
    subscriber: str
    ikey: str
    created: float
    attempts: int
    next_attempt: float


class Outbox:
    """SQLite-backed queue of deliveries; all methods are synchronous and quick."""

    def __init__(self, path: str | Path, delivery: DeliverySettings | None = None) -> None:
        self.path = Path(path)
        self.delivery = delivery or DeliverySettings()
        self._db: sqlite3.Connection | None = None
        self._rng = random.Random()

    # --- lifecycle ---------------------------------------------------------------------

    def open(self) -> None:
        if self._db is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        # No automatic checkpoint inside a publish() commit (it fsyncs: milliseconds on the
        # engine's loop); the bus runs checkpoint() in a thread instead.
        db.execute("PRAGMA wal_autocheckpoint=0")
        db.executescript(_SCHEMA)
        self._db = db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def checkpoint(self) -> None:
        """Copy the WAL into the database (call from a thread: it fsyncs)."""
        con = sqlite3.connect(self.path, timeout=5)
        try:
            con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            con.close()

    def prune(self, before: float) -> tuple[int, int]:
        """Forget finished deliveries and their events older than ``before`` (wall clock).

        Pending rows and the events they need are kept whatever their age. Runs on its own
        connection, so it can be called from a thread. Returns (deliveries, events) removed.
        """
        con = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        try:
            con.execute("BEGIN")
            rows = con.execute(
                "DELETE FROM deliveries WHERE status != ? AND updated < ?", (PENDING, before)
            ).rowcount
            events = con.execute(
                "DELETE FROM events WHERE time < ?"
                " AND id NOT IN (SELECT event_id FROM deliveries)",
                (before,),
            ).rowcount
            con.execute("COMMIT")
        finally:
            con.close()
        return rows, events

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            self.open()
        assert self._db is not None
        return self._db

    # --- writing -----------------------------------------------------------------------

    def add(self, event: Event, subscribers: list[str]) -> None:
        """Persist the event and one pending row per subscriber, in one transaction."""
        now = time.time()
        ikey = instance_key(event)
        db = self.db
        db.execute("BEGIN")
        try:
            db.execute(
                "INSERT OR IGNORE INTO events(id, seq, kind, instance, time, body)"
                " VALUES (?,?,?,?,?,?)",
                (
                    event.id,
                    event.seq,
                    event.kind,
                    getattr(event, "instance", None),
                    event.time,
                    event.to_json(),
                ),
            )
            db.executemany(
                "INSERT OR IGNORE INTO deliveries(event_id, subscriber, ikey, created, status,"
                " next_attempt, updated) VALUES (?,?,?,?,?,?,?)",
                [(event.id, s, ikey, now, PENDING, now, now) for s in subscribers],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _finish(self, row_id: int, status: str, attempts: int, detail: str) -> None:
        self.db.execute(
            "UPDATE deliveries SET status=?, attempts=?, detail=?, updated=? WHERE id=?",
            (status, attempts, detail, time.time(), row_id),
        )

    def mark_delivered(self, row: Row, attempts: int, detail: str = "") -> None:
        self._finish(row.id, DELIVERED, attempts, detail)

    def mark_dead(self, row: Row, attempts: int, detail: str) -> None:
        self._finish(row.id, DEAD, attempts, detail)

    def mark_superseded(self, row: Row, detail: str) -> None:
        self._finish(row.id, SUPERSEDED, row.attempts, detail)

    def mark_retry(self, row: Row, attempts: int, next_attempt: float, detail: str) -> None:
        self.db.execute(
            "UPDATE deliveries SET attempts=?, next_attempt=?, detail=?, updated=? WHERE id=?",
            (attempts, next_attempt, detail, time.time(), row.id),
        )

    # --- reading -----------------------------------------------------------------------

    def next_pending(self, subscriber: str, ikey: str) -> Row | None:
        """The oldest pending row of this (subscriber, instance): the head of its queue."""
        r = self.db.execute(
            "SELECT id, event_id, subscriber, ikey, created, attempts, next_attempt"
            " FROM deliveries WHERE subscriber=? AND ikey=? AND status=? ORDER BY id LIMIT 1",
            (subscriber, ikey, PENDING),
        ).fetchone()
        return Row(*r) if r else None

    def pending_rows(self, subscriber: str) -> list[Row]:
        rows = self.db.execute(
            "SELECT id, event_id, subscriber, ikey, created, attempts, next_attempt"
            " FROM deliveries WHERE subscriber=? AND status=? ORDER BY id",
            (subscriber, PENDING),
        ).fetchall()
        return [Row(*r) for r in rows]

    def pending_keys(self) -> set[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT DISTINCT subscriber, ikey FROM deliveries WHERE status=?", (PENDING,)
        ).fetchall()
        return {(s, k) for s, k in rows}

    def load_event(self, event_id: str) -> Event | None:
        r = self.db.execute("SELECT body FROM events WHERE id=?", (event_id,)).fetchone()
        return event_from_dict(json.loads(r[0])) if r else None

    def max_seq(self) -> int:
        r = self.db.execute("SELECT MAX(seq) FROM events").fetchone()
        return int(r[0] or 0)

    def counts(self) -> dict[str, dict[str, int]]:
        """{subscriber: {status: n}}."""
        out: dict[str, dict[str, int]] = {}
        for sub, status, n in self.db.execute(
            "SELECT subscriber, status, COUNT(*) FROM deliveries GROUP BY subscriber, status"
        ):
            out.setdefault(sub, {})[status] = n
        return out

    def query_events(
        self,
        *,
        instance: str | None = None,
        since: float | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> list[dict[str, Any]]:
        """Events in publish order (for ``hookd history``)."""
        sql = "SELECT body FROM events WHERE 1=1"
        args: list[Any] = []
        if instance is not None:
            sql += " AND instance=?"
            args.append(instance)
        if since is not None:
            sql += " AND time>=?"
            args.append(since)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        sql += " ORDER BY seq, time"
        return [json.loads(b) for (b,) in self.db.execute(sql, args)]

    # --- policy ------------------------------------------------------------------------

    def backoff(self, attempts: int) -> float:
        """Delay before attempt ``attempts + 1``: exponential, capped, with jitter."""
        d = self.delivery
        base = min(d.max_backoff, d.initial_backoff * d.multiplier ** max(attempts - 1, 0))
        return max(0.0, base * (1 + self._rng.uniform(-d.jitter, d.jitter)))

    def gives_up(self, row: Row, attempts: int, now: float) -> str | None:
        """Why a failing row must not be retried again, or None."""
        d = self.delivery
        if d.max_attempts is not None and attempts >= d.max_attempts:
            return f"gave up after {attempts} attempts"
        if now - row.created >= d.max_age:
            return f"gave up after {now - row.created:.0f}s (max_age {d.max_age:.0f}s)"
        return None

    # --- one attempt -------------------------------------------------------------------

    async def attempt(self, sub: Subscriber, row: Row, event: Event) -> Delivery:
        """Run ``sub.deliver(event)`` once, record the outcome, return it as a Delivery."""
        attempts = row.attempts + 1
        started = time.monotonic()
        status: str
        try:
            coro = sub.deliver(event)
            timeout = getattr(sub, "deliver_timeout", None)
            detail = await (asyncio.wait_for(coro, timeout) if timeout else coro) or ""
            status = DELIVERED
        except asyncio.CancelledError:
            raise  # stopping: the row stays pending for the next start
        except PermanentError as exc:
            status, detail = DEAD, f"permanent: {exc}"
        except TimeoutError:
            status, detail = RETRY, f"timed out after {getattr(sub, 'deliver_timeout', 0)}s"
        except Exception as exc:  # TransientError or a bug in the sink: retry either way
            status, detail = RETRY, f"{type(exc).__name__}: {exc}"
        duration = time.monotonic() - started
        now = time.time()
        if status == DELIVERED:
            self.mark_delivered(row, attempts, detail)
        elif status == DEAD:
            self.mark_dead(row, attempts, detail)
        else:
            why = self.gives_up(row, attempts, now)
            if why is not None:
                status, detail = DEAD, f"{detail}; {why}"
                self.mark_dead(row, attempts, detail)
            else:
                self.mark_retry(row, attempts, now + self.backoff(attempts), detail)
        return self.outcome(event, sub.name, status, attempts, detail, duration)

    @staticmethod
    def outcome(
        event: Event,
        subscriber: str,
        status: str,
        attempts: int,
        detail: str,
        duration: float | None = None,
    ) -> Delivery:
        return Delivery(
            node=event.node,
            event_id=event.id,
            subscriber=subscriber,
            status=status,
            attempt=attempts,
            detail=detail[:2000],
            duration=duration,
            instance=getattr(event, "instance", None),
            event_kind=event.kind,
        )
