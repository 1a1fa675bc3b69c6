"""The handler registry and the dispatch step: one visible, ordered list; the first handler whose
`match` finds something in the message handles it, and gets what `match` found.

A handler marked `fallback` (handlers/menu.py's menu, the last of the list) is also asked when the
handler that took a message said nothing: a message addressed to the bot never meets silence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community
from core.message import Message, Outgoing
from handlers.base import QUESTION_TTL, Context, Handler, Incoming
from nlp.understanding import Understanding
from storage.conversations import Conversations


class Router:
    def __init__(self, handlers: Sequence[Handler[Any]]) -> None:
        names = [h.name for h in handlers]
        if len(set(names)) != len(names):
            raise ValueError(f"handler names must be unique: {names}")
        self.handlers = tuple(handlers)
        self.fallback: Handler[Any] | None = next((h for h in handlers if getattr(h, "fallback", False)), None)

    def route(self, incoming: Incoming) -> tuple[Handler[Any], Any] | None:
        """The first handler that matches, and what its `match` found; None for chit-chat (no reply)."""
        for handler in self.handlers:
            found = handler.match(incoming)
            if found is not None and found is not False:
                return handler, found
        return None


@dataclass(frozen=True)
class Dispatched:
    handler: str | None  # the handler that took the message; None: nobody (no reply)
    outgoing: list[Outgoing]


class HandlerFailed(Exception):
    """A handler raised (the cause); `handler` names it."""

    def __init__(self, handler: str) -> None:
        super().__init__(f"handler {handler!r} failed")
        self.handler = handler


async def dispatch(
    router: Router,
    session: AsyncSession,
    message: Message,
    understanding: Understanding,
    community: Community,
    now: dt.datetime,
    *,
    conversations: Conversations | None = None,
    conversation_ttl: dt.timedelta = QUESTION_TTL,
) -> Dispatched:
    """From an understood message to its answers, in `session`: the pipeline's step for each message,
    and the handler tests'.

    `now` is the community's local time. The sender's pending question comes from `conversations`
    (the pipeline reads a whole batch's in one query) or is read here; what the handler leaves
    pending is kept there for the sender's next message.
    """
    if conversations is None:
        conversations = await Conversations.load(session, [message])
    incoming = Incoming(message, understanding, community, now, await conversations.of(message))
    routed = router.route(incoming)
    if routed is None:
        return Dispatched(None, [])
    handler, found = routed
    ctx = Context(incoming, session, conversation_ttl)
    try:
        await handler.handle(ctx, found)
    except Exception as exc:
        raise HandlerFailed(handler.name) from exc
    fallback = router.fallback
    if not ctx.outgoing and fallback is not None and fallback is not handler:
        again = fallback.match(incoming)  # only for a message addressed to the bot
        if again is not None and again is not False:
            try:
                await fallback.handle(ctx, again)
            except Exception as exc:
                raise HandlerFailed(fallback.name) from exc
            handler = fallback
    conversations.remember(message, ctx.conversation)
    return Dispatched(handler.name, ctx.outgoing)


def default_handlers() -> list[Handler[Any]]:
    """The production registry, in priority order (tests build their own lists)."""
    from handlers.activity_questions import ActivityQuestionHandler
    from handlers.attachments import AttachmentHandler, AttachmentWithTextHandler
    from handlers.attendance import CheckInHandler
    from handlers.booking import BookingHandler, MyBookingsHandler
    from handlers.booking_cancel import CancelBookingHandler
    from handlers.booking_questions import AddressedExitHandler, AvailabilityQuestionHandler
    from handlers.booking_reply import BookingReplyHandler
    from handlers.menu import HelpHandler, MenuHandler
    from handlers.notices import NoticeHandler, NoticeReplyHandler
    from handlers.queries import TodayActivityHandler
    from handlers.request_also import AlsoChoiceHandler, AlsoReplyHandler
    from handlers.request_commands import StaffCommandHandler
    from handlers.request_followup import FollowupReplyHandler
    from handlers.request_status import RequestStatusHandler
    from handlers.requests import HazardHandler, RequestHandler
    from handlers.staff_sessions import StaffSessionsHandler
    from handlers.unsure import UnsureHandler
    from handlers.volunteers import VolunteerAbsenceHandler, VolunteerSessionsHandler

    return [
        AttachmentHandler(),  # a photo or location on its own joins the sender's request (never an answer)
        StaffCommandHandler(),  # "#12 已解决 …", "代报 …", "我的工单": whatever the classifier thinks it mentions
        NoticeHandler(),  # "通知 全部居民群 明天停水…" from staff: a preview first
        NoticeReplyHandler(),  # "确认" / "定时 明天 8:00" / "取消" to the author's notice preview
        CheckInHandler(),  # "到场 VT83QX" from staff or the session's volunteers
        VolunteerSessionsHandler(),  # "场次名单" from a volunteer: their team's sessions, privately
        StaffSessionsHandler(),  # "加场 理发 12月6日 14:00-16:00 10人", "关闭场次 12" …
        BookingReplyHandler(),  # "1" / "周六那个" / "算了" to a pending booking question, else falls through
        AlsoChoiceHandler(),  # "1" / "第二个" to "which one did you mean?", else falls through
        FollowupReplyHandler(),  # 满意 / 一般 / 不满意 / 没修好 to a 回访 question
        HazardHandler(),  # an emergency (or a question about one) whatever its label, from residents
        HelpHandler(),  # "帮助" / "你能做什么" / "怎么用" as a whole message: the menu
        RequestStatusHandler(),  # "我的报修", "我报的楼道灯修好了没": never a new request
        VolunteerAbsenceHandler(),  # "12月5号的理发我有事去不了" from a volunteer: never a resident's cancel
        AvailabilityQuestionHandler(),  # "周六能理发吗", "今天有义诊吗": places left and an offer, no booking
        ActivityQuestionHandler(),  # "下周三是什么主题日", "国庆有活动吗", "这周五清洁日几点集合"
        TodayActivityHandler(),
        BookingHandler(),
        MyBookingsHandler(),
        CancelBookingHandler(),  # also "取消 K7P3QX" whatever the label
        UnsureHandler(),  # unaddressed, may be a request, not sure: no reply, kept for staff (待确认)
        AlsoReplyHandler(),  # "+1" / "我家也是" / "同问": joins what it answers; alone, chit-chat
        RequestHandler(),  # residents' reports; never from staff or in staff / volunteer groups
        AttachmentWithTextHandler(),  # a photo with words nobody else took ("你们看看")
        AddressedExitHandler(),  # "@社区小助手 算了" with nothing pending: "好的"
        MenuHandler(),  # addressed (@ or a private chat) and nothing above answered: the menu
    ]
