"""The Transition JSON is a public contract: keys and round trip."""

from __future__ import annotations

import json

from hookd.events import Transition


def test_transition_json_contract() -> None:
    t = Transition(instance="VI_1", vrid=51, from_state="BACKUP", to_state="MASTER",
                   priority=100, base_priority=100, vips=("10.0.0.100",), node="n1",
                   reason="master_down_timer expired (no advert received)")
    d = json.loads(t.to_json())
    for key in ("id", "seq", "time", "node", "instance", "group", "vrid", "from", "to",
                "priority", "base_priority", "vips", "reason"):
        assert key in d
    assert d["from"] == "BACKUP" and d["to"] == "MASTER" and d["vips"] == ["10.0.0.100"]
    assert Transition.from_dict(d) == t


def test_seq_increases() -> None:
    a = Transition(instance="A", from_state="INIT", to_state="BACKUP", priority=1,
                   base_priority=1)
    b = Transition(instance="A", from_state="BACKUP", to_state="MASTER", priority=1,
                   base_priority=1)
    assert b.seq > a.seq and a.id != b.id
