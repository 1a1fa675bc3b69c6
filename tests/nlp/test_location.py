"""Building / unit / room extraction from what residents write."""

from __future__ import annotations

import pytest

from nlp.location import Location, chinese_number, extract_location, room_spans

CASES = [
    ("3号楼2单元501", Location(3, 2, "501")),
    ("3号楼2单元楼道灯以经坏了好几天了", Location(3, 2, None)),
    ("三号楼的路灯不亮", Location(3, None, None)),
    ("十二号楼1单元", Location(12, 1, None)),
    ("二十一号楼门口", Location(21, None, None)),
    ("3-2-501 家里漏水", Location(3, 2, "501")),
    ("3－2－501", Location(3, 2, "501")),
    ("5栋楼道很脏", Location(5, None, None)),
    ("8幢门口", Location(8, None, None)),
    ("3#楼电梯坏了", Location(3, None, None)),
    ("12号楼1单元602 天花板都发霉了", Location(12, 1, "602")),
    ("5号楼602的老人家好几天没下楼了", Location(5, None, "602")),
    ("５号楼１单元 赶紧挪挪", Location(5, 1, None)),  # full-width digits
    ("5號樓 快來人啊", Location(5, None, None)),  # Traditional characters
    ("7号楼一楼又有人拉飞线", Location(7, None, None)),  # 一楼 is a floor
    ("我家老人住18楼 爬不上去", Location()),  # a floor, not a building
    ("按18楼没反应 10号楼东边那部", Location(10, None, None)),
    ("12月3号下午", Location()),  # a date, not a building
    ("这两栋楼之间的路灯", Location()),
    ("3单元门口骂得可难听了", Location(None, 3, None)),
    ("4号楼2单元三楼", Location(4, 2, None)),
    ("1201室水管爆了", Location(None, None, "1201")),
    ("3号楼2单元501楼道灯坏了", Location(3, 2, "501")),
    ("5号楼2019年就装了电梯", Location(5, None, None)),
    ("车牌尾号836 挪车电话打了也不接", Location()),
    ("我2019年断了两年", Location()),
    ("#123 已解决 换了水阀", Location()),  # a request number, not a room
    ("", Location()),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_extract_location(text: str, expected: Location) -> None:
    assert extract_location(text) == expected


@pytest.mark.parametrize(
    ("text", "rooms"),
    [
        ("3号楼2单元501漏水", ["501"]),
        ("3号楼2单元501楼道灯", ["501"]),
        ("3-2-501", ["501"]),
        ("5号楼602的老人", ["602"]),
        ("住1201室", ["1201"]),
        ("电话13800000101", []),
        ("#123 处理中", []),
        ("3号楼2单元楼道", []),
    ],
)
def test_room_spans_point_at_room_numbers(text: str, rooms: list[str]) -> None:
    assert [text[a:b] for a, b in room_spans(text)] == rooms


@pytest.mark.parametrize(
    ("text", "value"),
    [("三", 3), ("十", 10), ("十二", 12), ("二十", 20), ("二十一", 21), ("一百零五", 105), ("12", 12), ("楼", None)],
)
def test_chinese_number(text: str, value: int | None) -> None:
    assert chinese_number(text) == value


def test_describe_hides_the_room_when_asked() -> None:
    loc = Location(3, 2, "501")
    assert loc.describe() == "3号楼2单元501"
    assert loc.describe(show_room=False) == "3号楼2单元***"
    assert Location().is_empty and not loc.is_empty
