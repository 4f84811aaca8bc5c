"""The shipped nginx hooks against a real nginx on loopback (own config, pid file, port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hookd.netns import wait_until
from tests.lab.nginx import NGINX, Nginx

HOOKS = Path(__file__).resolve().parents[2] / "hooks"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    tmp_path.chmod(0o755)  # workers run as nobody
    ng = Nginx(tmp_path, port=_free_port())
    ng.start()
    try:
        yield ng
    finally:
        ng.stop()


def hook(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HOOKS / name), *args], capture_output=True, text=True, env=env, timeout=30
    )


def test_hooks_are_executable() -> None:
    for name in ("check-nginx", "nginx-reload", "check-peer"):
        assert os.access(HOOKS / name, os.X_OK), name


def test_reload_starts_new_workers(nginx: Nginx) -> None:
    before = nginx.workers()
    res = hook("nginx-reload", "INSTANCE", "VI_1", "MASTER", "100", env=nginx.env)
    assert res.returncode == 0, res.stderr
    assert wait_until(lambda: nginx.workers() and not (nginx.workers() & before), 10.0)


def test_reload_refuses_broken_config(nginx: Nginx) -> None:
    before = nginx.workers()
    nginx.write_conf(broken=True)
    res = hook("nginx-reload", env=nginx.env)
    assert res.returncode != 0
    assert "configuration test failed" in res.stderr
    assert "this_is_not_a_directive" in res.stderr  # nginx's own reason is passed on
    assert nginx.workers() == before  # still serving with the old config


def test_check_nginx_ok_then_fails_after_stop(nginx: Nginx) -> None:
    res = hook("check-nginx", nginx.url, env=nginx.env)
    assert res.returncode == 0, res.stderr
    pid = nginx.master()
    assert pid is not None
    subprocess.run([NGINX, "-c", str(nginx.conf), "-s", "stop"], check=True, capture_output=True)
    assert wait_until(lambda: nginx.master() is None, 10.0)
    res = hook("check-nginx", nginx.url, env=nginx.env)
    assert res.returncode == 1
    assert "check-nginx:" in res.stderr


def test_check_nginx_without_curl(nginx: Nginx, tmp_path: Path) -> None:
    # A PATH with only what the /dev/tcp fallback needs (no curl).
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("bash", "tr", "timeout", "cat"):
        found = shutil.which(tool)
        assert found
        (bindir / tool).symlink_to(found)
    env = {**nginx.env, "PATH": str(bindir)}
    res = subprocess.run(
        ["bash", str(HOOKS / "check-nginx"), nginx.url],
        capture_output=True,
        text=True,
        env=env,
        executable=str(bindir / "bash"),
        timeout=30,
    )
    assert res.returncode == 0, res.stderr
    res = subprocess.run(
        ["bash", str(HOOKS / "check-nginx"), f"http://127.0.0.1:{nginx.port}/"],
        capture_output=True,
        text=True,
        env={**env, "NGINX_PID": str(tmp_path / "nope.pid")},
        executable=str(bindir / "bash"),
        timeout=30,
    )
    assert res.returncode == 1 and "pid file" in res.stderr
