"""Building blocks the subscriber unit tests share: waiting on the bus, reading the audit log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


async def until(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    """Yield to the event loop until ``pred()`` holds; fail the test after ``timeout``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


def audit(path: Path) -> list[dict[str, Any]]:
    """Every record of an audit log ([] while it does not exist).

    ``path`` is the audit.jsonl file itself, or a state dir holding the default one.
    """
    if path.is_dir():
        path = path / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
