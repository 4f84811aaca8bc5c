"""keepalived.conf front-end: reader (lines), tokenizer, block tree, and the VRRP keywords.

The reader follows keepalived 2.2.7's ``lib/parser.c`` (behaviour, not code):

* comments start at ``#`` or ``!`` anywhere outside double quotes (``\\#`` / ``\\!`` escape);
* a line ending in ``\\`` continues on the next line;
* ``@ID rest`` keeps ``rest`` only when the config id is ``ID``; ``@^ID rest`` only when not;
* ``$NAME=value`` defines a parameter, ``$NAME`` / ``${NAME}`` use it (``${_PWD}`` and
  ``${_INSTANCE}`` are built in);
* ``include PATTERN`` (globs and ``{a,b}`` brace lists, relative to the including file's
  directory) works anywhere, even inside a block; an include loop is an error;
* ``{`` and ``}`` outside quotes are statements of their own, so
  ``vrrp_instance X { state BACKUP`` and ``auth_pass secret }`` are what they look like;
* a double-quoted string is one word (quotes removed).

Every statement keeps its FILE and LINE so each message reads ``FILE:LINE: message``.
"""

from __future__ import annotations

import difflib
import glob
import ipaddress
import os
import re
import shlex
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hookd.config.diagnostics import Reporter
from hookd.config.model import (
    Authentication,
    GlobalDefs,
    Notify,
    NotifyScript,
    Source,
    TrackInterface,
    TrackScript,
    VirtualIP,
    VrrpInstanceConfig,
    VrrpScript,
    VrrpSyncGroup,
)

# --- vocabulary ------------------------------------------------------------------------


def _keywords(text: str) -> frozenset[str]:
    """A keyword set written as whitespace-separated words."""
    return frozenset(text.split())


# Root sections hookd does not implement: one warning, then the block is skipped.
UNSUPPORTED_SECTIONS = frozenset(
    {
        "virtual_server",
        "virtual_server_group",
        "real_server",
        "static_ipaddress",
        "static_routes",
        "static_rules",
        "static_track_group",
        "track_group",
        "bfd_instance",
        "linkbeat_interfaces",
        "linkbeat_use_polling",
        "vrrp_track_file",
        "track_file",
        "vrrp_track_process",
        "garp_group",
        "interface_up_down_delays",
        "net_namespace",
        "net_namespace_ipvs",
        "namespace_with_ipsets",
        "use_pid_dir",
        "instance",
        "child_wait_time",
        "SSL",
    }
)

# global_defs keywords keepalived knows but hookd ignores (one warning each).
GLOBAL_UNSUPPORTED = _keywords(
    """
    process_names process_name vrrp_process_name checker_process_name lvs_process_name
    bfd_process_name startup_script startup_script_timeout shutdown_script
    shutdown_script_timeout max_auto_priority min_auto_priority_delay smtp_alert_checker
    checker_log_all_failures dynamic_interfaces no_email_faults default_interface
    disable_local_igmp lvs_timeouts lvs_flush lvs_flush_on_stop lvs_flush_onstop
    lvs_sync_daemon vrrp_down_timer_adverts vrrp_min_garp vrrp_garp_extra_if
    vrrp_vmac_garp_intvl vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert
    vrrp_iptables vrrp_ipsets nftables nftables_priority nftables_ifindex nftables_ipvs
    nftables_ipvs_priority nftables_ipvs_start_fwmark nftables_counters vrrp_priority
    vrrp_no_swap vrrp_cpu_affinity vrrp_rlimit_rttime vrrp_rlimit_rtime
    vrrp_notify_priority_changes fifo_write_vrrp_states_on_reload lvs_notify_fifo
    lvs_notify_fifo_script checker_priority checker_no_swap checker_rt_priority
    checker_cpu_affinity checker_rlimit_rttime checker_rlimit_rtime bfd_priority
    bfd_no_swap bfd_rt_priority bfd_cpu_affinity bfd_rlimit_rttime bfd_rlimit_rtime
    snmp_socket enable_traps enable_snmp_vrrp enable_snmp_keepalived enable_snmp_rfc
    enable_snmp_rfcv2 enable_snmp_rfcv3 enable_snmp_checker enable_dbus dbus_service_name
    vrrp_netlink_cmd_rcv_bufs vrrp_netlink_cmd_rcv_bufs_force
    vrrp_netlink_monitor_rcv_bufs vrrp_netlink_monitor_rcv_bufs_force
    process_monitor_rcv_bufs process_monitor_rcv_bufs_force lvs_netlink_cmd_rcv_bufs
    lvs_netlink_cmd_rcv_bufs_force lvs_netlink_monitor_rcv_bufs
    lvs_netlink_monitor_rcv_bufs_force rs_init_notifies no_checker_emails
    vrrp_rx_bufs_policy vrrp_rx_bufs_multiplier vrrp_startup_delay log_unknown_vrids
    vmac_prefix vmac_addr_prefix umask random_seed reload_check_config reload_time_file
    reload_repeat reload_file include_check config_save_dir tmp_config_directory
    data_use_instance linkbeat_use_polling net_namespace net_namespace_ipvs
    namespace_with_ipsets use_pid_dir instance child_wait_time lvs_id
    """
)

GLOBAL_KEYWORDS = _keywords(
    """
    notification_email notification_email_from smtp_server smtp_helo_name
    smtp_connect_timeout smtp_alert smtp_alert_vrrp router_id script_user
    enable_script_security vrrp_version vrrp_garp_master_delay vrrp_garp_master_repeat
    vrrp_garp_master_refresh vrrp_garp_master_refresh_repeat vrrp_garp_interval
    vrrp_gna_interval vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat
    vrrp_mcast_group4 vrrp_mcast_group6 vrrp_strict vrrp_skip_check_adv_addr
    vrrp_check_unicast_src notify_fifo notify_fifo_script vrrp_notify_fifo
    vrrp_notify_fifo_script vrrp_rt_priority
    """
)

