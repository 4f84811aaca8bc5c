"""``track_interface`` and the instance's own interface: carrier loss -> FAULT or weight.

keepalived tracks an instance's ``interface`` implicitly (unless ``dont_track_primary``):
without carrier the instance goes to FAULT. ``track_interface`` entries without a weight
do the same; with ``weight N [reverse]`` they move the priority instead (same rule as
vrrp_script weights, with "carrier up" as OK). A sync group's ``track_interface`` applies
to every member. Carrier comes from :class:`hookd.net.links.LinkWatcher`.
"""

from __future__ import annotations

from dataclasses import dataclass

from hookd.checks.scripts import ScriptStatus
from hookd.config.model import Model


@dataclass(frozen=True)
class InterfaceTrack:
    """One instance tracking one interface."""

    instance: str
    ifname: str
    weight: int | None  # None (or 0): carrier down -> FAULT
    reverse: bool = False
    primary: bool = False  # the instance's own `interface`


def interface_tracks(model: Model) -> list[InterfaceTrack]:
    """Every (instance, interface) pair to watch, duplicates removed."""
    out: dict[tuple[str, str, int | None, bool], InterfaceTrack] = {}
    for name, inst in model.vrrp_instances.items():
        entries = list(inst.track_interface)
        group = model.group_of(name)
        if group is not None:
            entries += group.track_interface
        if not inst.dont_track_primary:
            out[(name, inst.interface, None, False)] = InterfaceTrack(
                name, inst.interface, None, False, primary=True
            )
        for ti in entries:
            weight = ti.weight if ti.weight else None  # keepalived: weight 0 = FAULT
            key = (name, ti.name, weight, ti.reverse)
            out.setdefault(key, InterfaceTrack(name, ti.name, weight, ti.reverse))
    return list(out.values())


def carrier_status(carrier: bool | None) -> ScriptStatus:
    """Carrier as a check status: a missing interface counts as down."""
    return ScriptStatus.OK if carrier else ScriptStatus.FAILED
