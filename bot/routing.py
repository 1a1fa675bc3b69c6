"""The handler registry: one visible, ordered list; the first handler whose `match` says yes wins."""

from __future__ import annotations

from collections.abc import Sequence

from core.message import Message
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
    from handlers.booking import BookingHandler, BookingReplyHandler, CancelBookingHandler, MyBookingsHandler
    from handlers.queries import TodayActivityHandler
    from handlers.request_commands import StaffCommandHandler
    from handlers.requests import AlsoReplyHandler, RequestHandler
    from handlers.staff_sessions import StaffSessionsHandler

    return [
        StaffCommandHandler(),  # "#12 已解决 …" whatever the classifier thinks it mentions
        StaffSessionsHandler(),  # "加场 理发 12月6日 14:00-16:00 10人", "关闭场次 12" …
        BookingReplyHandler(),  # "1" / "周六那个" / "算了" to a pending booking question, else falls through
        TodayActivityHandler(),
        BookingHandler(),
        MyBookingsHandler(),
        CancelBookingHandler(),  # also "取消 K7P3QX" whatever the label
        RequestHandler(),
        AlsoReplyHandler(),  # "+1" after a recent request; otherwise chit-chat, no reply
    ]
