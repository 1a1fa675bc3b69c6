"""Emergencies understood, not matched on fixed phrases (issue 16, item 1): a table of wordings read with
the demo community's cue families, and what residents and staff see in the simulator."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from config.community import Directory
from core.clock import FixedClock
from handlers.hazard_alerts import read_hazard
from nlp.normalize import normalize
from storage.models_requests import Request
from tests.conftest import LiveBot
from tests.handlers import requests_support
from tests.handlers.requests_support import group_texts
from tests.handlers.test_requests import number_in, requests_in_db

req_bot = requests_support.req_bot

# (wording, the family that makes it urgent): Simplified, Traditional, Cantonese, voice-input run-ons.
URGENT = [
    ("电梯卡住了，我被困在里面", "trapped"),
    ("5号楼电梯里关了个小孩出不来了！快来人", "trapped"),
    ("电梯卡住了 里面有人", "lift"),
    ("电梯停了 我在里面", "lift"),
    ("電梯困人了快來人", "trapped"),
    ("我家老人被锁在阳台上了出不来", "trapped"),
    ("門鎖壞了人困在房間裡出不來", "trapped"),
    ("部电梯困咗人啊", "trapped"),
    ("孩子被锁在车里了", "trapped"),
    ("11号楼闻到好大一股燃气味", "gas"),
    ("聞到好大煤氣味", "gas"),
    ("厨房好像漏气了 有股臭鸡蛋味", "gas"),
    ("三单元二楼那边闻着有股臭鸡蛋味儿 越来越冲了", "gas"),  # the odorant, without "gas" or "leak"
    ("燃气泄漏了打什么电话 快", "gas"),
    ("楼道里冒烟了", "fire"),
    ("3楼着火了！", "fire"),
    ("著火了 快打119", "fire"),
    ("7号楼有股焦糊味", "fire"),
    ("插座进水了冒火花", "electric_water"),
    ("楼上漏水 水都流到电表箱里了", "electric_water"),
    ("老人摔倒了起不来", "fall"),
    ("我妈叫不醒了", "fall"),
    ("我爸晕倒了 快来人", "fall"),
    ("屋企有人暈低咗", "fall"),
    ("楼梯口有人摔倒了", "fall"),
    ("隔壁老太太在家里摔了 爬不起来", "fall"),
    ("有个人倒在地上没反应", "fall"),
    ("邻居大爷叫不应 门也不开", "fall"),
    ("小孩爬到窗台外面了", "child_danger"),
    ("孩子不见了 找不到了", "missing"),
    ("老人走丢了", "missing"),
    ("水管爆了 水漫了一地", "flood"),
    ("那个电梯啊卡在三楼不动了里面有人在喊呢快来人吧", "lift"),
]
# Look-alikes and worries: no alert.
NOT_URGENT = [
    "电梯广告太多了",
    "困了想睡觉",
    "燃气费怎么交",
    "万一着火消防车都进不来",
    "这要是着火了咋整",
    "楼道灯坏了",
    "我家热水出不来",
    "我家门锁卡住了 打不开",
    "轮胎漏气了 哪里能打气",
    "消防通道堆满杂物 有火灾隐患",
    "电梯卡住了",
    "水表电表什么时候抄",
    "找物业反映好几次了都没反应",
    "孩子的作业本找不到了",
    "晚上抽烟的人太多了",
    "周四安全检查日要查燃气吗",
    "明天停水吗",
    "我早上起不来",
    "困在家里好无聊",
    "孩子的书包丢了",
    "怕冬天水管冻爆",
]
# Questions about a hazard: answered from the community file, never filed, never an alert.
QUESTIONS = [
    ("要是家里燃气泄漏了应该打什么电话", "gas"),
    ("怎么检查燃气泄漏", "gas"),
    ("如果着火了应该打什么电话", "fire"),
    ("有人被困电梯的话打什么电话", "trapped"),
]


def _rules(demo_directory: Directory):  # type: ignore[no-untyped-def]
    return demo_directory.communities[0].requests


@pytest.mark.parametrize(("text", "family"), URGENT)
def test_urgent_wordings(demo_directory: Directory, text: str, family: str) -> None:
    hazard = read_hazard(_rules(demo_directory), normalize(text))
    assert hazard is not None and hazard.urgent and not hazard.question, text
    assert hazard.cue.id == family


@pytest.mark.parametrize("text", NOT_URGENT)
def test_look_alikes_are_not_urgent(demo_directory: Directory, text: str) -> None:
    hazard = read_hazard(_rules(demo_directory), normalize(text))
    assert hazard is None or not hazard.urgent, text


@pytest.mark.parametrize(("text", "family"), QUESTIONS)
def test_questions_about_a_hazard(demo_directory: Directory, text: str, family: str) -> None:
    hazard = read_hazard(_rules(demo_directory), normalize(text))
    assert hazard is not None and hazard.question and not hazard.urgent and hazard.cue.id == family


def test_the_table_is_as_large_as_promised() -> None:
    assert len(URGENT) >= 30 and len(NOT_URGENT) >= 15


# --- through the simulator --------------------------------------------------------------------------


async def test_someone_trapped_labelled_chit_chat_still_alerts_staff_at_once(req_bot: LiveBot) -> None:
    # the keyword classifier of these tests labels this chit-chat: it has none of its words
    body = await req_bot.client.say("g-res-2", "r-chen", "7号楼有个小孩被关在屋里出不来了！快来人")
    [alert] = group_texts(body, "g-staff")
    [ack] = group_texts(body, "g-res-2")
    number = number_in(ack)
    assert f"#{number}" in alert and "紧急" in alert and "7号楼" in alert and "119" in ack
    [req] = await requests_in_db(req_bot)
    assert req.urgent and req.category == "safety" and req.object == "被困"


async def test_a_lift_entrapment_labelled_a_repair_joins_that_lift_and_alerts(req_bot: LiveBot,
                                                                               clock: FixedClock) -> None:
    light = await req_bot.client.say("g-res-2", "r-zhou", "5号楼楼道灯坏了")
    lift = await req_bot.client.say("g-res-2", "r-chen", "5号楼电梯又坏了 停在三楼")
    clock.advance(minutes=30)
    body = await req_bot.client.say("g-res-2", "v-xu", "5号楼电梯里关了个小孩出不来了！快来人")
    [alert] = group_texts(body, "g-staff")
    number = number_in(group_texts(lift, "g-res-2")[0])
    assert f"#{number}" in alert and number_in(group_texts(body, "g-res-2")[0]) == number
    assert f"#{number_in(group_texts(light, 'g-res-2')[0])}" not in alert
    rows = {r.id: r for r in await requests_in_db(req_bot)}
    assert rows[number].urgent and rows[number].affected == 2 and rows[number].object == "电梯"


async def test_an_urgent_message_joining_a_known_request_makes_it_urgent_and_alerts(
        req_bot: LiveBot, clock: FixedClock) -> None:
    first = await req_bot.client.say("g-res-2", "r-chen", "6号楼电线老化 楼道里的电线外皮都破了")
    number = number_in(group_texts(first, "g-res-2")[0])
    assert group_texts(first, "g-staff") == []
    clock.advance(minutes=10)
    second = await req_bot.client.say("g-res-2", "r-zhou", "6号楼楼道电线冒火花了 有烟")
    [alert] = group_texts(second, "g-staff")
    assert f"#{number}" in alert and "紧急" in alert
    assert number_in(group_texts(second, "g-res-2")[0]) == number
    [req] = await requests_in_db(req_bot)
    assert req.urgent and req.affected == 2
    # the urgent deadline (2 hours) replaces the safety one (1 working day)
    assert req.due_at is not None and (req.due_at - clock.now()).total_seconds() == 2 * 3600
    clock.advance(minutes=5)
    third = await req_bot.client.say("g-res-2", "v-xu", "6号楼电线着火了 冒烟")
    assert len(group_texts(third, "g-staff")) == 1  # still urgent news: staff hear it at once
    assert len(await requests_in_db(req_bot)) == 1


async def test_hazard_question_is_answered_with_the_numbers_and_not_filed(req_bot: LiveBot) -> None:
    body = await req_bot.client.say("g-res-1", "r-liu", "要是家里燃气泄漏了应该打什么电话")
    [answer] = group_texts(body, "g-res-1")
    assert "0000-96777" in answer and "119" in answer and "肥皂水" in answer
    assert group_texts(body, "g-staff") == []
    assert await requests_in_db(req_bot) == []


async def test_a_worry_is_not_an_alert(req_bot: LiveBot) -> None:
    body = await req_bot.client.say("g-res-2", "r-zhou", "万一着火消防车都进不来 楼下停满了车")
    assert group_texts(body, "g-staff") == []
    async with req_bot.linli.db.transaction() as session:
        assert not any(r.urgent for r in (await session.scalars(select(Request))).all())
