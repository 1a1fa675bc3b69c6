"""The handler registry: one visible, ordered list; the first handler whose `match` says yes wins."""

from __future__ import annotations

from collections.abc import Sequence

from bot.message import Message
from handlers.base import Handler
from nlp.understanding import Understanding
from storage.models import ConversationState


class Router:
    def __init__(self, handlers: Sequence[Handler]) -> None:
        names = [h.name for h in handlers]
        if len(set(names)) != len(names):
            raise ValueError(f"handler names must be unique: {names}")
        self.handlers = tuple(handlers)

    def route(
        self, message: Message, understanding: Understanding, conversation: ConversationState | None
    ) -> Handler | None:
        for handler in self.handlers:
            if handler.match(message, understanding, conversation):
                return handler
        return None  # chit-chat: no reply


def default_handlers() -> list[Handler]:
    """The production registry, in priority order (tests build their own lists)."""
    from handlers.queries import TodayActivityHandler

    return [
        TodayActivityHandler(),
    ]