INSTANCE_UNSUPPORTED = _keywords(
    """
    use_vmac use_vmac_addr vmac_xmit_base use_ipvlan native_ipv6 unicast_fault_no_peer
    check_unicast_src old_unicast_checksum vrf track_file track_process track_bfd
    mcast_dst_ip track_src_ip unicast_ttl promote_secondaries linkbeat_use_polling
    virtual_routes virtual_rules skip_check_adv_addr debug notify_master_rx_lower_pri
    notify_priority_changes lvs_sync_daemon_interface down_timer_adverts garp_extra_if
    vmac_garp_intvl lower_prio_no_advert higher_prio_send_advert kernel_rx_buf_size
    """
)

INSTANCE_KEYWORDS = _keywords(
    """
    state interface virtual_router_id priority advert_int version authentication
    virtual_ipaddress virtual_ipaddress_excluded unicast_src_ip unicast_peer mcast_src_ip
    nopreempt preempt preempt_delay garp_master_delay garp_master_repeat
    garp_master_refresh garp_master_refresh_repeat garp_lower_prio_delay
    garp_lower_prio_repeat track_interface track_script notify_master notify_backup
    notify_fault notify_stop notify_deleted notify smtp_alert dont_track_primary accept
    no_accept strict_mode
    """
)

SCRIPT_KEYWORDS = _keywords("script interval timeout weight rise fall user init_fail")

GROUP_KEYWORDS = _keywords(
    """
    group notify_master notify_backup notify_fault notify_stop notify smtp_alert
    track_interface track_script
    """
)
GROUP_UNSUPPORTED = _keywords(
    """
    track_file track_process track_bfd global_tracking sync_group_tracking_weight
    notify_priority_changes
    """
)

BOOL_GLOBALS = _keywords(
    "smtp_alert smtp_alert_vrrp enable_script_security vrrp_strict vrrp_skip_check_adv_addr "
    "vrrp_check_unicast_src"
)
ROOT_KEYWORDS = frozenset({"global_defs", "vrrp_script", "vrrp_instance", "vrrp_sync_group"})

VIP_FLAGS_IGNORED = frozenset(
    {"home", "-nodad", "nodad", "mngtmpaddr", "noprefixroute", "autojoin"}
)
VIP_SCOPES = frozenset({"host", "link", "site", "global", "nowhere"})

AUTH_PASS_MAX = 8  # VRRPv2 authentication data is 8 octets (RFC 2338 5.3.10)
PRIO_OWNER = 255
PRIO_DEFAULT = 100


def did_you_mean(word: str, choices: frozenset[str] | set[str]) -> str:
    """`` (did you mean X?)`` when ``word`` is close to one of ``choices``."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def short_hostname() -> str:
    """keepalived's default config id: the host name up to the first dot."""
    return socket.gethostname().split(".", 1)[0]


# --- reader: physical lines -> statements ------------------------------------------------


@dataclass
class Stmt:
    """One statement: words on one logical line between braces, or a lone ``{`` / ``}``."""

    words: list[str]
    file: str
    line: int


@dataclass
class Node:
    """A statement with its ``{ ... }`` block, if it has one."""

    keyword: str
    args: list[str]
    file: str
    line: int
    block: list[Node] | None = None

    @property
    def words(self) -> list[str]:
        return [self.keyword, *self.args]


_DEF_RE = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_USE_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_INCLUDE_RE = re.compile(r"^include\s+(.+)$")


def expand_braces(pattern: str) -> list[str]:
    """Shell brace expansion ``a{b,c}d`` -> ``[abd, acd]`` (glob(3) GLOB_BRACE), nested ok."""
    depth = 0
    start = -1
    for i, ch in enumerate(pattern):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1 : i]
                parts, level, cur = [], 0, ""
                for c in inner:
                    if c == "," and level == 0:
                        parts.append(cur)
                        cur = ""
                        continue
                    level += c == "{"
                    level -= c == "}"
                    cur += c
                parts.append(cur)
                head, tail = pattern[:start], pattern[i + 1 :]
                out: list[str] = []
                for p in parts:
                    out.extend(expand_braces(head + p + tail))
                return out
    return [pattern]


def decomment(text: str) -> tuple[str, bool]:
    """Strip a ``#`` / ``!`` comment outside quotes; return (text, continues-on-next-line)."""
    out: list[str] = []
    quote = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quote = not quote
        elif ch == "\\":
            if i + 1 == len(text):
                return "".join(out).rstrip(), True
            nxt = text[i + 1]
            if not quote and nxt in "#!":
                out.append(nxt)  # escaped comment character is literal
                i += 2
                continue
            out.append(ch + nxt)
            i += 2
            continue
        elif not quote and ch in "#!":
            break
        out.append(ch)
        i += 1
    return "".join(out).strip(), False


def split_words(text: str) -> tuple[list[str], bool]:
    """Split into words; ``{``/``}`` outside quotes are words of their own.

    Returns (words, ok); ok is False when a double quote is not closed.
    """
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
        elif ch in "{}":
            words.append(ch)
            i += 1
        elif ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                words.append(text[i + 1 :])
                return words, False
            words.append(text[i + 1 : end])
            i = end + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n{}"':
                j += 1
            words.append(text[i:j])
            i = j
    return words, True


