"""A real failover drives every subscriber at once (issue: transitions as events).

Topology: hookd on n1 (priority 150) and n2 (priority 100), plus a node ``gw`` holding a
real aiosmtpd SMTP server and an HTTP webhook receiver that only exist inside the lab.
n2 is configured with everything a keepalived user hangs off a transition: smtp_alert,
notify_master / notify_backup / generic notify scripts, notify_fifo, an apprise
``json://`` webhook and the audit log.

1. SIGKILL n1: n2 becomes MASTER, and the mail, the webhook POST, both scripts, the FIFO
   line, the audit line and ``hookd history`` all show that one transition (one event id).
2. Durability: with the SMTP server down, n1 comes back (n2 -> BACKUP, the mail is
   retried), n2's hookd is SIGKILLed while the mail is pending, the SMTP server comes back,
   n2's hookd restarts: the BACKUP mail arrives exactly once, the MASTER mail is not resent.

Waits are deadlines, not timing asserts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.lab.helpers import HookdLab, HookdNode, keepalived_conf, vrrp_instance, wait_until

pytestmark = pytest.mark.lab

MakeLab = Callable[..., HookdLab]

GW = "10.99.0.254"  # the lab's "gw" node (hookd.netns gives gw .254)
SMTP_PORT = 2525
HTTP_PORT = 8080
ADVERT_INT = 0.2  # VRRPv3: Master_Down_Interval ~0.7 s

# One small program, two roles: "smtp" (aiosmtpd) or "http" (webhook receiver). Each
# received message is appended as one JSON line to OUT; "ready" on stdout when listening.
_SERVER = r"""
import json, signal, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

role, host, port, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
lock = threading.Lock()

def record(obj):
    with lock, open(out, "a") as f:
        f.write(json.dumps(obj) + "\n")

if role == "smtp":
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            record({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                    "data": envelope.content.decode("utf-8", "replace")})
            return "250 OK"

    ctl = Controller(Handler(), hostname=host, port=port)
    ctl.start()
