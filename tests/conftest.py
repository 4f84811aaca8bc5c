"""Shared test set-up: lab tests need root and iproute2; locate ../shared."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The project's shared/ folder (beside the checkout), or HOOKD_SHARED_DIR."""
    env = os.environ.get("HOOKD_SHARED_DIR")
    return Path(env) if env else REPO.parent / "shared"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lab_ok = os.geteuid() == 0 and shutil.which("ip") is not None
    for item in items:
        if "tests/lab/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.lab)
            if not lab_ok:
                item.add_marker(pytest.mark.skip(reason="lab tests need root and iproute2"))
