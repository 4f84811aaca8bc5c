"""Configuration: keepalived.conf + hookd.toml + HOOKD_* env -> one validated Model.

``load()`` is the only entry point the rest of hookd needs. It returns the warnings and
raises :class:`ConfigError` carrying *every* error found in one run, each printed as
``FILE:LINE: message``.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import Any

from hookd.config.diagnostics import ConfigError, Diagnostic, Reporter
from hookd.config.keepalived import (
    ParseResult,
    finish_instance,
    parse_file,
    short_hostname,
)
from hookd.config.model import (
    GlobalDefs,
    Model,
    NotifyScript,
    Source,
    VrrpInstanceConfig,
    VrrpScript,
    VrrpSyncGroup,
)
from hookd.config.settings import load_settings

__all__ = ["DEFAULT_CONF", "ConfigError", "Diagnostic", "load"]

DEFAULT_CONF = "/etc/keepalived/keepalived.conf"


def _program_problem(argv: list[str]) -> str | None:
    """Why ``argv[0]`` cannot be exec'd, or None."""
    prog = argv[0]
    path = prog if os.sep in prog else shutil.which(prog)
    if path is None or not os.path.exists(path):
        return f"{prog} does not exist"
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        return f"{prog} is not executable"
    return None


def _merge_global_defs(base: GlobalDefs, extra: GlobalDefs | None) -> GlobalDefs:
    """hookd.toml ``[global_defs]`` keys override the keepalived.conf ones, key by key."""
    if extra is None:
        return base
    return base.model_copy(update={k: getattr(extra, k) for k in extra.model_fields_set})