class Reader:
    """Turns keepalived.conf (and its includes) into a flat list of :class:`Stmt`."""

    def __init__(self, config_id: str | None, report: Reporter) -> None:
        self.config_id = config_id
        self.report = report
        self.defs: dict[str, str] = {}
        self.stack: list[str] = []  # files being read, for include-loop detection
        self.files: list[str] = []  # every file read, in order

    def read(self, path: str) -> list[Stmt]:
        out: list[Stmt] = []
        self._read_file(path, out, "", 0)
        return out

    def _read_file(self, path: str, out: list[Stmt], from_file: str, from_line: int) -> None:
        real = os.path.realpath(path)
        if real in self.stack:
            chain = " -> ".join([*self.stack[self.stack.index(real) :], real])
            self.report.error(from_file or path, from_line, f"include loop: {chain}")
            return
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            self.report.error(from_file or path, from_line, f"cannot read {path}: {e.strerror}")
            return
        self.files.append(path)
        self.stack.append(real)
        try:
            for lineno, line in self._logical_lines(text):
                self._line(path, lineno, line, out)
        finally:
            self.stack.pop()

    @staticmethod
    def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
        """Comment-stripped lines, ``\\`` continuations joined, with the first line number."""
        pending = ""
        first = 0
        for n, raw in enumerate(text.splitlines(), start=1):
            body, cont = decomment(raw)
            if not pending:
                first = n
            pending = f"{pending} {body}" if pending else body
            if cont:
                continue
            if pending.strip():
                yield first, pending.strip()
            pending = ""
        if pending.strip():
            yield first, pending.strip()

    def _line(self, path: str, lineno: int, text: str, out: list[Stmt]) -> None:
        for _ in range(8):  # a substitution may reveal @ID or another $NAME; bounded
            if text.startswith("@"):
                text = self._conditional(text)
                if not text:
                    return
            m = _DEF_RE.match(text)
            if m:
                self.defs[m.group(1)] = m.group(2).strip()
                return
            if "$" in text and (self.defs or "${_" in text):
                new = self._substitute(text, path)
                if new != text:
                    text, _ = decomment(new)
                    continue
            break
        m = _INCLUDE_RE.match(text)
        if m:
            self._include(path, lineno, m.group(1).strip().strip('"'), out)
            return
        words, ok = split_words(text)
        if not ok:
            self.report.error(path, lineno, f"unterminated quote: {text}")
        cur: list[str] = []
        for w in words:
            if w in ("{", "}"):
                if cur:
                    out.append(Stmt(cur, path, lineno))
                    cur = []
                out.append(Stmt([w], path, lineno))
            else:
                cur.append(w)
        if cur:
            out.append(Stmt(cur, path, lineno))

    def _conditional(self, text: str) -> str:
        """``@ID rest`` / ``@^ID rest``: the rest when the condition holds, else ''."""
        negate = text.startswith("@^")
        head, _, rest = text[2 if negate else 1 :].partition(" ")
        if "\t" in head:
            head, _, more = head.partition("\t")
            rest = f"{more} {rest}".strip()
        if not rest.strip():
            return ""
        matches = self.config_id is not None and head == self.config_id
        return rest.strip() if matches != negate else ""

    def _substitute(self, text: str, path: str) -> str:
        builtins = {
            "_PWD": os.path.dirname(os.path.abspath(path)),
            "_INSTANCE": self.config_id or "",
        }

        def repl(m: re.Match[str]) -> str:
            name = m.group(1) or m.group(2)
            if name in self.defs:
                return self.defs[name]
            return builtins.get(name, m.group(0))  # undefined: left as written (keepalived)

        return _USE_RE.sub(repl, text)

    def _include(self, path: str, lineno: int, pattern: str, out: list[Stmt]) -> None:
        base = os.path.dirname(os.path.abspath(path))
        matched: list[str] = []
        has_magic = False
        for pat in expand_braces(pattern):
            full = pat if os.path.isabs(pat) else os.path.join(base, pat)
            if glob.has_magic(full):
                has_magic = True
                matched.extend(sorted(glob.glob(full)))
            elif os.path.exists(full):
                matched.append(full)
            else:
                self.report.error(path, lineno, f"include {pattern}: {full} does not exist")
        if not matched and has_magic:
            self.report.warn(path, lineno, f"include {pattern}: no file matched")
        for f in matched:
            if os.path.isdir(f):
                continue
            self._read_file(f, out, path, lineno)


def build_tree(stmts: list[Stmt], report: Reporter) -> list[Node]:
    """Attach each ``{ ... }`` to the statement before it; report stray/unclosed braces."""
    root: list[Node] = []
    stack: list[tuple[Node | None, list[Node]]] = [(None, root)]
    for st in stmts:
        word = st.words[0]
        if st.words == ["{"]:
            owner, siblings = stack[-1]
            if not siblings or siblings[-1].block is not None:
                report.error(st.file, st.line, "unexpected '{' (no keyword before it)")
                anon = Node("{", [], st.file, st.line, [])
                stack.append((anon, anon.block if anon.block is not None else []))
                continue
            last = siblings[-1]
            last.block = []
            stack.append((last, last.block))
        elif st.words == ["}"]:
            if len(stack) == 1:
                report.error(st.file, st.line, "stray '}' (no block is open)")
                continue
            stack.pop()
        else:
            stack[-1][1].append(Node(word, st.words[1:], st.file, st.line))
    for owner, _ in stack[1:]:
        if owner is not None:
            report.error(owner.file, owner.line, f"unclosed '{{' of {' '.join(owner.words)}")
    return root


# --- value helpers ----------------------------------------------------------------------


class Bad(Exception):
    """A value that cannot be used; the message goes into a diagnostic."""


def _decimal(text: str, what: str) -> Decimal:
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise Bad(f"{what}: '{text}' is not a number") from None
    if not d.is_finite():
        raise Bad(f"{what}: '{text}' is not a number")
    return d


def _int(text: str, what: str, lo: int | None = None, hi: int | None = None) -> int:
    try:
        v = int(text, 10)
    except ValueError:
        raise Bad(f"{what}: '{text}' is not an integer") from None
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise Bad(f"{what} {v} is out of range {lo}..{hi}")
    return v


def _float(text: str, what: str, lo: float = 0.0, hi: float | None = None) -> float:
    v = float(_decimal(text, what))
    if v < lo or (hi is not None and v > hi):
        raise Bad(f"{what} {text} is out of range {lo:g}..{hi if hi is not None else 'inf'}")
    return v


def _bool_opt(node: Node) -> bool:
    """Flag keywords: bare means true; ``true|on|yes`` / ``false|off|no`` (keepalived)."""
    if not node.args:
        return True
    a = node.args[0].lower()
    if a in ("true", "on", "yes"):
        return True
    if a in ("false", "off", "no"):
        return False
    raise Bad(f"{node.keyword}: '{node.args[0]}' is not one of true/false/on/off/yes/no")


