"""keepalived's ``notify_fifo`` / ``vrrp_notify_fifo``: one line per transition, in order.

Line format (keepalived 2.2.7, byte for byte): ``INSTANCE "VI_1" MASTER 100`` and
``GROUP "G1" BACKUP 0`` (a group's priority is always 0), newline-terminated. The FIFO is
created if missing; it is opened ``O_WRONLY|O_NONBLOCK`` for each line, so no reader (ENXIO)
or a full pipe (EAGAIN) is a transient failure that the outbox retries, keeping the order.
A line is shorter than PIPE_BUF, so concurrent readers never see half a line.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import ClassVar

from hookd.config.model import Model
from hookd.events import Event, Transition
from hookd.subscribers.base import BaseSubscriber, PermanentError, Subscriber, TransientError


def fifo_line(t: Transition) -> str:
    kind = "GROUP" if t.is_group else "INSTANCE"
    return f'{kind} "{t.instance}" {t.to_state} {0 if t.is_group else t.priority}\n'


class FifoSubscriber(BaseSubscriber):
    """Writes keepalived-format state lines to one FIFO."""

    digest: ClassVar[bool] = False
    deliver_timeout = 10.0

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"fifo:{self.path}"

    @classmethod
    def from_model(cls, model: Model, state_dir: Path) -> list[Subscriber]:
        gd = model.global_defs
        paths = dict.fromkeys(p for p in (gd.notify_fifo, gd.vrrp_notify_fifo) if p)
        return [cls(p) for p in paths]

    def wants(self, event: Event) -> bool:
        return isinstance(event, Transition)

    def _ensure_fifo(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            try:
                os.mkfifo(self.path, 0o600)
            except FileExistsError:
                return
            except OSError as exc:
                raise PermanentError(f"cannot create FIFO {self.path}: {exc}") from exc
            return
        if not stat.S_ISFIFO(st.st_mode):
            raise PermanentError(f"{self.path} exists and is not a FIFO")

    async def deliver(self, event: Event) -> str | None:
        assert isinstance(event, Transition)
        self._ensure_fifo()
        line = fifo_line(event).encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                raise TransientError(f"no reader on FIFO {self.path}") from exc
            raise TransientError(f"cannot open FIFO {self.path}: {exc}") from exc
        try:
            os.write(fd, line)
        except BlockingIOError as exc:
            raise TransientError(f"FIFO {self.path} is full") from exc
        except OSError as exc:  # EPIPE: the reader went away between open and write
            raise TransientError(f"cannot write FIFO {self.path}: {exc}") from exc
        finally:
            os.close(fd)
        return None
