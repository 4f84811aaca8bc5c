"""Netlink link watcher: carrier (up + IFF_LOWER_UP) per interface name.

Two pyroute2 ``AsyncIPRoute`` sockets: one bound to RTMGRP_LINK for notifications, one
for requests (a dump at start, then a fresh ``link get`` per notification). Re-reading the
link on every notification makes the reported state the kernel's *current* one, so a
notification queued before the initial dump can never roll the state back. With
``netns=NAME`` pyroute2 creates both sockets inside that namespace (in a short-lived child
process), so one process can watch a namespace without ever calling setns() itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTMGRP_LINK

log = logging.getLogger(__name__)

IFF_UP = 0x1
IFF_LOWER_UP = 0x10000  # carrier, as in `ip link`'s LOWER_UP

# on_change(ifname, carrier): carrier False also for an interface that disappeared.
LinkCallback = Callable[[str, bool], None]


def has_carrier(flags: int) -> bool:
    """Administratively up and the driver reports carrier."""
    return bool(flags & IFF_UP) and bool(flags & IFF_LOWER_UP)


class LinkWatcher:
    """Reports ``on_change(ifname, carrier)`` for the initial dump and every change."""

    def __init__(self, on_change: LinkCallback, *, netns: str | None = None) -> None:
        self._on_change = on_change
        self._netns = netns
        self._names: dict[int, str] = {}  # ifindex -> name
        self._carrier: dict[str, bool] = {}  # name -> carrier (present names only)
        self._events: Any = None
        self._requests: Any = None
        self._task: asyncio.Task[None] | None = None

    def carrier(self, ifname: str) -> bool | None:
        """Current carrier of ``ifname``; None when no such interface exists."""
        return self._carrier.get(ifname)

    def known(self) -> dict[str, bool]:
        """A copy of every interface's carrier."""
        return dict(self._carrier)

    async def start(self) -> None:
        """Subscribe, then dump (reporting every interface once), then follow changes."""
        self._events = AsyncIPRoute(netns=self._netns)
        await self._events.bind(groups=RTMGRP_LINK)  # subscribe before the dump: no gap
        self._requests = AsyncIPRoute(netns=self._netns)
        await self._dump()
        self._task = asyncio.create_task(self._follow(), name="hookd-links")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for sock in (self._events, self._requests):
            if sock is not None:
                with contextlib.suppress(Exception):
                    sock.close()
        self._events = self._requests = None

    # --- internals ---------------------------------------------------------------------

    def _set(self, name: str, carrier: bool) -> None:
        if self._carrier.get(name) != carrier:
            self._carrier[name] = carrier
            self._on_change(name, carrier)

    def _gone(self, index: int) -> None:
        name = self._names.pop(index, None)
        if name is not None and name in self._carrier:
            del self._carrier[name]
            self._on_change(name, False)

    def _apply(self, msg: Any) -> None:
        index = msg["index"]
        name = msg.get("ifname")
        old = self._names.get(index)
        if old is not None and old != name:  # renamed: the old name is gone
            self._gone(index)
        self._names[index] = name
        self._set(name, has_carrier(msg["flags"]))

    async def _dump(self) -> None:
        seen: set[int] = set()
        async for msg in await self._requests.link("dump"):
            seen.add(msg["index"])
            self._apply(msg)
        for index in set(self._names) - seen:
            self._gone(index)

    async def _refresh(self, index: int) -> None:
        try:
            msgs = await self._requests.link("get", index=index)
        except NetlinkError:  # ENODEV: deleted
            self._gone(index)
            return
        for msg in msgs:
            self._apply(msg)

    async def _follow(self) -> None:
        while True:
            try:
                async for msg in self._events.get():
                    await self._refresh(msg["index"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. ENOBUFS: notifications lost, resync by a dump
                log.warning("link watcher: %s; re-reading every link", exc)
                await asyncio.sleep(0.1)
                with contextlib.suppress(Exception):
                    await self._dump()
