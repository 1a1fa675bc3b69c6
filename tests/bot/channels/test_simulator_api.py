"""The simulator's JSON API contract, end to end through a real server and a real SQLite file."""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest
from sqlalchemy import func, select

from storage.models import InboxMessage, OutboxMessage
from storage.models_channels import SimTimeline
from tests.conftest import SHANGHAI, LiveBot


async def test_today_activity_is_answered_in_the_group_with_the_days_theme(live_bot: LiveBot) -> None:
    body = await live_bot.client.say("g-res-1", "r-zhang", "@社区小助手 今天有什么活动")
    # 2026-11-25 is a Wednesday: policy day in the demo community.
    assert len(body["replies"]) == 1
    reply = body["replies"][0]
    assert reply["to"] == "group" and reply["target"] == "g-res-1"
    assert "政策宣讲日" in reply["text"] and "11月25日" in reply["text"]

    timeline = await live_bot.client.group_timeline("g-res-1")
    assert [(m["from"], m["sender_name"]) for m in timeline] == [("user", "张秀兰"), ("bot", "社区小助手")]
    assert timeline[1]["text"] == reply["text"]
    assert timeline[0]["id"] < timeline[1]["id"]


async def test_chitchat_gets_no_reply(live_bot: LiveBot) -> None:
    for text in ("大家早上好[太阳]", "收到", "谢谢志愿者帮我修好了热水壶"):
        body = await live_bot.client.say("g-res-1", "r-zhang", text)
        assert body["replies"] == [], text
    timeline = await live_bot.client.group_timeline("g-res-1")
    assert [m["from"] for m in timeline] == ["user", "user", "user"]


async def test_a_repeated_msg_id_is_processed_once(live_bot: LiveBot) -> None:
    first = await live_bot.client.say("g-res-2", "r-chen", "今天有啥活动不", msg_id="wx-123")
    again = await live_bot.client.say("g-res-2", "r-chen", "今天有啥活动不", msg_id="wx-123")
    assert first["msg_id"] == "wx-123" and len(first["replies"]) == 1
    assert again == {"msg_id": "wx-123", "duplicate": True, "replies": []}
    timeline = await live_bot.client.group_timeline("g-res-2")
    assert [m["from"] for m in timeline] == ["user", "bot"]


async def test_msg_ids_are_generated_when_absent(live_bot: LiveBot) -> None:
    a = await live_bot.client.say("g-res-1", "r-zhang", "哈哈")
    b = await live_bot.client.say("g-res-1", "r-zhang", "哈哈")
    assert a["msg_id"] and b["msg_id"] and a["msg_id"] != b["msg_id"]


@pytest.mark.parametrize(
    ("raw", "payload", "error"),
    [
        (b"{not json", None, "JSON"),
        (b"\xff\xfe", None, "JSON"),
        (None, ["a", "list"], "object"),
        (None, {"user": "r-zhang", "text": "hi"}, "group"),
        (None, {"group": "g-res-1", "text": "hi"}, "user"),
        (None, {"group": "g-res-1", "user": "r-zhang"}, "text"),
        (None, {"group": "g-res-1", "user": "r-zhang", "text": 5}, "text"),
        (None, {"group": "g-res-1", "user": "r-zhang", "text": "   "}, "empty"),
        (None, {"group": "g-nowhere", "user": "r-zhang", "text": "今天有什么活动"}, "unknown group"),
        (None, {"group": "g-res-1", "user": "r-zhang", "text": "长" * 2049}, "2048"),
        (None, {"group": "g-res-1", "user": "r-zhang", "text": "hi", "msg_id": {"x": 1}}, "msg_id"),
        (None, {"group": "g-res-1", "user": "new-guy", "text": "hi", "name": ""}, "name"),
    ],
)
async def test_bad_input_is_rejected_and_nothing_is_stored(
    live_bot: LiveBot, raw: bytes | None, payload: object, error: str
) -> None:
    status, body = await live_bot.client.post(payload, raw=raw)
    assert status == 400
    assert error in body["error"]
    async with live_bot.linli.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 0
        assert await session.scalar(select(func.count()).select_from(SimTimeline)) == 0


async def test_text_of_exactly_2048_characters_is_accepted(live_bot: LiveBot) -> None:
    body = await live_bot.client.say("g-res-1", "r-zhang", "哈" * 2048)
    assert body["replies"] == []


async def test_huge_body_is_rejected_cleanly(live_bot: LiveBot) -> None:
    status, body = await live_bot.client.post(None, raw=b'{"text": "' + b"a" * 300_000 + b'"}')
    assert status in (400, 413)


