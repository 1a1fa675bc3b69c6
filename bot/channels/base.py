"""What a channel's sender must provide to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Delivery:
    """One outbox row as a sender sees it."""

    id: int
    channel: str
    community: str
    audience: str  # group | user
    target: str
    text: str
    reply_to: int | None = None  # the inbox row this answers, if any


class TemporaryError(Exception):
    """Worth retrying later: network error, 5xx, rate limit, busy."""


class PermanentError(Exception):
    """Retrying cannot help (bad key, outside the 48 h window): the row is marked failed."""


class Sender(Protocol):
    async def send(self, delivery: Delivery) -> None:
        """Delivers or raises TemporaryError / PermanentError."""
        ...


class BatchSender(Protocol):
    """A sender that can deliver many rows at once (the simulator writes them in one transaction)."""

    async def send_batch(self, deliveries: list[Delivery]) -> None:
        ...
