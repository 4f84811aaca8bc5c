"""The configuration model: the single source of truth both front-ends produce.

``config/keepalived.py`` (keepalived.conf) and ``config/settings.py`` (hookd.toml + HOOKD_*
env) both end in a :class:`Model`; nothing downstream knows which file a value came from.
Every nested model forbids unknown keys so a typo is an error, not a silent default.
"""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

State = Literal["MASTER", "BACKUP", "FAULT", "STOP"]
NotifyState = Literal["MASTER", "BACKUP", "FAULT", "STOP", "DELETED"]


class Strict(BaseModel):
    """Base for every nested model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class Source(Strict):
    """Where a section was declared (for FILE:LINE messages downstream)."""

    file: str = ""
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.file else "<settings>"


# --- keepalived.conf: global_defs ------------------------------------------------------


class GlobalDefs(Strict):
    """``global_defs``: the keywords hookd honours (others are warned about and skipped)."""

    router_id: str = ""  # keepalived default: the host name (filled in by the front-end)
    notification_email: list[str] = Field(default_factory=list)
    notification_email_from: str = ""  # keepalived default: keepalived@<hostname>
    smtp_server: str | None = None
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_helo_name: str = ""
    smtp_connect_timeout: float = Field(default=30.0, gt=0)
    smtp_alert: bool | None = None  # None: not said (instance/group levels decide)
    smtp_alert_vrrp: bool | None = None
    script_user: str | None = None
    script_group: str | None = None
    enable_script_security: bool = False
    vrrp_version: Literal[2, 3] = 2
    vrrp_garp_master_delay: float = 5.0
    vrrp_garp_master_repeat: int = 5
    vrrp_garp_master_refresh: float = 0.0
    vrrp_garp_master_refresh_repeat: int = 1
    vrrp_garp_interval: float = 0.0
    vrrp_gna_interval: float = 0.0
    vrrp_garp_lower_prio_delay: float | None = None
    vrrp_garp_lower_prio_repeat: int | None = None
    vrrp_mcast_group4: str = "224.0.0.18"
    vrrp_mcast_group6: str = "ff02::12"
    vrrp_strict: bool = False
    # SCHED_RR priority for the daemon (keepalived: the VRRP child): keeps adverts on time
    # when other processes load the CPUs.
    vrrp_rt_priority: int | None = Field(default=None, ge=1, le=99)
    vrrp_skip_check_adv_addr: bool = False
    vrrp_check_unicast_src: bool = False
    notify_fifo: str | None = None
    notify_fifo_script: list[str] | None = None
    vrrp_notify_fifo: str | None = None
    vrrp_notify_fifo_script: list[str] | None = None


# --- vrrp_script -----------------------------------------------------------------------


class VrrpScript(Strict):
    """``vrrp_script NAME { ... }``: a health check whose result moves priority or faults."""

    name: str
    script: list[str]  # argv, exec'd without a shell
    interval: float = Field(default=1.0, gt=0)
    timeout: float | None = None  # keepalived: default = interval
    weight: int = Field(default=0, ge=-253, le=253)
    reverse: bool = False  # `weight -20 reverse`
    rise: int = Field(default=1, ge=1)
    fall: int = Field(default=1, ge=1)
    user: str | None = None
    group: str | None = None
    init_fail: bool = False
    source: Source = Field(default_factory=Source)

    @property
    def effective_timeout(self) -> float:
        return self.timeout if self.timeout is not None else self.interval


# --- vrrp_instance ---------------------------------------------------------------------


class VirtualIP(Strict):
    """One ``virtual_ipaddress`` line: ``<IP>[/<len>] [brd X] [dev X] [scope X] [label X] ...``."""

    address: str  # with prefix: "10.0.0.100/32" (keepalived default /32, /128 for IPv6)
    broadcast: str | None = None
    dev: str | None = None
    scope: str | None = None
    label: str | None = None
    peer: str | None = None
    no_track: bool = False
    preferred_lft: int | None = None

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        iface = ipaddress.ip_interface(v)  # raises ValueError with a clear message
        return str(iface)

    @property
    def ip(self) -> str:
        """The bare address, as it appears in an advert."""
        return str(ipaddress.ip_interface(self.address).ip)

    @property
    def family(self) -> int:
        return ipaddress.ip_interface(self.address).version

    @property
    def prefixlen(self) -> int:
        return ipaddress.ip_interface(self.address).network.prefixlen


class Authentication(Strict):
    """``authentication { auth_type PASS|AH; auth_pass X }`` (VRRPv2 only)."""

    auth_type: Literal["PASS", "AH"] = "PASS"
    auth_pass: str = ""  # already truncated to 8 bytes by the front-end (with a warning)


class TrackScript(Strict):
    """A ``track_script`` entry: ``NAME [weight N [reverse]]``."""

    name: str
    weight: int | None = None  # None: the vrrp_script's own weight
    reverse: bool = False


class TrackInterface(Strict):
    """A ``track_interface`` entry: ``IFNAME [weight N [reverse]]``."""

    name: str
    weight: int | None = None  # None: interface down -> FAULT
    reverse: bool = False


class NotifyScript(Strict):
    """``notify_master "/path/script arg" [username [groupname]]``."""

    argv: list[str]
    user: str | None = None
    group: str | None = None


class Notify(Strict):
    """The notify hooks of an instance or sync group."""

    master: NotifyScript | None = None
    backup: NotifyScript | None = None
    fault: NotifyScript | None = None
    stop: NotifyScript | None = None
    deleted: NotifyScript | None = None
    generic: NotifyScript | None = None  # `notify`: gets TYPE NAME STATE PRIORITY appended

    def for_state(self, state: str) -> NotifyScript | None:
        return getattr(self, state.lower(), None)


class VrrpInstanceConfig(Strict):
    """``vrrp_instance NAME { ... }`` after keepalived's defaults and normalisations."""

    name: str
    state: Literal["MASTER", "BACKUP"] = "BACKUP"  # initial state as written
    interface: str
    virtual_router_id: int = Field(ge=1, le=255)
    priority: int = Field(default=100, ge=1, le=255)
    advert_int: float = Field(default=1.0, gt=0)  # already rounded (v2 s, v3 10 ms)
    version: Literal[2, 3] = 2
    family: Literal[4, 6] = 4  # from the VIPs (keepalived: the first VIP's family)
    authentication: Authentication | None = None
    virtual_ipaddress: list[VirtualIP] = Field(default_factory=list)
    virtual_ipaddress_excluded: list[VirtualIP] = Field(default_factory=list)
    unicast_src_ip: str | None = None
    unicast_peer: list[str] = Field(default_factory=list)
    mcast_src_ip: str | None = None
    nopreempt: bool = False
    preempt_delay: float = Field(default=0.0, ge=0, le=1000)
    garp_master_delay: float = 5.0
    garp_master_repeat: int = 5
    garp_master_refresh: float = 0.0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay: float | None = None
    garp_lower_prio_repeat: int | None = None
    track_interface: list[TrackInterface] = Field(default_factory=list)
    track_script: list[TrackScript] = Field(default_factory=list)
    dont_track_primary: bool = False
    notify: Notify = Field(default_factory=Notify)
    smtp_alert: bool | None = None
    strict_mode: bool | None = None
    accept: bool | None = None
    source: Source = Field(default_factory=Source)

    @property
    def vips(self) -> list[str]:
        """VIP addresses as they go in the advert."""
        return [v.ip for v in self.virtual_ipaddress]