async def test_unknown_user_joins_the_group_as_a_new_resident(live_bot: LiveBot) -> None:
    body = await live_bot.client.say("g-res-3", "guest-42", "今天社区有啥活动", name="吴奶奶")
    assert len(body["replies"]) == 1
    timeline = await live_bot.client.group_timeline("g-res-3")
    assert timeline[0]["sender_name"] == "吴奶奶"
    status, directory = await live_bot.client.get_json("/api/sim/directory")
    assert status == 200
    joined = [p for p in directory["people"] if p["id"] == "guest-42"]
    assert joined == [{"id": "guest-42", "name": "吴奶奶", "role": "resident", "groups": ["g-res-3"],
                       "community": "xingfuli"}]
    # The name sticks: a later message without a name keeps it.
    await live_bot.client.say("g-res-3", "guest-42", "好的")
    assert (await live_bot.client.group_timeline("g-res-3"))[-1]["sender_name"] == "吴奶奶"


async def test_directory_lists_the_demo_community(live_bot: LiveBot) -> None:
    status, directory = await live_bot.client.get_json("/api/sim/directory")
    assert status == 200
    kinds = [g["kind"] for g in directory["groups"]]
    assert kinds.count("residents") >= 2 and "staff" in kinds and "volunteers" in kinds
    roles = {p["role"] for p in directory["people"]}
    assert roles == {"resident", "staff", "volunteer"}
    assert directory["bot"]["name"] == "社区小助手"


async def test_timelines_page_with_after_and_reject_bad_parameters(live_bot: LiveBot) -> None:
    await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动")
    timeline = await live_bot.client.group_timeline("g-res-1")
    status, later = await live_bot.client.get_json(f"/api/sim/groups/g-res-1/messages?after={timeline[0]['id']}")
    assert status == 200 and [m["id"] for m in later["messages"]] == [timeline[1]["id"]]
    status, body = await live_bot.client.get_json("/api/sim/groups/g-res-1/messages?after=abc")
    assert status == 400 and "after" in body["error"]
    status, body = await live_bot.client.get_json("/api/sim/groups/nope/messages")
    assert status == 404
    assert await live_bot.client.user_timeline("r-zhang") == []


async def test_holiday_and_weekend_are_answered_without_a_theme(live_bot: LiveBot) -> None:
    clock = live_bot.linli.clock
    clock.set(dt.datetime(2026, 10, 1, 9, 0, tzinfo=SHANGHAI))  # National Day, a Thursday
    body = await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动")
    assert "国庆节" in body["replies"][0]["text"] and "安全检查日" not in body["replies"][0]["text"]
    clock.set(dt.datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI))  # an ordinary Saturday
    body = await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动")
    assert "周末" in body["replies"][0]["text"]


async def test_a_make_up_workday_gets_the_configured_theme(live_bot: LiveBot) -> None:
    day = next(
        dt.date(2026, 1, 1) + dt.timedelta(days=i)
        for i in range(365)
        if (dt.date(2026, 1, 1) + dt.timedelta(days=i)).weekday() >= 5
        and chinese_calendar.is_workday(dt.date(2026, 1, 1) + dt.timedelta(days=i))
    )
    live_bot.linli.clock.set(dt.datetime.combine(day, dt.time(9, 0), tzinfo=SHANGHAI))
    body = await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动")
    text = body["replies"][0]["text"]
    assert "调休" in text and "学习日" in text  # the demo config's makeup_workday is monday


async def test_the_answer_uses_shanghai_time_whatever_the_clock_zone(live_bot: LiveBot) -> None:
    # 2026-11-25 17:30 UTC is already Thursday 01:30 in Shanghai: safety check day.
    live_bot.linli.clock.set(dt.datetime(2026, 11, 25, 17, 30, tzinfo=dt.UTC))
    body = await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动")
    assert "安全检查日" in body["replies"][0]["text"]


async def test_each_reply_is_written_to_the_outbox_and_marked_sent(live_bot: LiveBot) -> None:
    await live_bot.client.say("g-res-1", "r-zhang", "今天有什么活动")
    async with live_bot.linli.db.transaction() as session:
        rows = (await session.scalars(select(OutboxMessage))).all()
        inbox = (await session.scalars(select(InboxMessage))).all()
    assert [(r.status, r.audience, r.target) for r in rows] == [("sent", "group", "g-res-1")]
    assert [(m.status, m.label, m.handler) for m in inbox] == [("done", "query:today_activity", "today_activity")]
