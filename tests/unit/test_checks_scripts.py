"""vrrp_script counting, weights and the runner (keepalived semantics)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from hookd.checks.scripts import (
    CheckUpdate,
    RiseFall,
    ScriptRunner,
    ScriptStatus,
    causes_fault,
    script_user,
    weight_contribution,
)
from hookd.config.model import GlobalDefs, VrrpScript
from hookd.proc import ProcResult

OK, FAILED, UNKNOWN = ScriptStatus.OK, ScriptStatus.FAILED, ScriptStatus.UNKNOWN


def run(rf: RiseFall, results: str) -> list[ScriptStatus | None]:
    return [rf.record(c == "1") for c in results]


def test_initial_unknown_first_result_decides() -> None:
    rf = RiseFall(rise=3, fall=3)
    assert rf.status is UNKNOWN
    assert rf.record(True) is OK  # one success is enough at start (keepalived: rise-1)
    rf = RiseFall(rise=3, fall=3)
    assert rf.record(False) is FAILED  # one failure is enough at start too


def test_fall_then_rise() -> None:
    rf = RiseFall(rise=2, fall=3)
    rf.record(True)
    assert run(rf, "00") == [None, None] and rf.status is OK
    assert rf.record(False) is FAILED  # third consecutive failure
    assert run(rf, "1") == [None]
    assert rf.record(True) is OK


def test_success_resets_fall_and_failure_resets_rise() -> None:
    rf = RiseFall(rise=2, fall=2)
    rf.record(True)
    assert run(rf, "010101") == [None] * 6 and rf.status is OK
    assert run(rf, "00") == [None, FAILED]
    assert run(rf, "101010") == [None] * 6 and rf.status is FAILED
    assert run(rf, "11") == [None, OK]


def test_init_fail_needs_rise_successes() -> None:
    rf = RiseFall(rise=3, fall=1, init_fail=True)
    assert rf.status is FAILED
    assert run(rf, "110111") == [None, None, None, None, None, OK]


def test_rise_fall_one() -> None:
    rf = RiseFall(1, 1)
    assert run(rf, "1010") == [OK, FAILED, OK, FAILED]


def test_start_ok() -> None:
    rf = RiseFall(2, 3, start_ok=True)
    assert rf.status is OK
    assert run(rf, "000") == [None, None, FAILED]


def test_weights() -> None:
    assert weight_contribution(20, False, OK) == 20
    assert weight_contribution(20, False, FAILED) == 0
    assert weight_contribution(-20, False, OK) == 0
    assert weight_contribution(-20, False, FAILED) == -20
    assert weight_contribution(20, True, OK) == -20  # reverse: lowered while OK
    assert weight_contribution(-20, True, FAILED) == 20  # reverse: raised while failed
    for w in (20, -20, 0):
        assert weight_contribution(w, False, UNKNOWN) == 0


def test_weight_zero_faults() -> None:
    assert causes_fault(0, False, FAILED) and not causes_fault(0, False, OK)
    assert causes_fault(0, True, OK) and not causes_fault(0, True, FAILED)
    assert not causes_fault(0, False, UNKNOWN)
    assert not causes_fault(-20, False, FAILED)


def test_script_user_resolution() -> None:
    g = GlobalDefs(script_user="nobody")
    assert script_user(VrrpScript(name="a", script=["/bin/true"]), g) == ("nobody", None)
    s = VrrpScript(name="a", script=["/bin/true"], user="daemon", group="daemon")
    assert script_user(s, g) == ("daemon", "daemon")
    assert script_user(VrrpScript(name="a", script=["/bin/true"]), GlobalDefs()) == (None, None)


def test_runner_feed_reports_changes() -> None:
    ups: list[CheckUpdate] = []
    r = ScriptRunner(VrrpScript(name="chk", script=["/bin/true"], fall=2), GlobalDefs(), ups.append)
    r.feed(ProcResult(0, False, 0.0, ""))
    r.feed(ProcResult(1, False, 0.0, "nginx down\n"))
    r.feed(ProcResult(None, True, 0.5, ""))
    assert [(u.status, u.detail) for u in ups] == [
        (OK, "exit 0"),
        (FAILED, "timed out after 0.5s"),
    ]


async def _wait_for(pred, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        assert loop.time() < end, "condition not reached"
        await asyncio.sleep(0.01)


async def test_runner_real_process(tmp_path: Path) -> None:
    flag = tmp_path / "fail"
    script = tmp_path / "chk.sh"
    script.write_text(f"#!/bin/sh\n[ -e {flag} ] && {{ echo broken >&2; exit 1; }}\nexit 0\n")
    script.chmod(0o755)
    ups: list[CheckUpdate] = []
    r = ScriptRunner(
        VrrpScript(name="chk", script=[str(script)], interval=0.05, fall=2),
        GlobalDefs(),
        ups.append,
    )
    r.start()
    try:
        await _wait_for(lambda: r.status is OK)
        flag.touch()
        await _wait_for(lambda: r.status is FAILED)
        assert ups[-1].detail == "exit 1: broken"
        flag.unlink()
        await _wait_for(lambda: r.status is OK)
    finally:
        await r.stop()


async def test_runner_timeout_counts_as_failure() -> None:
    ups: list[CheckUpdate] = []
    r = ScriptRunner(
        VrrpScript(name="slow", script=["/bin/sleep", "5"], interval=0.05, timeout=0.1),
        GlobalDefs(),
        ups.append,
    )
    r.start()
    try:
        await _wait_for(lambda: r.status is FAILED)
        assert "timed out" in ups[-1].detail
    finally:
        await r.stop()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_runner_disables_insecure_script(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    script = tmp_path / "chk.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o755)
    r = ScriptRunner(
        VrrpScript(name="chk", script=[str(script)]),
        GlobalDefs(enable_script_security=True),
        lambda u: None,
    )
    assert r.check_security() is not None
    r2 = ScriptRunner(
        VrrpScript(name="chk", script=[str(tmp_path / "missing")]), GlobalDefs(), lambda u: None
    )
    assert "does not exist" in (r2.check_security() or "")
