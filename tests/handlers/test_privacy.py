"""Masking of phones, ID numbers, rooms and names: the table of wordings residents use, and what must stay."""

from __future__ import annotations

import unicodedata

import pytest

from handlers.privacy import is_id_number, mask_name, mask_text, masked_excerpt

_CN = str.maketrans("零〇一二三四五六七八九幺两", "0012345678912")


def digits_of(text: str) -> str:
    """The digits a reader can still see, whatever they were written with (一三九, １３９, 139.1234)."""
    folded = unicodedata.normalize("NFKC", text).translate(_CN)
    return "".join(ch for ch in folded if ch.isdigit() or ch in "Xx")


# (what a resident wrote, numbers that must not survive, text that must survive as written)
MASKED: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # mobiles: country code, separators
    ("电话+8613712345678 快来", ("13712345678",), ("电话", "快来")),
    ("8613712345678", ("13712345678",), ()),
    ("回电139.1234.5678", ("13912345678",), ("回电",)),
    ("139 1234 5678", ("13912345678",), ()),
    ("139-1234-5678", ("13912345678",), ()),
    ("139、1234、5678", ("13912345678",), ()),
    ("+86 139 1234 5678", ("13912345678",), ("+86",)),
    ("0086-139-1234-5678", ("13912345678",), ()),
    ("（+86）13912345678", ("13912345678",), ()),
    ("我电话13900000000 谢谢", ("13900000000",), ("我电话", "谢谢")),
    ("两个号码13800000101和13800000102", ("13800000101", "13800000102"), ("两个号码", "和")),
    ("电话139123456780", ("139123456780",), ("电话",)),  # a digit too many is still her number
    # mobiles in Chinese numerals (幺 for 1, 两 for 2) and full-width digits
    ("电话一三九一二三四五六七八", ("13912345678",), ("电话",)),
    ("打幺三九幺二三四五六七八找我", ("13912345678",), ("找我",)),
    ("手机一八两 一二三四 五六七八", ("18212345678",), ("手机",)),
    ("手机号一三八零零零零零一零一", ("13800000101",), ("手机号",)),
    ("１３９１２３４５６７８", ("13912345678",), ()),
    # landlines
    ("座机010-12345678", ("12345678",), ("座机010-",)),
    ("(0571)87654321", ("87654321",), ()),
    ("0755 8765 4321", ("87654321",), ()),
    ("+86 10 12345678", ("12345678",), ()),
    ("家里电话87654321", ("87654321",), ("家里电话",)),
    # ID numbers: check digit, X, spaced or dashed, 15-digit old cards
    ("身份证110101 19900307 7777", ("110101199003077777", "19900307"), ("身份证",)),
    ("身份证号110101199003077774", ("110101199003077774", "19900307"), ("身份证号",)),
    ("11010519491231002X", ("11010519491231002X", "19491231"), ()),
    ("11010519491231002x", ("11010519491231002X", "19491231"), ()),
    ("110101-19900307-7774", ("110101199003077774",), ()),
    ("身份证 4301 0219 8506 1200 13", ("430102198506120013",), ("身份证",)),
    ("老身份证110101900307777", ("110101900307777", "900307"), ("老身份证",)),
    ("编号99999900000000123X", ("99999900000000123X",), ()),  # no region or date, but the check digit holds
    # rooms
    ("住3号楼2单元501号", ("501",), ("3号楼2单元",)),
    ("3号楼2单元501漏水", ("501",), ("3号楼2单元", "漏水")),
    ("12号楼1单元602 天花板", ("602",), ("12号楼1单元",)),
    ("住1201室", ("1201",), ("室",)),
    ("3-501漏水了", ("501",), ("漏水了",)),
    ("3栋501门口", ("501",), ("3栋", "门口")),
    ("3号501", ("501",), ("3号",)),
    ("3-2-501", ("501",), ()),
    ("我住501 楼上漏水", ("501",), ("我住", "楼上漏水")),
    ("501的住户太吵", ("501",), ("的住户太吵",)),
    ("A座1201", ("1201",), ("A座",)),
    ("我家在五零一", ("501",), ("我家在",)),
    # everything at once: the attack run's urgent alert
    ("11号楼3单元602燃气味 电话+8613712345678 身份证110101 19900307 7777 住3号楼2单元501号",
     ("602", "13712345678", "110101199003077777", "501"), ("11号楼3单元", "燃气味", "3号楼2单元")),
]

