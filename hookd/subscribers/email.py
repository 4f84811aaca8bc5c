"""keepalived's SMTP alerts (``smtp_alert``), sent with aiosmtplib, plus hookd's reason.

Same subject and first body line as keepalived 2.2.7 (``vrrp_notify.c`` / ``smtp.c``):
``[<router_id>] VRRP Instance VI_1 - Entering MASTER state`` with
``=> VRRP Instance is now owning VRRP VIPs <=``; ``VRRP Group G1 - ...`` with
``=> All VRRP group instances are now in MASTER state <=`` for sync groups; STOP is
``- Stopping`` / ``=> VRRP Instance stopping <=`` (keepalived has the text but exits before
sending it; hookd sends it). Below keepalived's line hookd adds the reason and the event
JSON. ``X-Mailer: Keepalived`` is kept for mail filters; ``Message-ID`` is
``<{event.id}@{router_id}>`` so a mail resent after a crash is recognisable.

Which transitions mail (keepalived's resolution, ``vrrp.c``): the instance's (or sync
group's) own ``smtp_alert``, else global ``smtp_alert_vrrp``, else global ``smtp_alert``,
else no mail. Transport: ``[smtp]`` settings override global_defs (host, port, helo,
timeout, from, recipients); STARTTLS or implicit TLS; AUTH with a SecretStr password.
Errors: SMTP 5xx is permanent (dead); connection errors, timeouts and 4xx are retried.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import socket
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import ClassVar

import aiosmtplib

from hookd.config.model import Model
from hookd.events import Event, FlapDigest, Transition
from hookd.subscribers.base import (
    BaseSubscriber,
    PermanentError,
    Subscriber,
    TransientError,
)

_INSTANCE_TEXT = {
    "MASTER": ("Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="),
    "BACKUP": ("Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "FAULT": ("Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "STOP": ("Stopping", "=> VRRP Instance stopping <="),
    "DELETED": ("Deleted", "=> VRRP Instance deleted <="),  # hookd's (keepalived sends none)
}
_GROUP_TEXT = {
    "MASTER": ("Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="),
    "BACKUP": ("Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="),
    "FAULT": ("Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="),
    "STOP": ("Stopping", "=> All VRRP group instances are now stopping <="),
    "DELETED": ("Deleted", "=> VRRP Group deleted <="),
}


def subject_and_line(router_id: str, name: str, state: str, is_group: bool) -> tuple[str, str]:
    """keepalived's subject and first body line for a state."""
    texts = _GROUP_TEXT if is_group else _INSTANCE_TEXT
    what, line = texts.get(state, (f"Entering {state} state", f"=> VRRP state {state} <="))
    kind = "VRRP Group" if is_group else "VRRP Instance"
    return f"[{router_id}] {kind} {name} - {what}", line


def alert_enabled(model: Model, name: str, is_group: bool) -> bool:
    """smtp_alert resolved as keepalived does: own setting, smtp_alert_vrrp, smtp_alert."""
    owner = model.vrrp_sync_groups.get(name) if is_group else model.vrrp_instances.get(name)
    own = owner.smtp_alert if owner is not None else None
    gd = model.global_defs
    for v in (own, gd.smtp_alert_vrrp, gd.smtp_alert):
        if v is not None:
            return v
    return False


def _pretty(event: Event) -> str:
    return json.dumps(event.to_dict(), indent=2)


