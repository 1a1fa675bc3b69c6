"""The staff web page in Debian's Chromium: log in, filter, open a request, change it, see the charts.

Playwright's browsers are never downloaded: the test launches /usr/bin/chromium. Without it the
test is skipped, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import LiveBot
from tests.handlers import requests_support
from tests.handlers.test_requests import number_in, one_reply

req_bot = requests_support.req_bot  # the fixture: a live bot with a keyword classifier

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium); the staff web browser test needs it"
    if os.environ.get("CI"):
        pytest.fail(reason + " — it must be installed on CI", pytrace=False)
    pytest.skip(reason)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_staff_member_works_a_request_in_the_browser(req_bot: LiveBot) -> None:
    _require_chromium()
    from playwright.async_api import async_playwright

    repair = number_in(await one_reply(req_bot, "g-res-1", "r-zhang", "3号楼2单元楼道灯坏了好几天了"))
    rubbish = number_in(await one_reply(req_bot, "g-res-2", "r-chen", "垃圾站三天没清了"))
    base = req_bot.client.base_url
    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = await (await browser.new_context(locale="zh-CN")).new_page()
            page.set_default_timeout(10_000)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(f"{m.text} {m.location.get('url')}")
                    if m.type == "error" else None)

            await page.goto(base + "/staff")
            assert "/staff/login" in page.url  # not logged in: the login form
            await page.fill("#login", "staff-wang")
            await page.fill("#password", "wrong password")
            await page.click("#submit")
            assert "账号或密码不对" in await page.text_content("#error")
            await page.fill("#login", "staff-wang")
            await page.fill("#password", "linli-demo")
            await page.click("#submit")
            await page.wait_for_selector("#requests")
            assert await page.text_content("#who") == "王网格员"
            assert await page.locator(f'tr[data-id="{repair}"]').count() == 1
            assert await page.locator(f'tr[data-id="{rubbish}"]').count() == 1

            # filter by category: only the repair is left
            await page.select_option("#f-category", "repair")
            await page.click("#filter")
            await page.wait_for_url("**category=repair**")
            assert await page.locator("#requests tbody tr").count() == 1

            # open it, change its status, see the history
            await page.click(f'tr[data-id="{repair}"] a')
            await page.wait_for_selector("#change")
            assert await page.text_content("#status") == "待受理"
            await page.select_option("#action", "in_progress")
            await page.click("#save")
            await page.wait_for_selector("#message")
            assert await page.text_content("#status") == "处理中"
            assert "处理中" in await page.text_content("#message")
            assert "待受理 → 处理中" in await page.text_content("#history")

            await page.select_option("#action", "resolved")
            await page.fill("#note", "换了灯泡")
            await page.click("#save")
            await page.wait_for_selector("#message")
            assert await page.text_content("#status") == "已解决"

            # the charts: pictures drawn on the server (matplotlib), the week's numbers beside them
            await page.goto(base + "/staff/charts")
            assert await page.locator('#chart-data td[data-category]:not([data-count="0"])').count() == 2
            assert await page.locator('#chart-data td[data-category="repair"]').last.get_attribute(
                "data-count") == "1"
            assert await page.locator("#chart-data td.median[data-hours]").count() == 1
            for image, width in (("chart-categories", 720), ("chart-median", 720), ("weekly-png", 480)):
                await page.wait_for_function(f"() => document.getElementById('{image}').complete")
                assert await page.eval_on_selector(f"#{image}", "img => img.naturalWidth") == width  # 0: broken
            box = await page.locator("#chart-categories").bounding_box()
            assert box and box["width"] > 300
            # the stylesheet applies (the simulator's WeChat green on the buttons), under the page's CSP
            assert await page.eval_on_selector("#logout", "b => getComputedStyle(b).cursor") == "pointer"
            assert await page.eval_on_selector(
                ".nav-item.active", "a => getComputedStyle(a).color") == "rgb(7, 193, 96)"

            # log out: the list needs a login again
            await page.click("#logout")
            await page.wait_for_selector("#login")
            await page.goto(base + "/staff")
            assert "/staff/login" in page.url
        finally:
            await browser.close()
    # the refused login (401) and the browser's own favicon request are expected; nothing else
    unexpected = [e for e in errors if not (("401" in e and e.endswith("/staff/login")) or "favicon" in e)]
    assert not unexpected, errors
