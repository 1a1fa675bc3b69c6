"""回访 (issue 16, item 8): a configurable time after resolution the reporters are asked, privately, once;
满意 / 一般 / 不满意 / 1-5 is recorded; 没修好 reopens and tells the owner; satisfaction shows in the digest,
the page and the charts."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.leader_lock import SoleProcess
from bot.scheduler import Scheduler
from bot.staff_web.chart_pages import ChartPages
from config.community import Directory, RequestRules
from core.clock import FixedClock
from handlers.digest import compute_digest, render_digest
from handlers.request_followup import FollowupAnswer, read_answer
from storage.models_requests import Request, RequestReporter
from tests.conftest import LiveBot
from tests.handlers import requests_support
from tests.handlers.requests_support import group_texts
from tests.handlers.test_request_deadlines import run_job
from tests.handlers.test_requests import number_in

req_bot = requests_support.req_bot


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("满意", FollowupAnswer("rating", 5)),
        ("很满意 谢谢", FollowupAnswer("rating", 5)),
        ("一般吧", FollowupAnswer("rating", 3)),
        ("不满意", FollowupAnswer("rating", 1)),
        ("不太满意", FollowupAnswer("rating", 2)),
        ("4", FollowupAnswer("rating", 4)),
        ("打5分", FollowupAnswer("rating", 5)),
        ("三分", FollowupAnswer("rating", 3)),
        ("还是不行", FollowupAnswer("not_fixed")),
        ("没修好啊 晚上还是黑的", FollowupAnswer("not_fixed")),
        ("今天天气不错", None),
        ("6", None),
    ],
)
def test_answers_are_read(text: str, answer: FollowupAnswer | None) -> None:
    assert read_answer(RequestRules(), text) == answer


async def _resolved(bot: LiveBot, clock: FixedClock) -> int:
    sim = bot.client
    number = number_in(group_texts(await sim.say("g-res-1", "r-zhang", "3号楼2单元楼道灯坏了"), "g-res-1")[0])
    clock.advance(minutes=5)
    await sim.say("g-res-1", "r-liu", "+1")
    clock.advance(minutes=5)
    await sim.say("g-res-1", "v-he", "+1")
    await sim.say("g-staff", "staff-li", f"#{number} 指派 王网格员")
    clock.advance(hours=2)
    await sim.say("g-staff", "staff-wang", f"#{number} 已解决 换了灯泡")
    return number


async def test_reporters_are_asked_once_after_the_configured_time_and_answers_are_recorded(
        req_bot: LiveBot, clock: FixedClock) -> None:
    sim = req_bot.client
    number = await _resolved(req_bot, clock)
    clock.advance(hours=23)
    await run_job(req_bot, "followup")
    assert not any("真的解决了吗" in m["text"] for m in await sim.user_timeline("r-zhang"))
    clock.advance(hours=2)
    for _ in range(2):
        await run_job(req_bot, "followup")
    for person in ("r-zhang", "r-liu", "v-he"):
        asked = [m["text"] for m in await sim.user_timeline(person) if "真的解决了吗" in m["text"]]
        assert len(asked) == 1 and f"#{number}" in asked[0], person
    # answers in the group they reported in (the simulator's private chats are read-only)
    thanks = group_texts(await sim.say("g-res-1", "r-zhang", "满意"), "g-res-1")
    assert "5 分" in thanks[0]
    body = await sim.say("g-res-1", "r-liu", "2分")
    assert "2 分" in group_texts(body, "g-res-1")[0]
    [low] = [r["text"] for r in body["replies"] if r["to"] == "user" and r["target"] == "staff-wang"]
    assert f"#{number}" in low and "刘**" in low
    async with req_bot.linli.db.transaction() as session:
        marks = dict((await session.execute(select(RequestReporter.person_id, RequestReporter.satisfaction)
                                            .where(RequestReporter.request_id == number))).all())
    assert marks == {"r-zhang": 5, "r-liu": 2, "v-he": None}
    # once answered, "满意" again is chit-chat
    assert (await sim.say("g-res-1", "r-zhang", "满意"))["replies"] == []
    # satisfaction in the digest and on the page
    community = req_bot.linli.directory.communities[0]
    async with req_bot.linli.db.transaction() as session:
        text = render_digest(await compute_digest(session, community, clock.now().date(), now=clock.now()))
    assert "回访 2 人次，满意 1 人次（50%），平均 3.5 分" in text
    pages = ChartPages(req_bot.linli.db, clock, None, None)  # type: ignore[arg-type]
    weekly = await pages.weekly(community, clock.now().date())
    assert weekly.satisfied[weekly.weeks[-1]] == 0.5 and weekly.on_time[weekly.weeks[-1]] == 1.0


async def test_not_fixed_reopens_and_tells_the_owner_and_is_asked_again_after_the_next_resolution(
        req_bot: LiveBot, clock: FixedClock) -> None:
    sim = req_bot.client
    number = await _resolved(req_bot, clock)
    clock.advance(hours=25)
    await run_job(req_bot, "followup")
    body = await sim.say("g-res-1", "v-he", "没修好 晚上还是黑的")
    assert "重新打开" in group_texts(body, "g-res-1")[0]
    [owner] = [r["text"] for r in body["replies"] if r["to"] == "user" and r["target"] == "staff-wang"]
    assert f"#{number}" in owner and "没解决" in owner
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
    assert req is not None and req.status == "in_progress" and req.resolved_at is None and req.followup_at is None
    assert req.due_at is not None and req.due_at > clock.now()  # a new deadline from the reopening
    await sim.say("g-staff", "staff-wang", f"#{number} 已解决 换了镇流器")
    clock.advance(hours=25)
    await run_job(req_bot, "followup")
    asked = [m["text"] for m in await sim.user_timeline("r-zhang") if "真的解决了吗" in m["text"]]
    assert len(asked) == 2


async def test_an_unasked_not_fixed_soon_after_resolution_reopens(req_bot: LiveBot, clock: FixedClock) -> None:
    sim = req_bot.client
    number = await _resolved(req_bot, clock)
    clock.advance(hours=3)  # before any 回访
    body = await sim.say("g-res-1", "r-liu", "还是不行")
    assert f"#{number}" in group_texts(body, "g-res-1")[0]
    async with req_bot.linli.db.transaction() as session:
        assert (await session.get(Request, number)).status == "in_progress"  # type: ignore[union-attr]
    # from someone with nothing resolved lately it is nothing
    assert (await sim.say("g-res-2", "r-chen", "还是不行"))["replies"] == []


async def test_the_time_before_followup_is_configurable(req_bot: LiveBot, clock: FixedClock) -> None:
    number = await _resolved(req_bot, clock)
    c = req_bot.linli.directory.communities[0]
    soon = c.model_copy(update={"requests": c.requests.model_copy(update={"followup_after_hours": 2})})
    never = c.model_copy(update={"requests": c.requests.model_copy(update={"followup_after_hours": 0})})
    scheduler = Scheduler(req_bot.linli.db, Directory([never]), clock, jobs=[], leadership=SoleProcess())
    clock.advance(hours=3)
    await scheduler.run("followup")
    async with req_bot.linli.db.transaction() as session:
        assert (await session.get(Request, number)).followup_at is None  # type: ignore[union-attr]
    scheduler = Scheduler(req_bot.linli.db, Directory([soon]), clock, jobs=[], leadership=SoleProcess())
    await scheduler.run("followup")
    async with req_bot.linli.db.transaction() as session:
        assert (await session.get(Request, number)).followup_at == clock.now()  # type: ignore[union-attr]
