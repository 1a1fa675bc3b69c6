"""Key words typed in pinyin are read as the words they spell (nlp/pinyin.py, applied by nlp/normalize.py)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from nlp import pinyin, pinyin_build
from nlp.model import CACHE_ENV
from nlp.normalize import normalize

NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mingtian xiawu lifa", "明天下午理发"),  # words read from pinyin join as if typed in Chinese
        ("我想lifa", "我想理发"),  # pinyin beside Chinese
        ("xia wu", "下午"),  # syllables typed apart
        ("zhouliu shangwu yizhen", "周六上午义诊"),
        ("lvshi zixun", "律师咨询"),  # ü typed as v ...
        ("lushi zixun", "律师咨询"),  # ... or as u
        ("fa lü zi xun 周末", "法律咨询 周末"),  # ... or as itself (session 12)
        ("louxia tingshui le", "楼下停水 le"),  # Latin that spells no key word stays as typed
        ("有laoshu 好多", "有老鼠 好多"),
        ("hello everyone", "hello everyone"),
        ("pole", "pole"),  # an English word that spells a key word: normalize.yaml's not_pinyin
        ("ok 收到", "ok 收到"),
        ("ha", "ha"),  # one syllable names nothing on its own
    ],
)
def test_pinyin_is_read(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_a_booking_typed_in_pinyin_is_understood_with_its_day_and_part() -> None:
    from nlp import understand

    u = understand("mingtian xiawu lifa keyi ma", NOW)
    assert (u.label, u.date, u.part) == ("booking:haircut", dt.date(2026, 11, 26), "pm")


def test_the_index_keys_each_reading_and_leaves_out_what_is_unsure() -> None:
    index = pinyin_build.build_index(["理发", "律师", "下午", "门", "老鼠", "老树"], not_pinyin=["xiawu"])
    assert index["lifa"] == "理发"
    assert index["lvshi"] == index["lushi"] == "律师"
    assert "xiawu" not in index  # refused as not pinyin
    assert "men" not in index  # one syllable
    assert "laoshu" not in index  # 老鼠 or 老树: neither is surely meant


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_built_once_in_a_child_then_read_from_the_cache(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = pinyin.load_index()
    files = list(cache.glob("pinyin-*.json"))
    assert len(files) == 1 and index["lifa"] == "理发"
    assert json.loads(files[0].read_text("utf-8")) == index

    def no_child(path: Path) -> None:
        raise AssertionError("the cached index should have been read")

    monkeypatch.setattr(pinyin, "_build_in_child", no_child)
    assert pinyin.load_index() == index


def test_without_an_index_pinyin_is_not_read_and_the_log_says_why(
        cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def failing_child(path: Path) -> None:
        raise RuntimeError("building the pinyin index failed (1): No module named 'pypinyin'")

    monkeypatch.setattr(pinyin, "_build_in_child", failing_child)
    with caplog.at_level(logging.ERROR, logger="linli.nlp"):
        assert pinyin.load_index() == {}
    assert "pinyin is not read" in caplog.text


def test_a_damaged_cache_file_is_built_again(cache: Path) -> None:
    cache.mkdir(parents=True)
    (cache / f"pinyin-{pinyin.cache_key()}.json").write_text("{not json", "utf-8")
    assert pinyin.load_index()["xiawu"] == "下午"
