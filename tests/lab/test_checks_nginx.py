"""The shipped nginx hooks against a real nginx on loopback (own config, pid file, port)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

HOOKS = Path(__file__).resolve().parents[2] / "hooks"
NGINX = "/usr/sbin/nginx"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx not installed"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(pred, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return bool(pred())


@dataclass
class Nginx:
    dir: Path
    conf: Path
    pidfile: Path
    port: int

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "NGINX": NGINX,
            "NGINX_CONF": str(self.conf),
            "NGINX_PID": str(self.pidfile),
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def master(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None

    def workers(self) -> set[int]:
        pid = self.master()
        if pid is None:
            return set()
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split()}

    def write_conf(self, broken: bool = False) -> None:
        d = self.dir
        self.conf.write_text(f"""
daemon on;
worker_processes 1;
pid {self.pidfile};
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        location / {{ return 200 "ok\\n"; }}
    }}
    {"this_is_not_a_directive on;" if broken else ""}
}}
""")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    tmp_path.chmod(0o755)  # workers run as nobody
    ng = Nginx(tmp_path, tmp_path / "nginx.conf", tmp_path / "nginx.pid", _free_port())
    ng.write_conf()
    subprocess.run(
        [NGINX, "-c", str(ng.conf), "-e", str(tmp_path / "error.log")],
        check=True,
        capture_output=True,
    )
    assert _wait(lambda: ng.master() is not None and ng.workers())
    try:
        yield ng
    finally:
        pid = ng.master()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            _wait(lambda: ng.master() is None, 5)
            if ng.master() is not None:
                os.kill(pid, signal.SIGKILL)


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
    assert _wait(lambda: nginx.workers() and not (nginx.workers() & before))


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
    assert _wait(lambda: nginx.master() is None)
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
