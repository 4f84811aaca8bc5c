"""The `hookd` command line: run, check, status, history, lab.

Exit codes: 0 ok, 1 error, 2 usage. Each sub-command lives in the module that owns the
feature; this file only parses arguments and dispatches (imports are lazy so `hookd check`
does not pay for pyroute2 or apprise).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

DEFAULT_CONF = "/etc/keepalived/keepalived.conf"
DEFAULT_STATE_DIR = "/var/lib/hookd"

# sub-command -> "module:function"; each function takes the argparse Namespace, returns rc.
COMMANDS = {
    "run": "hookd.daemon:main",
    "check": "hookd.config.check:main",
    "status": "hookd.control:status_main",
    "history": "hookd.subscribers.audit:history_main",
    "lab": "hookd.lab:main",
}


def _config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--use-file", "--config", dest="config", default=None,
                   help=f"keepalived.conf to read (default {DEFAULT_CONF} if it exists)")
    p.add_argument("--settings", default=None, help="hookd.toml (default: HOOKD_SETTINGS)")
    p.add_argument("-i", "--config-id", dest="config_id", default=None,
                   help="id for @ID conditional lines (default: the short host name)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hookd", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser("run", help="run the daemon in the foreground")
    _config_args(run)
    run.add_argument("--state-dir", default=None, help=f"default {DEFAULT_STATE_DIR}")
    run.add_argument("--log-level", default=None,
                     choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    check = sub.add_parser("check", help="validate the configuration")
    _config_args(check)

    status = sub.add_parser("status", help="show the state of every instance")
    status.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    status.add_argument("--json", action="store_true")

    history = sub.add_parser("history", help="show the failover timeline (audit log)")
    history.add_argument("--state-dir", default=DEFAULT_STATE_DIR)
    history.add_argument("--json", action="store_true")
    history.add_argument("--instance", default=None)
    history.add_argument("--since", default=None,
                         help="ISO time, or a duration such as 10m, 2h, 1d")

    lab = sub.add_parser("lab", help="a real two-node failover in network namespaces")
    lab.add_argument("--scenario", default="kill",
                     choices=["kill", "graceful", "partition", "service-down"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, func_name = COMMANDS[args.command].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
