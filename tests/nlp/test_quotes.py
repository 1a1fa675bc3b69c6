"""Quoted replies read with their quote (nlp/quotes.py), and the day a booking is for (nlp/dates.py)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from nlp import Classifier
from nlp.dates import booking_day, find_days
from nlp.normalize import replies_to, split_quote
from nlp.quotes import agrees, answers_the_bot, opens_agreeing, picked_part
from nlp.rules import load_rules

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Wednesday
SEP = "\n- - - - - - - - - - - - - - -\n"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_config()


@pytest.mark.parametrize(("reply", "expected"), [
    ("同问", True), ("+1", True), ("同问+1", True), ("我家也是啊!", True), ("我们这栋也是", True),
    ("我们这栋也是 都四天了还没人来", True), ("都三天了还没人管", True), ("一样一样", True),
    ("我也是 电梯坏了", False),  # says something of its own: read as it is
    ("好的谢谢", False), ("来 我上回磨过", False), ("收到", False),
    ("我也是" + "真的" * 12, False),  # too long to be only agreeing
])
def test_what_only_agrees(reply: str, expected: bool) -> None:
    assert agrees(reply, load_rules().match(reply)) is expected


@pytest.mark.parametrize(("reply", "expected"), [
    ("同问 想带孙子去", True), ("+1 我也一夜没睡 那家到底管不管", True), ("我家也是 好几天了", True),
    ("同问", True), ("+1", True),
    ("想带孙子去 同问", False),  # agreeing only at the end: the reply's own words come first
    ("支付宝搜城乡居民医保就能交 我刚交完", False), ("+10086", False),
    ("同问" + "真的" * 12, False),  # too long: a message of its own
])
def test_what_opens_by_agreeing(reply: str, expected: bool) -> None:
    assert opens_agreeing(reply, load_rules().match(reply)) is expected


@pytest.mark.parametrize(("quote", "reply", "label", "date", "part"), [
    # a reply that only agrees or chases up says the quote again
    ("王阿姨：3号楼楼道灯坏了好几天了 物业也不来修", "我们这栋也是", "report:repair", None, None),
    ("王阿姨：3号楼楼道灯坏了好几天了 物业也不来修", "+1 都四天了还没人来", "report:repair", None, None),
    ("李叔：请问高龄津贴怎么申请啊", "同问", "inquiry:policy", None, None),
    ("张姐：今天天气真好", "我也是", "chitchat", None, None),
    # ... or opens by agreeing and adds a little (session 8)
    ("李阿姨：今天社区有活动吗", "同问 想带孙子去", "query:today_activity", None, None),
    ("老邱：楼下的狗又叫了一晚上", "+1 我也一夜没睡 那家到底管不管", "report:dispute", None, None),
    ("张姐：今天天气真好", "同感 出去晒晒", "chitchat", None, None),
    # a booking without a service or a day of its own takes the quote's
    ("小助手：法律咨询每周四下午在社区二楼", "帮我约一个", "booking:legal_aid", None, None),  # a schedule: no day
    ("社区：本周六上午社区义诊 量血压测血糖", "帮我也约一个", "booking:free_clinic", "2026-11-28", "am"),
    ("社区：本周六上午社区义诊 量血压测血糖", "帮我也约一个 下周六行吗", "booking:free_clinic", "2026-12-05", None),
    # an answer to a neighbour asks nothing
    ("刘哥：周六上午磨刀的来吗", "来 我上回磨过", "chitchat", None, None),
    # a reply to the bot's own message about one service is about that service (session 11) ...
    ("社区小助手：您已预约 周六上午 磨刀,地点:活动室", "哦不对 我想要下午的", "booking:knife_sharpening",
     "2026-11-28", "pm"),
    ("社区小助手：提醒:您预约的义诊在明天上午9点", "能不能换到后天", "booking:free_clinic", "2026-11-27", None),
    ("社区小助手：磨刀周六有两场:1.上午 2.下午,您要哪一场?", "第二场吧", "booking:knife_sharpening",
     "2026-11-28", "pm"),
    # ... but thanks, "收到" and "👍" under it are chit-chat, and a neighbour's words are not the bot's
    ("社区小助手：您已预约 周六上午 磨刀", "好的 谢谢啦", "chitchat", None, None),
    ("社区小助手：您已预约 周六上午 磨刀", "👍", "chitchat", None, None),
    ("王姐：我约了周六上午磨刀", "那我下午去", "chitchat", None, None),
])
def test_quoted_replies(classifier: Classifier, quote: str, reply: str, label: str, date: str | None,
                        part: str | None) -> None:
    got = classifier.understand(f"「{quote}」{SEP}{reply}", NOW)
    assert (got.label, str(got.date) if got.date else None, got.part) == (label, date, part), got.reason


def test_a_booking_under_a_quote_with_its_own_service_and_no_day_takes_the_quotes_day(
        classifier: Classifier) -> None:
    got = classifier.understand(f"「社区：本周六上午社区理发 请提前预约」{SEP}我也想约理发", NOW)
    assert (got.label, got.date, got.part) == ("booking:haircut", dt.date(2026, 11, 28), "am")


@pytest.mark.parametrize(("text", "day"), [
    # the day nearest the service or the booking words, not the story's first
    ("今天下午我去医院复查了 医生说要常量血压 下周三上午想约个义诊量一下", "2026-12-02"),
    ("我家孩子今天发烧请假在家 想给她约个理发 明天下午可以吗", "2026-11-26"),
    ("周五我要出门 周六理发还有号吗", "2026-11-28"),
    # one day, or none of the words: the first
    ("明天理发", "2026-11-26"),
    ("明天有空 后天也行", "2026-11-26"),
])
def test_the_booking_day_is_the_one_nearest_the_booking(text: str, day: str) -> None:
    hits = load_rules().match(text)
    points = [h.start for h in hits if any(kind == "keyword" and name.startswith("booking:")
                                           for kind, name in h.names) or ("cue", "book") in h.names]
    assert str(booking_day(find_days(text, NOW), points).date) == day


@pytest.mark.parametrize(("reply", "quote", "expected"), [
    ("不对 我要的是下午", "您已预约 周六上午 磨刀", True),  # names a time
    ("第一场", "理发周六有两场 上午 下午", True),  # picks a session
    ("几点结束?", "今日主题:义诊量血压", True),  # asks about it
    ("好的谢谢", "您已预约 周六上午 磨刀", False),
    ("收到", "您已预约 周六上午 磨刀", False),
    ("楼道灯坏了 明天能来修吗", "您已预约 周六上午 磨刀", False),  # something of its own
    ("下午吧", "我可以帮您:预约理发 预约义诊 预约磨刀", False),  # the menu names no one service
    ("下午吧", "早上好 今天降温了", False),  # no service
])
def test_what_answers_the_bots_message(reply: str, quote: str, expected: bool) -> None:
    rules = load_rules()
    assert answers_the_bot(reply, rules.match(reply), rules.match(quote)) is expected


@pytest.mark.parametrize(("quote", "reply", "part"), [
    ("理发周六有两场:① 上午9:00-11:00 ② 下午14:00-16:00", "第二场", "pm"),
    ("理发周六有两场:① 上午9:00-11:00 ② 下午14:00-16:00", "1", "am"),
    ("理发周六有两场:① 上午9:00-11:00 ② 下午14:00-16:00", "第三个", None),  # no third
    ("理发周六上午", "好的", None),
])
def test_the_session_a_reply_picks(quote: str, reply: str, part: str | None) -> None:
    assert picked_part(quote, reply) == part


@pytest.mark.parametrize(("text", "quote", "own", "to"), [
    # WeChat's form: the quote, a line of dashes, the reply
    (f"「社区小助手：您已预约」{SEP}取消吧", "「社区小助手：您已预约」", "取消吧", "社区小助手"),
    # copied without the dashes: the quote on a line of its own, first or last
    ("「社区小助手：您已预约 周六上午 理发。」\nok", "「社区小助手：您已预约 周六上午 理发。」", "ok", "社区小助手"),
    ("医保怎么交\n「社区小助手：我可以帮您」", "「社区小助手：我可以帮您」", "医保怎么交", "社区小助手"),
    # "回复 X：" names who is answered and is no part of the message
    ("回复 社区小助手：今天搞的是什么", "", "今天搞的是什么", "社区小助手"),
    ("回复@王姐：义诊是周六", "", "义诊是周六", "王姐"),
    # a chat's title in brackets names no one: not a quote
    ("「业主三群」\n阿美：草坪上好多狗屎", "", "「业主三群」\n阿美：草坪上好多狗屎", ""),
    ("今天「双十二」大促\n快去抢", "", "今天「双十二」大促\n快去抢", ""),
])
def test_quotes_and_whom_a_reply_answers(text: str, quote: str, own: str, to: str) -> None:
    got_quote, got_own = split_quote(text)
    assert (got_quote, got_own.strip()) == (quote, own)
    assert replies_to(text) == to
