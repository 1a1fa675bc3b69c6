"""Staff commands on requests ("#12 处理中" …), the lifecycle, history, and concurrent changes."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select

from handlers.request_commands import RequestCommand, parse_command
from handlers.request_contacts import phone_of
from handlers.request_proxy import parse_proxy
from storage import requests_repo as repo
from storage.db import Database
from storage.migrate import upgrade
from storage.models_requests import Request, RequestEvent
from tests.conftest import REFERENCE_NOW, LiveBot
from tests.handlers import requests_support
from tests.handlers.test_requests import number_in, one_reply

req_bot = requests_support.req_bot  # the fixture: a live bot with a keyword classifier


async def file_request(bot: LiveBot, text: str = "3号楼2单元501楼道灯坏了", user: str = "r-zhang",
                       group: str = "g-res-1") -> int:
    return number_in(await one_reply(bot, group, user, text))


async def staff_says(bot: LiveBot, text: str, user: str = "staff-wang", group: str = "g-staff") -> dict:
    return await bot.client.say(group, user, text)


def staff_reply(body: dict, group: str = "g-staff") -> str:
    [text] = [r["text"] for r in body["replies"] if r["to"] == "group" and r["target"] == group]
    return text


async def events_of(bot: LiveBot, number: int) -> list[RequestEvent]:
    async with bot.linli.db.transaction() as session:
        return list(await repo.history(session, number))


async def test_full_lifecycle_with_history_and_private_note(req_bot: LiveBot, clock) -> None:  # type: ignore[no-untyped-def]
    number = await file_request(req_bot)
    clock.advance(minutes=5)
    await one_reply(req_bot, "g-res-1", "r-liu", "+1")
    steps = [("收到", "已受理"), ("处理中", "处理中")]
    for command, shown in steps:
        clock.advance(minutes=10)
        assert f"「{shown}」" in staff_reply(await staff_says(req_bot, f"#{number} {command}"))
    clock.advance(hours=1)
    body = await staff_says(req_bot, f"#{number} 已解决 换了水阀")
    assert "「已解决」" in staff_reply(body) and "王网格员" in staff_reply(body)
    private = {r["target"]: r["text"] for r in body["replies"] if r["to"] == "user"}
    # everyone who reported it is told privately, with staff's note; nobody else
    assert set(private) == {"r-zhang", "r-liu"}
    assert "换了水阀" in private["r-zhang"] and f"#{number}" in private["r-zhang"]
    assert "501" not in private["r-liu"]  # r-liu must not learn r-zhang's room
    assert any("换了水阀" in m["text"] for m in await req_bot.client.user_timeline("r-zhang"))
    clock.advance(minutes=1)
    assert "「已关闭」" in staff_reply(await staff_says(req_bot, f"#{number} 关闭", user="staff-li"))

    events = await events_of(req_bot, number)
    assert [(e.action, e.from_value, e.to_value) for e in events] == [
        ("created", None, "new"),
        ("merged", None, None),
        ("status", "new", "acknowledged"),
        ("status", "acknowledged", "in_progress"),
        ("status", "in_progress", "resolved"),
        ("status", "resolved", "closed"),
    ]
    assert [e.actor_id for e in events] == ["r-zhang", "r-liu", "staff-wang", "staff-wang", "staff-wang",
                                             "staff-li"]
    assert events[4].note == "换了水阀"
    assert all(a.at < b.at for a, b in zip(events, events[1:], strict=False))
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
    assert req is not None and req.status == "closed" and req.note == "换了水阀"
    assert req.resolved_at is not None and req.closed_at is not None and req.version == 5


async def test_staff_command_wins_over_the_label_it_mentions(req_bot: LiveBot) -> None:
    number = await file_request(req_bot)
    # the keyword classifier labels "水阀" report:repair; it must not become a new request
    body = await staff_says(req_bot, f"#{number} 已解决 换了水阀")
    assert "已解决" in staff_reply(body)
    async with req_bot.linli.db.transaction() as session:
        assert len((await session.scalars(select(Request))).all()) == 1


async def test_reject_needs_a_reason_and_tells_the_resident(req_bot: LiveBot) -> None:
    number = await file_request(req_bot)
    assert "原因" in staff_reply(await staff_says(req_bot, f"#{number} 驳回"))
    body = await staff_says(req_bot, f"#{number} 驳回 不属于社区职责，请联系物业")
    assert "「已驳回」" in staff_reply(body)
    [private] = [r for r in body["replies"] if r["to"] == "user"]
    assert private["target"] == "r-zhang" and "不属于社区职责" in private["text"]
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
    assert req is not None and (req.status, req.note) == ("rejected", "不属于社区职责，请联系物业")


async def test_escalate_to_the_street_office(req_bot: LiveBot) -> None:
    number = await file_request(req_bot)
    reply = staff_reply(await staff_says(req_bot, f"#{number} 上报街道"))
    assert "城关街道办事处" in reply
    assert "已经是" in staff_reply(await staff_says(req_bot, f"#{number} 上报街道"))
    events = await events_of(req_bot, number)
    assert (events[-1].action, events[-1].from_value, events[-1].to_value) == ("tier", "grid", "street")


async def test_commands_are_for_staff_in_the_staff_group_only(req_bot: LiveBot) -> None:
    number = await file_request(req_bot)
    # a resident cannot change a request, even in their own group
    body = await req_bot.client.say("g-res-1", "r-zhang", f"#{number} 已解决")
    assert "工作人员" in staff_reply(body, "g-res-1")
    # staff in a residents' group are asked to use the staff group
    body = await req_bot.client.say("g-res-1", "staff-wang", f"#{number} 处理中")
    assert "工作群" in staff_reply(body, "g-res-1")
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
    assert req is not None and req.status == "new"
    assert [e.action for e in await events_of(req_bot, number)] == ["created"]


async def test_refusals_are_clear(req_bot: LiveBot) -> None:
    number = await file_request(req_bot)
    assert "没有找到 #99999" in staff_reply(await staff_says(req_bot, "#99999 处理中"))
    assert "已经是「待受理」" not in staff_reply(await staff_says(req_bot, f"#{number} 处理中"))
    assert "已经是「处理中」" in staff_reply(await staff_says(req_bot, f"#{number} 处理中"))
    assert "不能改为「已关闭」" in staff_reply(await staff_says(req_bot, f"#{number} 关闭"))
    await staff_says(req_bot, f"#{number} 驳回 重复反映")
    assert "不能改为「处理中」" in staff_reply(await staff_says(req_bot, f"#{number} 处理中"))


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("#12 处理中", RequestCommand("in_progress", 12, None)),
        ("#5 在处理了", RequestCommand("in_progress", 5, None)),  # never the note "了"
        ("#5 处理中啦!", RequestCommand("in_progress", 5, None)),
        ("#12 已解决 换了水阀", RequestCommand("resolved", 12, "换了水阀")),
        ("#12 已解决了，换了水阀", RequestCommand("resolved", 12, "换了水阀")),
        ("＃12 已解决：换了水阀", RequestCommand("resolved", 12, "换了水阀")),
        ("#12已解决", RequestCommand("resolved", 12, None)),
        ("#12 修好了", RequestCommand("resolved", 12, None)),
        ("#12 已解答 带户口本去街道办", RequestCommand("resolved", 12, "带户口本去街道办")),
        ("#12 上报街道", RequestCommand("tier:street", 12, None)),
        ("#12 上报区里", RequestCommand("tier:street", 12, None)),
        ("#12 转街道", RequestCommand("tier:street", 12, None)),
        ("#12 报给街道办 需要协调", RequestCommand("tier:street", 12, "需要协调")),
        ("#12 驳回 不属于社区职责", RequestCommand("rejected", 12, "不属于社区职责")),
        ("#12 关闭", RequestCommand("closed", 12, None)),
        ("#12 指派 王网格员", RequestCommand("assign", 12, "王网格员")),
        ("#12 交给赵网格员", RequestCommand("assign", 12, "赵网格员")),
        ("#3 改为报修", RequestCommand("category", 3, "报修")),
        ("#3 改为 环境卫生", RequestCommand("category", 3, "环境卫生")),
        ("#12 拆分 张秀兰", RequestCommand("split", 12, "张秀兰")),
        ("#24 进度", RequestCommand("progress", 24, None)),
        ("#24 进度？", RequestCommand("progress", 24, None)),
        ("#15 回复：可以去街道办", RequestCommand("reply", 15, "可以去街道办")),
        ("#15 联系方式", RequestCommand("contact", 15, None)),
        ("@社区小助手 #1 处理中", RequestCommand("in_progress", 1, None)),
        ("#1 楼道灯坏了", RequestCommand("usage", 1, "楼道灯坏了")),  # never a report
        ("#12 随便说说", RequestCommand("usage", 12, "随便说说")),
        ("#进度", RequestCommand("usage", None, "进度")),
        ("指派 王网格员", RequestCommand("usage", None, "指派 王网格员")),
        ("代报 3号楼2单元 漏水 张阿姨 13900000001",
         RequestCommand("proxy", None, "3号楼2单元 漏水 张阿姨 13900000001")),
        ("我的工单", RequestCommand("my_tasks")),
        ("#3楼漏水了", None),  # a building, not a command
        ("12 处理中", None),
        ("今天#12 处理中", None),
        ("收到", None),
        ("群发 明天停水", None),
    ],
)
def test_parse_command(text: str, command: RequestCommand | None) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize("typed", ["13900002271", "139-0000-2271", "139 0000 2271", "139.0000.2271"])
def test_a_residents_number_is_found_however_it_is_typed(demo_directory, typed: str) -> None:
    # Staff call residents back on it: a number typed with gaps was not found at all.
    community = demo_directory.communities[0]
    assert phone_of(community, "someone-not-in-the-file", f"电饭煲坏了 电话：{typed}") == "13900002271"
    report = parse_proxy(community, f"3号楼2单元 漏水 张阿姨 {typed}")  # what follows 代报
    assert report is not None and (report.name, report.phone, report.problem) == ("张阿姨", "13900002271", "漏水")


# --- concurrency: the repository on two connections, SQLite file and PostgreSQL -----------------

STAFF_A, STAFF_B = repo.Actor("staff-wang", "王网格员"), repo.Actor("staff-zhao", "赵网格员")


async def _seed(db_url: str) -> int:
    db = Database(db_url)
    try:
        await upgrade(db)
        async with db.transaction() as session:
            req = await repo.create_request(
                session,
                Request(community="xingfuli", channel="sim", group_id="g-res-1", sender_id="r-zhang",
                        sender_name="张秀兰", category="repair", text="楼道灯坏了", grid="grid-1", tier="grid",
                        urgent=False),
                actor=repo.Actor("r-zhang", "张秀兰"), now=REFERENCE_NOW,
            )
            return req.id
    finally:
        await db.dispose()


async def test_a_change_based_on_an_old_version_is_refused(db_url: str) -> None:
    number = await _seed(db_url)
    db = Database(db_url)
    try:
        now = REFERENCE_NOW + dt.timedelta(hours=1)
        # both staff members open the request at version 1; A saves first
        async with db.transaction() as session:
            first = await repo.change_status(session, "xingfuli", number, "in_progress", actor=STAFF_A, now=now,
                                             expected_version=1)
        assert isinstance(first, repo.Changed)
        async with db.transaction() as session:
            second = await repo.change_status(session, "xingfuli", number, "rejected", actor=STAFF_B, now=now,
                                              note="不归我们管", expected_version=1)
        assert isinstance(second, repo.Stale)
        assert second.request.status == "in_progress" and second.by == "王网格员"
        async with db.transaction() as session:
            req = await session.get(Request, number)
            events = await repo.history(session, number)
        assert req is not None and req.status == "in_progress" and req.version == 2
        assert [(e.action, e.to_value) for e in events] == [("created", "new"), ("status", "in_progress")]
    finally:
        await db.dispose()


async def test_concurrent_changes_by_two_staff_never_lose_one_silently(db_url: str) -> None:
    """Two processes (two engines) change the same request at the same moment, many times over."""
    number = await _seed(db_url)
    db_a, db_b = Database(db_url), Database(db_url)
    now = REFERENCE_NOW + dt.timedelta(hours=1)
    outcomes: list[tuple[str, str]] = []

    read = asyncio.Semaphore(0)  # released once by each task when it has read the request

    async def change(db: Database, actor: repo.Actor, status: str, note: str | None, gate: asyncio.Event) -> None:
        async with db.transaction() as session:
            current = await repo.get_request(session, "xingfuli", number)
            assert current is not None
            seen = current.version
            read.release()
            await gate.wait()  # both have read the same version before either writes
            result = await repo.change_status(session, "xingfuli", number, status, actor=actor, now=now,
                                              note=note, expected_version=seen)
            outcomes.append((actor.id, type(result).__name__))

    try:
        for round_ in range(5):
            async with db_a.transaction() as session:  # back to an open status for the next round
                req = await repo.get_request(session, "xingfuli", number)
                assert req is not None
                if req.status != "new":
                    await session.execute(
                        Request.__table__.update().where(Request.id == number).values(status="new"))
            gate = asyncio.Event()
            outcomes.clear()
            tasks = [asyncio.create_task(change(db_a, STAFF_A, "resolved", f"修好了{round_}", gate)),
                     asyncio.create_task(change(db_b, STAFF_B, "rejected", f"驳回{round_}", gate))]
            for _ in tasks:  # not a fixed sleep: on a loaded machine a task may take longer to read
                await read.acquire()
            gate.set()
            await asyncio.gather(*tasks)
            kinds = sorted(kind for _, kind in outcomes)
            assert kinds == ["Changed", "Stale"], outcomes
            winner = next(who for who, kind in outcomes if kind == "Changed")
            async with db_a.transaction() as session:
                req = await session.get(Request, number)
                events = [e for e in await repo.history(session, number) if e.action == "status"]
            assert req is not None
            assert req.status == ("resolved" if winner == "staff-wang" else "rejected")
            # exactly one history row for this round, from the winner, matching the row
            assert len(events) == round_ + 1 and events[-1].actor_id == winner
            assert events[-1].to_value == req.status
    finally:
        await db_a.dispose()
        await db_b.dispose()
