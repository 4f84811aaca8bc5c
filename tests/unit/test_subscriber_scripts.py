"""Notify scripts: keepalived's arguments byte for byte, env, timeouts, security, results."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

from hookd.bus import Bus
from hookd.config.model import (
    DeliverySettings,
    GlobalDefs,
    Model,
    Notify,
    NotifyScript,
    Settings,
    VrrpInstanceConfig,
    VrrpSyncGroup,
)
from hookd.events import Transition
from hookd.subscribers import build
from hookd.subscribers.audit import AuditSubscriber
from hookd.subscribers.scripts import ScriptSubscriber, generic_args
from tests.shared import require, shared_dir
from tests.unit.subscriber_helpers import audit, until

VECTORS = shared_dir() / "vectors"


def script(path: Path, body: str, mode: int = 0o755) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(mode)
    return str(path)


def make_model(
    notify: Notify,
    *,
    timeout: float = 5.0,
    security: bool = False,
    group_notify: Notify | None = None,
) -> Model:
    inst = VrrpInstanceConfig(
        name="VI_1", interface="lo", virtual_router_id=51, priority=101, notify=notify
    )
    groups = {}
    if group_notify is not None:
        groups["G1"] = VrrpSyncGroup(name="G1", group=["VI_1"], notify=group_notify)
    return Model(
        global_defs=GlobalDefs(router_id="hk1", enable_script_security=security),
        vrrp_instances={"VI_1": inst},
        vrrp_sync_groups=groups,
        settings=Settings(
            delivery=DeliverySettings(
                initial_backoff=0.02, max_backoff=0.05, script_timeout=timeout
            )
        ),
    )


def tr(to: str, prio: int = 101, frm: str = "BACKUP", **kw: object) -> Transition:
    return Transition(
        instance=kw.pop("instance", "VI_1"),
        from_state=frm,
        to_state=to,
        priority=prio,
        base_priority=100,
        vrid=51,
        vips=("10.0.0.100",),
        reason=f"why {to}",
        **kw,
    )  # type: ignore[arg-type]


def test_generic_args_match_keepalived_vector() -> None:
    # "n1: INSTANCE VI_1 MASTER 101" etc. from keepalived 2.2.7
    want = [
        line.split(": ", 1)[1].split("  ")[0].strip()
        for line in require(VECTORS / "keepalived-2.2.7-notify.txt").read_text().splitlines()
        if line.startswith(("n1: ", "n2: "))
    ]
    got = [
        " ".join(generic_args(tr("BACKUP", 90))),
        " ".join(generic_args(tr("BACKUP"))),
        " ".join(generic_args(tr("MASTER"))),
        " ".join(generic_args(tr("STOP"))),
        " ".join(generic_args(tr("MASTER", 90))),
    ]
    assert got == want
    assert generic_args(tr("BACKUP", is_group=True, instance="G1")) == [
        "GROUP",
        "G1",
        "BACKUP",
        "0",
    ]


async def test_scripts_get_exact_args_env_and_run_in_order(tmp_path: Path) -> None:
    out = tmp_path / "out"
    rec = script(
        tmp_path / "rec.sh",
        f'{{ printf "[%s]" "$@"; echo " $HOOKD_STATE $HOOKD_PRIORITY $HOOKD_REASON"; }} >> {out}\n',
    )
    env_dump = tmp_path / "env.json"
    envs = script(tmp_path / "env.sh", f'printf "%s" "$HOOKD_EVENT" > {env_dump}\n')
    notify = Notify(
        master=NotifyScript(argv=[rec, "my arg", "x"]),
        backup=NotifyScript(argv=[envs]),
        generic=NotifyScript(argv=[rec, "gen"]),
    )
    m = make_model(notify, group_notify=Notify(generic=NotifyScript(argv=[rec])))
    subs = build(m, tmp_path)
    assert [s.name for s in subs] == ["audit", "scripts"]
    bus = Bus(m, tmp_path, subscribers=subs)
    await bus.start()
    t_backup, t_master = tr("BACKUP", frm="INIT"), tr("MASTER")
    bus.publish(t_backup)
    bus.publish(t_master)
    bus.publish(tr("MASTER", frm="BACKUP", is_group=True, instance="G1"))
    await until(lambda: out.exists() and len(out.read_text().splitlines()) == 4)
    await bus.stop()
    all_lines = out.read_text().splitlines()
    # the group has its own queue (runs concurrently); the instance's are in order
    assert [x for x in all_lines if x.startswith("[GROUP]")] == [
        "[GROUP][G1][MASTER][0] MASTER 101 why MASTER"
    ]
    lines = [x for x in all_lines if not x.startswith("[GROUP]")]
    assert lines[0] == "[gen][INSTANCE][VI_1][BACKUP][101] BACKUP 101 why BACKUP"
    assert lines[1:] == [
        "[my arg][x] MASTER 101 why MASTER",  # own script first, then the generic one
        "[gen][INSTANCE][VI_1][MASTER][101] MASTER 101 why MASTER",
    ]
    assert json.loads(env_dump.read_text()) == t_backup.to_dict()
    recs = [d for d in audit(tmp_path / "audit.jsonl") if d["kind"] == "delivery"]
    assert all(d["status"] == "delivered" for d in recs) and len(recs) == 3
    assert "exit 0" in str(recs[0]["detail"])


async def test_hung_script_killed_at_timeout_next_event_still_runs(tmp_path: Path) -> None:
    done = tmp_path / "done"
    hang = script(tmp_path / "hang.sh", "echo started; exec sleep 1000\n")
    ok = script(tmp_path / "ok.sh", f"echo ran > {done}\n")
    notify = Notify(master=NotifyScript(argv=[hang]), backup=NotifyScript(argv=[ok]))
    m = make_model(notify, timeout=0.3)
    a = AuditSubscriber(tmp_path / "audit.jsonl")
    bus = Bus(m, tmp_path, subscribers=[ScriptSubscriber(m), a])
    await bus.start()
    bus.publish(tr("MASTER"))
    bus.publish(tr("BACKUP", frm="MASTER"))
    await until(done.exists)
    await until(lambda: len([d for d in audit(a.path) if d["kind"] == "delivery"]) == 2)
    await bus.stop()
    d1, d2 = [d for d in audit(a.path) if d["kind"] == "delivery"]
    assert d1["status"] == "dead" and "timed out" in str(d1["detail"])
    assert "started" in str(d1["detail"])  # the output tail is recorded
    assert d2["status"] == "delivered"


async def test_nonzero_exit_recorded_not_retried(tmp_path: Path) -> None:
    count = tmp_path / "count"
    bad = script(tmp_path / "bad.sh", f"echo x >> {count}; echo oops >&2; exit 3\n")
    m = make_model(Notify(master=NotifyScript(argv=[bad])))
    a = AuditSubscriber(tmp_path / "audit.jsonl")
    bus = Bus(m, tmp_path, subscribers=[ScriptSubscriber(m), a])
    await bus.start()
    bus.publish(tr("MASTER"))
    await until(lambda: any(d.get("status") == "dead" for d in audit(a.path)))
    await asyncio.sleep(0.1)
    await bus.stop()
    assert count.read_text() == "x\n"
    dead = next(d for d in audit(a.path) if d.get("status") == "dead")
    assert "exit 3" in str(dead["detail"]) and "oops" in str(dead["detail"])


async def test_script_security_refuses_writable_script(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    unsafe = script(tmp_path / "unsafe.sh", f"touch {ran}\n", mode=0o777)
    os.chmod(unsafe, os.stat(unsafe).st_mode | stat.S_IWOTH)
    m = make_model(Notify(master=NotifyScript(argv=[unsafe])), security=True)
    a = AuditSubscriber(tmp_path / "audit.jsonl")
    bus = Bus(m, tmp_path, subscribers=[ScriptSubscriber(m), a])
    await bus.start()
    bus.publish(tr("MASTER"))
    await until(lambda: any(d.get("status") == "dead" for d in audit(a.path)))
    await bus.stop()
    assert not ran.exists()
    dead = next(d for d in audit(a.path) if d.get("status") == "dead")
    assert "refused" in str(dead["detail"])
