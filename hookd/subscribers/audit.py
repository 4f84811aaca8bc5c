"""The audit log: every transition (with its reason) and every delivery outcome.

Two stores: an append-only JSON-lines file (``Settings.audit.path``, default
``<state_dir>/audit.jsonl``; fsync'd per line unless ``audit.fsync = false``) for people and
log shippers, and the outbox's SQLite ``events`` table (every published event) which
``hookd history`` queries. The audit subscriber never fails the engine: a write error is
retried by the outbox like any transient failure, and nothing here raises into publish().
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from hookd.config.model import Model
from hookd.events import Event
from hookd.subscribers.base import BaseSubscriber, Subscriber, TransientError


class AuditSubscriber(BaseSubscriber):
    """Appends each event as one JSON line to the audit log."""

    digest: ClassVar[bool] = False
    is_audit: ClassVar[bool] = True  # the bus does not audit deliveries to the audit log

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.name = "audit"
        self.path = Path(path)
        self.fsync = fsync
        self._lock = asyncio.Lock()

    @classmethod
    def from_model(cls, model: Model, state_dir: Path) -> list[Subscriber]:
        audit = model.settings.audit
        path = Path(audit.path) if audit.path else Path(state_dir) / "audit.jsonl"
        return [cls(path, fsync=audit.fsync)]

    def wants(self, event: Event) -> bool:
        return event.kind != "flap_digest"  # digests are derived; the transitions are here

    async def deliver(self, event: Event) -> str | None:
        line = event.to_json() + "\n"
        async with self._lock:  # one writer at a time keeps lines whole and in order
            try:
                await asyncio.to_thread(self._append, line.encode())
            except OSError as exc:
                raise TransientError(f"cannot append to {self.path}: {exc}") from exc
        return None

    def _append(self, data: bytes) -> None:
        # Off the loop: an fsync may take milliseconds and must not delay adverts.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            os.write(fd, data)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)


# --- hookd history -----------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """``10m``/``2h``/``1d``/``30s`` ago, or an ISO 8601 time (naive = local time)."""
    m = _DURATION.match(text)
    if m:
        base = datetime.now(UTC).timestamp() if now is None else now
        return base - float(m.group(1)) * _UNITS[m.group(2)]
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(
            f"--since: {text!r} is neither a duration (10m, 2h, 1d) nor an ISO time"
        ) from exc
    if dt.tzinfo is None:
        dt = dt.astimezone()  # local time
    return dt.timestamp()


def _load(state_dir: Path, instance: str | None, since: float | None) -> list[dict[str, Any]]:
    from hookd.outbox import DB_NAME, Outbox

    db = state_dir / DB_NAME
    if db.exists():
        ob = Outbox(db)
        try:
            events = ob.query_events(since=since)
        finally:
            ob.close()
    else:  # no outbox (copied audit log only): read the JSON lines
        path = state_dir / "audit.jsonl"
        events = []
        if path.exists():
            for line in path.read_text().splitlines():
                stripped = line.strip()
                if stripped:
                    try:
                        events.append(json.loads(stripped))
                    except json.JSONDecodeError:
                        continue
        if since is not None:
            events = [e for e in events if e.get("time", 0) >= since]
    if instance is not None:
        events = [e for e in events if e.get("instance") == instance]
    return events


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def render_table(events: list[dict[str, Any]]) -> str:
    """The failover timeline: each transition with its reason, its deliveries below it."""
    deliveries: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        if e.get("kind") == "delivery":
            deliveries.setdefault(e["event_id"], []).append(e)
    lines = [f"{'TIME':23}  {'INSTANCE':14} {'TRANSITION':20} {'PRIO':>4}  REASON"]
    for e in events:
        kind = e.get("kind")
        if kind == "transition":
            name = ("group " if e.get("is_group") else "") + str(e["instance"])
            lines.append(
                f"{_ts(e['time']):23}  {name:14} {e['from'] + ' -> ' + e['to']:20} "
                f"{e['priority']:>4}  {e.get('reason', '')}"
            )
        elif kind == "flap_digest":
            n = len(e.get("transitions", []))
            lines.append(
                f"{_ts(e['time']):23}  {e['instance']:14} {'(flapping digest)':20} "
                f"{'':>4}  {n} transitions folded into one notification"
            )
        else:
            continue
        for d in deliveries.get(e["id"], []):
            dur = f" {d['duration']:.2f}s" if d.get("duration") is not None else ""
            detail = f"  {d['detail']}" if d.get("detail") else ""
            lines.append(
                f"{'':23}    -> {d['subscriber']}: {d['status']} "
                f"(attempt {d['attempt']}{dur}){detail}"
            )
    return "\n".join(lines)


def history_main(args: argparse.Namespace) -> int:
    """``hookd history [--state-dir DIR] [--json] [--instance NAME] [--since TIME]``."""
    state_dir = Path(getattr(args, "state_dir", None) or "/var/lib/hookd")
    since = None
    if getattr(args, "since", None):
        try:
            since = parse_since(args.since)
        except ValueError as exc:
            print(f"hookd history: {exc}", file=sys.stderr)
            return 2
    if not (state_dir / "audit.jsonl").exists() and not any(state_dir.glob("outbox*")):
        # Most likely a wrong --state-dir: say so rather than print an empty timeline.
        print(f"hookd history: no audit log or outbox in {state_dir} "
              "(is --state-dir the daemon's?)", file=sys.stderr)
        return 1
    try:
        events = _load(state_dir, getattr(args, "instance", None), since)
    except Exception as exc:  # a corrupt or locked db: say so, exit 1
        print(f"hookd history: cannot read {state_dir}: {exc}", file=sys.stderr)
        return 1
    events = [e for e in events if e.get("kind") in ("transition", "delivery", "flap_digest")]
    if getattr(args, "json", False):
        for e in events:
            print(json.dumps(e, separators=(",", ":")))
    else:
        print(render_table(events))
    return 0
