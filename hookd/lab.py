"""`hookd lab`: a real two-node failover in network namespaces, with a measured timeline.

Besides the command, this module holds the small toolkit the lab tests and ``bench/`` share:

- :class:`VrrpSpec` / :class:`ScriptSpec` and :func:`render_keepalived_conf`: generated
  keepalived.conf text (read by hookd *and* by real keepalived in the interop tests);
- :class:`HookdNode`: one ``hookd run`` inside a lab node, with ``status`` / ``history``;
- :class:`VipWatcher`: a netlink (RTM_NEWADDR/RTM_DELADDR) watcher run inside a node that
  timestamps VIP changes with CLOCK_MONOTONIC, which is system-wide, so its stamps compare
  with the moment another process sent SIGKILL.

``python -m hookd.lab watch ADDR...`` is the watcher's entry point (run under
``ip netns exec``); it prints ``<monotonic_ns> add|del|present <address>`` lines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from hookd.netns import Lab, LabError, LabProcess, require_root

__all__ = [
    "HookdNode",
    "ScriptSpec",
    "VipWatcher",
    "VrrpSpec",
    "instances_of",
    "main",
    "master_down_interval",
    "receive_drops",
    "render_keepalived_conf",
    "skew_time",
]

# --- configuration ----------------------------------------------------------------------


@dataclass(frozen=True)
class ScriptSpec:
    """A ``vrrp_script`` block (keepalived vocabulary)."""

    name: str
    script: str  # split on whitespace by keepalived and hookd alike
    interval: float = 1.0
    weight: int = 0
    fall: int = 1
    rise: int = 1
    timeout: float | None = None


@dataclass(frozen=True)
class VrrpSpec:
    """A ``vrrp_instance`` block (keepalived vocabulary)."""

    name: str = "VI_1"
    vrid: int = 51
    version: int = 2
    priority: int = 100
    advert_int: float = 1.0
    vips: tuple[str, ...] = ("10.99.0.100/24",)
    interface: str = "eth0"
    state: str = "BACKUP"
    auth_pass: str | None = None
    unicast_src_ip: str | None = None
    unicast_peers: tuple[str, ...] = ()
    track_scripts: tuple[str, ...] = ()
    nopreempt: bool = False
    extra: tuple[str, ...] = ()  # raw lines appended inside the block

    @property
    def vip_addresses(self) -> tuple[str, ...]:
        """The VIPs without their prefix length."""
        return tuple(v.split("/")[0] for v in self.vips)


def _fmt_interval(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def render_keepalived_conf(
    router_id: str,
    instances: Sequence[VrrpSpec],
    scripts: Sequence[ScriptSpec] = (),
    *,
    script_user: str | None = "root",
) -> str:
    """keepalived.conf text for a lab node; valid for keepalived 2.2.7 and for hookd."""
    lines = ["global_defs {", f"  router_id {router_id}"]
    if script_user:
        lines += [f"  script_user {script_user}", "  enable_script_security"]
    lines.append("}")
    for s in scripts:
        lines += [
            f"vrrp_script {s.name} {{",
            f'  script "{s.script}"',
            f"  interval {_fmt_interval(s.interval)}",
            f"  weight {s.weight}",
            f"  fall {s.fall}",
            f"  rise {s.rise}",
        ]
        if s.timeout is not None:
            lines.append(f"  timeout {_fmt_interval(s.timeout)}")
        lines.append("}")
    for i in instances:
        lines += [
            f"vrrp_instance {i.name} {{",
            f"  state {i.state}",
            f"  interface {i.interface}",
            f"  virtual_router_id {i.vrid}",
            f"  priority {i.priority}",
            f"  advert_int {_fmt_interval(i.advert_int)}",
        ]
        if i.version != 2:
            lines.append(f"  version {i.version}")
        if i.nopreempt:
            lines.append("  nopreempt")
        if i.auth_pass is not None:
            lines += [
                "  authentication {",
                "    auth_type PASS",
                f"    auth_pass {i.auth_pass}",
                "  }",
            ]
        if i.unicast_src_ip:
            lines.append(f"  unicast_src_ip {i.unicast_src_ip}")
        if i.unicast_peers:
            lines += ["  unicast_peer {", *(f"    {p}" for p in i.unicast_peers), "  }"]
        if i.track_scripts:
            lines += ["  track_script {", *(f"    {t}" for t in i.track_scripts), "  }"]
        lines += ["  virtual_ipaddress {", *(f"    {v}" for v in i.vips), "  }"]
        lines += [f"  {x}" for x in i.extra]
        lines.append("}")
    return "\n".join(lines) + "\n"


# --- protocol timers ----------------------------------------------------------------------


def skew_time(priority: int, advert_int: float, version: int) -> float:
    """Skew_Time (RFC 3768 / RFC 5798); from hookd.vrrp.fsm when it is available."""
    inst = _fsm_instance(priority, advert_int, version)
    if inst is not None:
        return float(inst.skew_time())
    if version == 2:
        return (256 - priority) / 256
    return (256 - priority) * advert_int / 256


def master_down_interval(priority: int, advert_int: float, version: int) -> float:
    """Master_Down_Interval = 3 x advert_int + Skew_Time of the backup's priority."""
    inst = _fsm_instance(priority, advert_int, version)
    if inst is not None:
        return float(inst.master_down_interval())
    return 3 * advert_int + skew_time(priority, advert_int, version)


