"""``hookd check [-f FILE] [--settings FILE] [-i ID]``: validate and summarise.

Exit 0 when valid (summary on stdout, warnings on stderr), 1 with every error on stderr as
``FILE:LINE: message``. Secrets (passwords, apprise URLs) are never printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from hookd.config import ConfigError, load
from hookd.config.model import Model, Notify, VrrpInstanceConfig


def _notify_summary(n: Notify) -> str:
    parts = []
    for slot in ("master", "backup", "fault", "stop", "deleted", "generic"):
        ns = getattr(n, slot)
        if ns is not None:
            kw = "notify" if slot == "generic" else f"notify_{slot}"
            parts.append(f"{kw}={ns.argv[0]}")
    return ", ".join(parts) or "-"


def _instance_lines(i: VrrpInstanceConfig) -> list[str]:
    auth = f" auth={i.authentication.auth_type}" if i.authentication else ""
    lines = [
        f"  {i.name}: {i.state} {i.interface} vrid={i.virtual_router_id} "
        f"v{i.version}/IPv{i.family} priority={i.priority} advert_int={i.advert_int:g}s{auth}"
        + (" nopreempt" if i.nopreempt else "")
        + (f" preempt_delay={i.preempt_delay:g}s" if i.preempt_delay else ""),
        f"    vips: {', '.join(v.address for v in i.virtual_ipaddress) or '-'}",
    ]
    if i.unicast_peer:
        src = f" (src {i.unicast_src_ip})" if i.unicast_src_ip else ""
        lines.append(f"    unicast peers: {', '.join(i.unicast_peer)}{src}")
    if i.track_script:
        lines.append(
            "    track_script: "
            + ", ".join(
                t.name + (f" weight {t.weight}" if t.weight is not None else "")
                for t in i.track_script
            )
        )
    if i.track_interface:
        lines.append(
            "    track_interface: "
            + ", ".join(
                t.name + (f" weight {t.weight}" if t.weight is not None else "")
                for t in i.track_interface
            )
        )
    lines.append(f"    notify: {_notify_summary(i.notify)}")
    return lines


def summary(model: Model) -> str:
    """A one-screen description of what hookd will run."""
    g = model.global_defs
    s = model.settings
    out = [f"router_id {g.router_id}"]
    out.append(f"vrrp_instance ({len(model.vrrp_instances)}):")
    for inst in model.vrrp_instances.values():
        out.extend(_instance_lines(inst))
    if model.vrrp_sync_groups:
        out.append(f"vrrp_sync_group ({len(model.vrrp_sync_groups)}):")
        for grp in model.vrrp_sync_groups.values():
            out.append(
                f"  {grp.name}: {', '.join(grp.group)}; notify: {_notify_summary(grp.notify)}"
            )
    if model.vrrp_scripts:
        out.append(f"vrrp_script ({len(model.vrrp_scripts)}):")
        for sc in model.vrrp_scripts.values():
            out.append(
                f"  {sc.name}: {' '.join(sc.script)} interval={sc.interval:g}s "
                f"weight={sc.weight} rise={sc.rise} fall={sc.fall}"
            )
    out.append("notifiers:")
    rcpt = s.smtp.to if s.smtp.to is not None else g.notification_email
    host = s.smtp.host or g.smtp_server
    port = s.smtp.port or g.smtp_port
    if rcpt and host:
        out.append(f"  email: {', '.join(rcpt)} via {host}:{port}")
    elif rcpt:
        out.append(f"  email: {', '.join(rcpt)} (no smtp_server: not sent)")
    else:
        out.append("  email: -")
    n_urls = sum(len(r.urls) for r in s.apprise)
    out.append(f"  apprise: {len(s.apprise)} route(s), {n_urls} URL(s)")
    fifo = g.vrrp_notify_fifo or g.notify_fifo
    if fifo:
        out.append(f"  fifo: {fifo}")
    if s.net_check:
        out.append("net_check:")
        for name, nc in s.net_check.items():
            peers = ", ".join(nc.peers) if nc.peers else "unicast_peer/learned master"
            out.append(
                f"  {name}: peers={peers} gateway={nc.gateway or '-'} "
                f"policy={nc.policy} action={nc.action}"
            )
    return "\n".join(out)


def run(
    config: str | None,
    settings: str | None,
    config_id: str | None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Validate; print errors/warnings to ``stderr`` and the summary to ``stdout``."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        model, warnings = load(config, settings, config_id)
    except ConfigError as e:
        for w in e.warnings:
            print(w, file=stderr)
        for d in e.diagnostics:
            print(d, file=stderr)
        print(f"hookd check: {len(e.diagnostics)} error(s)", file=stderr)
        return 1
    for w in warnings:
        print(w, file=stderr)
    print(summary(model), file=stdout)
    return 0


def main(args: argparse.Namespace) -> int:
    """Entry point of ``hookd check`` (dispatched from hookd.cli)."""
    return run(
        getattr(args, "config", None),
        getattr(args, "settings", None),
        getattr(args, "config_id", None),
    )
