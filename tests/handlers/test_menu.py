"""Addressed, never ignored: the menu for @-mentions, one-to-one chats and 帮助 / 你能做什么 / 怎么用,
while chit-chat in a group that does not address the bot stays unanswered."""

from __future__ import annotations

import itertools

import pytest

from bot.routing import Router, default_handlers, dispatch
from config.community import Community, Directory, MenuRules
from core.message import Message, Outgoing
from handlers.menu import asks_for_help
from nlp.normalize import normalize
from nlp.understanding import Understanding
from storage.db import Database
from tests.conftest import REFERENCE_NOW, LiveBot

_ids = itertools.count(1)
CHITCHAT = Understanding("chitchat", 0.97)


def said(text: str, *, group: str | None = "g-res-1", sender: str = "r-zhang", name: str = "张秀兰",
         role: str = "resident", mentions_bot: bool = False) -> Message:
    return Message("sim", "xingfuli", group, sender, name, text, f"menu-{next(_ids)}", REFERENCE_NOW,
                   mentions_bot=mentions_bot, sender_role=role)  # type: ignore[arg-type]


def reading(label: str = "chitchat", confidence: float = 0.97, text: str = "", **kwargs: object) -> Understanding:
    return Understanding(label, confidence, text=text, **kwargs)  # type: ignore[arg-type]


async def handle(db: Database, community: Community, message: Message,
                 understanding: Understanding | None = None) -> tuple[str | None, list[Outgoing]]:
    u = understanding or reading(text=normalize(message.text))
    async with db.transaction() as session:
        done = await dispatch(Router(default_handlers()), session, message, u, community, REFERENCE_NOW)
    return done.handler, done.outgoing


def is_resident_menu(text: str, community: Community) -> bool:
    return ("报事报修" in text and "我的预约" in text and "今天有什么活动" in text
            and all(s.name in text for s in community.services))


@pytest.mark.parametrize(("text", "asks"), [
    ("帮助", True), ("你能做什么", True), ("你能做什么？", True), ("怎么用", True), ("小助手 怎么用啊", True),
    ("请问你能干啥呀", True), ("菜单", True), ("HELP", True), ("帮助!!", True),
    ("这个洗衣机怎么用啊", False), ("帮助一下3号楼的老人", False), ("谢谢", False), ("", False),
    ("你能做什么我都知道 不用说了 哈哈哈哈哈", False),
])
def test_what_asks_for_the_menu(text: str, asks: bool) -> None:
    assert asks_for_help(MenuRules(), normalize(text)) is asks


