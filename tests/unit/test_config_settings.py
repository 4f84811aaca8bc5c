"""hookd.toml + HOOKD_* env + secrets dir, toml-declared instances, and `hookd check`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hookd.cli import main as cli_main
from hookd.config import ConfigError, load
from hookd.config.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

BASIC = """\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.168.1.10/24
    }
}
"""


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k in list(os.environ):
        if k.startswith("HOOKD_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOOKD_SECRETS_DIR", "/nonexistent-hookd-secrets")


def test_toml_and_env_priority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = tmp_path / "hookd.toml"
    t.write_text(
        'state_dir = "/tmp/a"\n[smtp]\nhost = "mail"\nport = 25\n[delivery]\nmax_backoff = 10.0\n'
    )
    monkeypatch.setenv("HOOKD_SMTP__PORT", "587")
    monkeypatch.setenv("HOOKD_SMTP__PASSWORD", "hunter2")
    monkeypatch.setenv("HOOKD_APPRISE", '[{"urls": ["json://localhost"], "states": ["MASTER"]}]')
    s, diags, path = load_settings(str(t))
    assert not diags and path == str(t)
    assert (s.state_dir, s.smtp.host, s.smtp.port) == ("/tmp/a", "mail", 587)
    assert s.smtp.password is not None and s.smtp.password.get_secret_value() == "hunter2"
    assert s.apprise[0].states == ["MASTER"]
    assert s.delivery.max_backoff == 10.0
    # init args win over env
    s, _, _ = load_settings(str(t), state_dir="/tmp/init")
    assert s.state_dir == "/tmp/init"


def test_settings_path_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    t = tmp_path / "h.toml"
    t.write_text('log_level = "DEBUG"\n')
    monkeypatch.setenv("HOOKD_SETTINGS", str(t))
    s, _diags, path = load_settings()
    assert s.log_level == "DEBUG" and path == str(t)


def test_secrets_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sec = tmp_path / "secrets"
    sec.mkdir()
    (sec / "hookd_smtp").write_text('{"password": "from-secret", "host": "s"}')
    monkeypatch.setenv("HOOKD_SECRETS_DIR", str(sec))
    t = tmp_path / "h.toml"
    t.write_text('[smtp]\nhost = "from-toml"\n')
    s, diags, _ = load_settings(str(t))
    assert not diags
    assert s.smtp.password is not None and s.smtp.password.get_secret_value() == "from-secret"
    assert s.smtp.host == "s"  # secrets beat toml


def test_settings_validation_error_names_key_and_line(tmp_path: Path) -> None:
    t = tmp_path / "h.toml"
    t.write_text("[delivery]\njitter = 5\n\n[flapping]\nthreshhold = 3\n")
    _, diags, _ = load_settings(str(t))
    msgs = [str(d) for d in diags]
    assert any(m.startswith(f"{t}:2: delivery.jitter: ") for m in msgs), msgs
    assert any(m.startswith(f"{t}:5: flapping.threshhold: Extra inputs") for m in msgs), msgs


def test_settings_env_error_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOKD_DELIVERY__JITTER", "7")
    _, diags, _ = load_settings(None)
    assert str(diags[0]).startswith("HOOKD_DELIVERY__JITTER: delivery.jitter: ")


def test_settings_toml_syntax_error(tmp_path: Path) -> None:
    t = tmp_path / "h.toml"
    t.write_text("a = 1\nb = = 2\n")
    _, diags, _ = load_settings(str(t))
    assert str(diags[0]).startswith(f"{t}:2: ")


def test_settings_errors_raise_from_load(tmp_path: Path) -> None:
    t = tmp_path / "h.toml"
    t.write_text('log_level = "LOUD"\n')
    with pytest.raises(ConfigError) as ei:
        load(None, str(t), check_files=False)
    assert str(ei.value.diagnostics[0]).startswith(f"{t}:1: log_level: ")


def test_instances_declared_in_toml(tmp_path: Path) -> None:
    t = tmp_path / "h.toml"
    t.write_text("""
[global_defs]
vrrp_version = 3
router_id = "tomlnode"

[[vrrp_script]]
name = "chk"
script = ["/bin/true"]

