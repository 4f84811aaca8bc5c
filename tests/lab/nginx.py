"""A private nginx for the lab tests: own config, pid file, logs and temp dirs in one dir.

It runs on loopback, in the test's own namespace or (given a lab and a node) in a lab node.
"""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hookd.netns import Lab, wait_until

NGINX = "/usr/sbin/nginx"
BROKEN = "this_is_not_a_directive on;"  # nginx refuses a config holding it


@dataclass
class Nginx:
    """A private nginx (own config, pid file, logs, temp dirs) listening on 127.0.0.1."""

    dir: Path
    port: int = 8080
    worker_processes: int = 1
    lab: Lab | None = None  # with node: run nginx inside that lab node
    node: str = ""

    @property
    def conf(self) -> Path:
        return self.dir / "nginx.conf"

    @property
    def pidfile(self) -> Path:
        return self.dir / "nginx.pid"

    @property
    def env(self) -> dict[str, str]:
        """The environment the shipped nginx hooks read to find this nginx."""
        return {
            **os.environ,
            "NGINX": NGINX,
            "NGINX_CONF": str(self.conf),
            "NGINX_PID": str(self.pidfile),
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def write_conf(self, broken: bool = False) -> None:
        d = self.dir
        self.conf.write_text(f"""daemon on;
worker_processes {self.worker_processes};
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
    {BROKEN if broken else ""}
}}
""")

    def start(self) -> None:
        """Write a good config, start nginx (it daemonizes) and wait for all its workers."""
        self.write_conf()
        argv = [NGINX, "-c", str(self.conf), "-e", str(self.dir / "error.log")]
        if self.lab is not None:
            self.lab.run(self.node, argv)
        else:
            subprocess.run(argv, check=True, capture_output=True)
        assert wait_until(lambda: len(self.workers()) == self.worker_processes, 10), (
            "nginx did not start"
        )

    def master(self) -> int | None:
        """The master's pid while it runs."""
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def workers(self) -> set[int]:
        """The pids of the master's children (its workers)."""
        pid = self.master()
        if pid is None:
            return set()
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
        return {int(p) for p in out.stdout.split()}

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL if the master is still there after 5 s."""
        pid = self.master()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
            if not wait_until(lambda: self.master() is None, 5):
                os.kill(pid, signal.SIGKILL)
