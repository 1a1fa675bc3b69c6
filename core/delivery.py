"""What the outbox hands a channel's sender (`Delivery`, one outbox row), and what a sender provides and may answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
    mentions: tuple[str, ...] = ()  # people to @ in a group post (`Outgoing.mentions`)


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


SendNow = Callable[[], Awaitable[None]]


class WaveSender(Protocol):
    """A sender with work to do once per step of deliveries (the WeChat senders reserve the rate
    limits of a whole step in one database statement)."""

    async def prepare(self, deliveries: list[Delivery]) -> list[SendNow | Exception]:
        """For each row: a function that sends it now, or the error that keeps it from going out.

        The outbox passes at most one row per target and runs the returned sends concurrently.
        A row whose send is not run (the drainer stopped) is simply sent again later.
        """
        ...
