"""Any apprise URL (Slack, Teams, PagerDuty, ntfy, json:// webhooks...): one subscriber per URL.

One subscriber per URL gives each URL its own outbox rows, retries and recorded results.
Routes (``[[apprise]]`` in hookd.toml) filter by instance/group name and target state
(None = all). apprise's own retry is forced off (``retry = 0``, no throttling): the outbox
does the retrying, with backoff, durably.

What the receiver gets: for ``json://``/``jsons://`` the apprise JSON payload
``{"version", "title", "message", "attachments", "type"}`` whose ``message`` is the
event's public JSON (a string: ``json.loads(payload["message"])``); other services get a
human text (keepalived's line, the reason, priority, VIPs). Flapping digests arrive as
one notification.

Failure mapping: apprise only returns a bool. hookd captures the apprise log records of
its own call (a thread-local log handler) and reads the HTTP status from apprise's
``...error=<code>.`` message: 4xx other than 408/429 is permanent (dead), everything
else (5xx, 429, connection errors, no status) is transient.

URLs are secrets: only ``url(privacy=True)`` (passwords and tokens masked) is ever logged
or recorded; the subscriber name is ``apprise:<sha256 prefix of the URL>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import threading
from pathlib import Path
from typing import Any, ClassVar

import apprise

from hookd.config.model import AppriseRoute, Model
from hookd.events import Event, FlapDigest, Transition
from hookd.subscribers.base import (
    BaseSubscriber,
    PermanentError,
    Subscriber,
    TransientError,
)
from hookd.subscribers.email import subject_and_line

log = logging.getLogger(__name__)

_JSON_SCHEMAS = {"json", "jsons"}
_STATUS = re.compile(r"error=(\d{3})\b")
_TYPES = {
    "MASTER": apprise.NotifyType.SUCCESS,
    "BACKUP": apprise.NotifyType.INFO,
    "FAULT": apprise.NotifyType.FAILURE,
    "STOP": apprise.NotifyType.WARNING,
    "DELETED": apprise.NotifyType.WARNING,
}

_tls = threading.local()


class _Capture(logging.Handler):
    """Collects the apprise log messages emitted by the current thread's notify()."""

    def emit(self, record: logging.LogRecord) -> None:
        sink = getattr(_tls, "records", None)
        if sink is not None:
            with contextlib.suppress(Exception):
                sink.append(record.getMessage())


_capture: _Capture | None = None


def _install_capture() -> None:
    global _capture
    if _capture is None:
        _capture = _Capture(level=logging.WARNING)
        lg = logging.getLogger("apprise")
        lg.addHandler(_capture)
        if lg.getEffectiveLevel() > logging.WARNING:
            lg.setLevel(logging.WARNING)  # we need its warnings to read HTTP statuses


class AppriseSubscriber(BaseSubscriber):
    """Sends transitions (and flapping digests) to one apprise URL."""

    digest: ClassVar[bool] = True
    deliver_timeout = 60.0

    def __init__(self, model: Model, url: str, route: AppriseRoute) -> None:
        plugin = apprise.Apprise.instantiate(url)
        if plugin is None:
            raise ValueError("invalid or unsupported apprise URL")
        plugin.retry = 0  # hookd retries durably; never let apprise retry in a thread
        plugin.request_rate_per_sec = 0
        self.plugin: Any = plugin
        self.safe_url: str = plugin.url(privacy=True)
        self.name = "apprise:" + hashlib.sha256(url.encode()).hexdigest()[:12]
        self.route = route
        self.model = model
        self.router_id = model.global_defs.router_id or "hookd"
        self.is_json = url.split(":", 1)[0].lower() in _JSON_SCHEMAS
        _install_capture()

    @classmethod
    def from_model(cls, model: Model, state_dir: Path) -> list[Subscriber]:
        out: list[Subscriber] = []
        for i, route in enumerate(model.settings.apprise):
            for j, secret in enumerate(route.urls):
                try:
                    out.append(cls(model, secret.get_secret_value(), route))
                except Exception as exc:
                    log.error("apprise route %d url %d ignored: %s", i, j, exc)
        return out

    def __repr__(self) -> str:
        return f"<AppriseSubscriber {self.name} {self.safe_url}>"

    def wants(self, event: Event) -> bool:
        if not isinstance(event, (Transition, FlapDigest)):
            return False
        r = self.route
        if r.instances is not None and event.instance not in r.instances:
            return False
        return r.states is None or event.to_state in r.states

    def render(self, event: Event) -> tuple[str, str, apprise.NotifyType]:
        """(title, body, type) for this URL."""
        assert isinstance(event, (Transition, FlapDigest))
        if isinstance(event, Transition):
            title, line = subject_and_line(
                self.router_id, event.instance, event.to_state, event.is_group
            )
            text = (
                f"{line}\nReason: {event.reason or '-'}\n"
                f"{event.from_state} -> {event.to_state}, priority {event.priority}"
                f" (base {event.base_priority}), VIPs {' '.join(event.vips) or '-'}"
            )
        else:
            n = len(event.transitions)
            title = (
                f"[{self.router_id}] VRRP {'Group' if event.is_group else 'Instance'} "
                f"{event.instance} - Flapping: {n} more transitions, now {event.to_state}"
            )
            text = "\n".join(
                f"{t['from']} -> {t['to']} prio {t['priority']}: {t.get('reason')}"
                for t in event.transitions
            )
        body = event.to_json() if self.is_json else text
        return title, body, _TYPES.get(event.to_state, apprise.NotifyType.INFO)

    def _notify(self, title: str, body: str, ntype: apprise.NotifyType) -> tuple[bool, list[str]]:
        _tls.records = []
        try:
            ok = bool(self.plugin.notify(body=body, title=title, notify_type=ntype))
            return ok, list(_tls.records)
        finally:
            _tls.records = None

    async def deliver(self, event: Event) -> str | None:
        title, body, ntype = self.render(event)
        # apprise is synchronous (requests): run it in a thread, off the event loop.
        ok, messages = await asyncio.to_thread(self._notify, title, body, ntype)
        if ok:
            return f"sent to {self.safe_url}"
        statuses = [int(m.group(1)) for msg in messages if (m := _STATUS.search(msg))]
        why = "; ".join(messages[-2:]) or "apprise returned False"
        detail = f"{self.safe_url}: {why}"
        if statuses and 400 <= statuses[-1] < 500 and statuses[-1] not in (408, 429):
            raise PermanentError(f"HTTP {statuses[-1]}: {detail}")
        raise TransientError(detail)
