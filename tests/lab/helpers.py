"""Reusable pieces for lab tests: keepalived.conf text, hookd nodes in a Lab, waiting on state.

Typical use::

    with HookdLab(tmp_path, ("n1", "n2")) as hl:
        n1 = hl.start("n1", keepalived_conf("n1", vrrp_instance("VI_1", vrid=51,
                                           priority=150, vips=["10.99.0.100/24"])))
        assert n1.wait_state("VI_1", "MASTER", timeout=10)
        assert hl.lab.has_address("n1", "10.99.0.100")

The control socket is a filesystem unix socket, so the test process reads a node's status
directly (:meth:`HookdNode.status`) without entering its namespace; :meth:`status_cli`
goes through ``hookd status --json`` inside the namespace, as a user would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hookd.control import NotRunning, request
from hookd.netns import Lab, LabProcess, wait_until

PYTHON = sys.executable


def vrrp_instance(
    name: str,
    *,
    vrid: int,
    priority: int = 100,
    vips: Sequence[str] = (),
    interface: str = "eth0",
    version: int = 2,
    advert_int: float = 1,
    state: str = "BACKUP",
    nopreempt: bool = False,
    preempt_delay: float | None = None,
    auth_pass: str | None = None,
    unicast_src_ip: str | None = None,
    unicast_peer: Sequence[str] = (),
    garp_master_delay: float | None = None,
    extra: str = "",
) -> str:
    """One ``vrrp_instance`` block in keepalived.conf syntax."""
    lines = [
        f"vrrp_instance {name} {{",
        f"    state {state}",
        f"    interface {interface}",
        f"    virtual_router_id {vrid}",
        f"    priority {priority}",
        f"    advert_int {advert_int}",
        f"    version {version}",
    ]
    if nopreempt:
        lines.append("    nopreempt")
    if preempt_delay is not None:
        lines.append(f"    preempt_delay {preempt_delay}")
    if garp_master_delay is not None:
        lines.append(f"    garp_master_delay {garp_master_delay}")
    if auth_pass is not None:
        lines += [
            "    authentication {",
            "        auth_type PASS",
            f"        auth_pass {auth_pass}",
            "    }",
        ]
    if unicast_src_ip:
        lines.append(f"    unicast_src_ip {unicast_src_ip}")
    if unicast_peer:
        lines += ["    unicast_peer {", *(f"        {p}" for p in unicast_peer), "    }"]
    lines += ["    virtual_ipaddress {", *(f"        {v}" for v in vips), "    }"]
    if extra:
        lines += [f"    {line}" for line in extra.strip().splitlines()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def keepalived_conf(router_id: str, *blocks: str, global_extra: str = "") -> str:
    """A whole keepalived.conf: global_defs plus the given blocks."""
    head = ["global_defs {", f"    router_id {router_id}"]
    if global_extra:
        head += [f"    {line}" for line in global_extra.strip().splitlines()]
    head.append("}")
    return "\n".join(head) + "\n" + "".join(blocks)


@dataclass
class HookdNode(LabProcess):
    """One hookd daemon running inside a lab node."""

    # Not a field: pytest's session and stdin are kept, signals go to the hookd pid.
    detach = False

    lab: Lab
    node: str
    workdir: Path
    conf: Path
    state_dir: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    extra_args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # added to the daemon's environment

    def argv(self) -> list[str]:
        return [
            PYTHON,
            "-m",
            "hookd.cli",
            "run",
            "-f",
            str(self.conf),
            "--state-dir",
            str(self.state_dir),
            *self.extra_args,
        ]

    def start(self) -> HookdNode:
        """Start hookd (stderr and stdout appended to ``log_path``)."""
        self.spawn(self.argv(), env={**_env(), **self.env})
        return self

    def running(self) -> bool:
        return self.alive

    def kill(self) -> None:
        """SIGKILL: a crash (no priority 0, VIPs stay behind)."""
        super().kill()
        self.wait(5)

    def stop(self, timeout: float = 10) -> int | None:
        """SIGTERM and wait: returns the exit code (None if it did not exit)."""
        self.signal(signal.SIGTERM)
        return self.wait(timeout)

    def status(self) -> dict[str, Any] | None:
        """The daemon's status (direct control-socket request), or None if not answering."""
        try:
            return request(str(self.state_dir), "status", timeout=2)
        except (NotRunning, OSError, ValueError):
            return None

    def status_cli(self) -> tuple[int, str, str]:
        """``hookd status --state-dir D --json`` inside the node: (rc, stdout, stderr)."""
        proc = self.lab.run(
            self.node,
            [PYTHON, "-m", "hookd.cli", "status", "--state-dir", str(self.state_dir), "--json"],
            check=False,
        )
        return proc.returncode, proc.stdout, proc.stderr

    def instance(self, name: str) -> dict[str, Any] | None:
        st = self.status()
        if st is None:
            return None
        for inst in st.get("instances", []):
            if inst["name"] == name:
                return dict(inst)
        return None

    def state(self, name: str) -> str | None:
        inst = self.instance(name)
        return None if inst is None else str(inst["state"])

    def wait_state(self, name: str, state: str, timeout: float = 10) -> bool:
        """Poll until instance ``name`` is in ``state``."""
        return wait_until(lambda: self.state(name) == state, timeout)

    def wait_ready(self, timeout: float = 10) -> bool:
        """Until the control socket answers."""
        return wait_until(lambda: self.status() is not None, timeout)

    def history(self, instance: str | None = None) -> list[dict[str, Any]]:
        """``hookd history --state-dir D --json`` inside the node, one dict per line."""
        argv = [PYTHON, "-m", "hookd.cli", "history", "--state-dir", str(self.state_dir), "--json"]
        if instance is not None:
            argv += ["--instance", instance]
        proc = self.lab.run(self.node, argv)
        return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]

    def audit(self) -> list[dict[str, Any]]:
        """Every event in ``<state_dir>/audit.jsonl`` (transitions, priority changes, ...)."""
        try:
            text = (self.state_dir / "audit.jsonl").read_text()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def transitions(self, instance: str | None = None) -> list[dict[str, Any]]:
        """The transitions ``hookd history`` shows (optionally of one instance)."""
        return [e for e in self.history(instance) if e.get("kind") == "transition"]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The daemon must import the checkout under test, wherever pytest runs from.
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("NOTIFY_SOCKET", None)
    return env


