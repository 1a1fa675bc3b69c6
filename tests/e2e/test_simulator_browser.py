"""End-to-end: drive the WeChat-style web simulator in Debian's Chromium.

Uses the ``sim_server`` fixture (tests/conftest.py): the base URL of the real bot
app running with the demo config on a temporary SQLite file.

Playwright's browsers are never downloaded: the test launches /usr/bin/chromium.
Without it the test is skipped, except under CI (``CI`` set), where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPLY_TIMEOUT_MS = 10_000


def _require_chromium() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium); the browser test needs Debian's Chromium"
    if os.environ.get("CI"):
        pytest.fail(reason + " — it must be installed on CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
async def browser():
    _require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
def js_errors() -> list[str]:
    """Uncaught exceptions and console errors of the page."""
    return []


@pytest.fixture
async def page(browser, sim_server, js_errors):
    context = await browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pg = await context.new_page()
    pg.set_default_timeout(REPLY_TIMEOUT_MS)
    pg.on("pageerror", lambda exc: js_errors.append(str(exc)))
    pg.on("console", lambda msg: js_errors.append(msg.text) if msg.type == "error" else None)
    try:
        yield pg
    finally:
        await context.close()


def _pick_group_and_resident(directory: dict) -> tuple[dict, dict]:
    residents_groups = [g for g in directory["groups"] if g["kind"] == "residents"]
    assert residents_groups, "the demo directory has no residents' group"
    for g in residents_groups:
        for p in directory["people"]:
            if p["role"] == "resident" and g["id"] in p.get("groups", []):
                return g, p
    pytest.fail("no resident is a member of a residents' group in the demo directory")


async def _send(page, text: str) -> None:
    selfs = await page.locator("#messages .msg-self").count()
    await page.fill("#input", text)
    await page.press("#input", "Enter")
    # the page shows the posted message (it comes back through the poll, with its id)
    await page.wait_for_function(
        "n => document.querySelectorAll('#messages .msg-self').length > n", arg=selfs
    )
    assert await page.input_value("#input") == ""


async def test_resident_asks_for_todays_activity(page, sim_server, js_errors):
    base = sim_server.rstrip("/")
    await page.goto(base + "/")

    # the chat list shows the community's groups and the private chat
    await page.wait_for_selector("[data-group]")
    directory = await (await page.request.get(base + "/api/sim/directory")).json()
    bot_name = directory["bot"]["name"]
    for g in directory["groups"]:
        assert await page.locator(f'[data-group="{g["id"]}"]').count() == 1, g
    assert await page.locator("#private-chat").is_visible()

    group, resident = _pick_group_and_resident(directory)
    await page.select_option("#as-user", resident["id"])
    await page.click(f'[data-group="{group["id"]}"]')
    await page.wait_for_function(
        "g => document.getElementById('messages').dataset.chat === 'group:' + g", arg=group["id"]
    )
    assert group["name"] in await page.text_content("#chat-title")

    # 1. a question the bot answers with today's themed activity
    bots_before = await page.locator("#messages .msg-bot").count()
    await _send(page, "今天有什么活动")
    mine = page.locator("#messages .msg-self").last
    assert (await mine.locator(".bubble").text_content()) == "今天有什么活动"
    await page.wait_for_function(
        "n => document.querySelectorAll('#messages .msg-bot').length > n",
        arg=bots_before,
        timeout=REPLY_TIMEOUT_MS,
    )
    reply = page.locator("#messages .msg-bot").last
    reply_text = (await reply.locator(".bubble").text_content()) or ""
    assert "活动" in reply_text, reply_text
    # the bot speaks under its own name; its bubble is on the left, the resident's on the right
    assert (await reply.locator(".msg-name").text_content()) == bot_name
    assert await reply.locator(".avatar").text_content() == bot_name[0]
    reply_box = await reply.locator(".bubble").bounding_box()
    mine_box = await mine.locator(".bubble").bounding_box()
    pane_box = await page.locator("#messages").bounding_box()
    assert reply_box and mine_box and pane_box
    middle = pane_box["x"] + pane_box["width"] / 2
    assert reply_box["x"] < middle, "bot bubble should be on the left"
    assert mine_box["x"] + mine_box["width"] > middle and mine_box["x"] > reply_box["x"], (
        "own bubble should be on the right"
    )
    # WeChat's green for own messages, white for others
    assert await mine.locator(".bubble").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(149, 236, 105)"
    assert await reply.locator(".bubble").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 255, 255)"
    # each message shown once (POST reply + poll must not duplicate)
    ids = await page.locator("#messages .msg").evaluate_all("els => els.map(e => e.dataset.id)")
    assert len(ids) == len(set(ids)), ids

    # 2. chit-chat gets no reply from the bot
    bots_before = await page.locator("#messages .msg-bot").count()
    await _send(page, "大家早上好")
    await page.wait_for_timeout(2000)
    assert await page.locator("#messages .msg-bot").count() == bots_before

    # 3. someone else posts: it shows up without reloading, on the left, with their name;
    #    text is rendered as text (no HTML), newlines kept
    other = next(
        (p for p in directory["people"] if p["id"] != resident["id"] and group["id"] in p.get("groups", [])),
        None,
    )
    if other is not None:
        text = "谁家的<b>快递</b>放错了？\n在2号楼门口"
        resp = await page.request.post(
            base + "/api/sim/messages", data={"group": group["id"], "user": other["id"], "text": text}
        )
        assert resp.ok, await resp.text()
        others = page.locator("#messages .msg-other", has_text="放错了")
        await others.first.wait_for(timeout=5_000)
        bubble = others.first.locator(".bubble")
        assert await bubble.text_content() == text
        assert await bubble.locator("b").count() == 0
        assert (await others.first.locator(".msg-name").text_content()) == other["name"]
        assert "\n" in await bubble.inner_text()

    # 4. the private chat with the bot: the person's private messages area
    await page.click("#private-chat")
    await page.wait_for_function(
        "u => document.getElementById('messages').dataset.chat === 'user:' + u", arg=resident["id"]
    )
    assert bot_name in await page.text_content("#chat-title")
    assert resident["name"] in await page.text_content("#chat-subtitle")
    assert await page.locator("#messages").is_visible()
    assert not await page.locator("#input").is_visible()  # read-only: the bot writes here
    assert await page.locator("#readonly-note").is_visible()
    assert await page.locator("#messages .msg-self").count() == 0
    private = (await (await page.request.get(base + f"/api/sim/users/{resident['id']}/messages")).json())[
        "messages"
    ]
    if private:
        await page.wait_for_function(
            "n => document.querySelectorAll('#messages .msg-bot').length >= n", arg=len(private)
        )
    else:
        await page.locator("#messages .sys-empty").wait_for()

    # back to the group: history is still there
    await page.click(f'[data-group="{group["id"]}"]')
    await page.locator("#messages .msg-self", has_text="今天有什么活动").wait_for()

    assert not js_errors, js_errors


async def test_server_error_is_shown_and_new_resident_can_join(page, sim_server):
    base = sim_server.rstrip("/")
    await page.goto(base + "/")
    await page.wait_for_selector("[data-group]")
    directory = await (await page.request.get(base + "/api/sim/directory")).json()
    group = next(g for g in directory["groups"] if g["kind"] == "residents")

    # "新居民…" asks for a name and speaks as a new guest id
    page.once("dialog", lambda d: d.accept("孙阿姨"))
    await page.select_option("#as-user", "__new__")
    await page.wait_for_function("() => document.getElementById('as-user').value.startsWith('guest-')")
    await page.click(f'[data-group="{group["id"]}"]')
    await _send(page, "大家好，我刚搬来5号楼")
    mine = page.locator("#messages .msg-self").last
    assert (await mine.locator(".avatar").text_content()) == "孙"

    # a rejected POST shows the error text as a red system line
    await page.route(
        "**/api/sim/messages",
        lambda route: route.fulfill(status=400, content_type="application/json", body='{"error": "消息太长了"}'),
    )
    await page.fill("#input", "x")
    await page.click("#send")
    err = page.locator("#messages .sys-error", has_text="消息太长了")
    await err.wait_for()
    assert await err.locator("span").evaluate("e => getComputedStyle(e).color") == "rgb(250, 81, 81)"
    assert await page.input_value("#input") == "x"  # the text is kept for another try


async def _open_a_residents_group(page, sim_server: str) -> dict:
    """The simulator open, speaking as a resident in one of their residents' groups; the directory."""
    base = sim_server.rstrip("/")
    await page.goto(base + "/")
    await page.wait_for_selector("[data-group]")
    directory = await (await page.request.get(base + "/api/sim/directory")).json()
    group, resident = _pick_group_and_resident(directory)
    await page.select_option("#as-user", resident["id"])
    await page.click(f'[data-group="{group["id"]}"]')
    await page.wait_for_function(
        "g => document.getElementById('messages').dataset.chat === 'group:' + g", arg=group["id"]
    )
    return directory