def _ip(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise Bad(f"{what}: '{text}' is not an IP address") from None


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_interface(text)
    except ValueError:
        return False
    return True


def _need(node: Node, n: int = 1) -> list[str]:
    if len(node.args) < n:
        raise Bad(f"{node.keyword} needs {'a value' if n == 1 else f'{n} values'}")
    return node.args


def _lines_of(node: Node) -> list[Node]:
    """The entries of a value block (``{ a b }`` on one line gives one entry node)."""
    if node.block is None:
        raise Bad(f"{node.keyword} expects a {{ ... }} block")
    return node.block


def _argv(text: str, what: str) -> list[str]:
    """A script string split like a shell argv (keepalived quotes/escapes the same way)."""
    try:
        argv = shlex.split(text)
    except ValueError as e:
        raise Bad(f"{what}: {e}") from None
    if not argv:
        raise Bad(f"{what}: empty script")
    return argv


def _notify_script(node: Node) -> NotifyScript:
    """``notify_X "/path/script args" [user [group]]``."""
    args = _need(node)
    if len(args) > 3:
        raise Bad(f"{node.keyword}: too many words; quote the script and its arguments")
    return NotifyScript(
        argv=_argv(args[0], node.keyword),
        user=args[1] if len(args) > 1 else None,
        group=args[2] if len(args) > 2 else None,
    )


def _weighted(node: Node, what: str) -> tuple[str, int | None, bool]:
    """``NAME [weight N [reverse]]`` entries of track_script / track_interface."""
    name, rest = node.keyword, node.args
    weight: int | None = None
    reverse = False
    i = 0
    while i < len(rest):
        if rest[i] == "weight" and i + 1 < len(rest):
            weight = _int(rest[i + 1], f"{what} {name} weight", -253, 253)
            i += 2
        elif rest[i] == "reverse":
            reverse = True
            i += 1
        else:
            raise Bad(f"{what} {name}: unexpected '{rest[i]}' (expected weight N [reverse])")
    if reverse and weight is None:
        raise Bad(f"{what} {name}: reverse needs a weight")
    return name, weight, reverse


def _vips(node: Node, report: Reporter) -> list[tuple[VirtualIP, Node]]:
    """``<IP>[/<len>] [brd <IP>] [dev <STR>] [scope <SCOPE>] [label <LABEL>] [peer <IP>] ...``.

    Several addresses on one line (``{ 10.0.0.1/24 10.0.0.2/24 }``) each start a new VIP.
    """
    out: list[tuple[VirtualIP, Node]] = []
    for entry in _lines_of(node):
        words = entry.words
        i = 0
        while i < len(words):
            addr = words[i]
            if not _is_ip(addr):
                report.error(
                    entry.file,
                    entry.line,
                    f"{node.keyword}: '{addr}' is not an IP address[/prefix]",
                )
                break
            opts: dict[str, Any] = {"address": addr}
            i += 1
            while i < len(words) and not _is_ip(words[i]):
                key = words[i]
                val = words[i + 1] if i + 1 < len(words) else None
                if key in ("brd", "broadcast", "dev", "scope", "label", "peer", "preferred_lft"):
                    if val is None:
                        report.error(entry.file, entry.line, f"{node.keyword}: {key} needs a value")
                        i += 1
                        continue
                    i += 2
                    if key in ("brd", "broadcast"):
                        if val not in ("+", "-") and not _is_ip(val):
                            report.error(entry.file, entry.line, f"brd: '{val}' is not an address")
                            continue
                        opts["broadcast"] = val
                    elif key == "scope":
                        if val not in VIP_SCOPES and not val.isdigit():
                            report.error(
                                entry.file,
                                entry.line,
                                f"scope: '{val}' is not one of {', '.join(sorted(VIP_SCOPES))}",
                            )
                            continue
                        opts["scope"] = val
                    elif key == "peer":
                        if not _is_ip(val):
                            report.error(entry.file, entry.line, f"peer: '{val}' is not an address")
                            continue
                        opts["peer"] = val
                    elif key == "preferred_lft":
                        if val == "forever":
                            continue
                        try:
                            opts["preferred_lft"] = _int(val, "preferred_lft", 0)
                        except Bad as e:
                            report.error(entry.file, entry.line, str(e))
                    else:
                        opts[key] = val
                elif key == "no_track":
                    opts["no_track"] = True
                    i += 1
                elif key in VIP_FLAGS_IGNORED or key in ("use_vmac", "track_group"):
                    report.warn(
                        entry.file,
                        entry.line,
                        f"{node.keyword}: '{key}' is not supported by hookd; ignored",
                    )
                    i += 1
                else:
                    report.error(
                        entry.file,
                        entry.line,
                        f"{node.keyword}: unknown option '{key}'"
                        + did_you_mean(
                            key,
                            {"brd", "dev", "scope", "label", "peer", "no_track", "preferred_lft"},
                        ),
                    )
                    i += 1
            try:
                out.append((VirtualIP(**opts), entry))
            except ValidationError as e:
                report.error(entry.file, entry.line, f"{node.keyword}: {_first_error(e)}")
    return out


def _first_error(e: ValidationError) -> str:
    err = e.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])


# --- keepalived defaults and normalisations ---------------------------------------------


def round_advert_int(value: float, version: int) -> tuple[float, str | None]:
    """keepalived 2.2.7 (vrrp.c, vrrp_complete_instance): v2 rounds half-up to whole
    seconds (min 1 s, max 255 s), v3 to centiseconds (min 10 ms, max 40.95 s).

    Returns (interval, warning or None).
    """
    d = Decimal(str(value))
    if version == 2:
        if d >= 256:
            return 255.0, f"VRRPv2 advert_int {value:g}s is out of range; using 255s"
        r = d.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        r = max(r, Decimal(1))
        if r != d:
            return float(r), f"VRRPv2 advert_int {value:g}s must be whole seconds; using {r}s"
        return float(r), None
    if d >= Decimal("40.96"):
        return 40.95, f"VRRPv3 advert_int {value:g}s is out of range; using 40.95s"
    r = d.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    r = max(r, Decimal("0.01"))
    if r != d:
        return float(r), f"VRRPv3 advert_int {value:g}s must be in units of 10ms; using {r}s"
    return float(r), None


