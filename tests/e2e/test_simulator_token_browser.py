"""The simulator page with a token (LINLI_SIM_TOKEN), in Debian's Chromium: the token is given once in
the address's fragment (or typed when the page asks), never sent in a URL, and every API call
carries it in the X-Linli-Token header, the only place the bot accepts it (issue 17 item 6)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.clock import FixedClock
from tests.conftest import LiveBot, make_settings, start_live_bot
from tests.e2e.test_simulator_browser import REPLY_TIMEOUT_MS, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser
TOKEN = "s3cret-sim-t0ken"


@pytest.fixture
async def token_bot(sqlite_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    bot, close = await start_live_bot(make_settings(sqlite_url, sim_token=TOKEN), clock)
    try:
        yield bot
    finally:
        await close()


async def _open(chromium, base: str, fragment: str, typed: str | None):  # type: ignore[no-untyped-def]
    context = await chromium.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = await context.new_page()
    page.set_default_timeout(REPLY_TIMEOUT_MS)
    api_calls: list[tuple[str, str | None]] = []
    page.on("request", lambda r: api_calls.append((r.url, r.headers.get("x-linli-token")))
            if "/api/sim/" in r.url else None)
    asked: list[str] = []

    async def answer(dialog) -> None:  # type: ignore[no-untyped-def]
        asked.append(dialog.message)
        await (dialog.accept(typed) if typed is not None else dialog.dismiss())

    page.on("dialog", answer)
    await page.goto(base + "/" + fragment)
    return context, page, api_calls, asked


async def test_the_page_sends_the_token_from_the_fragment_as_a_header(browser, token_bot: LiveBot) -> None:  # noqa: F811
    base = token_bot.client.base_url
    context, page, api_calls, asked = await _open(browser, base, f"#token={TOKEN}", None)
    try:
        await page.wait_for_selector("[data-group]")  # the directory loaded: the API let the page in
        assert "token" not in page.url  # taken out of the address bar (and its history)
        assert api_calls and all(header == TOKEN and "token=" not in url for url, header in api_calls), api_calls
        assert asked == []
    finally:
        await context.close()


async def test_the_page_asks_for_the_token_when_it_has_none(browser, token_bot: LiveBot) -> None:  # noqa: F811
    base = token_bot.client.base_url
    context, page, api_calls, asked = await _open(browser, base, "", TOKEN)
    try:
        await page.wait_for_selector("[data-group]", timeout=15_000)  # after the refusal, asked, retried
        assert len(asked) == 1 and "LINLI_SIM_TOKEN" in asked[0]
        assert api_calls[0][1] is None and api_calls[-1][1] == TOKEN
        assert all("token=" not in url for url, _ in api_calls)
    finally:
        await context.close()
