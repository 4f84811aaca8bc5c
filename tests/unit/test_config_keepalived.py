"""keepalived.conf front-end: tokenizer, includes, keywords, defaults, FILE:LINE errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookd.config import ConfigError, load
from hookd.config.keepalived import (
    decomment,
    expand_braces,
    parse_text,
    round_advert_int,
    split_words,
)


def write(tmp_path: Path, text: str, name: str = "keepalived.conf") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def errors_of(path: str, **kw: object) -> list[str]:
    with pytest.raises(ConfigError) as ei:
        load(path, settings=None, config_id="n1", check_files=kw.get("check_files", False))
    return [str(d) for d in ei.value.diagnostics]


@pytest.fixture(autouse=True)
def _no_env_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.startswith("HOOKD_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOOKD_SECRETS_DIR", "/nonexistent-hookd-secrets")


BASIC = """\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.168.1.10/24
    }
}
"""


# --- tokenizer ---------------------------------------------------------------------------


def test_decomment_hash_bang_quotes_and_continuation() -> None:
    assert decomment("priority 100 # comment") == ("priority 100", False)
    assert decomment("priority 100 ! comment") == ("priority 100", False)
    assert decomment('script "echo #1 !x" # c') == ('script "echo #1 !x"', False)
    assert decomment("notify a\\") == ("notify a", True)
    assert decomment(r"label a\#b") == ("label a#b", False)


def test_split_words_braces_and_quotes() -> None:
    assert split_words("vrrp_instance X { state BACKUP") == (
        ["vrrp_instance", "X", "{", "state", "BACKUP"],
        True,
    )
    assert split_words('a "b { c }" }') == (["a", "b { c }", "}"], True)
    assert split_words("X{") == (["X", "{"], True)
    assert split_words('a "unterminated')[1] is False


def test_expand_braces() -> None:
    assert expand_braces("/e/{a,b}.conf") == ["/e/a.conf", "/e/b.conf"]
    assert expand_braces("x{1,{2,3}}y") == ["x1y", "x2y", "x3y"]
    assert expand_braces("plain") == ["plain"]


def test_braces_on_same_line_and_next_line() -> None:
    text = """\
vrrp_instance VI_1 { state BACKUP
 interface eth0
 virtual_router_id 51
 authentication { auth_type PASS
   auth_pass abc }
 virtual_ipaddress { 10.0.0.1/24 10.0.0.2/24 }
}
vrrp_instance VI_2
{
  interface eth1
  virtual_router_id 52
  virtual_ipaddress
  {
    10.0.1.1
  }
}
"""
    r, rep = parse_text(text)
    assert not rep.errors, rep.items
    v1, v2 = r.vrrp_instances["VI_1"], r.vrrp_instances["VI_2"]
    assert v1.vips == ["10.0.0.1", "10.0.0.2"]
    assert v1.authentication is not None and v1.authentication.auth_pass == "abc"
    assert v2.interface == "eth1" and v2.vips == ["10.0.1.1"]
    assert v2.virtual_ipaddress[0].address == "10.0.1.1/32"


def test_conditional_lines_and_definitions() -> None:
    text = """\
