"""The classifier: hard negatives, short messages, vocabulary beyond the dev set, and no input breaks it.

Most sentences here are not in nlp/corpus/: for the learned model they are held out (only the
rules were tuned on them)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlp import Classifier, Understanding, understand
from nlp.corpus_files import CORPUS_DIR
from nlp.evaluation import evaluate
from nlp.rules import DEFAULT_RULES_PATH, LABELS

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
OWN_CASES = CORPUS_DIR / "developer_cases.jsonl"


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.from_config()


# In a group most messages ask nothing of the community; a bot that answers them is muted.
HARD_NEGATIVES = [
    "昨天理发的小伙子手艺真好[强]我家老头子剪完跟年轻了十岁似的哈哈",
    "谢谢志愿者修好了热水壶",
    "谢谢志愿者帮我修好了热水壶 小伙子还不收钱 太感谢了[抱拳][抱拳]",
    "今天义诊人好多啊",
    "今天义诊排队的时候碰到老同事了 聊了一上午 开心",
    "收到",
    "好的 明白",
    "[玫瑰][玫瑰]",
    "😂😂😂",
    "【转发】XX街道本周开展志愿服务，为辖区老人免费理发、量血压、磨刀……",
    "【转发】重要提醒：近期有不法分子冒充医保局工作人员打电话骗取个人信息",
    "#接龙 团购丑橘 10斤装58元\n1. 3-2-501 张 2箱\n2. 6号楼王姐 1箱",
    "接龙\n周五下午社区合唱队排练\n1. 刘淑芬\n2. 张桂兰",
    "我家楼下新开的理发店 开业八折 洗剪吹只要25 大家可以去试试",
    "有需要家政保洁的吗 擦玻璃 油烟机清洗 价格实惠 电话13800000000",
    "「李姐：今天义诊人多不多啊」\n- - - - - - - - - - - - - - -\n老多了 你下午再去吧",
    "「王叔：我想约明天理发」\n- - - - - - - - - - - - - - -\n老王你这头发上个月不才剪过 哈哈哈",
    "哈哈哈哈哈 笑死 谁家的狗把拖鞋叼到电梯里了[捂脸]",
    "谢谢社区昨天帮我们修好了楼道灯 终于不用摸黑上楼了",
    "昨天电梯坏了 今天已经修好了 物业效率挺高",
    "周六的义诊我去了 医生说我这血压控制得不错",
    "律师讲座讲得挺好 学到不少遗嘱方面的东西",
    "今年小区搞的这些志愿服务真不错 理发磨刀义诊都有 给社区点个大大的赞",
    "@王姐 明天早上一起去菜场不",
    "有没有人知道附近哪家理发店好",
    "明天周四 社区有理发 大家记得去哈",
    "谢谢小助手[抱拳]已经约上了",
    "今天早上理髮的人排好長 我看了一眼就回家了 改天再說吧",
    "处理发票的事明天再说",  # 理发 inside 处理发票 is no haircut
    "我心脏不太好 今天去医院了",
    "转发一下 帮忙砍一刀 谢谢大家 https://xxx.xx/k8f2",
]


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives_are_chitchat(classifier: Classifier, text: str) -> None:
    got = classifier.understand(text, NOW)
    assert got.label == "chitchat", (text, got.ranked)
    assert got.date is None and got.service is None and got.category is None


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # bare service names, typed straight at the bot
        ("理发", "booking:haircut"),
        ("剪头发", "booking:haircut"),
        ("磨刀", "booking:knife_sharpening"),
        ("义诊", "booking:free_clinic"),
        ("量血压", "booking:free_clinic"),
        ("我的预约", "query:my_bookings"),
        ("取消预约", "cancel_booking"),
        ("磨刀几号", "booking:knife_sharpening"),
        ("法律咨询 欠薪 找谁", "booking:legal_aid"),
        ("今天有啥活动", "query:today_activity"),
        ("停水了？？？", "report:repair"),
        # ...and the shortest chit-chat
        ("嗯", "chitchat"),
        ("好嘞", "chitchat"),
        ("👍", "chitchat"),
        ("", "chitchat"),
        ("   ", "chitchat"),
        # calls for attention ask nothing yet (normalize.yaml `pings`, session 12); what follows one is read
        ("在么在么", "chitchat"),
        ("怎么还没人回啊？？", "chitchat"),
        ("有人吗 楼道里有燃气味", "report:safety"),
        ("在吗 我想约个理发", "booking:haircut"),
        ("楼道灯坏了一周了没人理", "report:repair"),
    ],
)
def test_short_messages(classifier: Classifier, text: str, label: str) -> None:
    assert classifier.understand(text, NOW).label == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # A broken appliance in the home is a repair booking; a broken shared facility a report.
        ("我家电饭煲坏了 能修吗", "booking:appliance_repair"),
        ("洗衣机不脱水了 能来看看不", "booking:appliance_repair"),
        ("电磁炉一开就报警 用不了了 志愿者能帮忙修吗", "booking:appliance_repair"),
        ("台灯不亮了 换了灯泡也不行 能修一下不", "booking:appliance_repair"),
        ("电梯又坏了 8号楼那部 停在5楼不动了", "report:repair"),
        ("3号楼2单元楼道灯以经坏了好几天了 上楼全靠手机照着 啥时候能来修一下啊", "report:repair"),
        ("单元门关不严 冷风往里灌", "report:repair"),
        ("暖气不热 家里才十五度", "report:repair"),
        # On behalf of someone else: the label of what is asked.
        ("帮我爸约个测血糖 他叫刘德顺", "booking:free_clinic"),
        ("我儿子被老板拖欠工资 他让我帮他问问社区律师", "booking:legal_aid"),
        ("我妈一个人住 腿摔了下不了楼 社区有没有送餐的", "report:elderly_care"),
        # Vocabulary beyond the dev set
        ("独生子女补贴还有吗", "inquiry:policy"),
        ("公积金能取出来交房租吗", "inquiry:policy"),
        ("残疾证怎么办", "inquiry:policy"),
        ("孩子上小学要居住证吗 在哪里办", "inquiry:policy"),
        ("有人在小区里烧纸 火星子乱飞 旁边就是车", "report:safety"),
        ("高层有人往下扔东西 刚才一个酒瓶子砸在我车旁边", "report:safety"),
        ("两个老头为了抢车位打起来了 快来人劝劝", "report:dispute"),
        ("楼下那家每天晚上打麻将到两三点 吵得睡不着", "report:dispute"),
        ("楼道里有股死老鼠味 熏死人", "report:sanitation"),
        ("有人长期占着我的车位 怎么说都不走", "report:parking"),
        ("老人在小区门口迷路了 说不清住哪 穿蓝色外套", "report:elderly_care"),
        # Colloquial, typos, voice-to-text run-ons, Traditional characters
        ("磨刀 要得 给我也整一个 周六早上", "booking:knife_sharpening"),
        ("明儿上午剪个头 中不中", "booking:haircut"),
        ("我家热水壶不加热了 能预越维修不", "booking:appliance_repair"),
        ("小助手我想剪头发我头发太长了啥时候能剪啊谢谢", "booking:haircut"),
        ("電飯鍋壞了 能幫忙修嗎", "booking:appliance_repair"),
        ("禮拜天有理髮嗎 我想去", "booking:haircut"),
        # Existing bookings
        ("我约的理发是这周六还是下周六啊 忘了", "query:my_bookings"),
        ("周六的理发不去了 取消吧", "cancel_booking"),
        ("我的理发预约退了吧", "cancel_booking"),
        # A quoted question answered with "me too": the quote names the service.
        ("「李阿姨：磨刀师傅手艺真不错」\n- - - - - - - - - - - - - - -\n那我也想磨 后天有没有 帮我约一个",
         "booking:knife_sharpening"),
    ],
)
def test_labels(classifier: Classifier, text: str, label: str) -> None:
    got = classifier.understand(text, NOW)
    assert got.label == label, (text, got.ranked)


def test_booking_fields(classifier: Classifier) -> None:
    got = classifier.understand("@社区小助手 周六上午理发还有号没？给我留一个 5号楼老陈", NOW)
    assert got.label == "booking:haircut" and got.service == "haircut" and got.category is None
    assert (got.date, got.part, got.weekday_named) == (dt.date(2026, 11, 28), "am", True)
    assert got.is_booking and not got.is_chitchat
    assert "理发" in got.keywords
    assert got.ranked[0][0] == "booking:haircut" and got.ranked[0][1] == got.confidence
    assert 0.5 < got.confidence <= 1 and got.confident and not got.may_be_request
    assert got.reason


def test_report_and_policy_fields(classifier: Classifier) -> None:
    report = classifier.understand("小区南门那排路灯全不亮了", NOW)
    assert (report.label, report.category, report.service, report.date) == ("report:repair", "repair", None, None)
    policy = classifier.understand("低保的申请条件是啥", NOW)
    assert (policy.label, policy.category) == ("inquiry:policy", "policy")
    assert policy.is_request


@pytest.mark.parametrize(
    ("text", "item"),
    [
        ("我家热水壶不加热了 能修不", "热水壶"),
        ("电饭煲按键失灵了 后天早上能拿过来修吗", "电饭煲"),
        ("热水壶 电饭锅 都坏了 能一起修吗", "热水壶"),
        ("家里菜刀钝得切不动了 这周六磨刀还有名额吗", "菜刀"),
        ("剪子钝了 能磨不", "剪子"),
        ("磨刀", None),
        ("谢谢上回志愿者帮我修好了电饭煲 对了我家还有个老电风扇 转不动了 想拿去修修 还有名额不", "电风扇"),
    ],
)
def test_item(classifier: Classifier, text: str, item: str | None) -> None:
    assert classifier.understand(text, NOW).item == item


def test_date_only_for_bookings(classifier: Classifier) -> None:
    assert classifier.understand("楼上装修 周六也不消停 能不能管管", NOW).date is None
    cancel = classifier.understand("下周六的磨刀帮我退了吧", NOW)
    assert (cancel.label, cancel.date) == ("cancel_booking", dt.date(2026, 12, 5))


# A question about the community's activity on any day to come: the bot answers from the weekly
# themes, so `date` carries the day (None for today's).
@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("今天社区有啥活动不", None),
        ("今天啥服务啊", None),
        ("明天社区有什么活动", dt.date(2026, 11, 26)),
        ("明天啥活动", dt.date(2026, 11, 26)),
        ("周四干啥", dt.date(2026, 11, 26)),
        ("后天有活动吗", dt.date(2026, 11, 27)),
        ("这周五有啥活动", dt.date(2026, 11, 27)),
        ("下周三社区有没有活动", dt.date(2026, 12, 2)),
        ("12月3号有什么活动", dt.date(2026, 12, 3)),
        ("明天是理发还是义诊啊", dt.date(2026, 11, 26)),  # which service is on
    ],
)
def test_activity_questions_on_any_day(classifier: Classifier, text: str, date: dt.date | None) -> None:
    got = classifier.understand(text, NOW)
    assert (got.label, got.date) == ("query:today_activity", date), got.ranked


@pytest.mark.parametrize(
    "text",
    ["今天的活动真热闹", "昨天活动拍的照片谁有 发群里呗", "明天的活动取消了 大家别去了", "周六社区有活动 大家记得来",
     "下周六有个活动要志愿者 有意的私我", "周末有什么好玩的地方推荐吗", "明天干啥去 钓鱼不"],
)
def test_news_about_an_activity_is_chitchat(classifier: Classifier, text: str) -> None:
    assert classifier.understand(text, NOW).label == "chitchat"


def test_a_service_on_a_named_day_is_still_a_booking(classifier: Classifier) -> None:
    got = classifier.understand("周六有理发吗 我想去", NOW)
    assert (got.label, got.date) == ("booking:haircut", dt.date(2026, 11, 28))


@pytest.mark.parametrize(
    ("text", "date", "part"),
    [
        # A part of day tied to the service counts wherever it stands...
        ("想给我妈约个下午的义诊 她最近老头晕 明天行不", dt.date(2026, 11, 26), "pm"),
        ("上午的理发还有号吗 明天", dt.date(2026, 11, 26), "am"),
        ("我们老两口想约个下午的体检 30号行不", dt.date(2026, 11, 30), "pm"),
        # ...one of something past, or of time the sender is busy, does not.
        ("上午排了好久没轮上 明天下午还能理发不", dt.date(2026, 11, 26), "pm"),
        ("昨天下午修好的电饭煲又坏了 明天上午能拿过来不", dt.date(2026, 11, 26), "am"),
        ("周六理发 我下午要上班", dt.date(2026, 11, 28), None),
        ("周六下午不行 上午能理发吗", dt.date(2026, 11, 28), "am"),
        ("我儿子上午要上课 想约个周日的磨刀", dt.date(2026, 11, 29), None),
        ("明天下午行不行 想理发", dt.date(2026, 11, 26), "pm"),
        # 一下 + weekday is no "next week"
        ("微波炉加热不了 想预约修一下 周四下午", dt.date(2026, 11, 26), "pm"),
        ("问一下周六有没有理发", dt.date(2026, 11, 28), None),
        # the day a booking is moved to wins over the one it had (session 8)
        ("本来约的周五理发 改成周四吧", dt.date(2026, 11, 26), None),
        ("原来想约明天的 明天要去医院 改到后天下午剪头吧", dt.date(2026, 11, 27), "pm"),
        # regional parts of day
        ("明儿一大早想去剪个头", dt.date(2026, 11, 26), "am"),
        ("电磁炉不加热 这礼拜天傍黑能送过去修吗", dt.date(2026, 11, 29), "pm"),
        ("屋里电风扇咔咔响 礼拜六上昼送克修要得不", dt.date(2026, 11, 28), "am"),  # Hunan and Hubei
        ("想约个剪头 後日上晝得唔得", dt.date(2026, 11, 27), "am"),  # Cantonese
        ("礼拜天早浪想去剪头发", dt.date(2026, 11, 29), "am"),  # Wu
        # a message that corrects itself means what comes after the correction (session 11)
        ("想约周五的磨刀 上午 哦不对 下午", dt.date(2026, 11, 27), "pm"),
        ("约个理发 明天。。说错了 后天早上", dt.date(2026, 11, 27), "am"),
        ("修电饭煲 周四下午吧 算了周四有事 那就下周一上午", dt.date(2026, 11, 30), "am"),
        ("律师咨询 这周六 不是 下周六下午", dt.date(2026, 12, 5), "pm"),
        ("周六还是周日都行 想约个理发", dt.date(2026, 11, 29), None),  # two offered, no correction
        # a clock time says the part of day when no word does
        ("明天15:00想修下微波炉", dt.date(2026, 11, 26), "pm"),
        ("周四9点前到 约个义诊", dt.date(2026, 11, 26), "am"),
        ("5号14点约律师", dt.date(2026, 12, 5), "pm"),
        # the day in the service's clause, not one given as a reason in another (session 12)
        ("今天下午还能理发吗 明天要去喝喜酒", dt.date(2026, 11, 25), "pm"),
        ("周五要出门 周四上午想磨刀", dt.date(2026, 11, 26), "am"),
        ("俺想问问律师 下周四黑夜有没有", dt.date(2026, 12, 3), "pm"),  # Jin 黑夜, the evening
        ("𠊎阿姆个热水壶漏电 后日朝晨帮佢修下好冇", dt.date(2026, 11, 27), "am"),  # Hakka
        ("帮我记一个磨刀 5栋302 后个上半天", dt.date(2026, 11, 27), "am"),  # Jianghuai 后个
        ("最后个人走的时候帮忙锁门 周五想磨刀", dt.date(2026, 11, 27), None),  # 最后个 is no day
        ("磨刀 礼拜六早起 两把菜刀一把剪", dt.date(2026, 11, 28), "am"),  # Chaoshan 早起, the morning
        ("明天要早起 想约个理发", dt.date(2026, 11, 26), None),  # Mandarin 早起, getting up early
        ("电磁炉一开就嘀嘀叫 今日暝昏有人会来修无", dt.date(2026, 11, 25), "pm"),  # Chaoshan 暝昏
        ("热水壶坏了 周留下午能拿过去修吗", dt.date(2026, 11, 28), "pm"),  # keyboard slip 周留
        ("想约律师 后添尚午", dt.date(2026, 11, 27), "am"),
        ("周五晚8点能不能磨刀", dt.date(2026, 11, 27), "pm"),
        ("明天十点半去剪头", dt.date(2026, 11, 26), "am"),
        ("明天中午12点理发", dt.date(2026, 11, 26), None),  # noon: the bot asks
        # Wu 上半日 / 下半日, written 午前 / 明晨; a weekend narrowed to one of its days (session 13)
        ("明朝上半日剃头还有位置伐", dt.date(2026, 11, 26), "am"),
        ("推个头 礼拜五下半日", dt.date(2026, 11, 27), "pm"),
        ("拟约义诊 十二月一日午前", dt.date(2026, 12, 1), "am"),
        ("欲于明晨前往义诊测量血压 敬请登记", dt.date(2026, 11, 26), "am"),
        ("闻律师周末坐班 欲问赡养费之事 周日下午可约否", dt.date(2026, 11, 29), "pm"),
        ("这周末没空 下周六上午想理发", dt.date(2026, 12, 5), "am"),  # another weekend: not narrowed
        ("明旦早起理发还有位无", dt.date(2026, 11, 26), "am"),  # Putian Min
        ("后日下晡磨刀 我两支菜刀蜀支剪刀", dt.date(2026, 11, 27), "pm"),
        ("拜四那天有没有剪头发 帮他报个名 lah", dt.date(2026, 11, 26), None),  # Malaysian Chinese
        ("飞发 tmr afternoon 可以吗", dt.date(2026, 11, 26), "pm"),
        ("主麻那天后晌 理发师傅能不能上门给剪一下", dt.date(2026, 11, 27), "pm"),  # Hui: Friday
        ("想约法律諮詢 後日夜晚有冇", dt.date(2026, 11, 27), "pm"),  # Cantonese 夜晚, the evening
        ("下班后能理发吗 明天 大概6点半到", dt.date(2026, 11, 26), "pm"),  # after work: the evening
    ],
)
def test_booking_day_and_part(classifier: Classifier, text: str, date: dt.date, part: str | None) -> None:
    got = classifier.understand(text, NOW)
    assert got.is_booking, got.ranked
    assert (got.date, got.part) == (date, part)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("老公被人骗了三万块 说是什么投资理财 这种找谁", "report:safety"),
        ("我妈买保健品被骗了好几千 社区管不管", "report:safety"),
        ("有人冒充社区工作人员上门收钱 大家注意", "report:safety"),
        # General advice passed on asks nothing of the community (LABELS.md: chit-chat), as the
        # anti-fraud tips of nlp/corpus/forwarded_notices.jsonl are labelled; a fraud here is a report.
        ("刷单的都是骗子 大家别信", "chitchat"),
        ("哈哈 又接到诈骗电话 我逗了他十分钟", "chitchat"),
        ("刚才接到个诈骗电话 说我中奖了 我直接挂了 哈哈现在骗子也太不专业了", "chitchat"),
        # Fire risk outranks litter; something thrown down from a height is a danger.
        ("有人在小区里乱扔烟头 草都烧黑了一片", "report:safety"),
        ("楼道里到处是烟头", "report:sanitation"),
        ("楼上往下扔垃圾 差点砸到人", "report:safety"),
        # Broken again after a repair: a fault of now.
        ("上次修的电风扇又不转了 能再修不", "booking:appliance_repair"),
        # A failed try is no service had.
        ("上回的理发没约上 下周六上午还有吗", "booking:haircut"),
    ],
)
def test_fraud_fire_and_repeat_faults(classifier: Classifier, text: str, label: str) -> None:
    got = classifier.understand(text, NOW)
    assert got.label == label, got.ranked


# A known misreading from session 6 (the model read it as a safety report, 0.72) until the third
# round of held-out sets was learned from (nlp/corpus/README.md).
@pytest.fixture(scope="module")
def rules_alone() -> Classifier:
    return Classifier.from_config(learned=False)


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # Another place's trouble is news, as what was heard of is (cue set `elsewhere`)...
        ("老家房子屋顶又漏了 我弟说下雨天盆都摆满了", "chitchat"),
        ("我们酒店这电梯坏了一下午 出来玩还得爬楼", "chitchat"),
        ("公司楼下天天有人乱停车 今天又把我堵里面了", "chitchat"),
        # ...unless it is this estate's (a numbered place) or something is asked of the community.
        ("我在公司 家里摄像头看到3号楼楼道灯坏了", "report:repair"),
        ("在外面出差 听我妈说我们楼道灯坏了 麻烦物业派人修一下", "report:repair"),
        ("老家带回来的电饭煲坏了 能约师傅修一下吗", "booking:appliance_repair"),
    ],
)
def test_trouble_somewhere_else_is_news_to_the_rules(rules_alone: Classifier, text: str, label: str) -> None:
    assert rules_alone.understand(text, NOW).label == label


def test_a_general_lament_about_fraud_is_chitchat(classifier: Classifier) -> None:
    assert classifier.understand("现在骗子太多了", NOW).label == "chitchat"


def test_now_is_read_in_shanghai(classifier: Classifier) -> None:
    late_utc = dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.UTC)  # Thursday 04:00 in Shanghai
    assert classifier.understand("明天上午理发", late_utc).date == dt.date(2026, 11, 27)
    naive = dt.datetime(2026, 11, 25, 10, 0)  # noqa: DTZ001 - a naive now is taken as Shanghai time
    assert classifier.understand("明天上午理发", naive).date == dt.date(2026, 11, 26)


def test_module_level_understand() -> None:
    got = understand("剪头 今天下午还能剪不", NOW)
    assert isinstance(got, Understanding)
    assert (got.label, got.date, got.part) == ("booking:haircut", dt.date(2026, 11, 25), "pm")


def test_labels_are_those_of_the_label_set(classifier: Classifier) -> None:
    assert set(classifier.rules.labels) <= set(LABELS)
    assert "chitchat" not in classifier.rules.labels


def test_a_classifier_over_another_rules_file(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8").replace("      理发: {weight: 3, token: true}\n", "")
    rules.write_text(text, encoding="utf-8")
    own = Classifier.from_config(rules, warm=False, learned=False)  # the rules alone read these
    assert own.understand("理发", NOW).label == "chitchat"
    assert own.understand("剪头发", NOW).label == "booking:haircut"


@pytest.mark.parametrize(
    "text",
    ["", "\x00", "\ud800", "\udfff理发", "a" * 10_000, "理发" * 5_000, "[玫瑰]" * 2_000, "@" * 100,
     "「」\n- - - -\n", "\n" * 1000, "１２月３号下午理发", "\u202e\u200b", "ﷺ" * 50, "𠀀𠀁" * 100],
)
def test_odd_input_never_raises(classifier: Classifier, text: str) -> None:
    got = classifier.understand(text, NOW)
    assert got.label in LABELS
    assert 0 <= got.confidence <= 1


def test_not_a_string_is_chitchat(classifier: Classifier) -> None:
    assert classifier.understand(None, NOW).label == "chitchat"  # type: ignore[arg-type]
    assert classifier.understand(b"\xe7\x90\x86\xe5\x8f\x91", NOW).label == "chitchat"  # type: ignore[arg-type]


_ALPHABET = st.one_of(
    st.characters(),  # anything, lone surrogates and controls included
    st.sampled_from(list("理发磨刀义诊电梯坏了修吗不没周六明天下午号楼「」：-[]@ \n0123456789一二三十")),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=_ALPHABET, max_size=200))
def test_random_text_never_raises(classifier: Classifier, text: str) -> None:
    got = classifier.understand(text, NOW)
    assert got.label in LABELS and 0 <= got.confidence <= 1
    if got.date is not None:
        assert got.date >= NOW.date()


def test_own_cases_beyond_the_dev_set(classifier: Classifier) -> None:
    """Messages written (and labelled by LABELS.md) while building the rules, to check that they
    reach beyond the dev set's wording. Not the official set: a floor, not exact answers."""
    rows = [json.loads(line) for line in OWN_CASES.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = evaluate(rows, lambda text: classifier.understand(text, NOW))
    wrong = {f"{gold}->{got}": ids for (gold, got), ids in report.confusions.items()}
    print(f"own cases: accuracy {report.accuracy}, dates {report.date_accuracy}, wrong {wrong}")
    assert report.accuracy.share >= 0.97, wrong
    assert report.chit_as_request.share <= 0.03, wrong
    assert report.date_accuracy.share >= 0.97, report.date_errors


# Third round: a request to the community in words no keyword knows still gets a kind (the
# `_request` detector with the labels' `hints`), while chit-chat about the same places stays chit-chat.
@pytest.mark.parametrize(("text", "label"), [
    ("3号楼地下室的门被风刮得咣当咣当 锁扣都掉了 谁来看看", "report:repair"),
    ("楼道里好几袋不知道谁的烂东西 都招虫了", "report:sanitation"),
    ("电梯里关着个人 喊半天了 快来人", "report:repair"),
    ("单元门口那辆三轮天天横在那 进出都费劲 能不能管管", "report:parking"),
    ("这个扶助金今年还发不发", "inquiry:policy"),
])
def test_requests_in_unknown_words(classifier: Classifier, text: str, label: str) -> None:
    assert classifier.understand(text, NOW).label == label


@pytest.mark.parametrize("text", [
    "哪位邻居知道小区门口哪有修鞋的",
    "谁家有梯子 借用一下 楼道灯泡我自己换",
    "小区门口那家面馆今天开张了 人好多",
    "楼道灯昨天修好了 谢谢物业",
    "有没有一起去小区广场跳舞的",
])
def test_not_requests_to_the_community(classifier: Classifier, text: str) -> None:
    assert classifier.understand(text, NOW).label == "chitchat"


# Sixth round: cue logic for thanks, answers under a quote, and "在不在" questions.
@pytest.mark.parametrize(("text", "label"), [
    ("感謝社區志願者 上門給我媽理髮 老人家開心得很", "chitchat"),
    ("各位邻居 我家装修最后一周了 给大家添麻烦了 多担待", "chitchat"),
    ("「老孙：菜刀钝了找谁磨」\n- - - - - - - - - - - - - - -\n周六社区有磨刀的 我上回磨过 挺快的", "chitchat"),
    ("「王姐：周六还有理发吗」\n- - - - - - - - - - - - - - -\n那我也约一个 周六上午", "booking:haircut"),
    ("老头子这两天心口发闷 义诊的大夫明天上午在不在 想带他去瞅瞅", "booking:free_clinic"),
    ("谢谢 想给我妈约个理发 周六上午", "booking:haircut"),
])
def test_round6_cue_logic(classifier: Classifier, text: str, label: str) -> None:
    assert classifier.understand(text, NOW).label == label


@pytest.mark.parametrize("text", ["有人在吗", "在么在么", "怎么还没人回啊？？"])
def test_a_call_for_attention_alone_is_chitchat_never_kept_for_staff(classifier: Classifier, text: str) -> None:
    got = classifier.understand(text, NOW)
    assert got.label == "chitchat" and got.confident and not got.may_be_request, got.reason