def measure(
    predicate: Callable[[], object], timeout: float, interval: float = 0.01
) -> float | None:
    """Seconds until ``predicate()`` became true (None on timeout): for printed numbers."""
    start = time.monotonic()
    if wait_until(predicate, timeout, interval):
        return time.monotonic() - start
    return None


@dataclass
class HookdLab:
    """A :class:`~hookd.netns.Lab` plus hookd nodes; everything is removed on exit."""

    workdir: Path
    node_names: Sequence[str] = ("n1", "n2")
    lab: Lab = field(init=False)
    nodes: dict[str, HookdNode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lab = Lab(nodes_wanted=tuple(self.node_names))

    def __enter__(self) -> HookdLab:
        self.lab.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for n in self.nodes.values():
            if n.running():
                n.signal(signal.SIGKILL)
        self.lab.__exit__(*exc)

    def node(
        self,
        name: str,
        conf_text: str,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> HookdNode:
        """Write the config of a node (does not start it)."""
        d = self.workdir / name
        d.mkdir(parents=True, exist_ok=True)
        conf = d / "keepalived.conf"
        conf.write_text(conf_text)
        hn = HookdNode(
            self.lab,
            name,
            d,
            conf,
            d / "state",
            d / "hookd.log",
            extra_args=extra_args,
            env=dict(env or {}),
        )
        self.nodes[name] = hn
        return hn

    def start(
        self,
        name: str,
        conf_text: str,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> HookdNode:
        """Write the config and start hookd in node ``name``; waits for the control socket."""
        hn = self.node(name, conf_text, extra_args, env).start()
        if not hn.wait_ready(15):
            raise AssertionError(f"hookd on {name} did not come up:\n{hn.log()}")
        return hn

    def holders(self, address: str, names: Iterable[str] | None = None) -> list[str]:
        """Which nodes hold ``address`` on eth0 right now."""
        return [n for n in (names or self.lab.nodes) if self.lab.has_address(n, address)]

    def logs(self) -> str:
        return "\n".join(f"===== {n} =====\n{hn.log()}" for n, hn in self.nodes.items())

    def dump(self) -> str:
        """Logs and status of every node, for assertion messages."""
        parts = [self.logs()]
        for n, hn in self.nodes.items():
            parts.append(f"----- status {n}: {json.dumps(hn.status(), indent=1)}")
        return "\n".join(parts)