def _ts(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().isoformat(timespec="milliseconds")


class EmailSubscriber(BaseSubscriber):
    """Mails transitions (and flapping digests) to global_defs notification_email."""

    digest: ClassVar[bool] = True
    deliver_timeout = 120.0

    def __init__(self, model: Model) -> None:
        self.name = "email"
        self.model = model
        gd, s = model.global_defs, model.settings.smtp
        self.router_id = gd.router_id or socket.gethostname()
        self.host = s.host or gd.smtp_server or "localhost"
        self.port = s.port or gd.smtp_port
        # keepalived's default HELO name is the host name; resolving it here once keeps
        # aiosmtplib from calling the blocking socket.getfqdn() on the loop for every mail.
        self.helo = s.helo_name or gd.smtp_helo_name or socket.gethostname()
        self.timeout = s.timeout or gd.smtp_connect_timeout
        self.mail_from = (
            s.mail_from or gd.notification_email_from or f"keepalived@{socket.gethostname()}"
        )
        self.to = list(s.to if s.to is not None else gd.notification_email)
        self.settings = s

    @classmethod
    def from_model(cls, model: Model, state_dir: Path) -> list[Subscriber]:
        gd, s = model.global_defs, model.settings.smtp
        recipients = s.to if s.to is not None else gd.notification_email
        # keepalived: no mail unless recipients and a server are configured.
        if not recipients or not (s.host or gd.smtp_server):
            return []
        return [cls(model)]

    def wants(self, event: Event) -> bool:
        if isinstance(event, (Transition, FlapDigest)):
            return alert_enabled(self.model, event.instance, event.is_group)
        return False

    def build_message(self, event: Event) -> EmailMessage:
        """The mail for a Transition or a FlapDigest."""
        msg = EmailMessage()
        if isinstance(event, Transition):
            subject, line = subject_and_line(
                self.router_id, event.instance, event.to_state, event.is_group
            )
            body = (
                f"{line}\n\nReason: {event.reason or '-'}\n"
                f"Transition: {event.from_state} -> {event.to_state} at {_ts(event.time)}\n"
                f"Priority: {event.priority} (base {event.base_priority})\n"
                f"VIPs: {' '.join(event.vips) or '-'}\n\nEvent:\n{_pretty(event)}\n"
            )
        elif isinstance(event, FlapDigest):
            kind = "VRRP Group" if event.is_group else "VRRP Instance"
            n = len(event.transitions)
            subject = (
                f"[{self.router_id}] {kind} {event.instance} - Flapping: {n} more "
                f"transitions, now {event.to_state}"
            )
            lines = [
                f"=> {kind} is flapping: {n} transitions within "
                f"{event.window:g}s folded into this mail <=",
                "",
            ]
            for t in event.transitions:
                lines.append(
                    f"{_ts(t['time'])}  {t['from']} -> {t['to']}  prio {t['priority']}"
                    f"  {t.get('reason', '')}"
                )
            lines += ["", "Event:", _pretty(event), ""]
            body = "\n".join(lines)
        else:  # pragma: no cover - wants() filters
            raise PermanentError(f"email cannot render a {event.kind} event")
        msg["Date"] = email.utils.formatdate(event.time, localtime=True)
        msg["From"] = self.mail_from
        msg["Subject"] = subject
        msg["X-Mailer"] = "Keepalived"
        msg["To"] = ", ".join(self.to)
        msg["Message-ID"] = f"<{event.id}@{self.router_id}>"
        msg["X-Hookd-Event-Id"] = event.id
        # 8bit keeps keepalived's "=> ... <=" line readable in the raw mail (quoted-printable
        # would turn it into "=3D> ..."); RFC 5322 caps lines at 998 octets.
        long_lines = any(len(x.encode()) > 990 for x in body.splitlines())
        msg.set_content(body, cte="quoted-printable" if long_lines else "8bit")
        return msg

    async def deliver(self, event: Event) -> str | None:
        # Rendering and flattening a MIME message costs ~1 ms of CPU: do it off the loop.
        data = await asyncio.to_thread(lambda: self.build_message(event).as_bytes())
        s = self.settings
        try:
            await aiosmtplib.send(
                data,
                sender=self.mail_from,
                recipients=self.to,
                hostname=self.host,
                port=self.port,
                local_hostname=self.helo,
                timeout=self.timeout,
                use_tls=s.tls,
                start_tls=s.starttls and not s.tls,  # explicit: no opportunistic surprises
                validate_certs=s.validate_certs,
                username=s.username,
                password=s.password.get_secret_value() if s.password is not None else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            refused = ", ".join(f"{r.recipient} {r.code}" for r in exc.recipients)
            err = f"recipients refused: {refused}"
            if codes and all(500 <= c < 600 for c in codes):
                raise PermanentError(err) from exc
            raise TransientError(err) from exc
        except aiosmtplib.SMTPResponseException as exc:
            err = f"SMTP {exc.code} {exc.message}"
            if 500 <= exc.code < 600:
                raise PermanentError(err) from exc
            raise TransientError(err) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise TransientError(f"SMTP {self.host}:{self.port}: {exc}") from exc
        return f"sent to {', '.join(self.to)} via {self.host}:{self.port}"
