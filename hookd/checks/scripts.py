"""``vrrp_script`` checks, run and counted exactly as keepalived 2.2 does.

Counting (keepalived ``vrrp_script_child_thread``): a counter in ``[0, rise+fall-1]``;
OK while it is ``>= rise``. Without ``init_fail`` a script starts *unknown* at
``rise-1``: its first result decides at once (one success -> OK, one failure -> failed)
and no weight is applied before that. With ``init_fail`` it starts failed (counter 0):
a negative weight applies at once, a weight-0 script faults its instances, and ``rise``
successes are needed. Afterwards ``fall`` consecutive failures make it failed and ``rise``
consecutive successes make it OK again.

Weights (keepalived ``process_script_update_priority``): with multiplier -1 for
``reverse``, a positive weight adds ``weight*mult`` while OK, a negative weight adds
``weight*mult`` while failed; weight 0 means FAULT while failed (while OK if reversed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from hookd.config.model import GlobalDefs, VrrpScript
from hookd.proc import ProcResult, run_as_uid, run_program, script_security_problem

log = logging.getLogger(__name__)


class ScriptStatus(Enum):
    """Where a check stands."""

    UNKNOWN = "unknown"  # no result yet (keepalived's SCRIPT_INIT_STATE_INIT)
    OK = "ok"
    FAILED = "failed"


class RiseFall:
    """keepalived's rise/fall counter for one check; pure, no I/O."""

    def __init__(
        self, rise: int, fall: int, *, init_fail: bool = False, start_ok: bool = False
    ) -> None:
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be >= 1")
        self.rise = rise
        self.fall = fall
        self._initial = not start_ok
        if start_ok:  # net_check: healthy until `fall` bad rounds say otherwise
            self.result = rise + fall - 1
            self.status = ScriptStatus.OK
        elif init_fail:
            self.result = 0
            self.status = ScriptStatus.FAILED
        else:
            self.result = rise - 1
            self.status = ScriptStatus.UNKNOWN

    def record(self, success: bool) -> ScriptStatus | None:
        """Count one result; return the new status when it changed, else None."""
        initial, self._initial = self._initial, False
        before = self.status
        top = self.rise + self.fall - 1
        if success:
            if self.result < self.rise - 1:
                self.result += 1
            else:
                self.result = top
                self.status = ScriptStatus.OK
        elif self.result > self.rise:
            self.result -= 1
        else:
            if self.result == self.rise or initial or before is ScriptStatus.UNKNOWN:
                self.status = ScriptStatus.FAILED
            self.result = 0
        return self.status if self.status is not before else None


def weight_contribution(weight: int, reverse: bool, status: ScriptStatus) -> int:
    """Priority delta a tracked check adds to an instance in ``status``."""
    mult = -1 if reverse else 1
    if status is ScriptStatus.OK and weight > 0:
        return weight * mult
    if status is ScriptStatus.FAILED and weight < 0:
        return weight * mult
    return 0


def causes_fault(weight: int, reverse: bool, status: ScriptStatus) -> bool:
    """A weight-0 check faults its instance while failed (while OK when reversed)."""
    if weight != 0 or status is ScriptStatus.UNKNOWN:
        return False
    return (status is ScriptStatus.OK) if reverse else (status is ScriptStatus.FAILED)


def script_user(script: VrrpScript, global_defs: GlobalDefs) -> tuple[str | None, str | None]:
    """(user, group) a script runs as: its own, else global script_user, else root (None)."""
    if script.user is not None:
        return script.user, script.group
    return global_defs.script_user, global_defs.script_group


@dataclass(frozen=True)
class CheckUpdate:
    """A status change of one check (vrrp_script, interface, net_check)."""

    name: str  # the vrrp_script / interface / instance name
    status: ScriptStatus
    detail: str  # "exit 1: <last output line>", "timed out after 2.0s", ...


# A runner only reports; the HealthMonitor turns changes into weights and faults.
CheckCallback = Callable[[CheckUpdate], None]


def _detail(res: ProcResult) -> str:
    last = res.output_tail.strip().splitlines()[-1:] if res.output_tail.strip() else []
    return res.describe() + (f": {last[0][:200]}" if last else "")


class ScriptRunner:
    """Runs one vrrp_script every ``interval`` and reports status changes.

    The script is exec'd without a shell, as its user (vrrp_script ``user``, else
    ``script_user``, else root), with timeout = ``timeout`` or ``interval``; a timeout kills
    its process group and counts as a failure. An insecure or missing script is disabled
    (never run, never applied), as keepalived does, and reported once.
    """

    def __init__(
        self, script: VrrpScript, global_defs: GlobalDefs, on_update: CheckCallback
    ) -> None:
        self.script = script
        self.global_defs = global_defs
        self.counter = RiseFall(script.rise, script.fall, init_fail=script.init_fail)
        self._on_update = on_update
        self._task: asyncio.Task[None] | None = None
        self.user, self.group = script_user(script, global_defs)
        self.disabled: str | None = None
        self.last_result: ProcResult | None = None

    @property
    def status(self) -> ScriptStatus:
        return self.counter.status

    def check_security(self) -> str | None:
        return script_security_problem(
            self.script.script[0],
            enable_script_security=self.global_defs.enable_script_security,
            run_as_uid=run_as_uid(self.user),
        )

    def start(self) -> None:
        problem = self.check_security()
        if problem is not None:
            self.disabled = problem
            log.warning("vrrp_script %s disabled: %s", self.script.name, problem)
            return
        self._task = asyncio.create_task(self._loop(), name=f"vrrp_script:{self.script.name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()  # run_program kills the process group on cancel
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def feed(self, res: ProcResult) -> None:
        """Count one result (also used by tests without processes)."""
        self.last_result = res
        changed = self.counter.record(res.ok)
        if changed is not None:
            self._on_update(CheckUpdate(self.script.name, changed, _detail(res)))

    async def run_once(self) -> ProcResult:
        return await run_program(
            self.script.script,
            timeout=self.script.effective_timeout,
            user=self.user,
            group=self.group,
        )

    async def _loop(self) -> None:
        while True:
            started = time.monotonic()
            try:
                res = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never let one check kill the daemon
                log.exception("vrrp_script %s", self.script.name)
                res = ProcResult(None, False, 0.0, "", error=f"internal error: {exc}")
            self.feed(res)
            elapsed = time.monotonic() - started
            await asyncio.sleep(max(0.0, self.script.interval - elapsed))
