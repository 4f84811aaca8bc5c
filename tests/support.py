"""Small test doubles and waits shared by unit and lab tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def until(pred: Callable[[], object], timeout: float = 10.0, interval: float = 0.01) -> None:
    """Yield to the event loop until ``pred()`` holds; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(interval)


class RecordingSink:
    """A HealthSink that records every call as a tuple."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def priority_changed(self, instance: str, effective_priority: int, reason: str) -> None:
        self.calls.append(("prio", instance, effective_priority, reason))

    def fault_set(self, instance: str, source: str, reason: str) -> None:
        self.calls.append(("fault", instance, source, reason))

    def fault_cleared(self, instance: str, source: str, reason: str) -> None:
        self.calls.append(("clear", instance, source, reason))