class VrrpSyncGroup(Strict):
    """``vrrp_sync_group NAME { group { VI_1 VI_2 } notify_* ... }``."""

    name: str
    group: list[str]
    notify: Notify = Field(default_factory=Notify)
    smtp_alert: bool | None = None
    track_interface: list[TrackInterface] = Field(default_factory=list)
    track_script: list[TrackScript] = Field(default_factory=list)
    source: Source = Field(default_factory=Source)


# --- hookd.toml: what keepalived.conf cannot say -----------------------------------------


class SmtpSettings(Strict):
    """SMTP transport details (host/from/recipients come from global_defs unless set here)."""

    host: str | None = None
    port: int | None = None
    starttls: bool = False
    tls: bool = False  # implicit TLS (port 465)
    username: str | None = None
    password: SecretStr | None = None
    timeout: float | None = None
    helo_name: str | None = None
    mail_from: str | None = None
    to: list[str] | None = None
    validate_certs: bool = True


class AppriseRoute(Strict):
    """One ``[[apprise]]`` table: URLs and which events reach them."""

    urls: list[SecretStr]
    instances: list[str] | None = None  # None: every instance and group
    states: list[State] | None = None  # None: every state


class DeliverySettings(Strict):
    """Retry policy of the durable outbox."""

    initial_backoff: float = Field(default=1.0, gt=0)
    max_backoff: float = Field(default=300.0, gt=0)
    multiplier: float = Field(default=2.0, ge=1)
    jitter: float = Field(default=0.2, ge=0, le=1)  # +/- fraction of the backoff
    max_age: float = Field(default=24 * 3600.0, gt=0)  # give up (dead) after this long
    max_attempts: int | None = None
    script_timeout: float = Field(default=30.0, gt=0)  # notify scripts


