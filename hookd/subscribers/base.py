"""The subscriber contract: what a sink implements to receive bus events through the outbox.

A subscriber is one class in one file under ``hookd/subscribers/``. The outbox calls
:meth:`Subscriber.deliver` once per (event, subscriber) until it succeeds, fails
permanently or gives up (``DeliverySettings.max_age`` / ``max_attempts``):

- return normally (optionally a short detail string for the audit log): delivered, never
  sent again to this subscriber;
- raise :class:`TransientError` (or any other ``Exception``, or time out): retried later with
  exponential backoff + jitter, in order: later events of the same instance wait;
- raise :class:`PermanentError` (SMTP 5xx, HTTP 4xx other than 429, a refused or failed
  notify script): recorded as dead in the audit log at once, not retried.

Class attributes tune how the bus treats a subscriber (see :class:`BaseSubscriber`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

from hookd.events import Event

if TYPE_CHECKING:
    from hookd.config.model import Model


class DeliveryError(Exception):
    """Base of the errors a subscriber raises; the message goes to the audit log."""


class TransientError(DeliveryError):
    """Try again later (connection refused, timeout, SMTP 4xx, HTTP 5xx/429, no FIFO reader)."""


class PermanentError(DeliveryError):
    """Retrying cannot help (SMTP 5xx, HTTP 4xx, script refused by script security...)."""


@runtime_checkable
class Subscriber(Protocol):
    """What the bus and the outbox need from a sink."""

    name: str  # unique and stable across restarts: the outbox keys rows by it
    digest: bool  # True: a flapping instance's transitions arrive folded into a FlapDigest
    state_action: bool  # True: after a restart only the newest pending event per instance runs
    deliver_timeout: float | None  # the outbox cancels a deliver() that takes longer (transient)

    def wants(self, event: Event) -> bool:
        """Whether this event concerns this sink (called synchronously in publish: be quick)."""
        ...

    async def deliver(self, event: Event) -> str | None:
        """Deliver one event; return a detail for the audit log or raise a DeliveryError."""
        ...


class BaseSubscriber:
    """Convenient defaults for a :class:`Subscriber`; subclasses set ``name`` and implement."""

    name: str = "subscriber"
    digest: ClassVar[bool] = False
    state_action: ClassVar[bool] = False
    deliver_timeout: float | None = 120.0

    @classmethod
    def from_model(cls, model: Model, state_dir: Path) -> list[Subscriber]:
        """The instances of this sink the configuration asks for (often zero or one)."""
        raise NotImplementedError

    def wants(self, event: Event) -> bool:
        raise NotImplementedError

    async def deliver(self, event: Event) -> str | None:
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release resources when the bus stops (optional)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
