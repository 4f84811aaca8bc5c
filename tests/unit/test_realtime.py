"""vrrp_rt_priority: parsed, and applied as SCHED_RR that children do not inherit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hookd.config.keepalived import parse_text


def test_vrrp_rt_priority_parsed() -> None:
    result, report = parse_text("global_defs {\n  vrrp_rt_priority 50\n}\n")
    assert not report.errors
    assert result.global_defs.vrrp_rt_priority == 50


@pytest.mark.skipif(os.geteuid() != 0, reason="SCHED_RR needs root")
def test_set_realtime_resets_on_fork() -> None:
    code = (
        "import os, subprocess\n"
        "from hookd.daemon import set_realtime\n"
        "assert set_realtime(10)\n"
        "assert os.sched_getscheduler(0) & ~getattr(os, 'SCHED_RESET_ON_FORK', 0) == os.SCHED_RR\n"
        "out = subprocess.run(['python3', '-c', 'import os; print(os.sched_getscheduler(0))'],"
        " capture_output=True, text=True).stdout\n"
        "print(int(out) == os.SCHED_OTHER)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
