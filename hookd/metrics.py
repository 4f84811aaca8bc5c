"""Prometheus text exposition of the daemon's counters (off unless ``[metrics] listen``).

A deliberately tiny asyncio HTTP/1.0 server: ``GET /metrics`` returns the exposition
rendered from the same status snapshot the control socket serves; anything else is 404.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("hookd.metrics")

STATES = ("INIT", "BACKUP", "MASTER", "FAULT", "STOP")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: object) -> str:
    text = str(value)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(status: dict[str, Any]) -> str:
    """Render a status snapshot (see :mod:`hookd.control`) as Prometheus text format."""
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    instances = status.get("instances", [])

    def labels(inst: dict[str, Any], **extra: object) -> str:
        pairs = {
            "instance": inst["name"],
            "vrid": inst["vrid"],
            "interface": inst["interface"],
            **extra,
        }
        return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in pairs.items()) + "}"

    family("hookd_vrrp_state", "gauge", "1 for the current VRRP state of the instance")
    for inst in instances:
        for st in STATES:
            out.append(f"hookd_vrrp_state{labels(inst, state=st)} {int(inst['state'] == st)}")
    family("hookd_vrrp_priority", "gauge", "configured (base) priority")
    for inst in instances:
        out.append(f"hookd_vrrp_priority{labels(inst)} {inst['priority']}")
    family("hookd_vrrp_effective_priority", "gauge", "priority after track weights")
    for inst in instances:
        out.append(f"hookd_vrrp_effective_priority{labels(inst)} {inst['effective_priority']}")
    family("hookd_vrrp_adverts_sent_total", "counter", "VRRP advertisements sent")
    for inst in instances:
        out.append(f"hookd_vrrp_adverts_sent_total{labels(inst)} {inst['adverts_sent']}")
    family("hookd_vrrp_adverts_received_total", "counter", "VRRP advertisements accepted")
    for inst in instances:
        out.append(f"hookd_vrrp_adverts_received_total{labels(inst)} {inst['adverts_received']}")
    family("hookd_vrrp_transitions_total", "counter", "VRRP state transitions")
    for inst in instances:
        out.append(f"hookd_vrrp_transitions_total{labels(inst)} {inst.get('transitions', 0)}")
    family("hookd_vrrp_dropped_total", "counter", "received packets dropped, by reason")
    for inst in instances:
        for reason, n in sorted(inst.get("drops", {}).items()):
            out.append(f"hookd_vrrp_dropped_total{labels(inst, reason=reason)} {n}")
    family(
        "hookd_vrrp_interface_dropped_total",
        "counter",
        "packets dropped before reaching an instance, by reason",
    )
    for key, data in sorted(status.get("interfaces", {}).items()):
        for reason, n in sorted(data.get("drops", {}).items()):
            out.append(
                f'hookd_vrrp_interface_dropped_total{{socket="{_label(key)}",'
                f'reason="{_label(reason)}"}} {n}'
            )
    return "\n".join(out) + "\n"


def parse_listen(listen: str) -> tuple[str, int]:
    """``"127.0.0.1:9650"`` / ``"[::1]:9650"`` / ``":9650"`` -> (host, port)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


class MetricsServer:
    """Serves ``GET /metrics`` with ``snapshot()`` rendered by :func:`render`."""

    def __init__(self, listen: str, snapshot: Callable[[], dict[str, Any]]) -> None:
        self.host, self.port = parse_listen(listen)
        self.snapshot = snapshot
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5.0)
            parts = head.split(b"\r\n", 1)[0].split()
            if len(parts) >= 2 and parts[0] == b"GET" and parts[1].split(b"?")[0] == b"/metrics":
                body = render(self.snapshot()).encode()
                status, ctype = "200 OK", CONTENT_TYPE
            else:
                body, status, ctype = b"not found\n", "404 Not Found", "text/plain"
            writer.write(
                f"HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (
            TimeoutError,
            ConnectionError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ):
            pass
        except Exception:
            log.exception("metrics request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
