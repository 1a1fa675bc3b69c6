"""Outbox delivery through the fake WeCom / OA API: token expiry, rate limits, 5xx, timeouts, splits."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.channels.wecom_api import split_text
from bot.channels.wecom_senders import build_wechat_senders
from bot.outbox import OutboxDrainer
from config.community import Directory, Group
from core.clock import FixedClock
from core.delivery import Sender
from core.message import Outgoing
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage
from storage.models_channels import ChannelRateCount, MpReplyWindow
from storage.outbox_repo import enqueue
from tests.bot.channels.conftest import (
    ROBOT_KEY_RES_1,
    STAFF_LI_USERID,
    ZHANG_OPENID,
    channel_settings,
    wired_directory,
)
from tests.bot.channels.fake_wechat import FakeWeChatApi


@dataclass
class Rig:
    db: Database
    api: FakeWeChatApi
    clock: FixedClock
    drainer: OutboxDrainer
    senders: dict[str, Sender]
    directory: Directory
    settings: Any

    async def enqueue(self, *outgoing: Outgoing) -> None:
        async with self.db.transaction() as session:
            await enqueue(session, list(outgoing), now=self.clock.now())

    async def rows(self) -> list[OutboxMessage]:
        async with self.db.transaction() as session:
            return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())

    async def drain_until_done(self, rounds: int = 20, step: dt.timedelta = dt.timedelta(minutes=11)) -> None:
        """Drains, moving the clock past every backoff, until no row is pending."""
        for _ in range(rounds):
            await self.drainer.drain_once()
            if all(r.status != "pending" for r in await self.rows()):
                return
            self.clock.advance(seconds=step.total_seconds())
        raise AssertionError("rows still pending")


def to_group(group: str, text: str) -> Outgoing:
    return Outgoing("wecom", "xingfuli", "group", group, text)


def to_user(person: str, text: str, channel: str = "wecom") -> Outgoing:
    return Outgoing(channel, "xingfuli", "user", person, text)


async def make_rig(db_url: str, api: FakeWeChatApi, clock: FixedClock, directory: Directory,
                   **overrides: Any) -> Rig:
    settings = channel_settings(db_url, api, wechat_http_timeout_seconds=0.5, **overrides)
    db = Database(db_url)
    await upgrade(db)
    wired = wired_directory(directory)
    senders = build_wechat_senders(settings, db, wired, clock)
    return Rig(db, api, clock, OutboxDrainer(db, senders, clock, max_attempts=8), senders, wired, settings)


@pytest.fixture
async def rig(db_url: str, fake_api: FakeWeChatApi, clock: FixedClock, demo_directory: Directory,
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("LINLI_WECOM_ROBOT_KEY_G_RES_1", ROBOT_KEY_RES_1)
    monkeypatch.setenv("LINLI_WECOM_ROBOT_KEY_G_RES_2", "a-key-wecom-does-not-know")
    r = await make_rig(db_url, fake_api, clock, demo_directory)
    try:
        yield r
    finally:
        await r.senders["wecom"].close()  # type: ignore[attr-defined]
        await r.db.dispose()


async def test_routes_people_and_groups_to_the_right_endpoint(rig: Rig) -> None:
    await rig.enqueue(to_user("staff-li", "给李书记"), to_user("v-he", "给何师傅"), to_group("g-res-1", "居民群"),
                      to_group("g-staff", "工作群"), to_user("r-zhang", "给张阿姨", channel="mp"))
    async with rig.db.transaction() as session:
        session.add(MpReplyWindow(openid=ZHANG_OPENID, last_message_at=rig.clock.now(), sent_since=0))
    await rig.drain_until_done()
    # Different targets go out concurrently: only each target's own order is kept.
    assert sorted((d.kind, d.to, d.content) for d in rig.api.delivered) == sorted([
        ("app", STAFF_LI_USERID, "给李书记"), ("app", "v-he", "给何师傅"), ("robot", ROBOT_KEY_RES_1, "居民群"),
        ("appchat", "staffchat", "工作群"), ("custom", ZHANG_OPENID, "给张阿姨")])
    assert {r.status for r in await rig.rows()} == {"sent"}


async def test_an_expired_token_is_refreshed_once_and_the_message_still_arrives(rig: Rig) -> None:
    await rig.enqueue(to_user("staff-li", "第一条"))
    await rig.drain_until_done()
    rig.api.fail("message/send", "expired")  # WeCom invalidated the token before its expiry
    await rig.enqueue(to_user("staff-li", "第二条"))
    await rig.drainer.drain_once()  # no clock movement: refreshed within the same attempt
    assert [d.content for d in rig.api.delivered] == ["第一条", "第二条"]
    assert rig.api.token_fetches["wecom"] == 2
    assert [r.attempts for r in await rig.rows()] == [1, 1]


async def test_the_token_is_shared_by_processes_through_the_database(rig: Rig, db_url: str,
                                                                    demo_directory: Directory) -> None:
    other = await make_rig(db_url, rig.api, rig.clock, demo_directory)  # a second bot process
    try:
        await rig.enqueue(to_user("staff-li", "一"))
        await rig.drain_until_done()
        await other.enqueue(to_user("v-he", "二"))
        await other.drain_until_done()
    finally:
        await other.senders["wecom"].close()  # type: ignore[attr-defined]
        await other.db.dispose()
    assert [d.content for d in rig.api.delivered] == ["一", "二"]
    assert rig.api.token_fetches["wecom"] == 1


@pytest.mark.parametrize("fault", ["5xx", "timeout", "busy", "throttled"])
async def test_temporary_failures_are_retried_later_and_delivered(rig: Rig, fault: str) -> None:
    rig.api.slow_seconds = 1.5
    rig.api.fail("webhook/send", fault)
    await rig.enqueue(to_group("g-res-1", "今日主题"))
    await rig.drainer.drain_once()
    [row] = await rig.rows()
    assert row.status == "pending" and row.last_error and rig.api.delivered == []
    assert "robot-key" not in row.last_error  # errors never carry the key (it is in the URL)
    if fault == "throttled":  # 45009: wait at least the platform's minute
        assert row.next_attempt_at - rig.clock.now() >= dt.timedelta(seconds=60)
    await rig.drain_until_done()
    assert [d.content for d in rig.api.delivered] == ["今日主题"]


async def test_the_robot_never_posts_more_than_20_a_minute_and_keeps_the_order(rig: Rig) -> None:
    await rig.enqueue(*(to_group("g-res-1", f"第{i}条") for i in range(25)))
    await rig.drainer.drain_once()
    assert len(rig.api.delivered) == 20
    rows = await rig.rows()
    waiting = [r for r in rows if r.status == "pending"]
    assert len(waiting) == 5 and all(r.attempts == 0 for r in waiting)  # waiting is not failing
    assert await rig.drainer.drain_once() == 0  # same minute: still nothing
    rig.clock.advance(seconds=61)
    await rig.drainer.drain_once()
    assert [d.content for d in rig.api.delivered] == [f"第{i}条" for i in range(25)]


async def test_permanent_errors_fail_with_the_reason_and_are_not_retried(rig: Rig) -> None:
    rig.api.invalid_users.add("v-ma")
    await rig.enqueue(to_group("g-res-2", "robot key WeCom does not know"), to_user("v-ma", "not a member"),
                      to_group("g-res-3", "no way to post"), to_user("r-zhang", "outside 48 h", channel="mp"))
    async with rig.db.transaction() as session:
        session.add(MpReplyWindow(openid=ZHANG_OPENID, last_message_at=rig.clock.now() - dt.timedelta(hours=49),
                                  sent_since=0))
    await rig.drainer.drain_once()
    rows = await rig.rows()
    assert [r.status for r in rows] == ["failed"] * 4
    assert [r.attempts for r in rows] == [1] * 4
    assert "93000" in rows[0].last_error
    assert "v-ma" in rows[1].last_error
    assert "g-res-3" in rows[2].last_error and "robot_key_env" in rows[2].last_error
    assert "48 h" in rows[3].last_error
    assert rig.api.delivered == [] and "custom/send" not in rig.api.calls  # the window is checked first


async def test_the_official_account_allows_five_messages_per_follower_message(rig: Rig) -> None:
    async with rig.db.transaction() as session:
        session.add(MpReplyWindow(openid=ZHANG_OPENID, last_message_at=rig.clock.now(), sent_since=0))
    await rig.enqueue(*(to_user("r-zhang", f"回复{i}", channel="mp") for i in range(6)))
    await rig.drain_until_done()
    rows = await rig.rows()
    assert [r.status for r in rows] == ["sent"] * 5 + ["failed"]
    assert "allows 5" in rows[-1].last_error


async def test_the_mp_token_is_refreshed_on_40001(rig: Rig) -> None:
    async with rig.db.transaction() as session:
        session.add(MpReplyWindow(openid=ZHANG_OPENID, last_message_at=rig.clock.now(), sent_since=0))
    await rig.enqueue(to_user("r-zhang", "一", channel="mp"))
    await rig.drain_until_done()
    rig.api.fail("custom/send", 40001)  # "not the latest token" on the Official Account
    await rig.enqueue(to_user("r-zhang", "二", channel="mp"))
    await rig.drainer.drain_once()
    assert [d.content for d in rig.api.delivered] == ["一", "二"]
    assert rig.api.token_fetches["mp"] == 2


async def test_a_row_that_keeps_failing_gives_up_after_its_attempts(rig: Rig) -> None:
    rig.api.fail("message/send", *["5xx"] * 20)
    await rig.enqueue(to_user("staff-li", "总是失败"))
    await rig.drain_until_done()
    [row] = await rig.rows()
    assert row.status == "failed" and row.attempts == 8 and "gave up" in row.last_error and "502" in row.last_error


async def test_long_texts_go_out_in_parts_and_a_retry_does_not_repeat_a_part(rig: Rig) -> None:
    lines = [f"{i:02d}. 幸福里社区志愿服务活动安排第{i}项内容说明" for i in range(80)]
    text = "\n".join(lines)
    assert len(text.encode()) > 2 * 2048
    rig.api.fail("message/send", None, "5xx")  # the first part goes through, the second fails once
    await rig.enqueue(to_user("staff-li", text))
    await rig.drain_until_done()
    parts = [d.content for d in rig.api.delivered]
    assert len(parts) == 3 and all(len(p.encode()) <= 2048 for p in parts)
    assert "\n".join(parts) == text  # nothing lost, nothing repeated, cut between lines


def test_split_text_cuts_at_line_ends_and_never_inside_a_character() -> None:
    assert split_text("短消息", 2048) == ["短消息"]
    parts = split_text("第一行\n第二行\n第三行", 20)
    assert parts == ["第一行\n第二行", "第三行"]
    long_line = "长" * 1000  # 3000 bytes, no line break
    parts = split_text(long_line, 2048)
    assert [len(p.encode()) for p in parts] == [2046, 954] and "".join(parts) == long_line


def test_failed_deliveries_are_listed_for_staff(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import asyncio

    from bot.cli import main

    async def prepare() -> None:
        db = Database(sqlite_url)
        await upgrade(db)
        async with db.transaction() as session:
            await enqueue(session, [to_user("r-zhang", "您的预约已确认", channel="mp"), to_user("v-he", "ok")],
                          now=dt.datetime.now(dt.UTC))
            rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
            rows[0].status, rows[0].last_error = "failed", "outside the 48 h customer-service window"
            rows[1].status = "sent"
        await db.dispose()

    asyncio.run(prepare())
    assert main(["outbox", "failed", "--database-url", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "user:r-zhang" in out and "48 h" in out and "您的预约已确认" in out
    assert "v-he" not in out  # delivered rows are not listed


async def test_a_long_text_sends_the_parts_the_robot_limit_allows_and_the_rest_next_minute(rig: Rig) -> None:
    text = "\n".join(f"{i:02d}. 幸福里社区志愿服务活动安排第{i}项内容说明" for i in range(80))  # 3 parts
    await rig.enqueue(*(to_group("g-res-1", f"第{i}条") for i in range(18)), to_group("g-res-1", text))
    await rig.drainer.drain_once()
    assert len(rig.api.delivered) == 20  # 18 short posts and 2 of the 3 parts: the robot's 20 a minute
    row = (await rig.rows())[-1]
    assert row.status == "pending" and row.attempts == 0  # waiting for the limit is not an attempt
    rig.clock.advance(seconds=61)
    await rig.drainer.drain_once()
    parts = [d.content for d in rig.api.delivered[18:]]
    assert len(parts) == 3 and "\n".join(parts) == text


async def test_acquire_many_never_lets_a_window_exceed_its_limit(db_url: str, clock: FixedClock) -> None:
    """Two processes (two engines) reserving concurrently for the same keys: exactly the limit."""
    import asyncio
    import random

    from bot.channels.wecom_api import RateLimiter

    dbs = [Database(db_url), Database(db_url)]
    await upgrade(dbs[0])
    limiters = [RateLimiter(db, clock) for db in dbs]
    keys = ["robot:a", "robot:b", "member:c"]
    granted: dict[str, int] = dict.fromkeys(keys, 0)

    async def reserve(limiter: RateLimiter, seed: int) -> None:
        rnd = random.Random(seed)
        for _ in range(10):
            wanted = [(rnd.choice(keys), 20, rnd.randint(1, 4)) for _ in range(rnd.randint(1, 4))]
            got = await limiter.acquire_many(wanted)
            for (key, _, n), g in zip(wanted, got, strict=True):
                assert 0 <= g <= n
                granted[key] += g

    try:
        assert await limiters[0].acquire_many([("robot:x", 20, 15), ("robot:x", 20, 10), ("robot:y", 20, 1)]) == [
            15, 5, 1]  # requests for one key are served in order
        await asyncio.gather(*(reserve(limiters[i % 2], i) for i in range(8)))
        assert granted == dict.fromkeys(keys, 20)  # demand was far above 20 per key: all of it, never more
        assert await limiters[1].acquire_many([("robot:a", 20, 1)]) == [0]
        clock.advance(seconds=60)  # the next window
        assert await limiters[1].acquire_many([("robot:a", 20, 3)]) == [3]
        clock.advance(seconds=120)
        await limiters[0].acquire_many([("robot:z", 20, 1)])  # the first call in a new minute cleans up
        async with dbs[0].transaction() as session:
            windows = (await session.scalars(select(ChannelRateCount.window_start).distinct())).all()
        assert sorted(windows) == [clock.now().astimezone(dt.UTC).replace(second=0, microsecond=0)]
    finally:
        for db in dbs:
            await db.dispose()


async def test_the_token_is_used_from_memory_until_it_expires_and_dropped_when_rejected(
        rig: Rig, db_url: str, demo_directory: Directory) -> None:
    from bot.channels.wecom_api import SharedTokens

    tokens = SharedTokens(rig.db, rig.clock)
    reads = 0
    get_with_expiry = tokens.get_with_expiry

    async def counting(key: str):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return await get_with_expiry(key)

    wecom = rig.senders["wecom"].wecom  # type: ignore[attr-defined]
    wecom.tokens.store = tokens
    tokens.get_with_expiry = counting  # type: ignore[method-assign]
    await rig.enqueue(*(to_group("g-staff", f"第{i}条") for i in range(3)))
    await rig.drain_until_done()
    assert rig.api.token_fetches["wecom"] == 1 and reads == 1  # one database read, then memory
    # Another process finds the token rejected and fetches a new one (stored in the database).
    other = await make_rig(db_url, rig.api, rig.clock, demo_directory)
    try:
        rig.api.fail("appchat/send", "expired")
        await other.enqueue(to_group("g-staff", "另一个进程"))
        await other.drain_until_done()
    finally:
        await other.senders["wecom"].close()  # type: ignore[attr-defined]
        await other.db.dispose()
    assert rig.api.token_fetches["wecom"] == 2
    # This process's copy is rejected now: dropped, and the new token comes from the database.
    await rig.enqueue(to_group("g-staff", "第3条"))
    await rig.drain_until_done()
    assert rig.api.token_fetches["wecom"] == 2
    assert [d.content for d in rig.api.delivered] == ["第0条", "第1条", "第2条", "另一个进程", "第3条"]
    # Close to its expiry the copy in memory is no longer used: the database is asked again.
    reads_before = reads
    rig.clock.advance(seconds=7200 - 60)
    await rig.enqueue(to_group("g-staff", "两小时后"))
    await rig.drain_until_done()
    assert reads > reads_before and rig.api.token_fetches["wecom"] == 3


# -- the corp's person-times a minute for app group chats (protocol notes §4.3) ------------------


def with_app_chats(directory: Directory, sizes: list[int]) -> Directory:
    """The demo community plus app group chats chat00, chat01, … of the given member counts."""
    c = directory.communities[0]
    chats = [Group(id=f"g-chat-{i:02d}", name=f"志愿者分队{i}", kind="volunteers", appchat_id=f"chat{i:02d}",
                   members=n) for i, n in enumerate(sizes)]
    return Directory([c.model_copy(update={"groups": [*c.groups, *chats]}), *directory.communities[1:]],
                     source=directory.source)


async def app_chat_rig(db_url: str, api: FakeWeChatApi, clock: FixedClock, directory: Directory,
                       sizes: list[int]) -> Rig:
    rig = await make_rig(db_url, api, clock, with_app_chats(directory, sizes))
    await rig.enqueue(*(to_group(f"g-chat-{i:02d}", f"早安{i}") for i in range(len(sizes))))
    return rig


async def test_app_group_chats_together_keep_to_the_corps_person_times_a_minute(
        db_url: str, fake_api: FakeWeChatApi, clock: FixedClock, demo_directory: Directory) -> None:
    rig = await app_chat_rig(db_url, fake_api, clock, demo_directory, [1000] * 25)  # 25,000 person-times
    assert rig.settings.wecom_appchat_corp_per_minute == 20_000
    try:
        await rig.drainer.drain_once()  # two waves of 16 and 9 chats, each one reservation
        # The chats of a wave go out concurrently: in any order.
        assert sorted(d.to for d in fake_api.delivered) == [f"chat{i:02d}" for i in range(20)]  # 20 × 1,000
        waiting = [r for r in await rig.rows() if r.status == "pending"]
        assert [r.target for r in waiting] == [f"g-chat-{i:02d}" for i in range(20, 25)]
        assert all(r.attempts == 0 and "appchat-corp" in (r.last_error or "") for r in waiting)  # not failing
        assert await rig.drainer.drain_once() == 0  # same minute: nothing more
        rig.clock.advance(seconds=61)  # the next window
        assert await rig.drainer.drain_once() == 5
        assert sorted(d.to for d in fake_api.delivered) == [f"chat{i:02d}" for i in range(25)]
        async with rig.db.transaction() as session:  # what the limiter counted in each window
            counts = (await session.execute(
                select(ChannelRateCount.window_start, ChannelRateCount.count)
                .where(ChannelRateCount.key.startswith("appchat-corp:")).order_by(ChannelRateCount.window_start)
            )).all()
        assert [count for _, count in counts] == [25_000, 5_000]  # asked for; granted 20,000 then 5,000
    finally:
        await rig.senders["wecom"].close()  # type: ignore[attr-defined]
        await rig.db.dispose()


async def test_a_chat_the_corp_budget_cannot_fully_cover_waits_and_its_share_stays_counted(
        db_url: str, fake_api: FakeWeChatApi, clock: FixedClock, demo_directory: Directory) -> None:
    # 19,000 person-times fit; the 1,500-member chat gets only the 1,000 left, so it waits, and
    # those 1,000 stay counted: the 500-member chats after it wait too (sending less, never more).
    sizes = [1000] * 19 + [1500] + [500] * 4
    rig = await app_chat_rig(db_url, fake_api, clock, demo_directory, sizes)
    try:
        await rig.drainer.drain_once()
        assert sorted(d.to for d in fake_api.delivered) == [f"chat{i:02d}" for i in range(19)]  # 19,000
        rig.clock.advance(seconds=61)
        await rig.drainer.drain_once()
        assert sorted(d.to for d in fake_api.delivered) == [f"chat{i:02d}" for i in range(24)]
        assert {r.status for r in await rig.rows()} == {"sent"}
    finally:
        await rig.senders["wecom"].close()  # type: ignore[attr-defined]
        await rig.db.dispose()


async def test_a_chat_larger_than_the_corp_budget_fails_with_the_reason(
        db_url: str, fake_api: FakeWeChatApi, clock: FixedClock, demo_directory: Directory) -> None:
    rig = await make_rig(db_url, fake_api, clock, with_app_chats(demo_directory, [600, 300]),
                         wecom_appchat_corp_per_minute=500)
    try:
        await rig.enqueue(to_group("g-chat-00", "太大"), to_group("g-chat-01", "可以"))
        await rig.drainer.drain_once()
        big, small = await rig.rows()
        assert big.status == "failed" and "600 members" in (big.last_error or "")
        assert small.status == "sent" and [d.to for d in fake_api.delivered] == ["chat01"]
    finally:
        await rig.senders["wecom"].close()  # type: ignore[attr-defined]
        await rig.db.dispose()


# -- mentions (protocol notes §4.4) ------------------------------------------------------------


async def test_mentions_reach_the_group_robot_as_its_mentioned_list(rig: Rig) -> None:
    text = "\n".join(f"{i:02d}. 幸福里社区志愿服务活动安排第{i}项内容说明" for i in range(80))  # 3 parts
    await rig.enqueue(
        Outgoing("wecom", "xingfuli", "group", "g-res-1", "请李书记看一下", mentions=("staff-li", "@all")),
        to_group("g-res-1", "没有人要@"),
        Outgoing("wecom", "xingfuli", "group", "g-res-1", text, mentions=("v-he",)))
    await rig.drain_until_done()
    bodies = [d.body["text"] for d in rig.api.delivered]
    # Person ids become WeCom userids (staff-li's is LiShuJi); "@all" is passed as it is.
    assert bodies[0] == {"content": "请李书记看一下", "mentioned_list": [STAFF_LI_USERID, "@all"]}
    assert bodies[1] == {"content": "没有人要@"}  # no mentions: no mentioned_list key at all
    assert len(bodies) == 5 and bodies[2]["mentioned_list"] == ["v-he"]  # a long text: @ once, with part 1
    assert all("mentioned_list" not in b for b in bodies[3:])
    assert [r.mentions for r in await rig.rows()] == [["staff-li", "@all"], None, ["v-he"]]
    async with rig.db.transaction() as session:  # no mentions is SQL NULL, not a JSON null
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)
                                    .where(OutboxMessage.mentions.is_(None))) == 1


async def test_mentions_survive_the_batched_core_insert(rig: Rig) -> None:
    """Many rows in one INSERT (a fan-out of timed posts, the answers of a batch) keep their mentions."""
    async with rig.db.transaction() as session:
        await enqueue(session, [
            Outgoing("wecom", "xingfuli", "group", "g-res-1", "提醒", idempotency_key="k1", mentions=("staff-li",)),
            Outgoing("wecom", "xingfuli", "group", "g-res-1", "通知", idempotency_key="k2")], now=rig.clock.now())
    await rig.drain_until_done()
    assert [d.body["text"] for d in rig.api.delivered] == [
        {"content": "提醒", "mentioned_list": [STAFF_LI_USERID]}, {"content": "通知"}]
