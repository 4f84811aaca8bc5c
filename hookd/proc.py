"""Running external programs the way keepalived does: no shell, own process group, timeouts.

Used by the vrrp_script checks (``checks/scripts.py``) and the notify-script subscriber.
Nothing here blocks the event loop: programs run as asyncio subprocesses.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import shutil
import signal
import stat
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OUTPUT_TAIL_BYTES = 4096
# After the program exits, how long we keep draining its pipe (a background grandchild may
# hold it open forever; we must not wait for it).
_DRAIN_AFTER_EXIT = 0.2


@dataclass(frozen=True)
class ProcResult:
    """What became of one program run."""

    returncode: int | None  # None: never started, or killed without a status we could read
    timed_out: bool
    duration: float  # seconds, monotonic
    output_tail: str  # last 4 KiB of stdout+stderr, decoded leniently
    error: str | None = None  # could not exec: ENOENT, EACCES, unknown user, ...

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.error is None

    def describe(self) -> str:
        """A short human reason: ``exit 1``, ``timed out after 2.0s``, ``signal 9``..."""
        if self.error is not None:
            return self.error
        if self.timed_out:
            return f"timed out after {self.duration:.1f}s"
        if self.returncode is not None and self.returncode < 0:
            return f"killed by signal {-self.returncode}"
        return f"exit {self.returncode}"


def _credentials(
    user: str | None, group: str | None
) -> tuple[int | None, int | None, list[int] | None]:
    """(uid, gid, supplementary groups) for a user/group name; raises KeyError if unknown.

    Like keepalived (and initgroups(3)), a user without an explicit group runs with its
    primary group and its supplementary groups, never with root's.
    """
    uid: int | None = None
    gid: int | None = None
    extra: list[int] | None = None
    if user is not None:
        pw = pwd.getpwuid(int(user)) if user.isdigit() else pwd.getpwnam(user)
        uid = pw.pw_uid
        gid = pw.pw_gid
        extra = os.getgrouplist(pw.pw_name, pw.pw_gid)
    if group is not None:
        gid = grp.getgrgid(int(group)).gr_gid if group.isdigit() else grp.getgrnam(group).gr_gid
        if extra is None:
            extra = []
    if os.geteuid() != 0:
        # Unprivileged (tests, dev): we cannot switch; only accept a no-op switch.
        if uid is not None and uid != os.geteuid():
            raise PermissionError(f"cannot run as user {user!r}: hookd is not root")
        return None, None, None
    return uid, gid, extra


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class _TailReader:
    """Drain a pipe's read end into a bounded buffer via the loop (never blocks it).

    We own the pipe rather than using asyncio's subprocess pipes: with those,
    ``Process.wait()`` also waits for EOF, which a background grandchild may never send.
    """

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.eof = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._on_readable)

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._loop.remove_reader(self.fd)
            self.eof.set()
            return
        self.buf.extend(chunk)
        if len(self.buf) > OUTPUT_TAIL_BYTES:
            del self.buf[: len(self.buf) - OUTPUT_TAIL_BYTES]

    def close(self) -> str:
        if not self.eof.is_set():
            self._loop.remove_reader(self.fd)
        os.close(self.fd)
        return self.buf.decode("utf-8", errors="replace")


async def run_program(
    argv: Sequence[str],
    *,
    timeout: float,
    user: str | None = None,
    group: str | None = None,
    env: Mapping[str, str] | None = None,
    kill_grace: float = 1.0,
) -> ProcResult:
    """Exec ``argv`` (no shell) in its own session/process group and wait up to ``timeout``.

    On timeout the whole process group gets SIGTERM, then SIGKILL after ``kill_grace``
    seconds; the result has ``timed_out=True``. ``env`` (when given) is the complete
    environment, as for :func:`subprocess.Popen`. stdin is /dev/null. If the caller is
    cancelled the process group is killed too. Never raises for a program's failure.
    """
    started = time.monotonic()
    if not argv:
        return ProcResult(None, False, 0.0, "", error="empty command")
    try:
        uid, gid, extra = _credentials(user, group)
    except (KeyError, PermissionError) as exc:
        who = f"{user or ''}{':' + group if group else ''}"
        msg = str(exc) if isinstance(exc, PermissionError) else f"unknown user/group {who!r}"
        return ProcResult(None, False, 0.0, "", error=msg)
    kwargs: dict[str, object] = {}
    if uid is not None:
        kwargs["user"] = uid
    if gid is not None:
        kwargs["group"] = gid
    if extra is not None:
        kwargs["extra_groups"] = extra
    rfd, wfd = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=wfd,
            stderr=wfd,
            env=dict(env) if env is not None else None,
            start_new_session=True,  # own process group: a timeout kills the grandchildren
            **kwargs,  # type: ignore[arg-type]
        )
    except OSError as exc:
        os.close(rfd)
        reason = exc.strerror or str(exc)
        return ProcResult(
            None, False, time.monotonic() - started, "", error=f"cannot exec {argv[0]}: {reason}"
        )
    finally:
        os.close(wfd)

    reader = _TailReader(rfd)
    timed_out = False
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
            _killpg(proc.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), kill_grace)
            # SIGKILL the group even if the leader went: children may ignore SIGTERM.
            _killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reader.eof.wait(), _DRAIN_AFTER_EXIT)
    except BaseException:
        _killpg(proc.pid, signal.SIGKILL)
        raise
    finally:
        tail = reader.close()
    return ProcResult(
        returncode=proc.returncode,
        timed_out=timed_out,
        duration=time.monotonic() - started,
        output_tail=tail,
    )


def _unsafe(path: str, st: os.stat_result) -> str | None:
    """keepalived's rule for one path element (a directory, or the script itself)."""
    if st.st_uid != 0:
        return f"{path} is owned by uid {st.st_uid}, not root"
    is_dir = stat.S_ISDIR(st.st_mode)
    sticky = bool(st.st_mode & stat.S_ISVTX)
    # A root-owned sticky directory (/tmp) may be world-writable: others cannot replace
    # a root-owned file in it.
    if (is_dir and not sticky) or stat.S_ISREG(st.st_mode):
        if st.st_gid != 0 and st.st_mode & stat.S_IWGRP:
            return f"{path} is writable by group {st.st_gid} (not root)"
        if st.st_mode & stat.S_IWOTH:
            return f"{path} is world-writable"
    return None


