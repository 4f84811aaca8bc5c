"""keepalived's notify scripts: ``notify_master|backup|fault|stop|deleted`` and ``notify``.

For a transition of an instance (or a sync group) to STATE this runs, in this order and
without a shell (``hookd.proc.run_program``):

1. the state's own script (``notify_master`` ...) with exactly its own argv;
2. the generic ``notify`` script with keepalived's four arguments appended:
   ``INSTANCE|GROUP <name> <MASTER|BACKUP|FAULT|STOP|DELETED> <priority>`` (a group's
   priority is 0, as in keepalived).

Each runs as its NotifyScript user/group, else global_defs script_user/script_group, with a
timeout of ``DeliverySettings.script_timeout`` (the whole process group is killed), and with
the event in the environment: ``HOOKD_EVENT`` (the public JSON), ``HOOKD_EVENT_ID``,
``HOOKD_TYPE``, ``HOOKD_INSTANCE``, ``HOOKD_GROUP``, ``HOOKD_STATE``, ``HOOKD_FROM_STATE``,
``HOOKD_PRIORITY``, ``HOOKD_BASE_PRIORITY``, ``HOOKD_VRID``, ``HOOKD_VIPS`` (space
separated), ``HOOKD_REASON``, ``HOOKD_NODE``.

Outcome policy (like keepalived, a notify script runs at most once per transition):
every script exiting 0 is "delivered"; a non-zero exit, a timeout, an exec failure or a
refusal by ``enable_script_security`` is a result, recorded as "dead" with the exit code,
duration and output tail, and is not retried (re-running ``nginx reload`` in a loop would
not help and would reorder state actions). Scripts are state actions: after a restart only
the newest pending transition of each instance runs, older ones are "superseded".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from hookd.config.model import Model, NotifyScript, VrrpInstanceConfig, VrrpSyncGroup
from hookd.events import Event, Transition
from hookd.proc import ProcResult, run_as_uid, run_program, script_security_problem
from hookd.subscribers.base import BaseSubscriber, PermanentError, Subscriber

NOTIFY_STATES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED")


def notify_env(t: Transition) -> dict[str, str]:
    """The HOOKD_* variables describing a transition."""
    return {
        "HOOKD_EVENT": t.to_json(),
        "HOOKD_EVENT_ID": t.id,
        "HOOKD_TYPE": "GROUP" if t.is_group else "INSTANCE",
        "HOOKD_INSTANCE": t.instance,
        "HOOKD_GROUP": t.group or "",
        "HOOKD_STATE": t.to_state,
        "HOOKD_FROM_STATE": t.from_state,
        "HOOKD_PRIORITY": str(t.priority),
        "HOOKD_BASE_PRIORITY": str(t.base_priority),
        "HOOKD_VRID": "" if t.vrid is None else str(t.vrid),
        "HOOKD_VIPS": " ".join(t.vips),
        "HOOKD_REASON": t.reason,
        "HOOKD_NODE": t.node,
    }


def generic_args(t: Transition) -> list[str]:
    """keepalived's appended arguments: ``INSTANCE VI_1 MASTER 101`` / ``GROUP G1 BACKUP 0``."""
    kind = "GROUP" if t.is_group else "INSTANCE"
    state = t.to_state if t.to_state in NOTIFY_STATES else "{UNKNOWN}"
    return [kind, t.instance, state, str(0 if t.is_group else t.priority)]


class ScriptSubscriber(BaseSubscriber):
    """Runs the notify scripts of instances and sync groups, in event order per instance."""

    digest: ClassVar[bool] = False
    state_action: ClassVar[bool] = True
    deliver_timeout = None  # run_program enforces script_timeout itself

    def __init__(self, model: Model) -> None:
        self.name = "scripts"
        self.model = model
        self.timeout = model.settings.delivery.script_timeout

    @classmethod
    def from_model(cls, model: Model, state_dir: Path) -> list[Subscriber]:
        owners: list[VrrpInstanceConfig | VrrpSyncGroup] = [
            *model.vrrp_instances.values(),
            *model.vrrp_sync_groups.values(),
        ]
        if any(
            any(getattr(o.notify, s.lower()) for s in (*NOTIFY_STATES, "generic")) for o in owners
        ):
            return [cls(model)]
        return []

    def _owner(self, t: Transition) -> VrrpInstanceConfig | VrrpSyncGroup | None:
        if t.is_group:
            return self.model.vrrp_sync_groups.get(t.instance)
        return self.model.vrrp_instances.get(t.instance)

    def scripts_for(self, t: Transition) -> list[tuple[str, NotifyScript, list[str]]]:
        """(label, script, argv) to run for this transition, in order."""
        owner = self._owner(t)
        if owner is None:
            return []
        out: list[tuple[str, NotifyScript, list[str]]] = []
        own = owner.notify.for_state(t.to_state)
        if own is not None:
            out.append((f"notify_{t.to_state.lower()}", own, list(own.argv)))
        if owner.notify.generic is not None:
            g = owner.notify.generic
            out.append(("notify", g, [*g.argv, *generic_args(t)]))
        return out

    def wants(self, event: Event) -> bool:
        return isinstance(event, Transition) and bool(self.scripts_for(event))

    async def deliver(self, event: Event) -> str | None:
        assert isinstance(event, Transition)
        gd = self.model.global_defs
        env = {**os.environ, **notify_env(event)}
        results: list[str] = []
        failed = False
        for label, script, argv in self.scripts_for(event):
            # keepalived: the script's own "user [group]", else script_user/script_group.
            if script.user is not None:
                user, group = script.user, script.group
            else:
                user, group = gd.script_user, gd.script_group
            problem = script_security_problem(
                argv[0],
                enable_script_security=gd.enable_script_security,
                run_as_uid=run_as_uid(user),
            )
            if problem is not None:
                failed = True
                results.append(f"{label} {argv[0]}: refused: {problem}")
                continue
            res = await run_program(argv, timeout=self.timeout, user=user, group=group, env=env)
            failed |= not res.ok
            results.append(f"{label} {argv[0]}: {_describe(res)}")
        detail = "; ".join(results)
        if failed:
            raise PermanentError(detail)
        return detail


def _describe(res: ProcResult) -> str:
    what = (
        res.describe()
        if hasattr(res, "describe")
        else (res.error or ("timed out" if res.timed_out else f"exit {res.returncode}"))
    )
    tail = res.output_tail.strip()
    if len(tail) > 500:
        tail = "..." + tail[-500:]
    return f"{what} in {res.duration:.2f}s" + (f", output: {tail!r}" if tail else "")
