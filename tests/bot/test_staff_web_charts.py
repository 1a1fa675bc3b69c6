"""The staff web's charts: the numbers per week on the page, and real PNG pictures labelled in a CJK font."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from bot.staff_web import charts
from core.clock import FixedClock
from tests.bot.test_staff_web import DEMO_PASSWORD, file
from tests.conftest import LiveBot
from tests.handlers import requests_support

req_bot = requests_support.req_bot  # the fixture: a live bot with a keyword classifier

REPAIR_BLUE, SANITATION_GREEN = charts.CATEGORY_COLORS["repair"], charts.CATEGORY_COLORS["sanitation"]
WECHAT_GREEN = (7, 193, 96)
DEBIAN_NOTO_CJK = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


def picture(data: bytes) -> Image.Image:
    """A PNG that decodes (Pillow checks its chunks' CRCs), in RGB."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()
    return image.convert("RGB")


def colors(image: Image.Image) -> set[tuple[int, int, int]]:
    return {color for _, color in image.getcolors(maxcolors=image.width * image.height)}


async def test_charts_show_requests_per_category_and_median_time_to_resolve(req_bot: LiveBot,
                                                                            clock: FixedClock) -> None:
    repairs = [await file(req_bot, f"{b}号楼楼道灯坏了", user=u) for b, u in ((1, "r-zhang"), (2, "r-liu"))]
    await file(req_bot, "垃圾站三天没清了", user="r-chen", group="g-res-2")
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        base = req_bot.client.base_url

        async def get(path: str) -> tuple[int, str, bytes]:
            async with http.get(base + path, allow_redirects=False) as resp:
                return resp.status, resp.content_type, await resp.read()

        assert (await get("/staff/charts/categories.png"))[0] == 302  # not logged in: no pictures either
        async with http.post(base + "/staff/login", data={"login": "staff-li", "password": DEMO_PASSWORD}):
            pass
        clock.advance(hours=5)
        for number in repairs:
            _, _, page = await get(f"/staff/requests/{number}")
            form = dict(re.findall(r'name="(csrf|version)" value="([^"]+)"', page.decode()))
            async with http.post(f"{base}/staff/requests/{number}", allow_redirects=False,
                                 data={**form, "action": "resolved", "note": "修好了"}) as resp:
                assert resp.status == 303
        status, _, body = await get("/staff/charts")
        page = body.decode()
        assert status == 200
        # the numbers beside the pictures: per category and week, and the median hours to resolve
        assert re.search(r'data-week="2026-11-23" data-category="repair" data-count="2"', page)
        assert re.search(r'data-week="2026-11-23" data-category="sanitation" data-count="1"', page)
        assert 'class="median" data-week="2026-11-23" data-hours="5.0"' in page
        assert len(re.findall(r'class="median" data-week', page)) == 1  # no other week resolved anything
        for src in ('/staff/charts/categories.png?end=2026-11-25', '/staff/charts/median.png?end=2026-11-25',
                    '/staff/charts/weekly.png?end=2026-11-29'):
            assert f'src="{src}"' in page

        status, kind, data = await get("/staff/charts/categories.png?end=2026-11-25")
        assert (status, kind) == (200, "image/png")
        image = picture(data)
        assert image.size == charts.PAGE_CHART_SIZE == (720, 300)
        assert {REPAIR_BLUE, SANITATION_GREEN} <= colors(image)  # both categories' bars are drawn
        assert charts.CATEGORY_COLORS["safety"] in colors(image)  # …and the legend names every category

        status, kind, data = await get("/staff/charts/median.png?end=2026-11-25")
        assert (status, kind, picture(data).size) == (200, "image/png", (720, 300))
        assert WECHAT_GREEN in colors(picture(data))  # the one week's bar

        status, kind, data = await get("/staff/charts/weekly.png?end=2026-11-29")
        assert (status, kind) == (200, "image/png")
        weekly = picture(data)
        assert weekly.size == charts.WEEKLY_SIZE == (480, 240)
        # the bars of the week: repair (2) twice as tall as sanitation (1), the others absent
        heights = {color: sum(1 for y in range(240) if weekly.getpixel((x, y)) == color)
                   for color in (REPAIR_BLUE, SANITATION_GREEN) for x in [_column_of(weekly, color)]}
        assert abs(heights[REPAIR_BLUE] - 2 * heights[SANITATION_GREEN]) <= 2
        assert charts.CATEGORY_COLORS["safety"] not in colors(weekly)

        _, _, empty = await get("/staff/charts/weekly.png?end=2026-10-04")  # a week with nothing filed
        assert picture(empty).size == (480, 240) and REPAIR_BLUE not in colors(picture(empty))
        assert (await get("/staff/charts/weekly.png?end=yesterday"))[0] == 400
        assert (await get("/staff/charts?end=2026-02-30"))[0] == 400


def _column_of(image: Image.Image, color: tuple[int, int, int]) -> int:
    """The middle column of the bar drawn in `color`."""
    columns = [x for x in range(image.width) for y in range(image.height) if image.getpixel((x, y)) == color]
    assert columns, f"no bar in {color}"
    return (min(columns) + max(columns)) // 2


@pytest.fixture
def fresh_font_lookup() -> Iterator[None]:
    """The font lookup runs again in the test (it is cached per process), and again after it."""
    charts.cjk_font.cache_clear()
    charts._style.cache_clear()
    yield
    charts.cjk_font.cache_clear()
    charts._style.cache_clear()


def _glyph_warnings(draw: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draw()  # type: ignore[operator]
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_chart_labels_are_drawn_in_debians_cjk_font(fresh_font_lookup: None, caplog: pytest.LogCaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path(DEBIAN_NOTO_CJK).exists():
        reason = f"{DEBIAN_NOTO_CJK} is missing (apt-get install fonts-noto-cjk)"
        if os.environ.get("CI"):
            pytest.fail(reason + " — it must be installed on CI", pytrace=False)
        pytest.skip(reason)
    caplog.set_level(logging.INFO, logger="linli.staff_web.charts")
    font = charts.cjk_font()
    assert font is not None and font.family == "Noto Sans CJK SC" and "NotoSansCJK" in font.path
    week = {"repair": 3, "sanitation": 1, "elderly_care": 2}
    assert _glyph_warnings(lambda: charts.weekly_png(dt.date(2026, 11, 23), dt.date(2026, 11, 29), week)) == []
    weeks = [dt.date(2026, 11, 16), dt.date(2026, 11, 23)]
    assert _glyph_warnings(lambda: charts.category_weeks_png(weeks, {weeks[1]: week})) == []
    assert _glyph_warnings(lambda: charts.median_hours_png(weeks, {weeks[1]: 5.0})) == []
    assert any("charts are labelled in Noto Sans CJK SC" in r.getMessage() for r in caplog.records)

    # Without a CJK font the labels are boxes: said in the log, and matplotlib's warnings show it.
    charts.cjk_font.cache_clear()
    charts._style.cache_clear()
    monkeypatch.setattr(charts, "CJK_FAMILIES", ("No Such Font",))
    monkeypatch.setattr(charts, "CJK_FONT_FILES", ("/nonexistent/font.ttc",))
    assert charts.cjk_font() is None
    assert any(r.levelname == "WARNING" and "install Debian's fonts-noto-cjk" in r.getMessage()
               for r in caplog.records)
    missing = _glyph_warnings(lambda: charts.weekly_png(dt.date(2026, 11, 23), dt.date(2026, 11, 29), week))
    assert missing and any("DejaVu Sans" in m for m in missing)


def test_a_font_installed_after_matplotlib_listed_the_fonts_is_found_by_its_file(
        fresh_font_lookup: None, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path(DEBIAN_NOTO_CJK).exists():
        pytest.skip(f"{DEBIAN_NOTO_CJK} is missing")
    from matplotlib import font_manager

    # matplotlib's cached list of system fonts, as it was before fonts-noto-cjk was installed
    without_cjk = [f for f in font_manager.fontManager.ttflist if "CJK" not in f.name]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", without_cjk)
    font = charts.cjk_font()
    assert font is not None and font.family == "Noto Sans CJK SC" and font.path == DEBIAN_NOTO_CJK


async def test_charts_are_drawn_in_a_helper_process_that_stops_when_idle() -> None:
    from bot.staff_web.drawing import ChartDrawer

    drawer = ChartDrawer(idle_seconds=0.5)
    try:
        png = await drawer.draw(charts.weekly_png, dt.date(2026, 11, 23), dt.date(2026, 11, 29), {"repair": 1})
        assert picture(png).size == (480, 240) and drawer.running
        helper = await drawer.draw(os.getpid)
        assert helper != os.getpid()  # matplotlib's memory is not the bot's
        for _ in range(100):
            if not drawer.running:
                break
            await asyncio.sleep(0.05)
        assert not drawer.running  # idle: the helper is gone
        assert await drawer.draw(os.getpid) not in (helper, os.getpid())  # a new one for the next chart
    finally:
        await drawer.stop()
    assert not drawer.running
