"""The sinks transition events are delivered to; one file, one class each.

Adding a sink: write ``hookd/subscribers/<name>.py`` with one class implementing
:class:`~hookd.subscribers.base.Subscriber` and a ``from_model(model, state_dir)``
classmethod, then add one line to :data:`REGISTRY`. Imports are lazy so a configuration
without apprise URLs never pays for importing apprise.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hookd.subscribers.base import PermanentError, Subscriber, TransientError

if TYPE_CHECKING:
    from hookd.config.model import Model

log = logging.getLogger(__name__)

# "module:Class" of every sink, in the order their workers are started.
REGISTRY: list[str] = [
    "hookd.subscribers.audit:AuditSubscriber",
    "hookd.subscribers.scripts:ScriptSubscriber",
    "hookd.subscribers.fifo:FifoSubscriber",
    "hookd.subscribers.email:EmailSubscriber",
    "hookd.subscribers.apprise:AppriseSubscriber",
]

__all__ = ["REGISTRY", "PermanentError", "Subscriber", "TransientError", "build"]


def build(model: Model, state_dir: str | Path) -> list[Subscriber]:
    """Every subscriber the configuration asks for."""
    subs: list[Subscriber] = []
    for entry in REGISTRY:
        module_name, cls_name = entry.split(":")
        needed = _needed(model, module_name)
        if not needed:
            continue
        cls = getattr(importlib.import_module(module_name), cls_name)
        subs.extend(cls.from_model(model, Path(state_dir)))
    return subs


def _needed(model: Model, module_name: str) -> bool:
    # Avoid importing apprise (slow) when no route is configured.
    return not (module_name.endswith(".apprise") and not model.settings.apprise)