# Numbers that are not personal: dates, times, booking codes, buildings and units, money, request numbers.
KEPT: list[str] = [
    "12月3日 14:00 理发",
    "2026-12-03 上午",
    "2026.12.03",
    "12月13日14:00-16:00 10人",
    "2026年12月3号",
    "预约码 K7M2P9",
    "预约码 345678",
    "3号楼2单元楼道灯坏了",
    "18楼走廊",
    "花了350元",
    "修了1380元",
    "¥13800",
    "房租2500",
    "#12 已解决 换了水阀",
    "#1201 处理中",
    "订单号 213800000101999",
    "快递单号 773012345678901",
    "流水号 999999000000001234",
    "快打120",
    "第1201期",
]


@pytest.mark.parametrize(("text", "gone", "kept"), MASKED, ids=[row[0] for row in MASKED])
def test_personal_numbers_are_masked(text: str, gone: tuple[str, ...], kept: tuple[str, ...]) -> None:
    masked = mask_text(text)
    assert "*" in masked
    for secret in gone:
        assert secret.upper() not in digits_of(masked).upper(), masked
    for part in kept:
        assert part in masked, masked


@pytest.mark.parametrize("text", KEPT)
def test_numbers_that_are_not_personal_survive(text: str) -> None:
    assert mask_text(text) == text


def test_the_table_is_big_enough() -> None:
    assert len(MASKED) + len(KEPT) >= 40 and len(MASKED) >= 40


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我电话13900000000 谢谢", "我电话139****0000 谢谢"),  # head and last four stay: staff tell them apart
        ("139.1234.5678", "139.****.5678"),
        ("电话+8613712345678", "电话+86137****5678"),
        ("座机010-12345678", "座机010-****5678"),
        ("身份证110101199003077774", "身份证110***********7774"),
        ("110101 19900307 7777", "110*** ******** 7777"),
        ("3号楼2单元501漏水", "3号楼2单元***漏水"),
    ],
)
def test_what_masked_text_looks_like(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("110101199003077774", True),  # check digit holds
        ("110101199003077777", True),  # mistyped check digit, but a real region and birth date
        ("99999900000000123X", True),  # check digit holds
        ("999999000000001234", False),  # neither: a serial number
        ("110101900307777", True),  # 15 digits: Dongcheng district, 1990-03-07
        ("773012345678901", False),  # 15 digits, no such county
        ("1101011990030777X7", False),
    ],
)
def test_is_id_number(raw: str, expected: bool) -> None:
    assert is_id_number(raw) is expected


def test_excerpts_are_masked_before_they_are_cut() -> None:
    text = "电话13912345678 身份证110101 19900307 7777 住3号楼2单元501号 燃气味很大"
    for limit in range(8, len(text) + 2):
        cut = masked_excerpt(text, limit)
        assert len(cut) <= limit
        seen = digits_of(cut)
        # no head of a number is left: the digits a cut shows are only those masking keeps anyway
        assert "1391234" not in seen and "1101011" not in seen and "501" not in seen, cut
    assert masked_excerpt(text, 14) == "电话139****5678…"


@pytest.mark.parametrize(
    ("name", "expected"),
    [("张秀兰", "张**"), ("李强", "李*"), ("欧阳娜娜", "欧***"), ("王", "王"), ("", ""), (" 陈建国 ", "陈**")],
)
def test_mask_name(name: str, expected: str) -> None:
    assert mask_name(name) == expected
