"""hookd.toml + HOOKD_* environment + secrets dir -> :class:`~hookd.config.model.Settings`.

Priority (highest first): init arguments > ``HOOKD_*`` env > secrets dir > hookd.toml.
Nested keys use ``__`` in env names (``HOOKD_SMTP__PASSWORD``), complex values are JSON
(``HOOKD_APPRISE='[{"urls": ["json://localhost"]}]'``). Secrets are files named like the
env variables (``/run/secrets/hookd/hookd_smtp`` holding JSON, say).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hookd.config.diagnostics import Diagnostic
from hookd.config.model import Settings

DEFAULT_SETTINGS = "/etc/hookd/hookd.toml"
DEFAULT_SECRETS_DIR = "/run/secrets/hookd"
ENV_PREFIX = "HOOKD_"


def settings_path(explicit: str | None = None) -> str | None:
    """``--settings``, else ``$HOOKD_SETTINGS``, else /etc/hookd/hookd.toml if it exists."""
    if explicit:
        return explicit
    env = os.environ.get("HOOKD_SETTINGS")
    if env:
        return env
    return DEFAULT_SETTINGS if os.path.exists(DEFAULT_SETTINGS) else None


def secrets_dir() -> str | None:
    """``$HOOKD_SECRETS_DIR``, else /run/secrets/hookd when that directory exists."""
    env = os.environ.get("HOOKD_SECRETS_DIR")
    if env:
        return env if os.path.isdir(env) else None
    return DEFAULT_SECRETS_DIR if os.path.isdir(DEFAULT_SECRETS_DIR) else None


def _loader(toml_file: str | None, secrets: str | None) -> type[BaseSettings]:
    """A BaseSettings class with the fields of :class:`Settings` and our sources."""

    class _Loaded(BaseSettings, Settings):  # type: ignore[misc]
        model_config = SettingsConfigDict(
            env_prefix=ENV_PREFIX,
            env_nested_delimiter="__",
            extra="forbid",
            secrets_dir=secrets,
            case_sensitive=False,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if secrets:
                sources.append(file_secret_settings)
            if toml_file:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
            return tuple(sources)

    return _Loaded


def _toml_line(path: str, loc: tuple[Any, ...]) -> int:
    """Best-effort line of a key path in a TOML file (0 when not found)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    keys = [str(p) for p in loc if not isinstance(p, int)]
    if not keys:
        return 0
    last = keys[-1]
    key_re = re.compile(rf"^\s*\"?{re.escape(last)}\"?\s*=")
    head_re = re.compile(rf"^\s*\[\[?\s*{re.escape('.'.join(keys))}\s*\]\]?")
    section = ".".join(keys[:-1])
    in_section = not section
    for n, line in enumerate(lines, start=1):
        s = line.strip()
        if head_re.match(s):
            return n
        if s.startswith("["):
            name = s.strip("[] ")
            in_section = name == section or (not section)
            continue
        if in_section and key_re.match(line):
            return n
    return 0


def _env_name(loc: tuple[Any, ...]) -> str | None:
    """The HOOKD_* variable that set the value at ``loc``, if one did."""
    env = {k.upper(): k for k in os.environ}
    parts = [str(p).upper() for p in loc if not isinstance(p, int)]
    for n in range(len(parts), 0, -1):
        name = ENV_PREFIX + "__".join(parts[:n])
        if name in env:
            return env[name]
    return None


def load_settings(
    path: str | None = None, **overrides: Any
) -> tuple[Settings, list[Diagnostic], str | None]:
    """Load :class:`Settings`; returns (settings, diagnostics, the toml path used).

    On errors the settings returned are the defaults and the diagnostics say what is
    wrong as ``FILE[:LINE]: key.path: message``.
    """
    toml_file = settings_path(path)
    diags: list[Diagnostic] = []
    label = toml_file or "<environment>"
    if toml_file:
        try:
            with open(toml_file, "rb") as fh:
                tomllib.load(fh)
        except FileNotFoundError:
            return Settings(), [Diagnostic(toml_file, 0, "settings file does not exist")], None
        except OSError as e:
            return Settings(), [Diagnostic(toml_file, 0, f"cannot read: {e.strerror}")], None
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"line (\d+)", str(e))
            return Settings(), [Diagnostic(toml_file, int(m.group(1)) if m else 0, str(e))], None
    try:
        loaded = _loader(toml_file, secrets_dir())(**overrides)
    except ValidationError as e:
        for err in e.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(p) for p in loc)
            line = _toml_line(toml_file, loc) if toml_file else 0
            where = (label if line else _env_name(loc)) or label
            diags.append(Diagnostic(where, line, f"{key}: {err['msg']}"))
        return Settings(), diags, toml_file
    except ValueError as e:  # e.g. an env value that is not valid JSON
        return Settings(), [Diagnostic(label, 0, str(e))], toml_file
    # only the keys that were said, so ``model_fields_set`` stays meaningful downstream
    data = {name: getattr(loaded, name) for name in loaded.model_fields_set}
    return Settings.model_validate(data), diags, toml_file