def finish_instance(
    raw: dict[str, Any],
    gdefs: GlobalDefs,
    report: Reporter,
    file: str,
    line: int,
    locs: dict[str, tuple[str, int]] | None = None,
) -> VrrpInstanceConfig | None:
    """Apply keepalived's defaults and normalisations to the keywords a user wrote.

    ``raw`` holds only what was said (keepalived.conf keywords, or the keys set in a
    hookd.toml ``[[vrrp_instance]]``). Mirrors keepalived 2.2.7 vrrp_complete_instance():

    * no ``priority``: 255 (address owner) when ``state MASTER``, else 100;
    * no ``state``: MASTER when priority is 255, else BACKUP;
    * IPv6 VIPs force VRRPv3 (keepalived: when the version was not set, or after the VIPs
      were read; hookd always, with a warning, since RFC 3768 VRRPv2 is IPv4 only);
    * no ``version``: global ``vrrp_version``;
    * advert_int rounded (see :func:`round_advert_int`);
    * authentication dropped (warning) with VRRPv3, and when no password was given;
    * ``nopreempt`` cleared for priority 255 and for state MASTER; ``preempt_delay``
      cleared for state MASTER and with ``nopreempt``;
    * garp_* default to the global ``vrrp_garp_*``.
    """
    locs = locs or {}
    name = raw.get("name", "?")

    def where(key: str) -> tuple[str, int]:
        return locs.get(key, (file, line))

    def warn(key: str, msg: str) -> None:
        f, n = where(key)
        report.warn(f, n, f"vrrp_instance {name}: {msg}")

    def error(key: str, msg: str) -> None:
        f, n = where(key)
        report.error(f, n, f"vrrp_instance {name}: {msg}")

    d = dict(raw)
    bad: set[str] = d.pop("_bad", set())
    ok = not bad
    if not d.get("interface") and "interface" not in bad:
        error("", "interface is required")
        ok = False
    if "virtual_router_id" not in d and "virtual_router_id" not in bad:
        error("", "virtual_router_id is required")
        ok = False
    vips: list[VirtualIP] = [
        v if isinstance(v, VirtualIP) else VirtualIP(**v) for v in d.get("virtual_ipaddress", [])
    ]
    d["virtual_ipaddress"] = vips
    # family: the first address that says one (keepalived: VIP, unicast peer or source)
    family = None
    for cand in [
        *(v.ip for v in vips),
        *d.get("unicast_peer", []),
        d.get("unicast_src_ip"),
        d.get("mcast_src_ip"),
    ]:
        if cand:
            family = ipaddress.ip_address(cand).version
            break
    if "family" in d and family is not None and d["family"] != family:
        error("family", f"family {d['family']} does not match the addresses (IPv{family})")
        ok = False
    family = family or d.get("family") or 4
    d["family"] = family
    for v in vips:
        if v.family != family:
            error(
                f"vip:{v.address}",
                f"VIP {v.address} is IPv{v.family} but the instance is IPv{family} "
                "(all VIPs of one instance must be of one family)",
            )
            ok = False
    for p in d.get("unicast_peer", []):
        if ipaddress.ip_address(p).version != family:
            error(f"peer:{p}", f"unicast_peer {p} is not IPv{family} like the instance")
            ok = False
    for key in ("unicast_src_ip", "mcast_src_ip"):
        if d.get(key) and ipaddress.ip_address(d[key]).version != family:
            error(key, f"{key} {d[key]} is not IPv{family} like the instance")
            ok = False

    version = d.get("version")
    if family == 6 and version == 2:
        warn("version", "VRRPv2 cannot carry IPv6 addresses; using version 3")
        version = 3
    if version is None:
        version = 3 if family == 6 else gdefs.vrrp_version
    d["version"] = version

    if not vips:
        if version == 3:
            error("", "no virtual_ipaddress; VRRPv3 needs at least one")
            ok = False
        else:
            warn("", "no virtual_ipaddress; at least one is sensible")

    # priority <-> initial state (vrrp.c: "If no priority has been set, derive it from
    # the initial state" / "If no initial state has been set, derive it from the priority")
    if "priority" not in d:
        d["priority"] = PRIO_OWNER if d.get("state") == "MASTER" else PRIO_DEFAULT
    if "state" not in d:
        d["state"] = "MASTER" if d["priority"] == PRIO_OWNER else "BACKUP"

    adv, msg = round_advert_int(float(d.get("advert_int", 1.0)), version)
    if msg:
        warn("advert_int", msg)
    d["advert_int"] = adv

    auth = d.get("authentication")
    if isinstance(auth, dict):
        auth = Authentication(**auth)
    if auth is not None:
        if version == 3:
            warn("authentication", "VRRPv3 does not support authentication; ignored")
            auth = None
        elif not auth.auth_pass:
            warn("authentication", "authentication without auth_pass; ignored")
            auth = None
        elif family == 6 and auth.auth_type == "AH":
            warn("authentication", "AH authentication cannot be used with IPv6; ignored")
            auth = None
    d["authentication"] = auth

    if d.get("nopreempt") and d["priority"] == PRIO_OWNER:
        warn("nopreempt", "nopreempt is incompatible with priority 255; cleared")
        d["nopreempt"] = False
    if d["state"] == "MASTER":
        if d.get("nopreempt"):
            warn("nopreempt", "nopreempt will not work with initial state MASTER; cleared")
            d["nopreempt"] = False
        if d.get("preempt_delay"):
            warn("preempt_delay", "preempt_delay will not work with initial state MASTER; cleared")
            d["preempt_delay"] = 0.0
    if d.get("preempt_delay") and d.get("nopreempt"):
        warn("preempt_delay", "preempt_delay is incompatible with nopreempt; cleared")
        d["preempt_delay"] = 0.0

    for key, gkey in (
        ("garp_master_delay", "vrrp_garp_master_delay"),
        ("garp_master_repeat", "vrrp_garp_master_repeat"),
        ("garp_master_refresh", "vrrp_garp_master_refresh"),
        ("garp_master_refresh_repeat", "vrrp_garp_master_refresh_repeat"),
        ("garp_lower_prio_delay", "vrrp_garp_lower_prio_delay"),
        ("garp_lower_prio_repeat", "vrrp_garp_lower_prio_repeat"),
    ):
        if key not in d:
            d[key] = getattr(gdefs, gkey)

    if d.get("strict_mode") is None and gdefs.vrrp_strict:
        d["strict_mode"] = True
    if "source" not in d:
        d["source"] = Source(file=file, line=line)
    if not ok:
        return None
    try:
        return VrrpInstanceConfig(**d)
    except ValidationError as e:
        for err in e.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            error(key, f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
        return None


# --- the parse ---------------------------------------------------------------------------


@dataclass
class ParseResult:
    """What keepalived.conf said, after keepalived's defaults, plus where each thing is."""

    global_defs: GlobalDefs = field(default_factory=GlobalDefs)
    global_defs_set: set[str] = field(default_factory=set)
    vrrp_scripts: dict[str, VrrpScript] = field(default_factory=dict)
    vrrp_instances: dict[str, VrrpInstanceConfig] = field(default_factory=dict)
    vrrp_sync_groups: dict[str, VrrpSyncGroup] = field(default_factory=dict)
    # ("instance"|"group", name, key) -> (file, line), e.g. ("instance","VI_1","script:chk")
    locations: dict[tuple[str, str, str], tuple[str, int]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    # raw instance dicts kept until global_defs are known
    _raw_instances: list[tuple[dict[str, Any], Node, dict[str, tuple[str, int]]]] = field(
        default_factory=list
    )


class Parser:
    """Walks the block tree and fills a :class:`ParseResult`."""

    def __init__(self, report: Reporter) -> None:
        self.report = report
        self.result = ParseResult()
        self._gd: dict[str, Any] = {}

    # -- entry
    def parse(self, nodes: list[Node]) -> ParseResult:
        for node in nodes:
            self._guard(self._root, node)
        gd_loc = self._gd.pop("__loc__", ("", 0))
        try:
            gdefs = GlobalDefs(**self._gd)
        except ValidationError as e:
            for err in e.errors():
                self.report.error(gd_loc[0], gd_loc[1], f"global_defs: {_first_error_of(err)}")
            gdefs = GlobalDefs()
        self.result.global_defs = gdefs
        self.result.global_defs_set = set(self._gd)
        for raw, node, locs in self.result._raw_instances:
            name = raw["name"]
            inst = finish_instance(raw, gdefs, self.report, node.file, node.line, locs)
            if inst is not None:
                self.result.vrrp_instances[name] = inst
        return self.result

    def _guard(self, fn: Any, node: Node, *args: Any) -> None:
        try:
            fn(node, *args)
        except Bad as e:
            self.report.error(node.file, node.line, str(e))

    def _unknown(self, node: Node, where: str, known: frozenset[str]) -> None:
        self.report.error(
            node.file,
            node.line,
            f"unknown keyword '{node.keyword}' in {where}" + did_you_mean(node.keyword, known),
        )

    def _root(self, node: Node) -> None:
        kw = node.keyword
        if kw == "global_defs":
            for child in _lines_of(node):
                self._guard(self._global, child)
        elif kw == "vrrp_script":
            self._script(node)
        elif kw == "vrrp_instance":
            self._instance(node)
        elif kw == "vrrp_sync_group":
            self._group(node)
        elif kw in UNSUPPORTED_SECTIONS:
            what = f"{kw} {' '.join(node.args)}".strip()
            self.report.warn(node.file, node.line, f"{what}: not implemented by hookd; skipped")
        elif kw == "{":
            pass  # already reported by build_tree
        else:
            self._unknown(node, "the top level", ROOT_KEYWORDS | UNSUPPORTED_SECTIONS)

    # -- global_defs
    def _global(self, node: Node) -> None:
        kw, a, gd = node.keyword, node.args, self._gd
        gd.setdefault("__loc__", (node.file, node.line))
        if kw == "notification_email":
            emails = list(a)
            if node.block is not None:
                for entry in node.block:
                    emails.extend(entry.words)
            gd["notification_email"] = emails
        elif kw in ("notification_email_from", "smtp_helo_name", "router_id"):
            gd[kw] = _need(node)[0]
        elif kw == "smtp_server":
            host = _need(node)[0]
            gd["smtp_server"] = host
            if len(a) > 1:
                gd["smtp_port"] = _int(a[1], "smtp_server port", 1, 65535)
        elif kw == "smtp_connect_timeout":
            gd[kw] = _float(_need(node)[0], kw, 0.001)
        elif kw in BOOL_GLOBALS:
            gd[kw] = _bool_opt(node)
        elif kw == "script_user":
            gd["script_user"] = _need(node)[0]
            gd["script_group"] = a[1] if len(a) > 1 else None
        elif kw == "vrrp_version":
            gd[kw] = _int(_need(node)[0], kw, 2, 3)
        elif kw == "vrrp_rt_priority":
            gd[kw] = _int(_need(node)[0], kw, 1, 99)
        elif kw in (
            "vrrp_garp_master_delay",
            "vrrp_garp_master_refresh",
            "vrrp_garp_interval",
            "vrrp_gna_interval",
            "vrrp_garp_lower_prio_delay",
        ):
            gd[kw] = _float(_need(node)[0], kw)
        elif kw in (
            "vrrp_garp_master_repeat",
            "vrrp_garp_master_refresh_repeat",
            "vrrp_garp_lower_prio_repeat",
        ):
            gd[kw] = _int(_need(node)[0], kw, 0)
        elif kw == "vrrp_mcast_group4":
            ip = _ip(_need(node)[0], kw)
            if ip.version != 4 or not ip.is_multicast:
                raise Bad(f"{kw}: {ip} is not an IPv4 multicast address")
            gd[kw] = str(ip)
        elif kw == "vrrp_mcast_group6":
            ip = _ip(_need(node)[0], kw)
            if ip.version != 6 or not ip.is_multicast:
                raise Bad(f"{kw}: {ip} is not an IPv6 multicast address")
            gd[kw] = str(ip)
        elif kw in ("notify_fifo", "vrrp_notify_fifo"):
            gd[kw] = _need(node)[0]
        elif kw in ("notify_fifo_script", "vrrp_notify_fifo_script"):
            gd[kw] = _argv(_need(node)[0], kw)
        elif kw in GLOBAL_UNSUPPORTED:
            self.report.warn(
                node.file, node.line, f"global_defs: {kw} is not implemented by hookd; ignored"
            )
        else:
            self._unknown(node, "global_defs", GLOBAL_KEYWORDS | GLOBAL_UNSUPPORTED)

    # -- vrrp_script
    def _script(self, node: Node) -> None:
        if not node.args:
            raise Bad("vrrp_script needs a name")
        name = node.args[0]
        d: dict[str, Any] = {"name": name, "source": Source(file=node.file, line=node.line)}
        for c in _lines_of(node):
            try:
                kw, a = c.keyword, c.args
                if kw == "script":
                    d["script"] = _argv(" ".join(_need(c)), f"vrrp_script {name} script")
                    self.result.locations[("script", name, "script")] = (c.file, c.line)
                elif kw == "interval":
                    d["interval"] = _float(_need(c)[0], "interval", 0.000001)
                elif kw == "timeout":
                    d["timeout"] = _float(_need(c)[0], "timeout", 0.000001)
                elif kw == "weight":
                    d["weight"] = _int(_need(c)[0], "weight", -253, 253)
                    if len(a) > 1:
                        if a[1] != "reverse":
                            raise Bad(f"weight: unexpected '{a[1]}' (expected reverse)")
                        d["reverse"] = True
                elif kw in ("rise", "fall"):
                    d[kw] = _int(_need(c)[0], kw, 1)
                elif kw == "user":
                    d["user"] = _need(c)[0]
                    d["group"] = a[1] if len(a) > 1 else None
                elif kw == "init_fail":
                    d["init_fail"] = True
                else:
                    self._unknown(c, f"vrrp_script {name}", SCRIPT_KEYWORDS)
            except Bad as e:
                self.report.error(c.file, c.line, f"vrrp_script {name}: {e}")
        if "script" not in d:
            self.report.error(node.file, node.line, f"vrrp_script {name}: no script given")
            return
        if name in self.result.vrrp_scripts:
            self.report.error(node.file, node.line, f"vrrp_script {name} is defined twice")
            return
        try:
            self.result.vrrp_scripts[name] = VrrpScript(**d)
        except ValidationError as e:
            self.report.error(node.file, node.line, f"vrrp_script {name}: {_first_error(e)}")

    # -- vrrp_instance
    def _instance(self, node: Node) -> None:
        if not node.args:
            raise Bad("vrrp_instance needs a name")
        name = node.args[0]
        raw: dict[str, Any] = {"name": name}
        locs: dict[str, tuple[str, int]] = {}
        notify: dict[str, NotifyScript] = {}
        for c in _lines_of(node):
            locs.setdefault(c.keyword, (c.file, c.line))
            try:
                self._instance_kw(c, name, raw, locs, notify)
            except Bad as e:
                self.report.error(c.file, c.line, f"vrrp_instance {name}: {e}")
                raw.setdefault("_bad", set()).add(c.keyword)  # no "is required" on top
        raw["notify"] = Notify(**notify)
        for key, loc in locs.items():
            if key.startswith("script:"):
                self.result.locations[("instance", name, key)] = loc
        if any(r[0]["name"] == name for r in self.result._raw_instances):
            self.report.error(node.file, node.line, f"vrrp_instance {name} is defined twice")
            return
        self.result.locations[("instance", name, "")] = (node.file, node.line)
        for k, v in locs.items():
            self.result.locations[("instance", name, k)] = v
        self.result._raw_instances.append((raw, node, locs))

    def _instance_kw(
        self,
        c: Node,
        name: str,
        raw: dict[str, Any],
        locs: dict[str, tuple[str, int]],
        notify: dict[str, NotifyScript],
    ) -> None:
        kw, a = c.keyword, c.args
        if kw == "state":
            st = _need(c)[0]
            if st not in ("MASTER", "BACKUP"):
                raise Bad(f"state '{st}' must be MASTER or BACKUP")
            if st == "BACKUP" and raw.get("state") == "MASTER":
                self.report.warn(
                    c.file,
                    c.line,
                    f"vrrp_instance {name}: state previously set as MASTER; BACKUP ignored",
                )
                return
            raw["state"] = st
        elif kw == "interface":
            raw["interface"] = _need(c)[0]
        elif kw == "virtual_router_id":
            raw["virtual_router_id"] = _int(_need(c)[0], "virtual_router_id", 1, 255)
        elif kw == "priority":
            raw["priority"] = _int(_need(c)[0], "priority", 1, 255)
        elif kw == "advert_int":
            v = _decimal(_need(c)[0], "advert_int")
            if v <= 0:
                raise Bad(f"advert_int {a[0]} must be > 0")
            raw["advert_int"] = float(v)
        elif kw == "version":
            raw["version"] = _int(_need(c)[0], "version", 2, 3)
        elif kw == "authentication":
            auth: dict[str, str] = {}
            for e in _lines_of(c):
                try:
                    if e.keyword == "auth_type":
                        t = _need(e)[0]
                        if t not in ("PASS", "AH"):
                            raise Bad(f"auth_type '{t}' must be PASS or AH")
                        auth["auth_type"] = t
                    elif e.keyword == "auth_pass":
                        pw = _need(e)[0]
                        b = pw.encode()
                        if len(b) > AUTH_PASS_MAX:
                            pw = b[:AUTH_PASS_MAX].decode(errors="ignore")
                            self.report.warn(
                                e.file,
                                e.line,
                                f"vrrp_instance {name}: auth_pass truncated to "
                                f"{AUTH_PASS_MAX} characters",
                            )
                        auth["auth_pass"] = pw
                    else:
                        self._unknown(e, "authentication", frozenset({"auth_type", "auth_pass"}))
                except Bad as err:
                    self.report.error(e.file, e.line, f"vrrp_instance {name}: {err}")
            raw["authentication"] = auth
        elif kw in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
            items = _vips(c, self.report)
            raw.setdefault(kw, []).extend(v for v, _ in items)
            for v, e in items:
                locs.setdefault(f"vip:{v.address}", (e.file, e.line))
        elif kw == "unicast_peer":
            peers = raw.setdefault("unicast_peer", [])
            for e in _lines_of(c):
                words = e.words
                i = 0
                while i < len(words):
                    w = words[i]
                    if w in ("min_ttl", "max_ttl"):
                        i += 2
                        continue
                    try:
                        peers.append(str(_ip(w, "unicast_peer")))
                        locs.setdefault(f"peer:{peers[-1]}", (e.file, e.line))
                    except Bad as err:
                        self.report.error(e.file, e.line, f"vrrp_instance {name}: {err}")
                    i += 1
        elif kw in ("unicast_src_ip", "mcast_src_ip"):
            raw[kw] = str(_ip(_need(c)[0], kw))
        elif kw in ("nopreempt", "dont_track_primary"):
            raw[kw] = True
        elif kw == "preempt":
            raw["nopreempt"] = False
        elif kw == "preempt_delay":
            raw[kw] = _float(_need(c)[0], kw, 0, 1000)
        elif kw in ("garp_master_delay", "garp_master_refresh", "garp_lower_prio_delay"):
            raw[kw] = _float(_need(c)[0], kw)
        elif kw in ("garp_master_repeat", "garp_master_refresh_repeat", "garp_lower_prio_repeat"):
            raw[kw] = _int(_need(c)[0], kw, 0)
        elif kw == "track_interface":
            lst = raw.setdefault("track_interface", [])
            for e in _lines_of(c):
                try:
                    n, w, r = _weighted(e, "track_interface")
                    lst.append(TrackInterface(name=n, weight=w, reverse=r))
                except Bad as err:
                    self.report.error(e.file, e.line, f"vrrp_instance {name}: {err}")
        elif kw == "track_script":
            lst = raw.setdefault("track_script", [])
            for e in _lines_of(c):
                try:
                    n, w, r = _weighted(e, "track_script")
                    lst.append(TrackScript(name=n, weight=w, reverse=r))
                    locs.setdefault(f"script:{n}", (e.file, e.line))
                except Bad as err:
                    self.report.error(e.file, e.line, f"vrrp_instance {name}: {err}")
        elif kw.startswith("notify") and kw in INSTANCE_KEYWORDS:
            slot = "generic" if kw == "notify" else kw.removeprefix("notify_")
            if slot in notify:
                self.report.warn(
                    c.file, c.line, f"vrrp_instance {name}: {kw} already given; ignored"
                )
                return
            notify[slot] = _notify_script(c)
            locs[f"notify:{slot}"] = (c.file, c.line)
        elif kw in ("smtp_alert", "strict_mode"):
            raw[kw] = _bool_opt(c)
        elif kw == "accept":
            raw["accept"] = True
        elif kw == "no_accept":
            raw["accept"] = False
        elif kw in INSTANCE_UNSUPPORTED:
            self.report.warn(
                c.file, c.line, f"vrrp_instance {name}: {kw} is not supported by hookd; ignored"
            )
        else:
            self._unknown(c, f"vrrp_instance {name}", INSTANCE_KEYWORDS | INSTANCE_UNSUPPORTED)

    # -- vrrp_sync_group
    def _group(self, node: Node) -> None:
        if not node.args:
            raise Bad("vrrp_sync_group needs a name")
        name = node.args[0]
        members: list[str] = []
        d: dict[str, Any] = {"name": name, "source": Source(file=node.file, line=node.line)}
        notify: dict[str, NotifyScript] = {}
        self.result.locations[("group", name, "")] = (node.file, node.line)
        for c in _lines_of(node):
            try:
                kw = c.keyword
                if kw == "group":
                    for e in _lines_of(c):
                        for w in e.words:
                            members.append(w)
                            self.result.locations[("group", name, f"member:{w}")] = (e.file, e.line)
                elif kw.startswith("notify") and kw in GROUP_KEYWORDS:
                    slot = "generic" if kw == "notify" else kw.removeprefix("notify_")
                    notify[slot] = _notify_script(c)
                    self.result.locations[("group", name, f"notify:{slot}")] = (c.file, c.line)
                elif kw == "smtp_alert":
                    d["smtp_alert"] = _bool_opt(c)
                elif kw == "track_interface":
                    d["track_interface"] = [
                        TrackInterface(name=n, weight=w, reverse=r)
                        for n, w, r in (_weighted(e, kw) for e in _lines_of(c))
                    ]
                elif kw == "track_script":
                    lst = []
                    for e in _lines_of(c):
                        n, w, r = _weighted(e, kw)
                        lst.append(TrackScript(name=n, weight=w, reverse=r))
                        self.result.locations[("group", name, f"script:{n}")] = (e.file, e.line)
                    d["track_script"] = lst
                elif kw in GROUP_UNSUPPORTED:
                    self.report.warn(
                        c.file,
                        c.line,
                        f"vrrp_sync_group {name}: {kw} is not supported by hookd; ignored",
                    )
                elif c.block is None and not c.args and not kw.startswith("notify"):
                    # keepalived < 1.3 listed the instances directly in the group
                    self.report.warn(
                        c.file,
                        c.line,
                        f"vrrp_sync_group {name}: bare instance name '{kw}' "
                        "(old syntax); put it inside group { }",
                    )
                    members.append(kw)
                    self.result.locations[("group", name, f"member:{kw}")] = (c.file, c.line)
                else:
                    self._unknown(c, f"vrrp_sync_group {name}", GROUP_KEYWORDS | GROUP_UNSUPPORTED)
            except Bad as e:
                self.report.error(c.file, c.line, f"vrrp_sync_group {name}: {e}")
        d["group"] = members
        d["notify"] = Notify(**notify)
        if name in self.result.vrrp_sync_groups:
            self.report.error(node.file, node.line, f"vrrp_sync_group {name} is defined twice")
            return
        self.result.vrrp_sync_groups[name] = VrrpSyncGroup(**d)


def _first_error_of(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    return f"{loc}: {err['msg']}" if loc else str(err["msg"])


def parse_file(
    path: str, config_id: str | None = None, report: Reporter | None = None
) -> tuple[ParseResult, Reporter]:
    """Read ``path`` (with its includes) into a :class:`ParseResult`.

    ``config_id`` selects ``@ID`` lines (default: the short host name, like ``keepalived
    -i``). Problems go to the returned :class:`Reporter`; nothing here raises for a bad file.
    """
    report = report or Reporter()
    cid = config_id if config_id is not None else short_hostname()
    reader = Reader(cid, report)
    stmts = reader.read(path)
    tree = build_tree(stmts, report)
    result = Parser(report).parse(tree)
    result.files = reader.files
    return result, report


def parse_text(
    text: str, path: str = "keepalived.conf", config_id: str | None = None
) -> tuple[ParseResult, Reporter]:
    """Parse configuration text held in memory (``include`` is relative to ``path``)."""
    report = Reporter()
    cid = config_id if config_id is not None else short_hostname()
    reader = Reader(cid, report)
    out: list[Stmt] = []
    reader.stack.append(os.path.realpath(path))
    for lineno, line in reader._logical_lines(text):
        reader._line(path, lineno, line, out)
    tree = build_tree(out, report)
    result = Parser(report).parse(tree)
    result.files = [path, *reader.files]
    return result, report