$IFACE=eth7
$PRIO=120
vrrp_instance VI_1 {
  interface $IFACE
@n1  priority ${PRIO}
@n2  priority 50
@^n1 advert_int 3
@^n2 advert_int 2
  virtual_router_id 9
  virtual_ipaddress { 10.0.0.1 }
}
"""
    r, rep = parse_text(text, config_id="n1")
    assert not rep.errors, rep.items
    i = r.vrrp_instances["VI_1"]
    assert (i.interface, i.priority, i.advert_int) == ("eth7", 120, 2.0)
    r2, _ = parse_text(text, config_id="n2")
    assert (r2.vrrp_instances["VI_1"].priority, r2.vrrp_instances["VI_1"].advert_int) == (50, 3)


def test_backslash_continuation() -> None:
    text = (
        "vrrp_instance VI_1 {\n interface \\\n   eth0\n virtual_router_id 1\n"
        " virtual_ipaddress { 10.0.0.1 }\n}\n"
    )
    r, rep = parse_text(text)
    assert not rep.errors
    assert r.vrrp_instances["VI_1"].interface == "eth0"


def test_include_glob_brace_relative(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    write(tmp_path, "global_defs {\n router_id incl\n}\n", "conf.d/a.conf")
    write(tmp_path, "vrrp_script chk {\n script /bin/true\n}\n", "conf.d/b.conf")
    write(tmp_path, BASIC, "conf.d/vi1.conf")
    main = write(tmp_path, "include conf.d/{a,b}.conf\ninclude conf.d/vi*.conf\n")
    m, _ = load(main, config_id="n1", check_files=False)
    assert m.global_defs.router_id == "incl"
    assert "chk" in m.vrrp_scripts and "VI_1" in m.vrrp_instances


def test_include_inside_block(tmp_path: Path) -> None:
    write(tmp_path, "virtual_router_id 77\n", "vrid.inc")
    main = write(tmp_path, BASIC.replace("virtual_router_id 51", "include vrid.inc"))
    m, _ = load(main, check_files=False)
    assert m.vrrp_instances["VI_1"].virtual_router_id == 77


def test_include_loop_is_an_error(tmp_path: Path) -> None:
    a = write(tmp_path, "include b.conf\n", "a.conf")
    write(tmp_path, "include a.conf\n", "b.conf")
    errs = errors_of(a)
    assert any(e.startswith(f"{tmp_path}/b.conf:1: include loop") for e in errs), errs


def test_include_missing_file(tmp_path: Path) -> None:
    main = write(tmp_path, "include nothere.conf\n" + BASIC)
    errs = errors_of(main)
    assert errs[0].startswith(f"{main}:1: include nothere.conf:")


# --- errors with FILE:LINE -------------------------------------------------------------


def test_unclosed_brace(tmp_path: Path) -> None:
    p = write(tmp_path, BASIC.rstrip("}\n") + "\n")
    assert f"{p}:1: unclosed '{{' of vrrp_instance VI_1" in errors_of(p)


def test_stray_close_brace(tmp_path: Path) -> None:
    p = write(tmp_path, BASIC + "}\n")
    assert f"{p}:8: stray '}}' (no block is open)" in errors_of(p)


def test_unknown_keyword_did_you_mean(tmp_path: Path) -> None:
    p = write(tmp_path, BASIC.replace("interface eth0", "interface eth0\n    prority 50"))
    errs = errors_of(p)
    assert (
        f"{p}:3: unknown keyword 'prority' in vrrp_instance VI_1 (did you mean priority?)" in errs
    )
    p2 = write(tmp_path, "vrrp_instanse X {\n}\n", "k2.conf")
    assert any("(did you mean vrrp_instance?)" in e for e in errors_of(p2))


def test_vrid_and_priority_out_of_range(tmp_path: Path) -> None:
    p = write(
        tmp_path, BASIC.replace("virtual_router_id 51", "virtual_router_id 256\n    priority 0")
    )
    errs = errors_of(p)
    assert f"{p}:3: vrrp_instance VI_1: virtual_router_id 256 is out of range 1..255" in errs
    assert f"{p}:4: vrrp_instance VI_1: priority 0 is out of range 1..255" in errs


def test_duplicate_vrid_same_interface_family(tmp_path: Path) -> None:
    p = write(tmp_path, BASIC + BASIC.replace("VI_1", "VI_2").replace(".10/", ".11/"))
    assert (
        f"{p}:10: vrrp_instance VI_2: virtual_router_id 51 is already used by VI_1 on eth0 (IPv4)"
    ) in errors_of(p)
    # same VRID on another interface is fine
    ok = write(tmp_path, BASIC + BASIC.replace("VI_1", "VI_2").replace("eth0", "eth1"), "ok.conf")
    m, _ = load(ok, check_files=False)
    assert len(m.vrrp_instances) == 2


def test_track_script_names_no_vrrp_script(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        BASIC.replace("interface eth0", "interface eth0\n    track_script {\n      chk_x\n    }"),
    )
    assert f"{p}:4: vrrp_instance VI_1: track_script chk_x names no vrrp_script" in errors_of(p)


def test_sync_group_unknown_instance(tmp_path: Path) -> None:
    p = write(tmp_path, BASIC + "vrrp_sync_group G {\n  group {\n    VI_1\n    VI_9\n  }\n}\n")
    assert f"{p}:11: vrrp_sync_group G: unknown vrrp_instance VI_9" in errors_of(p)


def test_notify_program_missing_or_not_executable(tmp_path: Path) -> None:
    notexec = tmp_path / "hook.sh"
    notexec.write_text("#!/bin/sh\n")
    notexec.chmod(0o644)
    text = (
        BASIC.replace(
            "interface eth0",
            f'interface eth0\n    notify_master "{tmp_path}/missing arg"\n'
            f'    notify_backup "{notexec} x"',
        )
        + f'vrrp_script chk {{\n  script "{tmp_path}/nope"\n}}\n'
    )
    p = write(tmp_path, text)
    errs = errors_of(p, check_files=True)
    assert f"{p}:3: vrrp_instance VI_1: notify_master {tmp_path}/missing does not exist" in errs
    assert f"{p}:4: vrrp_instance VI_1: notify_backup {notexec} is not executable" in errs
    assert f"{p}:11: vrrp_script chk: script {tmp_path}/nope does not exist" in errs
    # without check_files the same config loads
    load(p, check_files=False)


def test_mixed_vip_families(tmp_path: Path) -> None:
    p = write(tmp_path, BASIC.replace("192.168.1.10/24", "192.168.1.10/24\n        fd00::1/64"))
    assert any(
        e.startswith(f"{p}:6: vrrp_instance VI_1: VIP fd00::1/64 is IPv6 but the instance is IPv4")
        for e in errors_of(p)
    )


def test_unicast_peer_family_mismatch(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        BASIC.replace("interface eth0", "interface eth0\n    unicast_peer {\n      fd00::2\n    }"),
    )
    assert (
        f"{p}:4: vrrp_instance VI_1: unicast_peer fd00::2 is not IPv4 like the instance"
        in errors_of(p)
    )


def test_many_errors_reported_in_one_run(tmp_path: Path) -> None:
    p = write(
        tmp_path, BASIC.replace("virtual_router_id 51", "virtual_router_id 0\n bogus 1") + "}\n"
    )
    assert len(errors_of(p)) == 3


def test_missing_interface_and_vrid(tmp_path: Path) -> None:
    p = write(tmp_path, "vrrp_instance VI_1 {\n  virtual_ipaddress { 10.0.0.1 }\n}\n")
    errs = errors_of(p)
    assert f"{p}:1: vrrp_instance VI_1: interface is required" in errs
    assert f"{p}:1: vrrp_instance VI_1: virtual_router_id is required" in errs


# --- keepalived's defaults and normalisations --------------------------------------------


def _one(text: str, **kw: object) -> object:
    r, rep = parse_text(text, **kw)  # type: ignore[arg-type]
    assert not rep.errors, rep.items
    (inst,) = r.vrrp_instances.values()
    return inst, rep


def test_priority_default_from_state() -> None:
    inst, _ = _one(BASIC.replace("interface eth0", "interface eth0\n state MASTER"))
    assert inst.priority == 255 and inst.state == "MASTER"  # type: ignore[attr-defined]
    inst, _ = _one(BASIC)
    assert inst.priority == 100 and inst.state == "BACKUP"  # type: ignore[attr-defined]
    inst, _ = _one(BASIC.replace("interface eth0", "interface eth0\n priority 255"))
    assert inst.state == "MASTER"  # type: ignore[attr-defined]


def test_advert_int_rounding() -> None:
    assert round_advert_int(0.4, 2)[0] == 1.0
    assert round_advert_int(1.5, 2)[0] == 2.0
    assert round_advert_int(2.0, 2) == (2.0, None)
    assert round_advert_int(0.123, 3)[0] == 0.12
    assert round_advert_int(0.005, 3)[0] == 0.01
    assert round_advert_int(0.001, 3)[0] == 0.01
    assert round_advert_int(300, 2)[0] == 255.0
    assert round_advert_int(50, 3)[0] == 40.95
    inst, rep = _one(BASIC.replace("interface eth0", "interface eth0\n advert_int 0.4"))
    assert inst.advert_int == 1.0  # type: ignore[attr-defined]
    assert any("must be whole seconds" in str(w) for w in rep.warnings)


def test_auth_pass_truncated_with_warning() -> None:
    inst, rep = _one(
        BASIC.replace(
            "interface eth0",
            "interface eth0\n authentication {\n  auth_type PASS\n  auth_pass secretpassword\n }",
        )
    )
    assert inst.authentication.auth_pass == "secretpa"  # type: ignore[attr-defined]
    assert (
        "keepalived.conf:5: warning: vrrp_instance VI_1: auth_pass truncated to 8 characters"
        in [str(w) for w in rep.warnings]
    )


def test_auth_dropped_for_v3() -> None:
    inst, _rep = _one(
        BASIC.replace(
            "interface eth0",
            "interface eth0\n version 3\n authentication {\n  auth_type PASS\n  auth_pass x\n }",
        )
    )
    assert inst.authentication is None and inst.version == 3  # type: ignore[attr-defined]


def test_nopreempt_cleared_for_master_and_owner() -> None:
    inst, rep = _one(
        BASIC.replace("interface eth0", "interface eth0\n state MASTER\n priority 150\n nopreempt")
    )
    assert inst.nopreempt is False  # type: ignore[attr-defined]
    assert any("nopreempt will not work with initial state MASTER" in str(w) for w in rep.warnings)
    inst, rep = _one(BASIC.replace("interface eth0", "interface eth0\n priority 255\n nopreempt"))
    assert inst.nopreempt is False  # type: ignore[attr-defined]
    inst, _ = _one(BASIC.replace("interface eth0", "interface eth0\n nopreempt\n preempt_delay 5"))
    assert inst.nopreempt is True and inst.preempt_delay == 0  # type: ignore[attr-defined]
    inst, _ = _one(BASIC.replace("interface eth0", "interface eth0\n preempt_delay 5"))
    assert inst.preempt_delay == 5.0  # type: ignore[attr-defined]


def test_version_from_global_and_ipv6_forces_v3() -> None:
    inst, _ = _one("global_defs {\n vrrp_version 3\n}\n" + BASIC)
    assert inst.version == 3  # type: ignore[attr-defined]
    inst, rep = _one(
        BASIC.replace("interface eth0", "interface eth0\n version 2").replace(
            "192.168.1.10/24", "fd00::10/64"
        )
    )
    assert (inst.version, inst.family) == (3, 6)  # type: ignore[attr-defined]
    assert any("VRRPv2 cannot carry IPv6" in str(w) for w in rep.warnings)


def test_garp_defaults_from_globals() -> None:
    inst, _ = _one(
        "global_defs {\n vrrp_garp_master_delay 2\n vrrp_garp_master_repeat 3\n"
        " vrrp_garp_master_refresh 60\n}\n"
        + BASIC.replace("interface eth0", "interface eth0\n garp_master_repeat 7")
    )
    assert inst.garp_master_delay == 2.0  # type: ignore[attr-defined]
    assert inst.garp_master_repeat == 7  # type: ignore[attr-defined]
    assert inst.garp_master_refresh == 60.0  # type: ignore[attr-defined]


# --- keywords --------------------------------------------------------------------------

FULL = """\
global_defs {
   notification_email {
     ops@example.org
     dev@example.org
   }
   notification_email_from hookd@example.org
   smtp_server 192.168.1.25 2525
   smtp_helo_name lb1.example.org
   smtp_connect_timeout 10
   smtp_alert
   smtp_alert_vrrp false
   router_id LB1
   script_user nobody nogroup
   enable_script_security
   vrrp_version 2
   vrrp_garp_interval 0.001
   vrrp_gna_interval 0.002
   vrrp_garp_lower_prio_delay 3
   vrrp_garp_lower_prio_repeat 2
   vrrp_mcast_group4 224.0.0.19
   vrrp_mcast_group6 ff02::13
   vrrp_strict off
   notify_fifo /run/hookd.fifo
   notify_fifo_script "/usr/bin/fifo-reader --x"
   vrrp_notify_fifo /run/vrrp.fifo
   vrrp_notify_fifo_script /usr/bin/vrrp-reader
   enable_snmp_vrrp
}
vrrp_script chk_web {
   script "/usr/bin/curl -sf 'http://localhost/a b'"
   interval 2.5
   timeout 1
   weight -20 reverse
   rise 3
   fall 4
   user www-data www
   init_fail
}
vrrp_instance VI_1 {
   state BACKUP
   interface eth0
   virtual_router_id 51
   priority 150
   advert_int 2
   authentication {
      auth_type PASS
      auth_pass pw
   }
   virtual_ipaddress {
      192.168.1.100/24 brd 192.168.1.255 dev eth1 scope global label eth1:vip
      192.168.1.101 peer 192.168.1.200 no_track preferred_lft 0
      192.168.1.102/24 noprefixroute
   }
   virtual_ipaddress_excluded {
      fd00::5/64
   }
   virtual_routes {
      10.9.0.0/16 via 192.168.1.1
   }
   unicast_src_ip 192.168.1.2
   unicast_peer {
      192.168.1.3
      192.168.1.4 min_ttl 250
   }
   mcast_src_ip 192.168.1.2
   nopreempt
   garp_master_delay 3
   garp_master_repeat 2
   garp_master_refresh 30
   garp_master_refresh_repeat 4
   garp_lower_prio_delay 6
   garp_lower_prio_repeat 8
   track_interface {
      eth1 weight -10
      eth2 weight 5 reverse
      eth3
   }
   track_script {
      chk_web
      chk_web weight 10 reverse
   }
   notify_master "/usr/local/bin/on-master a b"
   notify_backup "/usr/local/bin/on-backup" root wheel
   notify_fault /usr/local/bin/on-fault
   notify_stop "/usr/local/bin/on-stop"
   notify_deleted "/usr/local/bin/on-deleted"
   notify "/usr/local/bin/notify-all x"
   smtp_alert
   dont_track_primary
   no_accept
   strict_mode false
   use_vmac
}
vrrp_instance VI_2 {
   interface eth0
   virtual_router_id 52
   virtual_ipaddress { 192.168.1.110 }
   accept
}
vrrp_sync_group G1 {
   group {
      VI_1
      VI_2
   }
   notify_master "/usr/local/bin/g-master"
   notify "/usr/local/bin/g-all"
   smtp_alert
   track_interface {
      eth9 weight 5
   }
   track_script {
      chk_web weight -5
   }
   global_tracking
}
virtual_server 10.0.0.1 80 {
   real_server 10.0.0.2 80 {
      TCP_CHECK { connect_timeout 3 }
   }
}
"""


def test_every_keyword() -> None:
    r, rep = parse_text(FULL)
    assert not rep.errors, rep.errors
    g = r.global_defs
    assert g.notification_email == ["ops@example.org", "dev@example.org"]
    assert (g.smtp_server, g.smtp_port, g.smtp_helo_name) == (
        "192.168.1.25",
        2525,
        "lb1.example.org",
    )
    assert g.smtp_connect_timeout == 10 and g.smtp_alert is True and g.smtp_alert_vrrp is False
    assert (g.router_id, g.script_user, g.script_group) == ("LB1", "nobody", "nogroup")
    assert g.enable_script_security and g.vrrp_version == 2 and g.vrrp_strict is False
    assert (g.vrrp_garp_interval, g.vrrp_gna_interval) == (0.001, 0.002)
    assert (g.vrrp_garp_lower_prio_delay, g.vrrp_garp_lower_prio_repeat) == (3.0, 2)
    assert (g.vrrp_mcast_group4, g.vrrp_mcast_group6) == ("224.0.0.19", "ff02::13")
    assert g.notify_fifo == "/run/hookd.fifo"
    assert g.notify_fifo_script == ["/usr/bin/fifo-reader", "--x"]
    assert g.vrrp_notify_fifo == "/run/vrrp.fifo"
    assert g.vrrp_notify_fifo_script == ["/usr/bin/vrrp-reader"]

    s = r.vrrp_scripts["chk_web"]
    assert s.script == ["/usr/bin/curl", "-sf", "http://localhost/a b"]
    assert (s.interval, s.timeout, s.weight, s.reverse) == (2.5, 1.0, -20, True)
    assert (s.rise, s.fall, s.user, s.group, s.init_fail) == (3, 4, "www-data", "www", True)

    i = r.vrrp_instances["VI_1"]
    assert (i.state, i.interface, i.virtual_router_id, i.priority, i.advert_int) == (
        "BACKUP",
        "eth0",
        51,
        150,
        2.0,
    )
    assert i.authentication is not None and i.authentication.auth_pass == "pw"
    v0, v1, v2 = i.virtual_ipaddress
    assert (v0.address, v0.broadcast, v0.dev, v0.scope, v0.label) == (
        "192.168.1.100/24",
        "192.168.1.255",
        "eth1",
        "global",
        "eth1:vip",
    )
    assert (v1.address, v1.peer, v1.no_track, v1.preferred_lft) == (
        "192.168.1.101/32",
        "192.168.1.200",
        True,
        0,
    )
    assert v2.address == "192.168.1.102/24"
    assert [v.address for v in i.virtual_ipaddress_excluded] == ["fd00::5/64"]
    assert i.unicast_src_ip == "192.168.1.2" and i.mcast_src_ip == "192.168.1.2"
    assert i.unicast_peer == ["192.168.1.3", "192.168.1.4"]
    assert i.nopreempt is True
    assert (
        i.garp_master_delay,
        i.garp_master_repeat,
        i.garp_master_refresh,
        i.garp_master_refresh_repeat,
        i.garp_lower_prio_delay,
        i.garp_lower_prio_repeat,
    ) == (3.0, 2, 30.0, 4, 6.0, 8)
    assert [(t.name, t.weight, t.reverse) for t in i.track_interface] == [
        ("eth1", -10, False),
        ("eth2", 5, True),
        ("eth3", None, False),
    ]
    assert [(t.name, t.weight, t.reverse) for t in i.track_script] == [
        ("chk_web", None, False),
        ("chk_web", 10, True),
    ]
    n = i.notify
    assert n.master is not None and n.master.argv == ["/usr/local/bin/on-master", "a", "b"]
    assert n.backup is not None and (n.backup.user, n.backup.group) == ("root", "wheel")
    assert n.fault is not None and n.fault.argv == ["/usr/local/bin/on-fault"]
    assert n.stop is not None and n.deleted is not None
    assert n.generic is not None and n.generic.argv == ["/usr/local/bin/notify-all", "x"]
    assert n.for_state("MASTER") is n.master
    assert i.smtp_alert is True and i.dont_track_primary and i.accept is False
    assert i.strict_mode is False
    assert r.vrrp_instances["VI_2"].accept is True

    grp = r.vrrp_sync_groups["G1"]
    assert grp.group == ["VI_1", "VI_2"] and grp.smtp_alert is True
    assert grp.notify.master is not None and grp.notify.generic is not None
    assert grp.track_interface[0].name == "eth9" and grp.track_script[0].weight == -5

    warns = [str(w) for w in rep.warnings]
    assert (
        "keepalived.conf:27: warning: global_defs: enable_snmp_vrrp is not implemented by "
        "hookd; ignored" in warns
    )
    assert any(
        ":57: warning: vrrp_instance VI_1: virtual_routes is not supported" in w for w in warns
    )
    assert any(":92: warning: vrrp_instance VI_1: use_vmac is not supported" in w for w in warns)
    assert (
        "keepalived.conf:116: warning: virtual_server 10.0.0.1 80: not implemented by hookd;"
        " skipped" in warns
    )
    assert (
        "keepalived.conf:52: warning: virtual_ipaddress: 'noprefixroute' is not supported by "
        "hookd; ignored" in warns
    )


def test_sync_group_old_syntax_and_single_member(tmp_path: Path) -> None:
    p = write(tmp_path, BASIC + "vrrp_sync_group G {\n  VI_1\n}\n")
    m, warns = load(p, check_files=False)
    assert m.vrrp_sync_groups["G"].group == ["VI_1"]
    assert m.group_of("VI_1") is not None
    assert any("old syntax" in str(w) for w in warns)
    assert any("has only 1 instance" in str(w) for w in warns)


def test_no_instances_is_valid_with_warning(tmp_path: Path) -> None:
    p = write(tmp_path, "global_defs {\n router_id x\n}\n")
    m, warns = load(p, check_files=False)
    assert m.vrrp_instances == {}
    assert any("no vrrp_instance configured" in str(w) for w in warns)


def test_router_id_defaults_to_hostname(tmp_path: Path) -> None:
    import socket

    m, _ = load(write(tmp_path, BASIC), check_files=False)
    assert m.global_defs.router_id == socket.gethostname()
    assert m.global_defs.smtp_alert is None  # left to consumers
