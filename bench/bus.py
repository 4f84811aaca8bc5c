"""Bus benchmark: throughput with 5 subscribers, and what delivery costs the advert timer.

Run: ``.venv/bin/python bench/bus.py [--seconds 3] [--events 2000]``. Everything is local:
an aiosmtpd server and an HTTP webhook on 127.0.0.1, a temporary state dir.

1. throughput: N transitions published back to back (spread over 50 instances) to five
   in-memory subscribers; events/s until every delivery is recorded, and publish() cost.
2. timer lateness: a 10 ms periodic asyncio timer (the VRRP advert timer) measures how late
   it fires, idle and then while 100 transitions/s go to the real audit log (fsync), email
   (aiosmtpd), an apprise json:// webhook, a FIFO-less sink and the notify scripts, with
   VI_0's notify_master hanging forever. Goal: p99 lateness < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from pydantic import SecretStr

from hookd.bus import Bus
from hookd.config.model import (
    AppriseRoute,
    DeliverySettings,
    FlappingSettings,
    GlobalDefs,
    Model,
    Notify,
    NotifyScript,
    Settings,
    VrrpInstanceConfig,
)
from hookd.events import Event, Transition
from hookd.subscribers import build
from hookd.subscribers.base import BaseSubscriber

INSTANCES = 50


class Counter(BaseSubscriber):
    """An in-memory sink that only counts."""

    digest: ClassVar[bool] = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.n = 0

    def wants(self, event: Event) -> bool:
        return isinstance(event, Transition)

    async def deliver(self, event: Event) -> str | None:
        self.n += 1
        return None


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else 0.0


def transition(i: int) -> Transition:
    to = "MASTER" if (i // INSTANCES) % 2 == 0 else "BACKUP"
    return Transition(
        instance=f"VI_{i % INSTANCES}",
        from_state="BACKUP",
        to_state=to,
        priority=100,
        base_priority=100,
        reason="bench",
    )


async def throughput(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        subs = [Counter(f"sink{i}") for i in range(5)]
        m = Model(settings=Settings(flapping=FlappingSettings(enabled=False)))
        bus = Bus(m, d, subscribers=list(subs))
        await bus.start()
        lat: list[float] = []
        t0 = time.perf_counter()
        for i in range(n):
            p0 = time.perf_counter()
            bus.publish(transition(i))
            lat.append(time.perf_counter() - p0)
            if i % 100 == 99:
                await asyncio.sleep(0)  # let workers run, as the engine's loop would
        while min(s.n for s in subs) < n:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        await bus.stop()
    return {
        "events_s": n / elapsed,
        "deliveries_s": 5 * n / elapsed,
        "pub_p50_us": pct(lat, 50) * 1e6,
        "pub_p99_us": pct(lat, 99) * 1e6,
    }


async def timer_lateness(seconds: float, stop: asyncio.Event) -> list[float]:
    """Lateness (s) of a 10 ms periodic timer, re-armed like the VRRP engine does."""
    loop = asyncio.get_running_loop()
    late: list[float] = []
    interval = 0.010
    deadline = loop.time() + interval
    end = loop.time() + seconds
    while loop.time() < end and not stop.is_set():
        await asyncio.sleep(max(0.0, deadline - loop.time()))
        now = loop.time()
        late.append(max(0.0, now - deadline))
        deadline += interval
        if deadline < now:  # fell behind: skip, like an advert timer re-arm
            deadline = now + interval
    return late


# The SMTP and HTTP servers run in a child process: in-process server threads would fight
# the event loop for the GIL and measure the bench, not the bus.
_SERVERS = """
import asyncio, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from aiosmtpd.controller import Controller

class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass

class Smtp:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

http = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=http.serve_forever, daemon=True).start()
ctl = Controller(Smtp(), hostname="127.0.0.1", port=int(sys.argv[1]))
ctl.start()
print(http.server_address[1], flush=True)
sys.stdin.read()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def under_load(seconds: float, rate: float) -> dict[str, Any]:
    idle = await timer_lateness(min(seconds, 2.0), asyncio.Event())
    smtp_port = _free_port()
    servers = subprocess.Popen(
        [sys.executable, "-c", _SERVERS, str(smtp_port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert servers.stdout is not None and servers.stdin is not None
    http_port = int(await asyncio.to_thread(servers.stdout.readline))
    with tempfile.TemporaryDirectory() as d:
        hang = Path(d) / "hang.sh"
        hang.write_text("#!/bin/sh\nexec sleep 1000\n")
        hang.chmod(0o755)
        ok = Path(d) / "ok.sh"
        ok.write_text("#!/bin/sh\nexit 0\n")
        ok.chmod(0o755)
        instances = {
            f"VI_{i}": VrrpInstanceConfig(
                name=f"VI_{i}",
                interface="lo",
                virtual_router_id=i + 1,
                notify=Notify(master=NotifyScript(argv=[str(hang if i == 0 else ok)])),
            )
            for i in range(INSTANCES)
        }
        m = Model(
            global_defs=GlobalDefs(
                router_id="bench",
                notification_email=["ops@x.test"],
                notification_email_from="hookd@x.test",
                smtp_server="127.0.0.1",
                smtp_port=smtp_port,
                smtp_alert=True,
            ),
            vrrp_instances=instances,
            settings=Settings(
                apprise=[AppriseRoute(urls=[SecretStr(f"json://127.0.0.1:{http_port}/hook")])],
                delivery=DeliverySettings(script_timeout=60),
                flapping=FlappingSettings(enabled=False),
            ),
        )
        subs = build(m, d)
        counter = Counter("memory")
        bus = Bus(m, d, subscribers=[*subs, counter])
        await bus.start()
        stop = asyncio.Event()
        timer = asyncio.create_task(timer_lateness(seconds, stop))
        sent = 0
        t0 = time.perf_counter()
        while not timer.done():
            due = int((time.perf_counter() - t0) * rate)
            while sent < due:
                bus.publish(transition(sent))
                sent += 1
            await asyncio.sleep(0.005)
        loaded = timer.result()
        st = bus.stats()
        await bus.stop(timeout=1.0)
        names = [s.name for s in subs] + ["memory"]
    servers.stdin.close()
    servers.wait(timeout=10)
    return {
        "idle": idle,
        "loaded": loaded,
        "sent": sent,
        "memory": counter.n,
        "subscribers": names,
        "delivered": {k: v["outcomes"].get("delivered", 0) for k, v in st["subscribers"].items()},
        "publish_avg_us": st["publish_avg_us"],
    }


def row(label: str, xs: list[float]) -> str:
    ms = [x * 1e3 for x in xs]
    return (
        f"| {label:28} | {len(ms):6} | {statistics.median(ms):7.3f} | {pct(ms, 99):7.3f} "
        f"| {max(ms):7.3f} |"
    )


async def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=100.0, help="transitions/s under load")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--switch-interval",
        type=float,
        default=None,
        help="sys.setswitchinterval (s): a smaller GIL slice for the loop vs threads",
    )
    a = ap.parse_args()
    if a.switch_interval:
        sys.setswitchinterval(a.switch_interval)
    tp = await throughput(a.events)
    ld = await under_load(a.seconds, a.rate)
    if a.json:
        print(
            json.dumps(
                {
                    "throughput": tp,
                    "load": {k: v for k, v in ld.items() if k not in ("idle", "loaded")},
                }
            )
        )
    print(f"\nthroughput, 5 in-memory subscribers, {a.events} events over {INSTANCES} instances")
    print("| events/s | deliveries/s | publish p50 µs | publish p99 µs |")
    print("|---------:|-------------:|---------------:|---------------:|")
    print(
        f"| {tp['events_s']:8.0f} | {tp['deliveries_s']:12.0f} | {tp['pub_p50_us']:14.1f} "
        f"| {tp['pub_p99_us']:14.1f} |"
    )
    print(
        f"\n10 ms timer lateness (ms); load = {a.rate:g} transitions/s for {a.seconds:g}s to "
        f"{', '.join(ld['subscribers'])}; VI_0's notify_master hangs"
    )
    print("| scenario                     | ticks  |   p50   |   p99   |   max   |")
    print("|------------------------------|-------:|--------:|--------:|--------:|")
    print(row("idle loop", ld["idle"]))
    print(row("under delivery load", ld["loaded"]))
    p99 = pct(ld["loaded"], 99) * 1e3
    print(
        f"\npublished {ld['sent']}, delivered per subscriber "
        f"{ld['delivered']}, publish avg {ld['publish_avg_us']:.1f} µs"
    )
    print(f"GIL switch interval {sys.getswitchinterval() * 1e3:g} ms")
    print(f"goal p99 < 5 ms: {'MET' if p99 < 5 else 'NOT MET'} ({p99:.2f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