def _fsm_instance(priority: int, advert_int: float, version: int) -> Any | None:
    # The engine is the authority on its own timers; fall back to the RFC formula while
    # it is not importable (or its API differs).
    try:
        from hookd.vrrp.fsm import InstanceConfig, VrrpInstance

        cfg = InstanceConfig(
            name="x", vrid=1, version=version, priority=priority, advert_int=advert_int
        )
        inst = VrrpInstance(cfg)
        inst.master_down_interval()
        return inst
    except Exception:
        return None


# --- processes in lab nodes ---------------------------------------------------------------


def _killpg(proc: subprocess.Popen[bytes], sig: int) -> None:
    # Processes are started in their own session: the group takes children along
    # (keepalived's VRRP child would otherwise turn a SIGKILL into a graceful stop).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


class HookdNode(LabProcess):
    """One ``hookd run`` in a lab node, with its own state dir, config and log file."""

    def __init__(
        self,
        lab: Lab,
        node: str,
        workdir: Path,
        conf: str,
        settings: str | None = None,
        log_level: str = "INFO",
    ) -> None:
        self.dir = Path(workdir) / node
        self.dir.mkdir(parents=True, exist_ok=True)
        super().__init__(lab, node, self.dir / "hookd.log")
        self.conf_path = self.dir / "keepalived.conf"
        self.conf_path.write_text(conf)
        self.settings_path: Path | None = None
        if settings is not None:
            self.settings_path = self.dir / "hookd.toml"
            self.settings_path.write_text(settings)
        self.state_dir = self.dir / "state"
        self.state_dir.mkdir(exist_ok=True)
        self.log_level = log_level

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "hookd.cli",
            "run",
            "-f",
            str(self.conf_path),
            "--state-dir",
            str(self.state_dir),
            "--log-level",
            self.log_level,
        ]
        if self.settings_path is not None:
            argv += ["--settings", str(self.settings_path)]
        self.spawn(argv)

    def _cli(self, *args: str, timeout: float = 10.0) -> subprocess.CompletedProcess[str]:
        # The control socket is a path in the state dir: reachable from any namespace.
        return subprocess.run(
            [sys.executable, "-m", "hookd.cli", *args, "--state-dir", str(self.state_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def status(self) -> dict[str, object] | None:
        """``hookd status --json`` parsed, or None while the daemon does not answer."""
        try:
            from hookd.control import request
        except ImportError:
            request = None  # type: ignore[assignment]
        if request is not None:
            # In-process: a unix-socket round trip instead of a Python start-up per poll.
            try:
                reply = request(str(self.state_dir), "status", timeout=5.0)
            except (OSError, ValueError, RuntimeError):
                return None
            return reply if isinstance(reply, dict) else None
        try:
            out = self._cli("status", "--json")
        except subprocess.TimeoutExpired:
            return None
        if out.returncode != 0:
            return None
        try:
            data = json.loads(out.stdout)
        except ValueError:
            return None
        return data if isinstance(data, dict) else {"instances": data}

    def instances(self) -> dict[str, dict[str, object]]:
        """Per instance name, its status record ({} while unavailable)."""
        return instances_of(self.status())

    def state(self, instance: str) -> str | None:
        rec = self.instances().get(instance)
        return str(rec.get("state")).upper() if rec else None

    def history(self) -> str:
        try:
            out = self._cli("history")
        except subprocess.TimeoutExpired:
            return "(hookd history timed out)"
        return out.stdout if out.returncode == 0 else f"(hookd history: {out.stderr.strip()})"


def instances_of(status: dict[str, object] | None) -> dict[str, dict[str, object]]:
    """Normalise ``hookd status --json`` to {instance name: record}."""
    if not status:
        return {}
    raw = status.get("instances", status)
    if isinstance(raw, dict):
        return {str(k): v for k, v in raw.items() if isinstance(v, dict)}
    if isinstance(raw, list):
        return {str(r.get("name")): r for r in raw if isinstance(r, dict)}
    return {}


def receive_drops(status: dict[str, object] | None) -> Counter[str]:
    """Every receive drop of a daemon, per reason: its instances' plus its interfaces'.

    Per-instance counters hold what an instance refused (TTL, auth, ...); per-interface
    ones what no instance could be given (undecodable, unknown VRID). ``send_error`` is
    not a received packet and is left out.
    """
    total: Counter[str] = Counter()
    if not status:
        return total
    for rec in instances_of(status).values():
        _add_counts(total, rec.get("drops"))
    interfaces = status.get("interfaces")
    if isinstance(interfaces, dict):
        for rec in interfaces.values():
            _add_counts(
                total, rec.get("drops") if isinstance(rec, dict) and "drops" in rec else rec
            )
    total.pop("send_error", None)
    return total


def _add_counts(total: Counter[str], counts: object) -> None:
    if isinstance(counts, dict):
        for reason, n in counts.items():
            if isinstance(n, int) and not isinstance(n, bool):
                total[str(reason)] += n


class VipWatcher:
    """Timestamps of address changes inside one node, from a netlink subscriber there."""

    def __init__(self, lab: Lab, node: str, *, adverts: bool = False) -> None:
        self.lab = lab
        self.node = node
        self.events: list[tuple[float, str, str]] = []  # (monotonic s, add|del|present, addr)
        # With adverts=True: every VRRP packet heard, (monotonic s, src, vrid, priority).
        self.adverts: list[tuple[float, str, int, int]] = []
        self._cond = threading.Condition()
        self._ready = False
        extra = ["--adverts", lab.nodes[node].ifname] if adverts else []
        self.proc = lab.popen(
            node,
            [sys.executable, "-m", "hookd.lab", "watch", *extra],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        with self._cond:
            self._cond.wait_for(lambda: self._ready or self.proc.poll() is not None, 15)
        if not self._ready:
            raise LabError(f"[{node}] the netlink address watcher did not start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            parts = raw.decode().split()
            with self._cond:
                if parts == ["READY"]:
                    self._ready = True
                elif len(parts) == 3:
                    self.events.append((int(parts[0]) / 1e9, parts[1], parts[2]))
                elif len(parts) == 5 and parts[1] == "advert":
                    self.adverts.append(
                        (int(parts[0]) / 1e9, parts[2], int(parts[3]), int(parts[4]))
                    )
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def present(self, addr: str) -> bool:
        """Whether the address is on the node now, as far as the watcher saw."""
        with self._cond:
            for _t, kind, a in reversed(self.events):
                if a == addr:
                    return kind != "del"
        return False

    def wait(
        self, addr: str, kind: str = "add", after: float = 0.0, timeout: float = 10.0
    ) -> float | None:
        """Monotonic time of the first ``kind`` event for addr at/after ``after``."""
        kinds = ("add", "present") if kind == "add" else (kind,)

        def found() -> float | None:
            for t, k, a in self.events:
                if a == addr and k in kinds and t >= after:
                    return t
            return None

        with self._cond:
            self._cond.wait_for(lambda: found() is not None, timeout)
            return found()

    def last_advert(self, src: str, before: float, *, priority_zero: bool = False) -> float | None:
        """Arrival time of the last advert from src (priority 0 or not) before a time."""
        with self._cond:
            for t, s, _vrid, prio in reversed(self.adverts):
                if s == src and t <= before and (prio == 0) == priority_zero:
                    return t
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            _killpg(self.proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)


def _open_sniffer(ifname: str) -> Any:
    """A raw IPPROTO 112 socket on ifname, joined to 224.0.0.18 there."""
    import socket
    import struct

    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    # Join the group ourselves: the daemon under test comes and goes between trials.
    mreqn = struct.pack(
        "4s4si", socket.inet_aton("224.0.0.18"), bytes(4), socket.if_nametoindex(ifname)
    )
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
    return sock


def _sniff_adverts(sock: Any, write: Callable[[str], None]) -> None:
    """Print ``<ns> advert <src> <vrid> <priority>`` for every IPv4 VRRP packet heard."""
    import socket

    while True:
        data = sock.recv(65535)
        t = time.monotonic_ns()
        ihl = (data[0] & 0x0F) * 4
        if len(data) < ihl + 3:
            continue
        src = socket.inet_ntoa(data[12:16])
        write(f"{t} advert {src} {data[ihl + 1]} {data[ihl + 2]}\n")


def _watch_main(argv: Sequence[str]) -> int:
    """Inside a namespace: print every address add/del with CLOCK_MONOTONIC ns.

    ``--adverts IFNAME`` also prints every VRRP (IPv4) packet heard on IFNAME, so a bench
    can tell when the last advert before a failure arrived.
    """
    from pyroute2 import IPRoute
    from pyroute2.netlink.rtnl import RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR

    args = list(argv)
    sniff: str | None = None
    if "--adverts" in args:
        i = args.index("--adverts")
        sniff = args[i + 1]
        del args[i : i + 2]
    wanted = set(args)
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            sys.stdout.write(line)
            sys.stdout.flush()

    with IPRoute() as ipr:
        ipr.bind(groups=RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
        if sniff:
            sock = _open_sniffer(sniff)
            threading.Thread(target=_sniff_adverts, args=(sock, write), daemon=True).start()
        now = time.monotonic_ns()
        for msg in ipr.get_addr():
            addr = msg.get_attr("IFA_ADDRESS")
            if not wanted or addr in wanted:
                write(f"{now} present {addr}\n")
        write("READY\n")
        while True:
            for msg in ipr.get():
                t = time.monotonic_ns()
                event = msg.get("event")
                if event not in ("RTM_NEWADDR", "RTM_DELADDR"):
                    continue
                addr = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
                if wanted and addr not in wanted:
                    continue
                write(f"{t} {'add' if event == 'RTM_NEWADDR' else 'del'} {addr}\n")


# --- the demo -----------------------------------------------------------------------------

SCENARIOS = ("kill", "graceful", "partition", "service-down")
VIP = "10.99.0.100"


class Timeline:
    """Prints ``t+   123 ms  event`` lines relative to the start of the demo.

    Events stamped after the fact (netlink watchers) are buffered and printed in time
    order at the next :meth:`now`.
    """

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self._pending: list[tuple[float, str]] = []

    def at(self, t: float, text: str) -> None:
        self._pending.append((t, text))

    def now(self, text: str) -> None:
        self.at(time.monotonic(), text)
        self.flush()

    def flush(self) -> None:
        for t, text in sorted(self._pending, key=lambda e: e[0]):
            print(f"t+{(t - self.t0) * 1000:7.0f} ms  {text}", flush=True)
        self._pending.clear()


def _net_check_settings(instance: str, gateway: str, peer: str) -> str | None:
    """hookd.toml enabling net_check for an instance, if this build knows the setting."""
    try:
        from hookd.config.model import Settings
    except Exception:
        return None
    if "net_check" not in getattr(Settings, "model_fields", {}):
        return None
    return (
        f"[net_check.{instance}]\n"
        f'peers = ["{peer}"]\n'
        f'gateway = "{gateway}"\n'
        'policy = "gateway"\n'
        "interval = 0.5\n"
        "timeout = 0.3\n"
        "fall = 2\n"
        "rise = 1\n"
    )


def _wait_state(
    node: HookdNode, instance: str, states: Sequence[str], timeout: float
) -> str | None:
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = node.state(instance)
        if state in states:
            return state
        if not node.alive:
            return state
        time.sleep(0.05)
    return state


def _wait_for(pred: Callable[[], bool], timeout: float, interval: float = 0.01) -> float | None:
    """Monotonic time at which ``pred()`` was first seen true, None on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return time.monotonic()
        time.sleep(interval)
    return None


def _effective(node: HookdNode) -> int | None:
    rec = node.instances().get("VI_1")
    value = rec.get("effective_priority") if rec else None
    return value if isinstance(value, int) else None


def _install_signal_handlers() -> Callable[[], None]:
    """Ctrl-C, SIGTERM and SIGHUP end the demo cleanly (finally: removes the lab)."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a shell starts background jobs with SIGINT ignored.
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

    def restore() -> None:
        for s, h in old.items():
            signal.signal(s, h)

    return restore


def run_scenario(scenario: str, *, advert_int: float = 1.0, version: int = 2) -> int:
    """Build the lab, run one scenario, print the timeline; 0 when the backup took over."""
    require_root()
    nodes = ("n1", "n2", "gw") if scenario == "partition" else ("n1", "n2")
    tl = Timeline()
    workdir = Path(tempfile.mkdtemp(prefix="hookd-lab-"))
    os.chmod(workdir, 0o755)  # the flag-file check may run as a script user
    restore = _install_signal_handlers()
    lab = Lab(nodes_wanted=nodes)
    watchers: list[VipWatcher] = []
    hk: dict[str, HookdNode] = {}
    try:
        lab.create()
        n1, n2 = lab.nodes["n1"], lab.nodes["n2"]
        tl.now(
            f"lab {lab.tag}: {', '.join(n.ns for n in lab.nodes.values())} on bridge "
            f"{lab.switch}/br0"
        )
        flag = workdir / "service-ok"
        flag.touch()
        settings = None
        if scenario == "partition":
            settings = _net_check_settings("VI_1", lab.nodes["gw"].ipv4, n2.ipv4)
        scripts: tuple[ScriptSpec, ...] = ()
        tracks: tuple[str, ...] = ()
        if scenario == "service-down":
            scripts = (
                ScriptSpec(
                    "chk_service",
                    f"/usr/bin/test -f {flag}",
                    interval=0.5,
                    weight=-60,
                    fall=1,
                    rise=1,
                ),
            )
            tracks = ("chk_service",)
        prios = {"n1": 150, "n2": 100}
        for name in ("n1", "n2"):
            spec = VrrpSpec(
                name="VI_1",
                vrid=51,
                version=version,
                priority=prios[name],
                advert_int=advert_int,
                vips=(f"{VIP}/24",),
                state="MASTER" if name == "n1" else "BACKUP",
                auth_pass="hookdlab" if version == 2 else None,
                track_scripts=tracks if name == "n1" else (),
            )
            conf = render_keepalived_conf(name, [spec], scripts if name == "n1" else ())
            hk[name] = HookdNode(lab, name, workdir, conf, settings=settings)
        mdi = master_down_interval(prios["n2"], advert_int, version)
        skew = skew_time(prios["n2"], advert_int, version)
        tl.flush()
        print(
            f"    VRRPv{version}, advert_int {advert_int:g} s, VIP {VIP}; "
            f"n1 {n1.ipv4} priority 150, n2 {n2.ipv4} priority 100"
            + (" (net_check on)" if settings else ""),
            flush=True,
        )
        watchers = [VipWatcher(lab, "n1"), VipWatcher(lab, "n2", adverts=True)]
        w1, w2 = watchers
        for name in ("n1", "n2"):
            hk[name].start()
        tl.now("hookd started on n1 and n2")
        t_vip = w1.wait(VIP, "add", timeout=3 * mdi + 5)
        if t_vip is None:
            tl.now("FAILED: no node took the VIP")
            _dump_logs(hk)
            return 1
        tl.at(t_vip, f"VIP {VIP} on n1")
        st1 = _wait_state(hk["n1"], "VI_1", ("MASTER",), 5)
        st2 = _wait_state(hk["n2"], "VI_1", ("BACKUP",), 5)
        tl.now(f"elected: n1 {st1}, n2 {st2}")
        time.sleep(max(1.0, advert_int * 1.5))  # let the backup hear a few adverts

        t_fault = time.monotonic()
        if scenario == "kill":
            t_fault = time.monotonic()
            hk["n1"].kill()
            tl.at(t_fault, "SIGKILL hookd on n1 (the master): no goodbye advert")
            bound, label = mdi, f"Master_Down_Interval {mdi * 1000:.0f} ms"
        elif scenario == "graceful":
            t_fault = time.monotonic()
            hk["n1"].signal(signal.SIGTERM)
            tl.at(t_fault, "SIGTERM hookd on n1: priority 0 advert, VIP released")
            bound, label = skew, f"Skew_Time {skew * 1000:.0f} ms"
        elif scenario == "partition":
            t_fault = time.monotonic()
            lab.partition("n1")
            tl.at(t_fault, "n1 cut off the bridge (its carrier stays up)")
            bound, label = mdi, f"Master_Down_Interval {mdi * 1000:.0f} ms"
        else:
            t_fault = time.monotonic()
            flag.unlink()
            tl.at(t_fault, "service on n1 fails (flag file removed; chk_service weight -60)")
            bound = 0.5 + advert_int + mdi
            label = f"<= check interval 500 ms + advert_int + {mdi * 1000:.0f} ms"

        if scenario == "service-down":
            t_prio = _wait_for(lambda: _effective(hk["n1"]) not in (None, 150), 5)
            if t_prio is not None:
                tl.at(t_prio, f"n1 effective priority {_effective(hk['n1'])} (check failed)")
        elif scenario == "partition" and settings:
            t_flt = _wait_for(lambda: hk["n1"].state("VI_1") == "FAULT", 5)
            if t_flt is not None:
                tl.at(t_flt, "n1 FAULT (net_check: gateway and peer unreachable)")
        t_take = w2.wait(VIP, "add", after=t_fault, timeout=bound + 10)
        if t_take is None:
            tl.now("FAILED: n2 never took the VIP")
            _dump_logs(hk)
            return 1
        tl.at(t_take, f"VIP {VIP} on n2: takeover {(t_take - t_fault) * 1000:.0f} ms ({label})")
        if scenario != "service-down":
            # The bound runs from the advert n2 last heard (priority 0 when graceful).
            heard = w2.last_advert(n1.ipv4, t_take, priority_zero=scenario == "graceful")
            if heard is not None:
                what = "priority 0 advert" if scenario == "graceful" else "last advert"
                tl.at(heard, f"n2 hears n1's {what}")
                late = (t_take - heard - bound) * 1000
                tl.at(t_take, f"   i.e. {late:+.1f} ms after that advert + {bound * 1000:.0f} ms")
        t_rel = w1.wait(VIP, "del", after=t_fault, timeout=0 if scenario == "kill" else 3)
        if t_rel is not None:
            tl.at(t_rel, f"VIP {VIP} removed from n1")
        st2 = _wait_state(hk["n2"], "VI_1", ("MASTER",), 5)
        tl.now(f"n2 is {st2}")
        if scenario == "partition":
            if not settings:
                st1 = _wait_state(hk["n1"], "VI_1", ("FAULT", "BACKUP"), 0.1)
                tl.now(f"n1 is {st1}: split brain (no net_check setting in this build)")
            lab.heal("n1")
            t_heal = time.monotonic()
            tl.at(t_heal, "bridge healed")
            st1 = _wait_state(hk["n1"], "VI_1", ("MASTER",), mdi + 3)
            tl.now(f"n1 is {st1} again (priority 150 preempts)")
        elif scenario == "service-down":
            st1 = _wait_state(hk["n1"], "VI_1", ("BACKUP",), 3)
            tl.now(f"n1 is {st1} (priority 150 - 60 = 90 < 100)")
        tl.flush()
        # Both sides: the old master's reason (FAULT, lower priority...) is half the story.
        for name in ("n1", "n2"):
            print(f"\nhookd history on {name}:", flush=True)
            print(_indent(hk[name].history()), flush=True)
        return 0 if st2 == "MASTER" else 1
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr, flush=True)
        return 130
    finally:
        # A second Ctrl-C must not leave namespaces behind half-way through the cleanup.
        old_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        for w in watchers:
            w.close()
        for node in hk.values():
            if node.alive:
                node.stop(timeout=3)
        lab.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
        tl.now(f"lab {lab.tag} removed")
        signal.signal(signal.SIGINT, old_int)
        restore()


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in (text.strip() or "(empty)").splitlines())


def _dump_logs(hk: dict[str, HookdNode]) -> None:
    for name, node in hk.items():
        print(f"--- hookd log on {name} (last lines)", file=sys.stderr)
        print("\n".join(node.log().splitlines()[-20:]), file=sys.stderr)


@contextlib.contextmanager
def _quiet_broken_pipe() -> Iterator[None]:
    try:
        yield
    except BrokenPipeError:
        sys.stderr.close()


def main(args: argparse.Namespace) -> int:
    """Entry point of ``hookd lab``."""
    scenario = getattr(args, "scenario", "kill") or "kill"
    if scenario not in SCENARIOS:
        print(f"hookd lab: unknown scenario {scenario!r}", file=sys.stderr)
        return 2
    try:
        require_root()
    except LabError as exc:
        print(f"hookd lab: {exc}", file=sys.stderr)
        return 1
    print(f"hookd lab: scenario {scenario}", flush=True)
    with _quiet_broken_pipe():
        try:
            return run_scenario(scenario)
        except LabError as exc:
            print(f"hookd lab: {exc}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "watch":
        with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
            sys.exit(_watch_main(sys.argv[2:]))
        sys.exit(0)
    print("usage: python -m hookd.lab watch [ADDRESS...]", file=sys.stderr)
    sys.exit(2)
