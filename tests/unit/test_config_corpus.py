"""keepalived's own sample configs, the 2.2.7 vectors config and hookd's examples load."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookd.config import load
from hookd.config.keepalived import parse_file
from tests.shared import shared_dir

ROOT = Path(__file__).resolve().parents[2]
SHARED = shared_dir()
SAMPLES = SHARED / "corpus" / "keepalived-samples"
VECTORS = SHARED / "vectors" / "keepalived-2.2.7-adverts.conf"

# Skipped in a developer clone without shared/, a failure in CI (tests/shared.py).
needs_samples = pytest.mark.skipif(
    not SAMPLES.is_dir() and not os.environ.get("CI"), reason="shared corpus not present"
)


@pytest.fixture(autouse=True)
def _no_env_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.startswith("HOOKD_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOOKD_SECRETS_DIR", "/nonexistent-hookd-secrets")


def sample_files() -> list[Path]:
    if not SAMPLES.is_dir():
        return []
    return sorted(p for p in SAMPLES.iterdir() if p.name.startswith("keepalived.conf"))


@needs_samples
@pytest.mark.parametrize("path", sample_files(), ids=lambda p: p.name)
def test_every_sample_parses_without_error(path: Path) -> None:
    _result, report = parse_file(str(path), config_id="high")
    assert not report.errors, [str(d) for d in report.errors]
    for d in report.items:  # every message names the file and a line
        assert d.file == str(path) and d.line > 0


def _parse(name: str, config_id: str = "high"):  # type: ignore[no-untyped-def]
    result, report = parse_file(str(SAMPLES / name), config_id=config_id)
    assert not report.errors
    return result, report


@needs_samples
def test_sample_vrrp() -> None:
    r, _ = _parse("keepalived.conf.vrrp")
    g = r.global_defs
    assert g.notification_email == ["acassen"] and g.router_id == "LVS_DEVEL"
    assert g.smtp_server == "192.168.200.1" and g.smtp_connect_timeout == 30
    assert g.notification_email_from == "Alexandre.Cassen@firewall.loc"
    v1 = r.vrrp_instances["VI_1"]
    assert (v1.state, v1.virtual_router_id, v1.priority, v1.garp_master_delay) == (
        "MASTER",
        51,
        100,
        10.0,
    )
    assert v1.smtp_alert is True
    assert v1.authentication is not None and v1.authentication.auth_pass == "1111"
    assert v1.vips[:3] == ["192.168.200.16", "192.168.200.17", "192.168.200.18"]
    assert v1.virtual_ipaddress[3].label == "eth0:1"
    v2 = r.vrrp_instances["VI_2"]
    assert (v2.state, v2.priority, v2.virtual_router_id, v2.authentication) == (
        "BACKUP",
        50,
        50,
        None,
    )
    assert r.vrrp_instances["VI_3"].interface == "eth1"
    assert r.vrrp_instances["VI_4"].vips == ["192.168.201.16", "192.168.201.17", "192.168.201.18"]


@needs_samples
def test_sample_localcheck_tracking() -> None:
    r, _ = _parse("keepalived.conf.vrrp.localcheck")
    chk = r.vrrp_scripts["chk_sshd"]
    assert chk.script == ["killall", "-0", "sshd"]
    assert (chk.interval, chk.weight, chk.fall, chk.rise) == (2.0, -4, 2, 2)
    assert r.vrrp_scripts["chk_http_port"].script == ["</dev/tcp/127.0.0.1/80"]
    v1 = r.vrrp_instances["VI_1"]
    assert [(t.name, t.weight) for t in v1.track_interface] == [
        ("eth1", 2),
        ("eth2", -2),
        ("eth3", None),
    ]
    assert [(t.name, t.weight) for t in v1.track_script][:2] == [
        ("chk_sshd", None),
        ("chk_haproxy", 2),
    ]
    assert r.vrrp_instances["VI_1"].virtual_ipaddress[0].address == "192.168.200.18/25"
    assert len(r.vrrp_instances) == 9


@needs_samples
def test_sample_sync_and_scripts() -> None:
    r, _ = _parse("keepalived.conf.vrrp.sync")
    assert r.vrrp_sync_groups["G1"].group == [
        "VI_1",
        "VI_2",
        "VI_5",
        "VI_6",
        "VI_7",
        "VI_8",
        "VI_9",
    ]
    assert r.vrrp_sync_groups["G2"].group == ["VI_3", "VI_4"]
    m1 = r.vrrp_sync_groups["G1"].notify.master
    assert m1 is not None and m1.argv == ["/usr/local/bin/vrrp.mast", "arg1", "arg2"]
    r, _ = _parse("keepalived.conf.vrrp.scripts")
    nb = r.vrrp_instances["VI_1"].notify.backup
    assert nb is not None and nb.argv == ["/usr/local/bin/vrrp.sh", "BACKUP", "VI_1"]
    assert r.vrrp_instances["VI_2"].priority == 150
    assert r.vrrp_sync_groups["G1"].group == ["VI_2", "VI_3"]


@needs_samples
def test_sample_lvs_syncd_old_group_syntax() -> None:
    r, rep = _parse("keepalived.conf.vrrp.lvs_syncd")
    assert r.vrrp_sync_groups["VG1"].group == ["VI_2", "VI_3"]
    assert r.vrrp_instances["VI_1"].authentication.auth_pass == "grr02"  # type: ignore[union-attr]
    assert any("virtual_server 192.168.200.19 80" in str(w) for w in rep.warnings)


@needs_samples
def test_sample_conditional_conf() -> None:
    r, _ = _parse("keepalived.conf.conditional_conf", "high")
    i = r.vrrp_instances["VI_0"]
    assert (i.priority, i.version, i.advert_int) == (170, 3, 12.0)
    assert r.vrrp_scripts["check_VI_0"].script == ["/etc/keepalived/scripts/check_high_VI_0.sh"]
    assert [t.name for t in i.track_script] == ["check_VI_0"]
    assert [(t.name, t.weight) for t in i.track_interface] == [("eth3", None), ("eth2", 20)]
    r, _ = _parse("keepalived.conf.conditional_conf", "low")
    assert r.vrrp_instances["VI_0"].priority == 85
    assert r.vrrp_scripts["check_VI_0"].script == ["/etc/keepalived/scripts/check_low_VI_0.sh"]


@needs_samples
def test_sample_routes_and_static_sections_warn() -> None:
    r, rep = _parse("keepalived.conf.vrrp.routes")
    assert r.vrrp_instances["VI_1"].virtual_ipaddress[1].dev == "eth1"
    msgs = [str(w) for w in rep.warnings]
    assert (
        f"{SAMPLES}/keepalived.conf.vrrp.routes:7: warning: static_routes: not implemented "
        "by hookd; skipped" in msgs
    )
    r, _ = _parse("keepalived.conf.track_interface")
    assert r.vrrp_instances["VI_1"].interface == "eth0.1"
    assert [t.name for t in r.vrrp_instances["VI_1"].track_interface] == ["eth0", "eth1"]


@needs_samples
def test_sample_sample_nopreempt() -> None:
    r, _ = _parse("keepalived.conf.sample")
    i = r.vrrp_instances["VI_1"]
    assert i.nopreempt is True and i.state == "BACKUP" and i.virtual_router_id == 50


@pytest.mark.skipif(
    not VECTORS.exists() and not os.environ.get("CI"), reason="shared vectors not present"
)
def test_vectors_conf() -> None:
    r, rep = parse_file(str(VECTORS))
    assert not rep.errors
    assert r.global_defs.router_id == "n1"
    v2m = r.vrrp_instances["V2M"]
    assert (v2m.version, v2m.virtual_router_id, v2m.priority, v2m.advert_int) == (2, 51, 101, 1.0)
    assert v2m.vips == ["10.99.0.100", "10.99.0.101"]
    assert v2m.authentication is not None and v2m.authentication.auth_pass == "secretpa"
    assert any("auth_pass truncated" in str(w) for w in rep.warnings)
    v3m = r.vrrp_instances["V3M"]
    assert (v3m.version, v3m.advert_int, v3m.priority, v3m.vips) == (3, 0.5, 150, ["10.99.0.102"])
    v6 = r.vrrp_instances["V3V6"]
    assert (v6.version, v6.family, v6.vips, v6.virtual_router_id) == (3, 6, ["fd99::100"], 53)
    u = r.vrrp_instances["V2U"]
    assert (u.unicast_src_ip, u.unicast_peer, u.advert_int, u.priority) == (
        "10.99.0.1",
        ["10.99.0.2"],
        2.0,
        200,
    )


# --- hookd's own examples ----------------------------------------------------------------


def test_example_master_backup_pair() -> None:
    toml = str(ROOT / "config" / "hookd.toml")
    m, _ = load(str(ROOT / "config" / "keepalived-master.conf"), toml, check_files=False)
    b, _ = load(str(ROOT / "config" / "keepalived-backup.conf"), toml, check_files=False)
    mi, bi = m.vrrp_instances["VI_1"], b.vrrp_instances["VI_1"]
    assert (mi.state, mi.priority, bi.state, bi.priority) == ("MASTER", 150, "BACKUP", 140)
    assert mi.virtual_router_id == bi.virtual_router_id == 51
    assert mi.vips == bi.vips == ["192.168.122.100"]
    assert mi.authentication == bi.authentication
    assert mi.authentication is not None and mi.authentication.auth_type == "PASS"
    assert mi.smtp_alert is True and m.global_defs.notification_email == ["ops@example.org"]
    for inst in (mi, bi):
        assert inst.notify.master is not None
        assert inst.notify.master.argv[0] == "/usr/local/lib/hookd/hooks/nginx-reload"
    assert m.settings.net_check["VI_1"].gateway == "192.168.122.1"
    assert len(m.settings.apprise) == 1


def test_example_multi_service() -> None:
    m, _ = load(str(ROOT / "config" / "keepalived-multi-service.conf"), check_files=False)
    a, b = m.vrrp_instances["VI_A"], m.vrrp_instances["VI_B"]
    assert a.interface == b.interface == "eth0"
    assert a.virtual_router_id != b.virtual_router_id
    assert a.vips != b.vips
    assert [t.name for t in a.track_script] == ["check_serviceA"]
    assert [t.name for t in b.track_script] == ["check_serviceB"]
    assert set(m.vrrp_scripts) == {"check_serviceA", "check_serviceB"}
    assert m.global_defs.notification_email == ["ops@example.org", "oncall@example.org"]


def test_example_service_unit() -> None:
    unit = (ROOT / "config" / "hookd.service").read_text()
    assert "Type=notify" in unit
    assert "ExecStart=/usr/local/bin/hookd run -f /etc/keepalived/keepalived.conf" in unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
