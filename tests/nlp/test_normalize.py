"""normalize(): the one form of a message that every rule reads."""

from __future__ import annotations

import re

import pytest

from nlp.corpus_files import corpus_files, read_rows
from nlp.normalize import (
    Replacements,
    canonical,
    normalize,
    normalize_parts,
    only_pings,
    single_spaced,
    split_quote,
    strip_controls,
    tables_file,
)

QUOTE = "「李姐：今天义诊人多不多啊」\n- - - - - - - - - - - - - - -\n老多了 我排了快一个钟头 你下午再去吧"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Traditional -> Simplified
        ("我媽血壓最近不太穩 想幫她預約明天上午的義診", "我妈血压最近不太稳 想帮她预约明天上午的义诊"),
        ("下週六可以幫我家老頭子預約剪頭髮嗎", "下周六可以帮我家老头子预约剪头发吗"),
        ("樓道裡著火了", "楼道里着火了"),  # 著 as the particle 着
        ("著名的律师", "著名的律师"),  # ... but not in 著名
        # full-width -> half-width
        ("５号楼１单元", "5号楼1单元"),
        ("还有号没？给我留一个！", "还有号没?给我留一个!"),
        ("ＯＫ", "ok"),
        # stickers and emoji
        ("大家早上好[太阳][太阳]今天降温了", "大家早上好 今天降温了"),
        ("[玫瑰][玫瑰][玫瑰]", ""),
        ("收到👌", "收到"),
        ("👍🏻👍🏻", ""),
        ("谢谢[抱拳] 好的[OK]", "谢谢 好的"),
        ("［强］好", "好"),
        # mentions
        ("@社区小助手 周六上午理发", "周六上午理发"),
        ("@社区小助手周六上午理发", "周六上午理发"),  # the bot's name even without a space
        ("@王姐\u2005明天早上一起去菜场不", "明天早上一起去菜场不"),  # WeChat puts U+2005 after a name
        ("@所有人 本群为社区服务群", "@所有人 本群为社区服务群"),  # an announcement mark, kept
        # whitespace and pauses
        ("  电梯   坏了\n\n赶紧修 ", "电梯 坏了 赶紧修"),
        ("电梯坏了。赶紧修、谢谢", "电梯坏了 赶紧修 谢谢"),
        # quoted replies: only the sender's own words
        (QUOTE, "老多了 我排了快一个钟头 你下午再去吧"),
        ("", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_quote_is_kept_apart() -> None:
    quote, own = normalize_parts(QUOTE)
    assert quote == "今天义诊人多不多啊"
    assert own == "老多了 我排了快一个钟头 你下午再去吧"


def test_quote_after_the_separator_is_dropped_too() -> None:
    quote, own = split_quote("那我也约一个\n- - - - - - - -\n「张阿姨：周六理发几点开始啊」")
    assert quote.startswith("「张阿姨")
    assert own.strip() == "那我也约一个"


def test_dashes_without_a_quote_are_text() -> None:
    assert split_quote("电话 138-0000-0000\n- - - -\n谢谢")[0] == ""


@pytest.mark.parametrize("raw", ["\x00理\x07发\u200b", "理\ud800发", "\u202e理发\ufeff"])
def test_controls_and_lone_surrogates_go(raw: str) -> None:
    assert normalize(raw) == "理发"
    assert "\n" in strip_controls("a\nb")


def test_normalize_is_idempotent() -> None:
    for raw in (QUOTE, "下週六 理髮[強]", "５号楼１单元"):
        once = normalize(raw)
        assert normalize(once) == once


def test_canonical_keeps_marks_that_normalize_strips() -> None:
    assert canonical("預約") == "预约"
    assert canonical("？") == "?"


# Real input (issue 14): spaced typing, repeated marks, Cantonese, voice-input fillers and slips.
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # characters typed one at a time with spaces between them are joined ...
        ("不 去 了 取 消", "不去了取消"),
        ("我 想 约 义 诊 ！！！明天 行 吗", "我想约义诊 !明天 行吗"),
        ("电 梯 坏 了", "电梯坏了"),
        ("电梯 坏了 快 来 人", "电梯坏了快来人"),
        ("[玫瑰]我 要 理 发[玫瑰]", "我要理发"),
        # ... ordinary pauses between phrases are not
        ("电梯坏了 赶紧修", "电梯坏了 赶紧修"),
        ("好的 谢谢", "好的 谢谢"),
        ("3号楼 2单元 灯 坏了", "3号楼 2单元 灯 坏了"),
        # repeated marks: one says the same
        ("理发？？？", "理发?"),
        ("好的！！！！谢谢～～～", "好的!谢谢~"),
        ("电梯又坏了。。。", "电梯又坏了"),
        # Cantonese -> Mandarin (Traditional or Simplified as typed)
        ("醫保點樣交啊", "医保怎样交啊"),
        ("部𨋢壞咗冇人理", "部电梯坏了没有人理"),
        ("聽日下晝得唔得", "明天下午行不行"),
        ("佢哋幾時嚟整返好", "他们什么时候来修好"),
        ("呢度啲垃圾冇人收", "这里些垃圾没有人收"),
        ("我哋係唔係要交錢", "我们是不是要交钱"),
        # ... never inside Mandarin words that share a character
        ("沒關係", "没关系"),
        ("劳动仲裁怎么申请", "劳动仲裁怎么申请"),
        ("整个楼道都黑了", "整个楼道都黑了"),
        ("调整下时间", "调整下时间"),
        ("你呢", "你呢"),
        # Cantonese words for what residents report and book (session 6), Traditional or Simplified
        ("隔籬成晚嘈交", "隔壁整晚吵架"),
        ("楼下渠塞咗好臭", "楼下下水道堵了好臭"),
        ("停咗電成座都係咁", "停电了成座都是这么"),
        ("我阿媽喺梯間仆親", "我阿妈在楼道摔倒了"),
        ("收到電話話我個仔俾人捉咗要我過數 係咪騙案", "收到电话话我个仔被人捉了要我转账 是不是诈骗"),
        ("醫療券點用", "医疗补贴点用"),
        ("想度血壓 下晝得閒", "想量血压 下午有空"),
        ("上晝得唔得", "上午行不行"),
        ("明朝上昼理发", "明天上午理发"),  # Hunan, Hubei and Wu
        ("礼拜六早浪磨刀覅了", "礼拜六早上磨刀不要了"),  # Wu (session 11)
        ("律师咨询退脱伐", "律师咨询退掉伐"),
        ("名天早商约个理发 周流也行", "明天早上约个理发 周六也行"),  # nine-key slips (session 11)
        ("后田能修吗", "后天能修吗"),
        ("今天社区做甚了 下周四黑夜有甚活动", "今天社区做什么了 下周四晚上有什么活动"),  # Jin (session 12)
        ("甚至连楼道灯都不亮", "甚至连楼道灯都不亮"),  # Mandarin 甚至 left as it is
        ("𠊎爱剪头发 天光日朝晨有冇位", "我爱剪头发 明天早上有没有位"),  # Hakka (session 12)
        ("今晡日下昼还有位冇 礼拜日暗晡也行", "今天下午还有位没有 礼拜日晚上也行"),
        ("今日社区搞嘛个", "今日社区搞什么"),
        ("明添下午 周留 星期留 礼拜留尚午", "明天下午 周六 星期六 礼拜六上午"),  # keyboard slips (session 12)
        ("网上无法预约 试了一下无反应", "网上无法预约 试了一下无反应"),  # 上无/下无 left as they are
        ("礼拜六早界 今日暝昏 做乜个", "礼拜六早上 今日晚上 做什么"),  # Wenzhou, Chaoshan
        ("今朝下半日 礼拜天上半日", "今天下午 礼拜天上午"),  # Wu of Ningbo and Hangzhou (session 13)
        ("今旦下晡 明旦早起 后旦暝晡", "今天下午 明天早起 后天晚上"),  # Fuzhou and Putian Min
        ("拜四那天 拜五早上", "礼拜四那天 礼拜五早上"),  # Minnan, Malaysia, Singapore
        ("主麻那天后晌 撇申以后", "周五那天后晌 下午以后"),  # Hui residents
        ("飞发 tmr afternoon", "理发 明天 下午"),
        ("聽早朝頭早想去剪頭髮", "明天早上想去剪头发"),  # Taishanese
        ("停水个问题搞掂嗲", "停水个问题搞定嗲"),
        ("听早上的广播", "听早上的广播"),  # Mandarin, as it is
        ("早上五点下五楼", "早上五点下五楼"),  # right as they are
        ("律师唔使咯", "律师不用咯"),  # Cantonese
        ("瓦斯味好重", "燃气味好重"),  # Taiwan Mandarin
        # ... and the Mandarin words that share a character stay
        ("渠道", "渠道"),
        ("路上塞车", "路上塞车"),
        ("嘈杂得很", "嘈杂得很"),
        ("今天温度低", "今天温度低"),
        ("出太阳了晒被子", "出太阳了晒被子"),
        ("楼梯间的灯坏了", "楼梯间的灯坏了"),
        ("今朝社区有啥活动伐", "今天社区有啥活动伐"),  # Wu 今朝 is today
        # English words mixed in, whole words only
        ("部lift壞咗", "部电梯坏了"),
        ("想book個slot剪頭髮", "想预约个名额剪头发"),
        ("Lift又壞咗 幫我cancel咗佢", "电梯又坏了 帮我取消了他"),
        ("shoplifting的新闻", "shoplifting的新闻"),
        ("booking到了 thx", "预约到了 谢谢"),
        ("我要cut hair 哪一天有", "我要理发 哪一天有"),
        ("我家的TV坏了 tomorrow afternoon可以吗", "我家的电视坏了 明天 下午可以吗"),
        ("pm我一下", "pm我一下"),  # also "private message": not a part of day
        # ... and whole sentences in English (session 11); pinyin passes through untouched
        ("Saw a rat near the bins", "saw a 老鼠 near the 垃圾桶"),
        ("Can I sign up for the barber next Tuesday morning?", "can i 报名 for the 理发 下 周二 上午?"),
        ("The hallway light is not working", "the 楼道 灯 is 坏了"),
        ("mingtian xiawu lifa", "明天下午理发"),
        ("ok", "ok"),
        # voice-input fillers and slips
        ("嗯嗯 我家楼道灯以经坏了", "我家楼道灯已经坏了"),
        ("那个号退了吧", "那个号退了吧"),  # 那个 that points at something stays
        ("到现在也没人修", "到现在也没人修"),  # 现在 is right: no 再 there
        ("就是说电梯又坏了 然后一直没人修", "电梯又坏了 一直没人修"),
        ("能预越维修不", "能预约维修不"),
        ("下回在也不去了", "下回再也不去了"),
        ("他在说话", "他在说话"),  # 在 where it is right stays
    ],
)
def test_real_input(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_no_keyword_of_the_rules_is_changed_by_the_tables() -> None:
    """The tables rewrite messages; a rule word they rewrote could never match again."""
    from nlp.normalize import tables
    from nlp.rules import load_rules

    t = tables()
    changed = [term for term in load_rules().entries if t.tidy(t.cantonese(term)) != term]
    assert changed == []


def test_a_bad_tables_file_is_refused_with_its_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from nlp.config_files import NlpConfigError
    from nlp.normalize import Tables

    path = tmp_path / "normalize.yaml"
    path.write_text("version: 1\ncantonese:\n  冇: 没有\nslips: [not, a, mapping]\n", encoding="utf-8")
    with pytest.raises(NlpConfigError, match=r"normalize.yaml:4: slips"):
        Tables.load(path)


def test_long_messages_are_kept_past_what_the_rules_read() -> None:
    from nlp.normalize import MAX_CHARS, READ_CHARS

    text = "今天" * 600 + "楼道里一股燃气味"
    assert READ_CHARS < len(text) < MAX_CHARS
    assert normalize(text).endswith("燃气味")
    assert len(normalize("好" * (MAX_CHARS + 500))) == MAX_CHARS


# Work chats: a message @-mentioning someone who can act (物业, 网格员, the bot) and neighbours is
# read for the words said to the one who can act (session 8).
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@物业 小区儿童滑梯扶手断了一根 @张姐 你家孩子上午没事吧", "小区儿童滑梯扶手断了一根"),
        ("@李姐 生日快乐🎂 @物业客服 顺便说一下 楼上漏水漏到我家卫生间了", "顺便说一下 楼上漏水漏到我家卫生间了"),
        ("@物业 单元门门禁刷不开了 @所有人 谁家快递放门口了 别丢了", "单元门门禁刷不开了"),
        ("大家好 @网格员小王 3号楼楼道灯坏了 @老周 周末钓鱼去不", "大家好 3号楼楼道灯坏了"),
        # a run of mentions shares the words after it; mentions all of one kind leave the message whole
        ("@张姐 @物业 楼道灯坏了", "楼道灯坏了"),
        ("@张姐 你看 @王哥 好的", "你看 好的"),
        ("@物业 @社区 电梯又停了", "电梯又停了"),
        ("@物業管理處 部lift壞咗 @陳生 食咗飯未", "部电梯坏了"),  # a Traditional name acts too
        # nothing said to the one who can act: the whole message
        ("@张姐 电梯坏了你知道吗 @物业", "电梯坏了你知道吗"),
    ],
)
def test_words_said_to_those_who_can_act(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(("text", "only"), [
    ("在么在么", True), ("有人吗??", True), ("怎么还没人回啊", True), ("人呢 人呢", True),
    ("有人吗 楼道里有燃气味", False), ("在吗 我想约个理发", False), ("", False), ("还在吗", True),
])
def test_calls_for_attention_alone(text: str, only: bool) -> None:
    assert only_pings(text) is only



@pytest.mark.parametrize(
    ("table", "text", "expected"),
    [
        ({"唔": "不", "唔该": "谢谢"}, "唔该晒 我唔识", "谢谢晒 我不识"),  # the longest word found at a place
        ({"ab": "X", "bc": "Y"}, "abc", "Xc"),  # left to right, none overlapping
        ({"a": "b", "b": "c"}, "ab", "bc"),  # each replaced once, never what a replacement wrote
        ({"嗯": ""}, "嗯嗯 好的嗯", " 好的"),
        ({}, "不变", "不变"),
        ({"冇": "没有"}, "", ""),
    ],
)
def test_replacements(table: dict[str, str], text: str, expected: str) -> None:
    assert Replacements(table).sub(text) == expected


def test_the_tables_replace_as_the_alternation_of_their_words_did() -> None:
    # What Replacements stands in for: one regex of the words, longest first, tried at every character.
    f = tables_file()
    texts = [row["text"] for file in corpus_files() for row in read_rows(file)]
    for table in (f.cantonese, {**f.slips, **f.regional}):
        pattern = re.compile("|".join(map(re.escape, sorted(table, key=len, reverse=True))))
        replacements = Replacements(table)
        for text in texts:
            assert replacements.sub(text) == pattern.sub(lambda m, words=table: words[m.group(0)], text), text


@pytest.mark.parametrize(
    ("text", "expected"),
    [("  电梯 \u3000坏了\n\t赶紧修 ", "电梯 坏了 赶紧修"), ("", ""), ("   ", ""), ("不变", "不变"),
     ("a\u2005b", "a b")],
)
def test_single_spaced(text: str, expected: str) -> None:
    assert single_spaced(text) == expected
