"""The booking handlers called directly (no HTTP): answers to a pending question, routing order, outputs."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import select

from bot.routing import Router, default_handlers, dispatch
from config.community import Community, Directory
from core.message import Message, Outgoing
from handlers.booking import BookingHandler
from handlers.booking_answers import Answer, parse_answer
from nlp.understanding import Understanding
from storage.db import Database
from storage.models_booking import Booking
from tests.conftest import REFERENCE_NOW

SATURDAY = dt.date(2026, 11, 28)
_ids = itertools.count(1)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("1", Answer("number", number=1)),
        ("第二个", Answer("number", number=2)),
        ("就第3个吧", Answer("number", number=3)),
        ("两", Answer("number", number=2)),
        ("周六那个", Answer("day", day=SATURDAY)),
        ("周六上午的吧", Answer("day", day=SATURDAY, part="am")),
        ("下午那个", Answer("day", part="pm")),
        ("排队", Answer("waitlist")),
        ("那就排队吧", Answer("waitlist")),
        ("算了", Answer("exit")),
        ("取消", Answer("exit")),
        ("不约了谢谢", Answer("exit")),
        ("好的", Answer("yes")),
        ("都取消吧", Answer("all")),
        # Not answers: they fall through to normal routing.
        ("今天有什么活动", None),
        ("周六的理发不去了", None),
        ("楼下那家面馆挺好吃", None),
        ("取消k7p3qx", None),
        ("3号楼停水了", None),
        ("", None),
    ],
)
def test_what_counts_as_an_answer(text: str, answer: Answer | None) -> None:
    assert parse_answer(text, REFERENCE_NOW) == answer


def _message(text: str, sender: str = "r-zhang", name: str = "张秀兰", group: str | None = "g-res-1") -> Message:
    return Message("sim", "xingfuli", group, sender, name, text, f"m{next(_ids)}", REFERENCE_NOW)


async def _handle(db: Database, community: Community, message: Message, understanding: Understanding,
                  router: Router | None = None) -> tuple[str | None, list[Outgoing]]:
    async with db.transaction() as session:
        done = await dispatch(router or Router(default_handlers()), session, message, understanding, community,
                              REFERENCE_NOW)
        return done.handler, done.outgoing


async def test_booking_handler_books_tells_the_group_and_each_team_member(
    db: Database, demo_directory: Directory
) -> None:
    community = demo_directory.communities[0]
    u = Understanding("booking:appliance_repair", 0.9, service="appliance_repair", date=SATURDAY, part="am",
                      item="热水壶")
    name, out = await _handle(db, community, _message("我家热水壶坏了，周六上午能修不"), u)
    assert name == "booking"
    assert [(o.to, o.target) for o in out] == [("group", "g-res-1"), ("user", "v-he"), ("user", "v-xu")]
    assert "张**" in out[0].text and "501" not in out[0].text
    assert "3号楼2单元501" in out[1].text and "热水壶" in out[1].text
    async with db.transaction() as session:
        [booking] = (await session.scalars(select(Booking))).all()
    assert (booking.item, booking.status, booking.channel, booking.group_id) == ("热水壶", "booked", "sim", "g-res-1")


async def test_the_pending_question_routes_answers_first_and_lets_the_rest_through(
    db: Database, demo_directory: Directory
) -> None:
    community = demo_directory.communities[0]
    chitchat = Understanding("chitchat", 0.5)
    haircut = Understanding("booking:haircut", 0.9, service="haircut")
    activity = Understanding("query:today_activity", 0.9)

    assert (await _handle(db, community, _message("1"), chitchat))[0] is None  # nothing pending: chit-chat
    name, out = await _handle(db, community, _message("想理个发"), haircut)
    assert name == "booking" and "1. 义剪理发" in out[0].text
    assert (await _handle(db, community, _message("今天有什么活动"), activity))[0] == "today_activity"
    # Another resident's "1" is theirs, not an answer to Zhang's question.
    assert (await _handle(db, community, _message("1", "r-liu", "刘德顺"), chitchat))[0] is None
    name, out = await _handle(db, community, _message("1"), chitchat)
    assert name == "booking_reply" and "预约成功" in out[0].text


async def test_a_service_the_community_does_not_offer_is_said_so(db: Database, demo_directory: Directory) -> None:
    full = demo_directory.communities[0]
    community = full.model_copy(update={"services": [s for s in full.services if s.id != "legal_aid"]})
    u = Understanding("booking:legal_aid", 0.9, service="legal_aid")
    _, out = await _handle(db, community, _message("想约个律师"), u, Router([BookingHandler()]))
    assert [o.text for o in out] == ["抱歉，咱们社区暂时没有开通这项服务。"]