class FlappingSettings(Strict):
    """More than ``threshold`` transitions within ``window`` s become one digest."""

    enabled: bool = True
    threshold: int = Field(default=4, ge=2)
    window: float = Field(default=60.0, gt=0)


class AuditSettings(Strict):
    """The append-only audit log."""

    path: str | None = None  # default: <state_dir>/audit.jsonl
    fsync: bool = True
    # How long `hookd history` keeps finished events in the SQLite store; the JSON-lines
    # file is append-only (rotate it with logrotate). Pending deliveries are never pruned.
    retention_days: float = Field(default=90.0, gt=0)


class NetCheck(Strict):
    """``[net_check.NAME]``: ping peer(s) and gateway, demote during a partition."""

    peers: list[str] | None = None  # default: unicast_peer, else the learned master
    gateway: str | None = None
    interval: float = Field(default=1.0, gt=0)
    timeout: float = Field(default=0.5, gt=0)
    fall: int = Field(default=3, ge=1)
    rise: int = Field(default=2, ge=1)
    policy: Literal["gateway", "peer"] = "gateway"
    action: Literal["fault"] | int = "fault"


class MetricsSettings(Strict):
    """Prometheus exposition (off unless ``listen`` is set)."""

    listen: str | None = None  # "127.0.0.1:9650"


class Settings(Strict):
    """Everything hookd.toml / HOOKD_* add to keepalived.conf."""

    state_dir: str = "/var/lib/hookd"
    keepalived_conf: str | None = None
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    apprise: list[AppriseRoute] = Field(default_factory=list)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    flapping: FlappingSettings = Field(default_factory=FlappingSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    net_check: dict[str, NetCheck] = Field(default_factory=dict)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Instances declared in hookd.toml by users without a keepalived.conf.
    vrrp_instance: list[VrrpInstanceConfig] = Field(default_factory=list)
    vrrp_script: list[VrrpScript] = Field(default_factory=list)
    vrrp_sync_group: list[VrrpSyncGroup] = Field(default_factory=list)
    global_defs: GlobalDefs | None = None


# --- the whole thing ---------------------------------------------------------------------


class Model(Strict):
    """The validated configuration hookd runs from."""

    global_defs: GlobalDefs = Field(default_factory=GlobalDefs)
    vrrp_scripts: dict[str, VrrpScript] = Field(default_factory=dict)
    vrrp_instances: dict[str, VrrpInstanceConfig] = Field(default_factory=dict)
    vrrp_sync_groups: dict[str, VrrpSyncGroup] = Field(default_factory=dict)
    settings: Settings = Field(default_factory=Settings)

    def group_of(self, instance: str) -> VrrpSyncGroup | None:
        """The sync group an instance belongs to, if any."""
        for g in self.vrrp_sync_groups.values():
            if instance in g.group:
                return g
        return None

