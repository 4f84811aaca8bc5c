"""Fixtures for lab tests: a :class:`~tests.lab.helpers.HookdLab` that is always torn down."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.lab.helpers import HookdLab


@pytest.fixture
def hookd_lab(tmp_path: Path) -> Iterator[Callable[..., HookdLab]]:
    """``hl = hookd_lab(("n1", "n2"))``: a fresh lab; every lab made is destroyed at teardown.

    On a failing test the hookd logs of every node are printed (pytest shows them).
    """
    made: list[HookdLab] = []

    def make(nodes: Sequence[str] = ("n1", "n2")) -> HookdLab:
        hl = HookdLab(tmp_path / f"lab{len(made)}", tuple(nodes))
        made.append(hl)
        hl.__enter__()
        return hl

    try:
        yield make
    finally:
        for hl in made:
            print(hl.logs())
            hl.__exit__(None, None, None)
