"""Shared test set-up: lab tests need root and iproute2 (else they are skipped)."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    lab_ok = os.geteuid() == 0 and shutil.which("ip") is not None
    for item in items:
        if "tests/lab/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.lab)
            if not lab_ok:
                item.add_marker(pytest.mark.skip(reason="lab tests need root and iproute2"))
