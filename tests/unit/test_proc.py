"""hookd.proc: exec without a shell, timeouts kill the process group, user drop, security."""

from __future__ import annotations

import os
import pwd
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookd.proc import ProcResult, run_program, script_security_problem

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is as good as dead (reaped by init later).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def test_ok_and_output_tail() -> None:
    res = await run_program(["/bin/sh", "-c", "echo out; echo err >&2; exit 0"], timeout=5)
    assert res.ok and res.returncode == 0 and not res.timed_out
    assert "out" in res.output_tail and "err" in res.output_tail


async def test_no_shell_and_exit_code() -> None:
    # The argument is passed verbatim: no shell expands `$HOME` or `;`.
    res = await run_program(["/bin/echo", "$HOME; false"], timeout=5)
    assert res.ok and res.output_tail.strip() == "$HOME; false"
    res = await run_program(["/bin/sh", "-c", "exit 3"], timeout=5)
    assert not res.ok and res.returncode == 3 and res.describe() == "exit 3"


async def test_output_tail_is_last_4k() -> None:
    res = await run_program(
        ["/bin/sh", "-c", "head -c 10000 /dev/zero | tr '\\0' a; echo END"], timeout=5
    )
    assert len(res.output_tail) == 4096 and res.output_tail.endswith("END\n")


async def test_stdin_is_devnull() -> None:
    res = await run_program(["/bin/cat"], timeout=5)
    assert res.ok and res.output_tail == ""


async def test_exec_errors() -> None:
    res = await run_program(["/nonexistent/prog"], timeout=5)
    assert res.error and "cannot exec" in res.error and not res.ok and res.returncode is None
    res = await run_program(["/etc/hostname"], timeout=5)  # not executable: EACCES
    assert res.error and not res.ok
    res = await run_program(["/bin/true"], timeout=5, user="no-such-user-hookd")
    assert res.error and "unknown user" in res.error


async def test_env_is_complete_environment() -> None:
    res = await run_program(["/usr/bin/env"], timeout=5, env={"HOOKD_X": "1"})
    assert res.output_tail.strip() == "HOOKD_X=1"


async def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # The child ignores SIGTERM, so only the group SIGKILL after kill_grace ends it.
    script = f"sh -c 'trap \"\" TERM; echo $$ > {pidfile}; sleep 30' & wait"
    t0 = time.monotonic()
    res = await run_program(["/bin/sh", "-c", script], timeout=0.3, kill_grace=0.2)
    assert res.timed_out and not res.ok
    assert time.monotonic() - t0 < 5
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _pid_alive(child)


async def test_background_grandchild_does_not_block_result() -> None:
    # The script exits at once but leaves a sleeper holding the pipe open.
    res = await run_program(["/bin/sh", "-c", "sleep 5 & echo done"], timeout=3)
    assert res.ok and res.duration < 2
    assert "done" in res.output_tail


@needs_root
async def test_user_drop_to_nobody() -> None:
    nobody = pwd.getpwnam("nobody")
    res = await run_program(["/usr/bin/id"], timeout=5, user="nobody")
    assert res.ok, res
    assert f"uid={nobody.pw_uid}" in res.output_tail
    assert f"gid={nobody.pw_gid}" in res.output_tail
    assert "(root)" not in res.output_tail  # no root supplementary group left


def test_procresult_ok() -> None:
    assert ProcResult(0, False, 0.1, "").ok
    assert not ProcResult(0, True, 0.1, "").ok
    assert not ProcResult(0, False, 0.1, "", error="x").ok


# --- script security ----------------------------------------------------------------


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """A private root-owned 0755 directory (mkdtemp makes 0700)."""
    d = Path(tempfile.mkdtemp(prefix="hookd-sec-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        for p in sorted(d.rglob("*"), reverse=True):
            p.unlink() if not p.is_dir() or p.is_symlink() else p.rmdir()
        d.rmdir()


def _script(path: Path, mode: int = 0o755) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


def test_missing_and_not_executable(root_dir: Path) -> None:
    msg = script_security_problem(str(root_dir / "nope"), enable_script_security=False)
    assert msg and "does not exist" in msg
    msg = script_security_problem("no-such-prog-hookd", enable_script_security=False)
    assert msg and "does not exist" in msg
    s = _script(root_dir / "s", 0o644)
    msg = script_security_problem(str(s), enable_script_security=False)
    assert msg and "not executable" in msg
    assert script_security_problem("true", enable_script_security=True) is None


@needs_root
def test_secure_script_ok(root_dir: Path) -> None:
    s = _script(root_dir / "ok")
    assert script_security_problem(str(s), enable_script_security=True) is None


@needs_root
def test_world_writable_script_or_dir_refused(root_dir: Path) -> None:
    s = _script(root_dir / "ww", 0o757)
    msg = script_security_problem(str(s), enable_script_security=True)
    assert msg and "world-writable" in msg
    # Without enable_script_security it runs (keepalived only warns).
    assert script_security_problem(str(s), enable_script_security=False) is None
    sub = root_dir / "sub"
    sub.mkdir()
    sub.chmod(0o777)
    s2 = _script(sub / "x")
    msg = script_security_problem(str(s2), enable_script_security=True)
    assert msg and str(sub) in msg and "world-writable" in msg


@needs_root
def test_non_root_owner_refused(root_dir: Path) -> None:
    s = _script(root_dir / "owned")
    nobody = pwd.getpwnam("nobody")
    os.chown(s, nobody.pw_uid, 0)
    msg = script_security_problem(str(s), enable_script_security=True)
    assert msg and "not root" in msg
    # Run as a non-root user, the script cannot gain anything: allowed (as keepalived).
    assert (
        script_security_problem(str(s), enable_script_security=True, run_as_uid=nobody.pw_uid)
        is None
    )


@needs_root
def test_sticky_root_dir_ok_but_non_root_file_in_it_refused(root_dir: Path) -> None:
    sticky = root_dir / "tmpish"
    sticky.mkdir()
    sticky.chmod(0o1777)
    assert sticky.stat().st_mode & stat.S_ISVTX
    s = _script(sticky / "root-owned")
    assert script_security_problem(str(s), enable_script_security=True) is None
    s2 = _script(sticky / "nobody-owned")
    os.chown(s2, pwd.getpwnam("nobody").pw_uid, 0)
    msg = script_security_problem(str(s2), enable_script_security=True)
    assert msg and "not root" in msg


@needs_root
def test_symlink_resolved(root_dir: Path) -> None:
    sub = root_dir / "unsafe"
    sub.mkdir()
    sub.chmod(0o777)
    target = _script(sub / "real")
    link = root_dir / "link"
    link.symlink_to(target)
    msg = script_security_problem(str(link), enable_script_security=True)
    assert msg and str(target) in msg
