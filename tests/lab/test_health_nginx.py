"""The shipped nginx-reload notify hook, run by hookd, against a real nginx in n1's namespace.

Becoming MASTER reloads nginx (new worker pids). With a broken nginx config the next
MASTER transition runs the hook again: it refuses to reload, and the failure (exit code,
nginx's own error) lands in n1's audit log as a dead delivery of the ``scripts``
subscriber, while hookd keeps running and keeps the VIP.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.lab.helpers import HookdLab, HookdNode, keepalived_conf, vrrp_instance, wait_until
from tests.lab.nginx import NGINX, Nginx

RELOAD_HOOK = Path(__file__).resolve().parents[2] / "hooks" / "nginx-reload"

pytestmark = [
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root + CAP_NET_ADMIN"),
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx not installed"),
]

MakeLab = Callable[..., HookdLab]

VIP = "10.99.0.100"
FAST = {"version": 3, "advert_int": 0.2}
MARGIN = 5.0


@pytest.fixture
def nginx_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "nginx"
    d.mkdir()
    d.chmod(0o755)  # workers run as nobody
    yield d


def _script_deliveries(node: HookdNode, transition_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in node.history("VI_1")
        if e["kind"] == "delivery"
        and e["subscriber"] == "scripts"
        and e["event_id"] == transition_id
    ]


def _last_to_master(node: HookdNode) -> dict[str, Any]:
    masters = [t for t in node.transitions("VI_1") if t["to"] == "MASTER"]
    assert masters, node.history()
    return masters[-1]


def _final_delivery(node: HookdNode) -> dict[str, Any] | None:
    """The settled scripts delivery of n1's newest MASTER transition, if there is one yet."""
    done = [
        d
        for d in _script_deliveries(node, _last_to_master(node)["id"])
        if d["status"] in ("delivered", "dead")
    ]
    return done[-1] if done else None


def test_nginx_reload_hook_on_master_and_failure_audited(
    hookd_lab: MakeLab, nginx_dir: Path
) -> None:
    hl = hookd_lab(("n1", "n2"))
    ng = Nginx(nginx_dir, worker_processes=2, lab=hl.lab, node="n1")
    ng.start()
    try:
        before = ng.workers()
        # The notify subscriber passes the daemon's environment on to the hook.
        env = {"NGINX": NGINX, "NGINX_CONF": str(ng.conf)}
        n1 = hl.start(
            "n1",
            keepalived_conf(
                "n1",
                vrrp_instance(
                    "VI_1",
                    vrid=51,
                    priority=150,
                    vips=[f"{VIP}/24"],
                    extra=f'notify_master "{RELOAD_HOOK}"',
                    **FAST,  # type: ignore[arg-type]
                ),
            ),
            env=env,
        )
        n2 = hl.start(
            "n2",
            keepalived_conf(
                "n2",
                vrrp_instance("VI_1", vrid=51, priority=100, vips=[f"{VIP}/24"], **FAST),  # type: ignore[arg-type]
            ),
        )
        assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
        assert n2.wait_state("VI_1", "BACKUP", MARGIN), hl.dump()

        # 1. MASTER -> nginx-reload ran and succeeded: a whole new set of workers.
        assert wait_until(lambda: _final_delivery(n1) is not None, MARGIN), n1.history()
        ok = _final_delivery(n1)
        assert ok is not None and ok["status"] == "delivered", ok
        assert "notify_master" in ok["detail"] and "exit 0" in ok["detail"], ok
        assert wait_until(lambda: len(ng.workers()) == 2 and not ng.workers() & before, MARGIN)
        serving = ng.workers()

        # 2. Break nginx's config, then make n1 MASTER again (stop, n2 takes over, restart:
        #    n1 preempts with the same state dir, so one audit log spans both runs).
        ng.write_conf(broken=True)
        assert n1.stop() == 0, hl.dump()
        assert n2.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
        first_master_id = _last_to_master(n1)["id"]
        n1.start()
        assert n1.wait_ready(10), hl.dump()
        assert n1.wait_state("VI_1", "MASTER", MARGIN), hl.dump()
        assert _last_to_master(n1)["id"] != first_master_id
        assert wait_until(lambda: _final_delivery(n1) is not None, MARGIN), n1.history()
        dead = _final_delivery(n1)
        assert dead is not None and dead["status"] == "dead", dead
        detail = dead["detail"]
        assert "notify_master" in detail and str(RELOAD_HOOK) in detail, detail
        assert "exit 1" in detail, detail
        # the output tail (its last 500 characters) ends with nginx's own error
        assert 'unknown directive "this_is_not_a_directive"' in detail, detail
        assert detail.rstrip("'").endswith(f"{ng.conf} test failed"), detail
        assert "inherited sockets" not in detail, detail  # the hook's $NGINX is not nginx's
        print(f"\nfailed hook, as audited: {detail[:300]}")
        # the JSON-lines audit log holds the same dead delivery
        audited = [
            e
            for e in n1.audit()
            if e["kind"] == "delivery" and e["subscriber"] == "scripts" and e["status"] == "dead"
        ]
        assert audited and "this_is_not_a_directive" in audited[-1]["detail"], n1.audit()

        # 3. nginx kept serving with its old workers; hookd is up, MASTER, advertising.
        assert ng.workers() == serving
        assert n1.running(), hl.dump()
        sent = n1.instance("VI_1")["adverts_sent"]  # type: ignore[index]
        time.sleep(1.0)
        inst = n1.instance("VI_1")
        assert inst is not None and inst["state"] == "MASTER", hl.dump()
        assert inst["adverts_sent"] > sent
        assert hl.holders(VIP, ("n1", "n2")) == ["n1"], hl.dump()
        assert n2.state("VI_1") == "BACKUP", hl.dump()
    finally:
        ng.stop()
