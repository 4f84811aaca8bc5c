"""Building blocks the subscriber unit tests share: waiting on the bus, reading the audit log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import until

__all__ = ["audit", "until"]


def audit(path: Path) -> list[dict[str, Any]]:
    """Every record of an audit log ([] while it does not exist).

    ``path`` is the audit.jsonl file itself, or a state dir holding the default one.
    """
    if path.is_dir():
        path = path / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
