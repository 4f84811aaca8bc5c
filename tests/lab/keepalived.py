"""Run real keepalived 2.2.7 inside a lab node and read its state from its console log.

keepalived runs in the foreground (``-n``), VRRP only (``-P``), logging to the console
(``-l -D``, no syslog ``-G``), with private pid files in a temp dir, in its own session so
that :meth:`Keepalived.kill` SIGKILLs the parent *and* the VRRP child together (SIGKILL of
the parent alone makes the child stop gracefully, sending a priority 0 advert).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from hookd.netns import Lab, LabProcess, wait_until

KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"

_STATE_RE = re.compile(r"\((?P<inst>[^)]+)\) Entering (?P<state>[A-Z]+) STATE")
# What keepalived 2.2.7 logs about a peer whose packets it does not accept.
_INVALID_RE = re.compile(
    r"(?i)invalid|bogus|checksum|passw|mismatch|wrong|ttl|not present|unknown vrrp|"
    r"ignoring|discard|malformed|too short|version"
)
# Lines the regex above would catch but that are not about a bad peer.
_BENIGN_RE = re.compile(r"(?i)Starting Keepalived v|Running on Linux|Command line")


def available() -> bool:
    """keepalived is installed (the interop tests skip otherwise)."""
    return os.path.exists(KEEPALIVED)


class Keepalived(LabProcess):
    """One keepalived process in a lab node."""

    def __init__(self, lab: Lab, node: str, workdir: Path, conf: str) -> None:
        self.dir = Path(workdir) / f"{node}-keepalived"
        self.dir.mkdir(parents=True, exist_ok=True)
        super().__init__(lab, node, self.dir / "keepalived.log")
        self.conf_path = self.dir / "keepalived.conf"
        self.conf_path.write_text(conf)

    def start(self) -> None:
        d = self.dir
        self.spawn(
            [
                KEEPALIVED,
                "-n",
                "-l",
                "-D",
                "-G",
                "-P",
                "-f",
                str(self.conf_path),
                "-p",
                str(d / "keepalived.pid"),
                "-r",
                str(d / "vrrp.pid"),
                "-c",
                str(d / "checkers.pid"),
            ]
        )

    def kill(self) -> None:
        """Hard failure: parent and VRRP child die at once, no priority 0 advert."""
        super().kill()
        if self.proc is not None:
            self.proc.wait(timeout=5)

    def states(self, instance: str) -> list[str]:
        """Every state the instance entered, in order (from the log)."""
        return [m["state"] for m in _STATE_RE.finditer(self.log()) if m["inst"] == instance]

    def state(self, instance: str) -> str | None:
        states = self.states(instance)
        return states[-1] if states else None

    def wait_state(self, instance: str, state: str, timeout: float = 10.0) -> bool:
        return wait_until(lambda: self.state(instance) == state, timeout)

    def errors(self) -> list[str]:
        """Log lines complaining about received packets (should be empty with hookd)."""
        return [
            line
            for line in self.log().splitlines()
            if _INVALID_RE.search(line) and not _BENIGN_RE.search(line)
        ]
