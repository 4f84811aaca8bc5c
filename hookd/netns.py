"""Throw-away network labs: namespaces joined by a bridge, for `hookd lab` and the tests.

Every lab gets unique names, lives entirely inside namespaces it created, and removes
them on exit (also on exceptions and Ctrl-C). Nothing here touches the root namespace
beyond creating and deleting namespaces.

Topology: a switch namespace ``<tag>-sw`` holding bridge ``br0``; each node namespace
``<tag>-<node>`` has ``eth0`` whose veth peer ``p<i>`` is a port of ``br0``. Node *i*
(1-based) gets ``<net4>.<i>/24`` and ``<net6>::<i>/64``; a node named ``gw`` gets ``.254``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class LabError(RuntimeError):
    """A lab could not be built (not root, no iproute2, ...)."""


def require_root() -> None:
    """Refuse clearly when the lab cannot work."""
    if os.geteuid() != 0:
        raise LabError("hookd lab needs root (CAP_NET_ADMIN) to create network namespaces")
    if shutil.which("ip") is None:
        raise LabError("hookd lab needs iproute2 (`ip`): apt-get install iproute2")


def _run(argv: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.returncode}")
    return proc


@dataclass
class Node:
    """One host of the lab."""

    name: str
    ns: str
    index: int
    port: str  # the bridge port (in the switch namespace) of this node's eth0
    ipv4: str
    ipv6: str
    ifname: str = "eth0"


@dataclass
class Lab:
    """A bridge plus nodes, each in its own namespace. Use as a context manager."""

    nodes_wanted: Sequence[str] = ("n1", "n2")
    net4: str = "10.99.0"
    net6: str = "fd99:0:0:0"
    tag: str = field(default_factory=lambda: f"hk{os.getpid() % 100000}{secrets.token_hex(2)}")
    nodes: dict[str, Node] = field(default_factory=dict)
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _namespaces: list[str] = field(default_factory=list)

    @property
    def switch(self) -> str:
        return f"{self.tag}-sw"

    # --- life cycle -------------------------------------------------------------------

    def __enter__(self) -> Lab:
        try:
            self.create()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def _add_ns(self, ns: str) -> None:
        _run(["ip", "netns", "add", ns])
        self._namespaces.append(ns)
        _run(["ip", "-n", ns, "link", "set", "lo", "up"])

    def create(self) -> None:
        require_root()
        self._add_ns(self.switch)
        sw = self.switch
        _run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
        _run(["ip", "-n", sw, "link", "set", "br0", "up"])
        for i, name in enumerate(self.nodes_wanted, start=1):
            self.add_node(name, i)

    def add_node(self, name: str, index: int) -> Node:
        host = 254 if name == "gw" else index
        ns = f"{self.tag}-{name}"
        port = f"p{index}"
        self._add_ns(ns)
        # No DAD in the lab: addresses must be usable at once, VIPs and link-local too;
        # set before eth0 exists so it inherits `default`.
        for key in ("accept_dad", "dad_transmits"):
            _run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.all.{key}=0"],
                 check=False)
            _run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.default.{key}=0"],
                 check=False)
        _run(["ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port,
              "netns", self.switch])
        _run(["ip", "-n", self.switch, "link", "set", port, "master", "br0", "up"])
        node = Node(name=name, ns=ns, index=index, port=port,
                    ipv4=f"{self.net4}.{host}", ipv6=f"{self.net6}::{host:x}")
        _run(["ip", "-n", ns, "addr", "add", f"{node.ipv4}/24", "dev", "eth0"])
        _run(["ip", "-n", ns, "-6", "addr", "add", f"{node.ipv6}/64", "dev", "eth0", "nodad"])
        _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
        self.nodes[name] = node
        return node

    def destroy(self) -> None:
        """Kill what we started and delete every namespace we created (idempotent)."""
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=5)
        self.procs.clear()
        for ns in reversed(self._namespaces):
            self.kill_all_in(ns)
            _run(["ip", "netns", "del", ns], check=False)
        self._namespaces.clear()

    @staticmethod
    def kill_all_in(ns: str) -> None:
        """SIGKILL every process still running inside a namespace."""
        out = _run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in out:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)

    # --- running things in a node -----------------------------------------------------

    def argv(self, node: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.nodes[node].ns, *argv]

    def run(self, node: str, argv: Sequence[str], check: bool = True,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(self.argv(node, argv), capture_output=True, text=True,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise LabError(f"[{node}] {' '.join(argv)}: {proc.stderr.strip()}")
        return proc

    def popen(self, node: str, argv: Sequence[str], **kw: object) -> subprocess.Popen[bytes]:
        """Start a long-running process in a node; killed by destroy()."""
        p: subprocess.Popen[bytes] = subprocess.Popen(self.argv(node, argv), **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    # --- faults -----------------------------------------------------------------------

    def partition(self, node: str) -> None:
        """Cut a node off the bridge; its own carrier stays up (the split-brain case)."""
        _run(["ip", "-n", self.switch, "link", "set", self.nodes[node].port, "nomaster"])

    def heal(self, node: str) -> None:
        _run(["ip", "-n", self.switch, "link", "set", self.nodes[node].port, "master", "br0"])

    def carrier(self, node: str, up: bool) -> None:
        """Take the bridge side down: the node's eth0 loses carrier (IFF_LOWER_UP)."""
        _run(["ip", "-n", self.switch, "link", "set", self.nodes[node].port,
              "up" if up else "down"])

    # --- observation ------------------------------------------------------------------

    def addresses(self, node: str, ifname: str = "eth0") -> set[str]:
        """Addresses (without prefix) currently on a node's interface."""
        out = self.run(node, ["ip", "-o", "addr", "show", "dev", ifname]).stdout
        addrs: set[str] = set()
        for line in out.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[2] in ("inet", "inet6"):
                addrs.add(parts[3].split("/")[0])
        return addrs

    def has_address(self, node: str, address: str, ifname: str = "eth0") -> bool:
        return address in self.addresses(node, ifname)

    def wait_for(self, predicate: object, timeout: float = 10.0,
                 interval: float = 0.02) -> bool:
        """Poll ``predicate()`` until true or timeout; returns the last result."""
        assert callable(predicate)
        return wait_until(predicate, timeout, interval)


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate()`` until truthy or ``timeout`` seconds passed (checked once more then)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class LabProcess:
    """A long-running process in a lab node, its stdout and stderr appended to a log file.

    ``detach=True`` starts it in its own session with stdin from /dev/null, and signals go
    to the whole process group: a daemon's children (keepalived's VRRP child) die with it,
    instead of turning a SIGKILL of the parent into a graceful stop. ``detach=False``
    keeps the caller's session and signals the pid (``ip netns exec`` execs the program,
    so that pid is the program's).
    """

    lab: Lab
    node: str
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    detach: bool = True

    def __init__(self, lab: Lab, node: str, log_path: Path, *, detach: bool = True) -> None:
        self.lab = lab
        self.node = node
        self.log_path = log_path
        self.proc = None
        self.detach = detach

    def spawn(self, argv: Sequence[str], env: Mapping[str, str] | None = None) -> None:
        """Start ``argv`` in the node (killed by the lab's destroy() at the latest)."""
        kw: dict[str, object] = {"env": None if env is None else dict(env)}
        if self.detach:
            kw.update(stdin=subprocess.DEVNULL, start_new_session=True)
        with open(self.log_path, "ab") as log:
            # The child has its own copy of the descriptor; ours can close.
            self.proc = self.lab.popen(self.node, argv, stdout=log, stderr=subprocess.STDOUT,
                                       **kw)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        """Send ``sig`` while the process runs (to its group when detached)."""
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if self.detach:
                    os.killpg(self.proc.pid, sig)
                else:
                    os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL: a crash (no priority 0 advert, VIPs stay behind); does not wait."""
        self.signal(signal.SIGKILL)

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None if it did not exit within ``timeout`` (or never started)."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (graceful: priority 0 advert, VIPs removed) and wait; SIGKILL if stuck."""
        if self.proc is None:
            return None
        self.signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.proc.wait(timeout=5)

    def log(self) -> str:
        """The log file so far ("" before the process wrote anything)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@contextlib.contextmanager
def lab(nodes: Sequence[str] = ("n1", "n2")) -> Iterator[Lab]:
    """``with lab(("n1", "n2", "gw")) as l: ...``"""
    with Lab(nodes_wanted=nodes) as built:
        yield built