[[vrrp_instance]]
name = "VI_T"
interface = "eth0"
virtual_router_id = 7
state = "MASTER"
advert_int = 0.333
virtual_ipaddress = [{ address = "192.168.5.1/24" }]
track_script = [{ name = "chk" }]
""")
    m, _ = load(None, str(t), check_files=True)
    i = m.vrrp_instances["VI_T"]
    assert (i.priority, i.version, i.advert_int) == (255, 3, 0.33)
    assert m.global_defs.router_id == "tomlnode"
    assert "chk" in m.vrrp_scripts


def test_toml_global_defs_override_keepalived_per_key(tmp_path: Path) -> None:
    k = tmp_path / "k.conf"
    k.write_text("global_defs {\n router_id kconf\n smtp_server 192.168.1.1\n}\n" + BASIC)
    t = tmp_path / "h.toml"
    t.write_text('[global_defs]\nrouter_id = "override"\n')
    m, _ = load(str(k), str(t), check_files=False)
    assert m.global_defs.router_id == "override"
    assert m.global_defs.smtp_server == "192.168.1.1"


def test_keepalived_conf_from_settings(tmp_path: Path) -> None:
    k = tmp_path / "k.conf"
    k.write_text(BASIC)
    t = tmp_path / "h.toml"
    t.write_text(f'keepalived_conf = "{k}"\n')
    m, _ = load(None, str(t), check_files=False)
    assert "VI_1" in m.vrrp_instances


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as ei:
        load(str(tmp_path / "nope.conf"), check_files=False)
    assert (
        str(ei.value.diagnostics[0]) == f"{tmp_path}/nope.conf: configuration file does not exist"
    )


# --- hookd check -------------------------------------------------------------------------


def test_check_ok_prints_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hook = tmp_path / "hook"
    hook.write_text("#!/bin/sh\n")
    hook.chmod(0o755)
    k = tmp_path / "k.conf"
    k.write_text(
        "global_defs {\n notification_email {\n  ops@example.org\n }\n"
        " smtp_server 192.168.1.25\n}\n"
        + BASIC.replace(
            "interface eth0", f'interface eth0\n    notify_master "{hook} x"\n    advert_int 1.4'
        )
    )
    t = tmp_path / "h.toml"
    t.write_text(
        '[smtp]\npassword = "topsecret"\n[[apprise]]\nurls = ["json://secret-token"]\n'
        '[net_check.VI_1]\ngateway = "192.168.1.1"\n'
    )
    rc = cli_main(["check", "-f", str(k), "--settings", str(t), "-i", "n1"])
    out, err = capsys.readouterr()
    assert rc == 0
    assert "VI_1: BACKUP eth0 vrid=51 v2/IPv4 priority=100 advert_int=1s" in out
    assert "vips: 192.168.1.10/24" in out
    assert f"notify_master={hook}" in out
    assert "email: ops@example.org via 192.168.1.25:25" in out
    assert "apprise: 1 route(s), 1 URL(s)" in out
    assert "VI_1: peers=" in out and "gateway=192.168.1.1" in out
    assert "topsecret" not in out + err and "secret-token" not in out + err
    assert f"{k}:10: warning: vrrp_instance VI_1: VRRPv2 advert_int 1.4s" in err


def test_check_errors_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    k = tmp_path / "k.conf"
    k.write_text(BASIC.replace("virtual_router_id 51", "virtual_router_id 300\n    priorty 3"))
    rc = cli_main(["check", "-f", str(k)])
    out, err = capsys.readouterr()
    assert rc == 1 and out == ""
    lines = err.splitlines()
    assert f"{k}:3: vrrp_instance VI_1: virtual_router_id 300 is out of range 1..255" in lines
    assert (
        f"{k}:4: unknown keyword 'priorty' in vrrp_instance VI_1 (did you mean priority?)" in lines
    )
    assert lines[-1] == "hookd check: 2 error(s)"


def test_check_usage_error_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        cli_main(["check", "--bogus"])
    assert ei.value.code == 2


def test_check_shipped_examples(capsys: pytest.CaptureFixture[str]) -> None:
    # hooks are not installed here, so check with check_files off through the library
    from hookd.config.check import summary

    m, _ = load(
        str(ROOT / "config" / "keepalived-multi-service.conf"),
        str(ROOT / "config" / "hookd.toml"),
        check_files=False,
    )
    text = summary(m)
    assert "VI_A: MASTER eth0 vrid=61" in text and "VI_B: BACKUP eth0 vrid=62" in text
    assert "track_script: check_serviceA" in text