def load(
    config: str | None = None,
    settings: str | None = None,
    config_id: str | None = None,
    *,
    check_files: bool = True,
) -> tuple[Model, list[Diagnostic]]:
    """Read keepalived.conf (``config``; default /etc/keepalived/keepalived.conf when it
    exists, or ``keepalived_conf`` from the settings) and hookd.toml (``settings``; see
    :func:`hookd.config.settings.settings_path`) into one :class:`Model`.

    ``config_id`` selects ``@ID`` lines (default: the short host name). With
    ``check_files`` the notify and vrrp_script programs must exist and be executable.
    Returns (model, warnings); raises :class:`ConfigError` with all errors.
    """
    report = Reporter()
    s, sdiags, toml_path = load_settings(settings)
    report.items.extend(sdiags)
    toml_label = toml_path or "<settings>"

    conf = config or s.keepalived_conf
    if conf is None and os.path.exists(DEFAULT_CONF):
        conf = DEFAULT_CONF
    parsed = ParseResult()
    if conf is not None:
        if not os.path.exists(conf):
            report.error(conf, 0, "configuration file does not exist")
        else:
            parsed, _ = parse_file(conf, config_id, report)

    gdefs = _merge_global_defs(parsed.global_defs, s.global_defs)
    if not gdefs.router_id:
        gdefs = gdefs.model_copy(update={"router_id": socket.gethostname()})  # keepalived
    if not gdefs.notification_email_from:
        gdefs = gdefs.model_copy(
            update={"notification_email_from": f"keepalived@{socket.gethostname()}"}
        )

    scripts: dict[str, VrrpScript] = dict(parsed.vrrp_scripts)
    instances: dict[str, VrrpInstanceConfig] = dict(parsed.vrrp_instances)
    groups: dict[str, VrrpSyncGroup] = dict(parsed.vrrp_sync_groups)
    locs = dict(parsed.locations)

    # instances/scripts/groups declared in hookd.toml
    for sc in s.vrrp_script:
        if sc.name in scripts:
            report.error(toml_label, 0, f"vrrp_script {sc.name} is defined twice")
            continue
        scripts[sc.name] = (
            sc if sc.source.file else sc.model_copy(update={"source": Source(file=toml_label)})
        )
    for inst in s.vrrp_instance:
        if inst.name in instances:
            report.error(toml_label, 0, f"vrrp_instance {inst.name} is defined twice")
            continue
        raw: dict[str, Any] = {
            k: getattr(inst, k) for k in inst.model_fields_set if k not in ("family",)
        }
        raw["name"] = inst.name
        raw.setdefault("source", Source(file=toml_label))
        done = finish_instance(raw, gdefs, report, toml_label, 0)
        if done is not None:
            instances[inst.name] = done
    for g in s.vrrp_sync_group:
        if g.name in groups:
            report.error(toml_label, 0, f"vrrp_sync_group {g.name} is defined twice")
            continue
        groups[g.name] = (
            g if g.source.file else g.model_copy(update={"source": Source(file=toml_label)})
        )

    def where(kind: str, name: str, key: str, src: Source) -> tuple[str, int]:
        return locs.get((kind, name, key)) or (src.file or toml_label, src.line)

    # semantic checks across sections
    seen_vrid: dict[tuple[str, int, int], str] = {}
    for inst in instances.values():
        key = (inst.interface, inst.family, inst.virtual_router_id)
        if key in seen_vrid:
            f, n = where("instance", inst.name, "virtual_router_id", inst.source)
            report.error(
                f,
                n,
                f"vrrp_instance {inst.name}: virtual_router_id {inst.virtual_router_id}"
                f" is already used by {seen_vrid[key]} on {inst.interface}"
                f" (IPv{inst.family})",
            )
        else:
            seen_vrid[key] = inst.name
        for ts in inst.track_script:
            if ts.name not in scripts:
                f, n = where("instance", inst.name, f"script:{ts.name}", inst.source)
                report.error(
                    f, n, f"vrrp_instance {inst.name}: track_script {ts.name} names no vrrp_script"
                )
    member_of: dict[str, str] = {}
    for g in groups.values():
        for ts in g.track_script:
            if ts.name not in scripts:
                f, n = where("group", g.name, f"script:{ts.name}", g.source)
                report.error(
                    f, n, f"vrrp_sync_group {g.name}: track_script {ts.name} names no vrrp_script"
                )
        for m in g.group:
            f, n = where("group", g.name, f"member:{m}", g.source)
            if m not in instances:
                report.error(f, n, f"vrrp_sync_group {g.name}: unknown vrrp_instance {m}")
            elif m in member_of:
                report.error(
                    f, n, f"vrrp_sync_group {g.name}: {m} is already in sync group {member_of[m]}"
                )
            else:
                member_of[m] = g.name
        if len(g.group) < 2:
            f, n = where("group", g.name, "", g.source)
            report.warn(f, n, f"vrrp_sync_group {g.name} has only {len(g.group)} instance(s)")

    if check_files:
        for sc in scripts.values():
            problem = _program_problem(sc.script)
            if problem:
                f, n = where("script", sc.name, "script", sc.source)
                report.error(f, n, f"vrrp_script {sc.name}: script {problem}")
        owners: list[tuple[str, str, Any, Source]] = [
            ("instance", i.name, i.notify, i.source) for i in instances.values()
        ] + [("group", g.name, g.notify, g.source) for g in groups.values()]
        for kind, name, notify, src in owners:
            for slot in ("master", "backup", "fault", "stop", "deleted", "generic"):
                ns: NotifyScript | None = getattr(notify, slot)
                if ns is None:
                    continue
                problem = _program_problem(ns.argv)
                if problem:
                    f, n = where(kind, name, f"notify:{slot}", src)
                    kw = "notify" if slot == "generic" else f"notify_{slot}"
                    label = "vrrp_instance" if kind == "instance" else "vrrp_sync_group"
                    report.error(f, n, f"{label} {name}: {kw} {problem}")
        for fifo_script in (gdefs.notify_fifo_script, gdefs.vrrp_notify_fifo_script):
            if fifo_script:
                problem = _program_problem(fifo_script)
                if problem:
                    report.error(conf or toml_label, 0, f"global_defs: fifo script {problem}")

    if not instances and not report.errors:
        report.warn(conf or toml_label, 0, "no vrrp_instance configured")

    if report.errors:
        raise ConfigError(report.errors, report.warnings)
    model = Model(
        global_defs=gdefs,
        vrrp_scripts=scripts,
        vrrp_instances=instances,
        vrrp_sync_groups=groups,
        settings=s,
    )
    return model, report.warnings


def default_config_id() -> str:
    """The ``@ID`` selector used when none is given: the short host name."""
    return short_hostname()