async def _bot_reply_with(page, needle: str, after: int) -> str:
    """The first of the bot's messages after the first `after` that contains `needle`: a timed post (the
    morning theme, caught up when the bot starts after its hour) may arrive in between."""
    found = await page.wait_for_function(
        "([n, s]) => [...document.querySelectorAll('#messages .msg-bot')].slice(n)"
        ".map(m => m.querySelector('.bubble')?.textContent || '').find(t => t.includes(s)) || null",
        arg=[after, needle], timeout=REPLY_TIMEOUT_MS)
    return str(await found.json_value())


async def test_resident_sends_a_photo_with_the_image_button(page, sim_server, js_errors):
    """The image button posts a photo; it joins the report the resident just made, and shows in the chat."""
    import io

    from PIL import Image

    await _open_a_residents_group(page, sim_server)

    bots_before = await page.locator("#messages .msg-bot").count()
    await _send(page, "3号楼2单元楼道灯又不亮了")
    filed = await _bot_reply_with(page, "#", bots_before)
    number = filed.split("#", 1)[1].split("（", 1)[0]

    photo = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 120, 40)).save(photo, "JPEG")
    bots_before = await page.locator("#messages .msg-bot").count()
    async with page.expect_file_chooser() as chooser:
        await page.click("#image-button")
    await (await chooser.value).set_files(
        files=[{"name": "light.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}])

    shown = page.locator("#messages .msg-self .bubble-image").last
    await shown.wait_for(timeout=REPLY_TIMEOUT_MS)
    await page.wait_for_function(
        "() => { const i = [...document.querySelectorAll('#messages .msg-self .bubble-image')].pop();"
        " return i && i.complete && i.naturalWidth === 300; }"
    )
    answer = await _bot_reply_with(page, "收到照片", bots_before)
    assert f"#{number}" in answer, answer
    assert not js_errors, js_errors


async def test_resident_replies_to_the_bot_by_quoting_it(page, sim_server, js_errors):
    """引用 on the bot's message: the reply goes out with the quote, shows it under the bubble, and is
    said to the bot (a reply to the bot never meets silence, though it @-mentions no one)."""
    directory = await _open_a_residents_group(page, sim_server)
    bot_name = directory["bot"]["name"]

    bots_before = await page.locator("#messages .msg-bot").count()
    await _send(page, f"@{bot_name} 你好")
    menu = await _bot_reply_with(page, "理发", bots_before)
    assert await page.locator("#quote-bar").is_hidden()

    bot_message = page.locator("#messages .msg-bot", has_text=menu[:12]).last
    await bot_message.hover()
    await bot_message.locator(".quote-action").click()
    assert await page.locator("#quote-bar").is_visible()
    assert (await page.text_content("#quote-text") or "").startswith(f"{bot_name}：")

    bots_before = await page.locator("#messages .msg-bot").count()
    await _send(page, "你怎么这么厉害")
    mine = page.locator("#messages .msg-self").last
    assert await mine.locator(".bubble").text_content() == "你怎么这么厉害"
    assert (await mine.locator(".quote-ref").text_content() or "").startswith(f"{bot_name}：")
    assert await page.locator("#quote-bar").is_hidden()
    # chit-chat, but said to the bot: the menu, not silence
    await _bot_reply_with(page, "理发", bots_before)

    # the quote can be dropped before sending: then the same words to the group get no answer
    await bot_message.hover()
    await bot_message.locator(".quote-action").click()
    await page.click("#quote-clear")
    assert await page.locator("#quote-bar").is_hidden()
    bots_before = await page.locator("#messages .msg-bot").count()
    await _send(page, "你们怎么这么厉害")
    assert await page.locator("#messages .msg-self").last.locator(".quote-ref").count() == 0
    await page.wait_for_timeout(2000)
    assert await page.locator("#messages .msg-bot").count() == bots_before
    assert not js_errors, js_errors
