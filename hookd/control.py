"""The control socket: a unix-socket JSON API at ``<state_dir>/hookd.sock``.

Protocol: the client connects, writes one JSON object on one line (``{"cmd": "status"}``),
and reads one JSON object back on one line; then the connection closes. Commands:

* ``status``: ``{"ok": true, "node": ..., "pid": ..., "instances": [...], "interfaces": {...}}``
  where each instance has name, group, state, priority (base), effective_priority, vrid,
  interface, version, family, vips, master, since (ISO wall clock), drops (per reason),
  adverts_sent, adverts_received.
* ``reload``: re-read the configuration (as SIGHUP); ``{"ok": bool, "errors": [...]}``.

:func:`status_main` is ``hookd status``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger("hookd.control")

SOCKET_NAME = "hookd.sock"
MAX_REQUEST = 64 * 1024

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]] | dict[str, Any]]


def socket_path(state_dir: str) -> str:
    return os.path.join(state_dir, SOCKET_NAME)


class ControlServer:
    """Serves JSON requests on a unix socket; ``handlers`` maps a ``cmd`` to a callable."""

    def __init__(self, path: str, handlers: dict[str, Handler]) -> None:
        self.path = path
        self.handlers = handlers
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        """Bind the socket (mode 0600); refuses if a live daemon already answers on it."""
        if os.path.exists(self.path):
            if _alive(self.path):
                raise RuntimeError(f"another hookd is running (control socket {self.path})")
            os.unlink(self.path)  # stale, left by a crash
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=self.path)
        finally:
            os.umask(old)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5.0)
            reply = await self._dispatch(line[:MAX_REQUEST])
            writer.write(json.dumps(reply, default=str).encode() + b"\n")
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:  # a client must never take the daemon down
            log.exception("control request failed")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _dispatch(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line or b"{}")
            if not isinstance(request, dict):
                raise ValueError("request must be a JSON object")
        except ValueError as exc:
            return {"ok": False, "error": f"bad request: {exc}"}
        cmd = request.get("cmd")
        handler = self.handlers.get(str(cmd))
        if handler is None:
            return {
                "ok": False,
                "error": f"unknown command {cmd!r}",
                "commands": sorted(self.handlers),
            }
        result = handler(request)
        if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
            result = await result
        return result


def _alive(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(path)
        except OSError:
            return False
    return True


class NotRunning(RuntimeError):
    """No daemon answers on the control socket."""


def request(state_dir: str, cmd: str, timeout: float = 10.0, **params: Any) -> dict[str, Any]:
    """Send one command to the daemon of ``state_dir`` and return its JSON reply."""
    path = socket_path(state_dir)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(path)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise NotRunning(f"hookd is not running (no control socket at {path})") from exc
        s.sendall(json.dumps({"cmd": cmd, **params}).encode() + b"\n")
        chunks: list[bytes] = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        raise NotRunning(f"hookd closed the control socket {path} without answering")
    reply: dict[str, Any] = json.loads(data)
    return reply


def format_status(status: dict[str, Any]) -> str:
    """The human table of ``hookd status``."""
    cols = ["INSTANCE", "STATE", "PRIO", "EFF", "VRID", "IFACE", "VER", "MASTER", "SINCE", "VIPS"]
    rows = [cols]
    for inst in status.get("instances", []):
        rows.append(
            [
                str(inst["name"]) + (f" ({inst['group']})" if inst.get("group") else ""),
                str(inst["state"]),
                str(inst["priority"]),
                str(inst["effective_priority"]),
                str(inst["vrid"]),
                str(inst["interface"]),
                f"v{inst['version']}/ipv{inst['family']}",
                str(inst.get("master") or "-"),
                str(inst.get("since") or "-").split(".")[0],
                ",".join(inst.get("vips", [])),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    head = f"node {status.get('node', '?')} (pid {status.get('pid', '?')})"
    return "\n".join([head, *lines])


def status_main(args: argparse.Namespace) -> int:
    """``hookd status [--state-dir DIR] [--json]``."""
    try:
        status = request(args.state_dir, "status")
    except NotRunning as exc:
        print(f"hookd status: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as exc:
        print(f"hookd status: cannot talk to hookd: {exc}", file=sys.stderr)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(status, indent=2, sort_keys=True))
    else:
        print(format_status(status))
    return 0 if status.get("ok", True) else 1