def run_as_uid(user: str | None) -> int:
    """The uid whose script security rules apply: ``user``'s, or root's (0) when no user
    is named (hookd runs as root) or the user is unknown (run_program reports that one)."""
    if user is None:
        return 0
    try:
        return pwd.getpwuid(int(user)).pw_uid if user.isdigit() else pwd.getpwnam(user).pw_uid
    except KeyError:
        return 0


def script_security_problem(
    argv0: str, *, enable_script_security: bool, run_as_uid: int = 0
) -> str | None:
    """Why ``argv0`` must not be run, or None if it may.

    Always: it must exist (a bare name is searched in PATH), be a regular file (after
    resolving symlinks) and be executable. With ``enable_script_security`` and a script
    that runs as root (``run_as_uid == 0``, or the file is setuid/setgid root), the file and
    every parent directory must be root-owned and not writable by a non-root user or group,
    except that a root-owned sticky directory (like /tmp) may be world-writable.
    """
    if not argv0:
        return "empty command"
    if "/" not in argv0:
        found = shutil.which(argv0)
        if found is None:
            return f"script {argv0} does not exist (not found in PATH)"
        argv0 = found
    if not os.path.lexists(argv0):
        return f"script {argv0} does not exist"
    real = os.path.realpath(argv0)
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"script {argv0} does not exist ({exc.strerror})"
    if not stat.S_ISREG(st.st_mode):
        return f"script {argv0} is not a regular file"
    if not st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        return f"script {argv0} is not executable"
    if not enable_script_security:
        return None
    runs_as_root = (
        run_as_uid == 0
        or (st.st_mode & stat.S_ISUID and st.st_uid == 0)
        or (st.st_mode & stat.S_ISGID and st.st_gid == 0)
    )
    if not runs_as_root:
        return None  # keepalived only protects scripts that end up running as root
    # Check every element from / down to the file itself (symlinks already resolved).
    parts = real.split("/")
    for i in range(1, len(parts) + 1):
        element = "/".join(parts[:i]) or "/"
        try:
            est = os.stat(element)
        except OSError as exc:
            return f"script {argv0}: cannot stat {element} ({exc.strerror})"
        why = _unsafe(element, est)
        if why is not None:
            shown = argv0 if real == argv0 else f"{argv0} (-> {real})"
            return f"unsafe permissions for script {shown}: {why} (enable_script_security)"
    return None