else:
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            record({"path": self.path, "body": body.decode("utf-8", "replace")})
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer((host, port), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
print("ready", flush=True)
signal.sigwait({signal.SIGTERM, signal.SIGINT})
"""

# Reads the notify FIFO, one line per transition, into a file. O_RDWR: never sees EOF when
# hookd closes its end after each line.
_FIFO_READER = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
with os.fdopen(fd, "rb", buffering=0) as f, open(sys.argv[2], "ab", buffering=0) as out:
    buf = b""
    while True:
        chunk = f.read(4096)
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.write(line + b"\n")
"""


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _header(mail: str, name: str) -> str | None:
    head = mail.split("\n\n", 1)[0].replace("\r\n", "\n")
    for line in head.splitlines():
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def _script(path: Path, log: Path) -> Path:
    """A root-owned 0755 notify script appending its arguments to ``log``."""
    path.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    path.chmod(0o755)
    return path


class _Server:
    """The SMTP or HTTP receiver running inside the lab's gw node (restartable)."""

    def __init__(self, hl: HookdLab, script: Path, role: str, port: int, out: Path) -> None:
        self.hl, self.script, self.role, self.port, self.out = hl, script, role, port, out
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [sys.executable, str(self.script), self.role, GW, str(self.port), str(self.out)]
        self.proc = self.hl.lab.popen("gw", argv, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.strip() == b"ready", f"{self.role} server did not start"

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(10)


def _history(n: HookdNode) -> list[dict[str, Any]]:
    """``hookd history --state-dir D --json`` run inside the node, as a user would."""
    argv = [sys.executable, "-m", "hookd.cli", "history", "--state-dir", str(n.state_dir)]
    proc = n.lab.run(n.node, [*argv, "--json"])
    return [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]


def _transition_to(events: list[dict[str, Any]], state: str) -> list[dict[str, Any]]:
    return [e for e in events if e.get("kind") == "transition" and e.get("to") == state]


def test_failover_drives_every_subscriber(hookd_lab: MakeLab, tmp_path: Path) -> None:
    hl = hookd_lab(("n1", "n2", "gw"))
    work = tmp_path / "e2e"
    work.mkdir()
    server_py = work / "server.py"
    server_py.write_text(_SERVER)
    mails, hooks = work / "mails.jsonl", work / "hooks.jsonl"
    smtp = _Server(hl, server_py, "smtp", SMTP_PORT, mails)
    http = _Server(hl, server_py, "http", HTTP_PORT, hooks)
    smtp.start()
    http.start()

    master_log, backup_log, generic_log = (work / f"{s}.args" for s in ("master", "backup", "all"))
    master_sh = _script(work / "notify_master.sh", master_log)
    backup_sh = _script(work / "notify_backup.sh", backup_log)
    generic_sh = _script(work / "notify.sh", generic_log)
    fifo, fifo_out = work / "notify.fifo", work / "fifo.lines"
    os.mkfifo(fifo, 0o600)
    fifo_py = work / "fifo_reader.py"
    fifo_py.write_text(_FIFO_READER)
    hl.lab.popen("n2", [sys.executable, str(fifo_py), str(fifo), str(fifo_out)])

    settings = work / "hookd.toml"
    settings.write_text(
        "[[apprise]]\n"
        f'urls = ["json://{GW}:{HTTP_PORT}/hook"]\n\n'
        "[delivery]\n"
        "initial_backoff = 0.2\nmax_backoff = 0.5\njitter = 0.1\n\n"
        "[flapping]\nenabled = false\n"
    )
    vip = "10.99.0.100/24"
    n1_conf = keepalived_conf(
        "n1",
        vrrp_instance("VI_1", vrid=51, priority=150, vips=[vip], version=3, advert_int=ADVERT_INT),
    )
    n2_conf = keepalived_conf(
        "n2",
        vrrp_instance(
            "VI_1",
            vrid=51,
            priority=100,
            vips=[vip],
            extra=(
                f'notify_master "{master_sh} became-master"\n'
                f"notify_backup {backup_sh}\n"
                f"notify {generic_sh}\n"
            ),
            version=3,
            advert_int=ADVERT_INT,
        ),
        global_extra=(
            "notification_email {\n    ops@example.test\n}\n"
            "notification_email_from hookd@example.test\n"
            f"smtp_server {GW} {SMTP_PORT}\n"
            "smtp_alert\n"
            f"notify_fifo {fifo}\n"
        ),
    )
    n1 = hl.start("n1", n1_conf)
    assert n1.wait_state("VI_1", "MASTER", 5), hl.dump()
    n2 = hl.start("n2", n2_conf, extra_args=["--settings", str(settings)])
    assert n2.wait_state("VI_1", "BACKUP", 5), hl.dump()

    # --- 1. a crash of the master: every subscriber hears about n2 -> MASTER -------------
    n1.kill()
    assert n2.wait_state("VI_1", "MASTER", 5), hl.dump()
    audit = n2.state_dir / "audit.jsonl"
    assert wait_until(lambda: _transition_to(_jsonl(audit), "MASTER"), 5), hl.dump()
    (master_ev,) = _transition_to(_jsonl(audit), "MASTER")
    assert master_ev["reason"].startswith("master_down_timer expired"), master_ev
    assert master_ev["instance"] == "VI_1" and master_ev["node"] == "n2"
    mid = master_ev["id"]

    def mails_for(event_id: str) -> list[str]:
        return [
            m["data"]
            for m in _jsonl(mails)
            if _header(m["data"], "Message-ID") == f"<{event_id}@n2>"
        ]

    assert wait_until(lambda: mails_for(mid), 10), f"{_jsonl(mails)}\n{hl.dump()}"
    (mail,) = mails_for(mid)
    assert _header(mail, "Subject") == "[n2] VRRP Instance VI_1 - Entering MASTER state"
    assert "=> VRRP Instance is now owning VRRP VIPs <=" in mail
    assert "master_down_timer expired" in mail

    def hooks_for(event_id: str) -> list[dict[str, Any]]:
        out = []
        for h in _jsonl(hooks):
            event = json.loads(json.loads(h["body"])["message"])
            if event["id"] == event_id:
                out.append(event)
        return out

    assert wait_until(lambda: hooks_for(mid), 10), f"{_jsonl(hooks)}\n{hl.dump()}"
    (hooked,) = hooks_for(mid)
    assert hooked["to"] == "MASTER" and hooked["instance"] == "VI_1"
    assert hooked["reason"].startswith("master_down_timer expired"), hooked

    assert wait_until(lambda: "INSTANCE VI_1 MASTER 100" in _lines(generic_log), 10), hl.dump()
    assert _lines(master_log) == ["became-master"]
    assert wait_until(lambda: 'INSTANCE "VI_1" MASTER 100' in _lines(fifo_out), 10), hl.dump()

    def delivered(event_id: str) -> dict[str, str]:
        return {
            e["subscriber"]: e["status"]
            for e in _history(n2)
            if e.get("kind") == "delivery" and e.get("event_id") == event_id
        }

    subscribers = {"scripts", f"fifo:{fifo}", "email"}
    assert wait_until(lambda: len(delivered(mid)) >= 4, 10), delivered(mid)
    outcomes = delivered(mid)
    apprise_names = [s for s in outcomes if s.startswith("apprise:")]
    assert len(apprise_names) == 1, outcomes
    assert set(outcomes) == subscribers | set(apprise_names), outcomes
    assert set(outcomes.values()) == {"delivered"}, outcomes
    (hist_ev,) = [e for e in _history(n2) if e.get("id") == mid]
    assert hist_ev["to"] == "MASTER" and hist_ev["reason"] == master_ev["reason"]

    # --- 2. a pending mail survives SIGKILL and is sent exactly once ---------------------
    smtp.stop()
    n1.start()
    assert n1.wait_ready(10), hl.dump()
    assert n2.wait_state("VI_1", "BACKUP", 5), hl.dump()

    def demotions() -> list[dict[str, Any]]:
        # Not the INIT -> BACKUP at start-up: the audit log is written asynchronously, so
        # that one may be the only BACKUP line yet.
        return [e for e in _transition_to(_jsonl(audit), "BACKUP") if e["from"] == "MASTER"]

    assert wait_until(demotions, 5), hl.dump()
    backup_ev = demotions()[-1]
    bid = backup_ev["id"]

    def email_retried() -> bool:
        return any(
            e.get("kind") == "delivery"
            and e.get("event_id") == bid
            and e.get("subscriber") == "email"
            and e.get("status") == "retry"
            for e in _jsonl(audit)
        )

    assert wait_until(email_retried, 5), hl.dump()  # failed once: the row is pending
    n2.kill()
    assert not mails_for(bid)
    smtp.start()
    n2.start()
    assert n2.wait_ready(10), hl.dump()
    assert wait_until(lambda: mails_for(bid), 10), f"{_jsonl(mails)}\n{hl.dump()}"
    (mail,) = mails_for(bid)
    assert _header(mail, "Subject") == "[n2] VRRP Instance VI_1 - Entering BACKUP state"
    assert wait_until(lambda: delivered(bid).get("email") == "delivered", 10), delivered(bid)
    assert len(mails_for(bid)) == 1
    assert len(mails_for(mid)) == 1  # the MASTER mail was delivered before: never resent
    assert n2.wait_state("VI_1", "BACKUP", 5), hl.dump()