async def test_an_at_mention_that_nothing_answers_gets_the_menu_in_the_group(db: Database,
                                                                           demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    handler, out = await handle(db, community, said("@社区小助手 你好呀", mentions_bot=True))
    assert handler == "menu"
    [reply] = out
    assert (reply.to, reply.target) == ("group", "g-res-1")
    assert reply.text.startswith("@张** ") and "张秀兰" not in reply.text
    assert is_resident_menu(reply.text, community)


async def test_a_bare_at_mention_gets_the_menu(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    handler, out = await handle(db, community, said("@社区小助手", mentions_bot=True), reading(confidence=1.0))
    assert handler == "menu" and is_resident_menu(out[0].text, community)


async def test_unaddressed_chitchat_in_a_group_stays_silent(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    for text in ("大家早上好", "谢谢志愿者", "收到", "这个洗衣机怎么用啊"):
        assert await handle(db, community, said(text)) == (None, [])
    # Not sure of anything, still not addressed: silence too.
    assert await handle(db, community, said("嗯嗯"), reading(confidence=0.3, confident=False)) == (None, [])


async def test_any_message_in_a_one_to_one_chat_gets_an_answer(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    for text, u in [("在吗", reading(confidence=0.4, confident=False)),
                    ("嗯那个就是想问问", reading("inquiry:policy", 0.45, confident=False, category="policy"))]:
        handler, out = await handle(db, community, said(text, group=None), u)
        assert (out[0].to, out[0].target) == ("user", "r-zhang"), text  # answered privately
        assert all(o.to == "user" for o in out)
        if handler == "menu":
            assert is_resident_menu(out[0].text, community) and out[0].text.startswith("您好！")
        else:  # the unsure policy question was taken as one (a question privately to the bot is filed)
            assert handler == "requests"


@pytest.mark.parametrize("text", ["帮助", "你能做什么", "怎么用"])
async def test_help_words_get_the_menu_even_when_read_as_a_question(db: Database, demo_directory: Directory,
                                                                    text: str) -> None:
    community = demo_directory.communities[0]
    # The classifier reads "怎么用" and "你能做什么" as policy questions: the menu comes first.
    policy = reading("inquiry:policy", 0.9, category="policy", text=text)
    for message in (said(text, group=None), said(f"@社区小助手 {text}", mentions_bot=True), said(text)):
        handler, out = await handle(db, community, message, policy)
        assert handler == "help" and len(out) == 1 and is_resident_menu(out[0].text, community), message


async def test_staff_commands_come_first_in_a_private_chat_and_staff_get_their_menu(
        db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    staff = {"group": None, "sender": "staff-li", "name": "李书记", "role": "staff"}
    handler, out = await handle(db, community, said("#1 处理中", **staff))  # type: ignore[arg-type]
    assert handler == "request_commands" and "#1" in out[0].text  # no such request: said so, not the menu
    handler, out = await handle(db, community, said("场次帮助", **staff))  # type: ignore[arg-type]
    assert handler == "staff_sessions"
    handler, out = await handle(db, community, said("在吗", **staff))  # type: ignore[arg-type]
    assert handler == "menu" and "#编号 处理中" in out[0].text and community.requests.web_url in out[0].text
    assert "报事报修" not in out[0].text


async def test_a_volunteer_gets_the_menu_with_their_team_line(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    _, out = await handle(db, community, said("你好", group=None, sender="v-he", name="何师傅", role="volunteer"))
    assert is_resident_menu(out[0].text, community) and "志愿服务" in out[0].text


async def test_an_answer_to_a_pending_question_is_not_a_menu_case(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    haircut = Understanding("booking:haircut", 0.9, service="haircut", text="想理个发")
    handler, out = await handle(db, community, said("想理个发", group=None), haircut)
    assert handler == "booking" and "1. 义剪理发" in out[0].text
    handler, out = await handle(db, community, said("嗯嗯", group=None))  # not an answer: reminded, no menu
    assert handler == "menu" and "刚才的问题" in out[0].text and "报事报修" not in out[0].text
    handler, out = await handle(db, community, said("1", group=None))
    assert handler == "booking_reply" and "预约成功" in out[0].text
    handler, out = await handle(db, community, said("1", group=None))  # nothing pending any more
    assert handler == "menu" and is_resident_menu(out[0].text, community)


async def test_an_addressed_message_a_handler_left_unanswered_gets_the_menu(db: Database,
                                                                           demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    # "+1" joins the group's recent request; with none to join it says nothing ...
    assert await handle(db, community, said("+1")) == ("request_also", [])
    # ... but said to the bot, it is not left unanswered.
    handler, out = await handle(db, community, said("@社区小助手 +1", mentions_bot=True), reading(text="+1"))
    assert handler == "menu" and is_resident_menu(out[0].text, community)


async def test_the_simulator_answers_an_at_mention_and_not_group_chitchat(live_bot: LiveBot,
                                                                          demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    body = await live_bot.client.say("g-res-1", "r-zhang", "@社区小助手")
    assert len(body["replies"]) == 1 and is_resident_menu(body["replies"][0]["text"], community)
    body = await live_bot.client.say("g-res-1", "r-zhang", "@社区小助手 你能做什么？")
    assert is_resident_menu(body["replies"][0]["text"], community)
    body = await live_bot.client.say("g-res-1", "r-liu", "大家早上好")
    assert body["replies"] == []


async def test_a_reply_quoting_the_bot_is_said_to_it(live_bot: LiveBot, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    # "谢谢" to a neighbour stays unanswered; quoting the bot's message, or "回复 社区小助手：", it is
    # said to the bot, and a message said to the bot never meets silence.
    body = await live_bot.client.say("g-res-1", "r-zhang", "谢谢 你怎么这么厉害")
    assert body["replies"] == []
    quoted = "「社区小助手：早上好！今天周三，今日主题：政策宣讲。」\n- - - - - - - -\n你怎么这么厉害"
    body = await live_bot.client.say("g-res-1", "r-zhang", quoted)
    assert len(body["replies"]) == 1 and is_resident_menu(body["replies"][0]["text"], community)
    body = await live_bot.client.say("g-res-1", "r-li", "回复 社区小助手：你怎么这么厉害")
    assert len(body["replies"]) == 1 and is_resident_menu(body["replies"][0]["text"], community)
    # quoting a neighbour is not said to the bot
    body = await live_bot.client.say("g-res-1", "r-li", "「王姐：今天降温了」\n- - - - - - - -\n是啊 冷死了")
    assert body["replies"] == []


async def test_thanks_said_to_the_bot_get_a_short_answer_not_the_menu(live_bot: LiveBot,
                                                                      demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    confirmation = "「社区小助手：张**，预约成功！ 义剪理发：11月28日(周六) 09:00-11:30」\n- - - - - - - -\n"
    for text in ("@社区小助手 谢谢", "@社区小助手 好的 收到", confirmation + "好的谢谢", confirmation + "ok"):
        body = await live_bot.client.say("g-res-1", "r-zhang", text)
        assert [r["text"] for r in body["replies"]] == ["不客气～有需要随时@我。"], text
    # a bare @-mention, or more than thanks, still gets the menu
    for text in ("@社区小助手", "@社区小助手 谢谢你 你能做什么", confirmation + "你怎么这么厉害"):
        body = await live_bot.client.say("g-res-1", "r-li", text)
        assert len(body["replies"]) == 1 and is_resident_menu(body["replies"][0]["text"], community), text


async def test_thanks_in_a_one_to_one_chat(db: Database, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    handler, out = await handle(db, community, said("谢谢", group=None), reading())
    assert handler == "menu" and [(o.to, o.text) for o in out] == [("user", "不客气～有需要随时找我。")]

