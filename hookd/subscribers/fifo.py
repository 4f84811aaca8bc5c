"""keepalived's ``notify_fifo`` / ``vrrp_notify_fifo``: one line per transition, in order.

Line format (keepalived 2.2.7, byte for byte): ``INSTANCE "VI_1" MASTER 100`` and
``GROUP "G1" BACKUP 0`` (a group's priority is always 0), newline-terminated.

As keepalived does, the FIFO is created if missing (0644), the optional
``notify_fifo_script`` is started with the FIFO's path as its last argument, and the FIFO is
then held open ``O_RDWR|O_NONBLOCK`` for the subscriber's life. Holding it open matters:
the usual reader, ``while read line; do ...; done < "$FIFO"``, would see end-of-file and
exit after the first line if every line were written through a fresh open/close. Lines
written while no reader is attached wait in the pipe; a full pipe (EAGAIN) is a transient
failure that the outbox retries, keeping the order. A line is shorter than PIPE_BUF, so a
reader never sees half a line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import stat
import subprocess
from pathlib import Path
from typing import ClassVar

from hookd.config.model import Model
from hookd.events import Event, Transition
from hookd.proc import run_as_uid, script_security_problem
from hookd.subscribers.base import BaseSubscriber, PermanentError, Subscriber, TransientError

log = logging.getLogger("hookd.fifo")


def fifo_line(t: Transition) -> str:
    kind = "GROUP" if t.is_group else "INSTANCE"
    return f'{kind} "{t.instance}" {t.to_state} {0 if t.is_group else t.priority}\n'


class FifoSubscriber(BaseSubscriber):
    """Writes keepalived-format state lines to one FIFO (and runs its reader script)."""

    digest: ClassVar[bool] = False
    deliver_timeout = 10.0

    def __init__(
        self,
        path: str | Path,
        script: list[str] | None = None,
        *,
        user: str | None = None,
        group: str | None = None,
        enable_script_security: bool = False,
    ) -> None:
        self.path = Path(path)
        self.name = f"fifo:{self.path}"
        self.script = script
        self.user, self.group = user, group
        self.enable_script_security = enable_script_security
        self._fd: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_model(cls, model: Model, state_dir: Path) -> list[Subscriber]:
        gd = model.global_defs
        fifos: dict[str, list[str] | None] = {}
        for path, script in (
            (gd.notify_fifo, gd.notify_fifo_script),
            (gd.vrrp_notify_fifo, gd.vrrp_notify_fifo_script),
        ):
            if path:
                fifos[path] = fifos.get(path) or script
        return [
            cls(
                p,
                script,
                user=gd.script_user,
                group=gd.script_group,
                enable_script_security=gd.enable_script_security,
            )
            for p, script in fifos.items()
        ]

    def wants(self, event: Event) -> bool:
        return isinstance(event, Transition)

    def _ensure_fifo(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            try:
                os.mkfifo(self.path, 0o644)
            except FileExistsError:
                return
            except OSError as exc:
                raise PermanentError(f"cannot create FIFO {self.path}: {exc}") from exc
            return
        if not stat.S_ISFIFO(st.st_mode):
            raise PermanentError(f"{self.path} exists and is not a FIFO")

    def _start_script(self) -> None:
        """Start (or restart, if it died) notify_fifo_script with the FIFO as last arg."""
        if not self.script or (self._proc is not None and self._proc.poll() is None):
            return
        if self._proc is not None:
            log.warning(
                "%s: fifo script exited with %s; starting it again",
                self.path,
                self._proc.returncode,
            )
        problem = script_security_problem(
            self.script[0],
            enable_script_security=self.enable_script_security,
            run_as_uid=run_as_uid(self.user),
        )
        if problem is not None:
            raise PermanentError(f"notify_fifo_script {self.script[0]}: refused: {problem}")
        try:
            self._proc = subprocess.Popen(
                [*self.script, str(self.path)],
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group, stopped with us
                user=self.user,
                group=self.group,
            )
        except (OSError, KeyError, ValueError) as exc:
            raise TransientError(f"cannot start {self.script[0]}: {exc}") from exc

    def _open(self) -> int:
        self._ensure_fifo()
        self._start_script()
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                raise TransientError(f"cannot open FIFO {self.path}: {exc}") from exc
        return self._fd

    async def deliver(self, event: Event) -> str | None:
        assert isinstance(event, Transition)
        fd = self._open()
        try:
            os.write(fd, fifo_line(event).encode())
        except BlockingIOError as exc:
            raise TransientError(f"FIFO {self.path} is full (is its reader running?)") from exc
        except OSError as exc:
            raise TransientError(f"cannot write FIFO {self.path}: {exc}") from exc
        return None

    async def aclose(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=2)
