"""Locate ../shared (keepalived vectors and sample configs) for the tests.

A developer clone without shared/ skips those tests; in CI (CI=true) a missing shared/ is
a failure, so a green run always means the vectors were checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The project's shared/ folder (beside the checkout), or $HOOKD_SHARED_DIR."""
    env = os.environ.get("HOOKD_SHARED_DIR")
    return Path(env) if env else REPO.parent / "shared"


def require(path: Path) -> Path:
    """``path`` if it exists; otherwise skip (developer clone) or fail (CI)."""
    if not path.exists():
        message = f"{path} not found (set HOOKD_SHARED_DIR to the folder holding vectors/)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path
