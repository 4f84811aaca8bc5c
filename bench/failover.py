"""Failover time: hookd vs keepalived (the control), measured on network namespaces.

For each pair (master -> backup implementation) and each fault, ``--trials`` times:
start the master (priority 150, ``state MASTER``) and the backup (100) in a fresh pair of
processes, let the backup hear adverts, wait a random fraction of advert_int (so the kill
lands at every phase of the advert cycle), then

- ``SIGKILL`` the master's process group (no goodbye): expect the VIP on the backup after
  at most Master_Down_Interval = 3 x advert_int + Skew_Time;
- ``SIGTERM`` (graceful: priority 0 advert): expect it after about Skew_Time.

The VIP's appearance is timestamped by a netlink (RTM_NEWADDR) subscriber running inside
the backup's namespace, on CLOCK_MONOTONIC, which is system-wide and therefore comparable
with the moment the signal was sent from here.

    sudo .venv/bin/python bench/failover.py                     # v3, advert_int 0.1 s
    sudo .venv/bin/python bench/failover.py --version 2 --advert-int 1 --trials 10
    sudo .venv/bin/python bench/failover.py --mixed             # + hookd<->keepalived

Not part of the test suite (timings depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hookd.lab import (  # noqa: E402
    HookdNode,
    VipWatcher,
    VrrpSpec,
    master_down_interval,
    render_keepalived_conf,
    skew_time,
)
from hookd.netns import Lab, require_root  # noqa: E402
from tests.lab.keepalived import Keepalived  # noqa: E402

VIP = "10.99.0.100"
MASTER_PRIO, BACKUP_PRIO = 150, 100


class Peer(Protocol):
    """What the bench needs of a hookd or keepalived process."""

    def start(self) -> None: ...
    def signal(self, sig: int) -> None: ...
    def kill(self) -> None: ...
    @property
    def alive(self) -> bool: ...


@dataclass
class Row:
    """Measurements of one (pair, fault)."""

    pair: str
    fault: str
    bound: float  # seconds: MDI (kill) or skew (graceful)
    bound_label: str
    samples: list[float] = field(default_factory=list)  # seconds, signal -> VIP
    late: list[float] = field(default_factory=list)  # seconds, VIP - (last advert + bound)
    failures: int = 0


def _make(kind: str, lab: Lab, node: str, workdir: Path, spec: VrrpSpec) -> Peer:
    conf = render_keepalived_conf(node, [spec])
    if kind == "hookd":
        return HookdNode(lab, node, workdir, conf, log_level="WARNING")
    return Keepalived(lab, node, workdir, conf)


def _p95(xs: list[float]) -> float:
    if len(xs) < 2:
        return xs[0]
    return statistics.quantiles(xs, n=20, method="inclusive")[18]


def _trial(
    lab: Lab,
    workdir: Path,
    watcher: VipWatcher,
    pair: tuple[str, str],
    fault: str,
    version: int,
    advert_int: float,
    trial: int,
    bound: float,
) -> tuple[float, float] | None:
    """One failover: (signal -> VIP, lateness), in seconds; None if it failed.

    Lateness is measured from the moment the bound started running *on the backup*: the
    arrival of the master's last advert (kill: + Master_Down_Interval) or of its priority 0
    advert (graceful: + Skew_Time). It does not depend on where in the advert cycle the
    signal fell, so it compares implementations fairly with few trials.
    """
    base = VrrpSpec(
        name="VI_1",
        vrid=71,
        version=version,
        advert_int=advert_int,
        vips=(f"{VIP}/24",),
        auth_pass="bench" if version == 2 else None,
    )
    tdir = workdir / f"{pair[0]}-{pair[1]}-{fault}-{trial}"
    master = _make(
        pair[0],
        lab,
        "n1",
        tdir,
        replace(base, priority=MASTER_PRIO, state="MASTER"),
    )
    backup = _make(
        pair[1],
        lab,
        "n2",
        tdir,
        replace(base, priority=BACKUP_PRIO, state="BACKUP"),
    )
    try:
        backup.start()
        master.start()
        if not lab.wait_for(
            lambda: lab.has_address("n1", VIP), timeout=3 * advert_int + 10, interval=0.02
        ):
            return None
        # The backup must be in steady state: hearing adverts, its timer re-armed by each.
        time.sleep(max(1.0, 4 * advert_int) + random.uniform(0, advert_int))
        if lab.has_address("n2", VIP) or not (master.alive and backup.alive):
            return None
        t0 = time.monotonic()
        master.signal(signal.SIGKILL if fault == "kill" else signal.SIGTERM)
        t1 = watcher.wait(VIP, "add", after=t0, timeout=3 * advert_int + 5)
        if t1 is None:
            return None
        start = watcher.last_advert(lab.nodes["n1"].ipv4, t1, priority_zero=fault != "kill")
        if start is None:
            return None
        return t1 - t0, t1 - (start + bound)
    finally:
        master.kill()
        backup.kill()
        for node in ("n1", "n2"):
            lab.run(node, ["ip", "addr", "del", f"{VIP}/24", "dev", "eth0"], check=False)
        shutil.rmtree(tdir, ignore_errors=True)


def run(
    trials: int, version: int, advert_int: float, mixed: bool, progress: Callable[[str], None]
) -> list[Row]:
    pairs = [("hookd", "hookd"), ("keepalived", "keepalived")]
    if mixed:
        pairs += [("hookd", "keepalived"), ("keepalived", "hookd")]
    mdi = master_down_interval(BACKUP_PRIO, advert_int, version)
    skew = skew_time(BACKUP_PRIO, advert_int, version)
    rows: list[Row] = []
    workdir = Path(tempfile.mkdtemp(prefix="hookd-bench-"))
    try:
        with Lab(nodes_wanted=("n1", "n2")) as lab:
            watcher = VipWatcher(lab, "n2", adverts=True)
            try:
                for fault in ("kill", "graceful"):
                    for pair in pairs:
                        row = Row(
                            f"{pair[0]} -> {pair[1]}",
                            "SIGKILL" if fault == "kill" else "SIGTERM",
                            mdi if fault == "kill" else skew,
                            "MDI" if fault == "kill" else "skew",
                        )
                        for i in range(trials):
                            got = _trial(
                                lab,
                                workdir,
                                watcher,
                                pair,
                                fault,
                                version,
                                advert_int,
                                i,
                                row.bound,
                            )
                            if got is None:
                                row.failures += 1
                                progress(f"{row.pair:26} {row.fault} #{i + 1}: FAILED")
                                continue
                            row.samples.append(got[0])
                            row.late.append(got[1])
                            progress(
                                f"{row.pair:26} {row.fault} #{i + 1}: {got[0] * 1000:.1f} ms"
                                f" (bound {got[1] * 1000:+.1f} ms)"
                            )
                        rows.append(row)
            finally:
                watcher.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def table(rows: list[Row], version: int, advert_int: float, trials: int) -> str:
    head = (
        f"failover: VRRPv{version}, advert_int {advert_int:g} s, backup priority "
        f"{BACKUP_PRIO}, {trials} trials each; ms\n"
        "  signal->VIP: from the signal to the VIP on the backup (netlink, CLOCK_MONOTONIC)\n"
        "  late: VIP - (arrival of the last advert [kill] / priority-0 advert [graceful]"
        " + bound)"
    )
    cols = (
        f"{'pair':26} {'fault':7} {'n':>3} | {'signal->VIP median':>18} {'p95':>7} "
        f"{'max':>7} | {'bound':>12} | {'late median':>11} {'p95':>6} {'max':>6}"
    )
    lines = [head, cols, "-" * len(cols)]
    for r in rows:
        if r.samples:
            xs = [x * 1000 for x in r.samples]
            ls = [x * 1000 for x in r.late]
            stats = f"{statistics.median(xs):18.1f} {_p95(xs):7.1f} {max(xs):7.1f}"
            late = f"{statistics.median(ls):+11.1f} {_p95(ls):+6.1f} {max(ls):+6.1f}"
        else:
            stats = f"{'-':>18} {'-':>7} {'-':>7}"
            late = f"{'-':>11} {'-':>6} {'-':>6}"
        fail = f"  ({r.failures} failed)" if r.failures else ""
        bound = f"{r.bound_label} {r.bound * 1000:.1f}"
        lines.append(
            f"{r.pair:26} {r.fault:7} {len(r.samples):3} | {stats} | {bound:>12} | {late}{fail}"
        )
    return "\n".join(lines)


def verdict(rows: list[Row]) -> str:
    """hookd must be within 10 ms of the bound and no later than keepalived (+1 ms)."""
    by = {(r.pair, r.fault): r for r in rows}
    notes: list[str] = []
    ok = True
    for fault in ("SIGKILL", "SIGTERM"):
        hk = by.get(("hookd -> hookd", fault))
        ka = by.get(("keepalived -> keepalived", fault))
        if hk is None or not hk.late or hk.failures:
            ok = False
            notes.append(f"hookd {fault}: failed trials")
            continue
        worst, med = max(hk.late) * 1000, statistics.median(hk.late) * 1000
        within = worst <= 10.0
        ok &= within
        text = f"hookd {fault}: late max {worst:+.1f} ms ({'ok' if within else 'OVER 10 ms'})"
        if ka is not None and ka.late:
            ka_med = statistics.median(ka.late) * 1000
            no_worse = med <= ka_med + 1.0
            ok &= no_worse
            text += f", median {med:+.1f} vs keepalived {ka_med:+.1f} ms" + (
                "" if no_worse else f" (hookd {med - ka_med:.1f} ms later)"
            )
        notes.append(text)
    return "verdict: " + ("PASS" if ok else "FAIL") + " - " + "; ".join(notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--version", type=int, choices=[2, 3], default=3)
    ap.add_argument(
        "--advert-int", type=float, default=None, help="seconds (default 0.1 for v3, 1 for v2)"
    )
    ap.add_argument(
        "--mixed", action="store_true", help="also hookd -> keepalived and keepalived -> hookd"
    )
    ap.add_argument("--quiet", action="store_true", help="no per-trial lines")
    args = ap.parse_args(argv)
    advert_int = args.advert_int or (0.1 if args.version == 3 else 1.0)
    if args.version == 2 and not float(advert_int).is_integer():
        ap.error("VRRPv2 advert_int is whole seconds")
    require_root()

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # unwinds through Lab.__exit__: no namespace left behind

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # also when started in the background by a shell
    if os.path.exists("/usr/sbin/keepalived") is False and shutil.which("keepalived") is None:
        print("keepalived is not installed: it is the control of this bench", file=sys.stderr)
        return 1

    def progress(line: str) -> None:
        if not args.quiet:
            print(line, file=sys.stderr, flush=True)

    rows = run(args.trials, args.version, advert_int, args.mixed, progress)
    print(table(rows, args.version, advert_int, args.trials))
    print(verdict(rows))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
