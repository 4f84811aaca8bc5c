"""Diagnostics: every configuration message carries the FILE and LINE it is about."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    """One message about the configuration, printed as ``FILE:LINE: message``.

    ``line`` 0 means "the whole file" (e.g. a hookd.toml key whose line is unknown) and is
    printed as ``FILE: message``.
    """

    file: str
    line: int
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        if self.severity == "warning":
            return f"{where}: warning: {self.message}"
        return f"{where}: {self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class ConfigError(Exception):
    """The configuration is invalid; ``diagnostics`` holds every error found in the run."""

    def __init__(self, diagnostics: list[Diagnostic], warnings: list[Diagnostic] | None = None):
        self.diagnostics = diagnostics
        self.warnings = warnings or []
        super().__init__("\n".join(str(d) for d in diagnostics))


@dataclass
class Reporter:
    """Collects diagnostics while a front-end walks the configuration."""

    items: list[Diagnostic] = field(default_factory=list)

    def error(self, file: str, line: int, message: str) -> None:
        self.items.append(Diagnostic(file, line, message, "error"))

    def warn(self, file: str, line: int, message: str) -> None:
        self.items.append(Diagnostic(file, line, message, "warning"))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.items if d.is_error]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.items if not d.is_error]
