"""Masking of phones, ID numbers, rooms and names in what neighbours can read."""

from __future__ import annotations

import pytest

from handlers.privacy import mask_id_card, mask_name, mask_phone, mask_room, mask_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我电话13900000000 谢谢", "我电话139****0000 谢谢"),
        ("138-0000-0101", "138****0101"),
        ("138 0000 0101", "138****0101"),
        ("社区要不要查一下这个号 17000000000", "社区要不要查一下这个号 170****0000"),
        ("座机010-12345678", "座机010-****5678"),
        ("订单号 213800000101999", "订单号 213800000101999"),  # inside a longer number: not a phone
        ("12345", "12345"),
        ("两个号码13800000101和13800000102", "两个号码138****0101和138****0102"),
    ],
)
def test_mask_phone(text: str, expected: str) -> None:
    assert mask_phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("身份证110101199001011234", "身份证110***********1234"),
        ("11010119900101123X", "110***********123X"),
        ("17000000000", "17000000000"),
    ],
)
def test_mask_id_card(text: str, expected: str) -> None:
    assert mask_id_card(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3号楼2单元501漏水", "3号楼2单元***漏水"),
        ("12号楼1单元602 天花板", "12号楼1单元*** 天花板"),
        ("3-2-501", "3-2-***"),
        ("住1201室", "住****室"),
        ("3号楼2单元楼道灯坏了", "3号楼2单元楼道灯坏了"),
        ("#12 已解决", "#12 已解决"),
    ],
)
def test_mask_room(text: str, expected: str) -> None:
    assert mask_room(text) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("张秀兰", "张**"), ("李强", "李*"), ("欧阳娜娜", "欧***"), ("王", "王"), ("", ""), (" 陈建国 ", "陈**")],
)
def test_mask_name(name: str, expected: str) -> None:
    assert mask_name(name) == expected


def test_mask_text_masks_everything_a_neighbour_should_not_read() -> None:
    text = "5号楼602的老人 我电话13900000000 身份证110101199001011234"
    masked = mask_text(text)
    assert masked == "5号楼***的老人 我电话139****0000 身份证110***********1234"
    for secret in ("602", "13900000000", "110101199001011234"):
        assert secret not in masked
