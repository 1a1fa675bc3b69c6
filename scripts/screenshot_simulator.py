#!/usr/bin/env python3
"""Take the README screenshot of the web chat simulator (docs/simulator.png).

Starts nothing itself: point it at a running simulator, e.g.

    .venv/bin/linli serve --port 8099 &
    .venv/bin/python scripts/screenshot_simulator.py http://127.0.0.1:8099

It drives Debian's Chromium (/usr/bin/chromium) through Playwright, picks a
residents' group and a resident, posts a few realistic messages through the UI,
waits for the bot's replies and saves the window at 1280x800.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

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
ROOT = Path(__file__).resolve().parent.parent

NEIGHBOUR_GREETING = "大家早上好，今天降温了，出门多穿点"
QUESTION = "今天有什么活动"
# asked when today has no themed activity (weekend, holiday), so the picture shows one
FOLLOW_UP = "明天有什么活动"
REPAIR = "3号楼楼道灯又不亮了，晚上下楼黑乎乎的"
NO_ACTIVITY_MARKERS = ("没有", "暂停", "取消")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="base URL of a running simulator, e.g. http://127.0.0.1:8099")
    parser.add_argument("--out", default=str(ROOT / "docs" / "simulator.png"), help="PNG to write")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds to wait for each bot reply")
    args = parser.parse_args(argv)

    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: apt-get install chromium", file=sys.stderr)
        return 2
    base = args.base_url.rstrip("/")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1, locale="zh-CN")
            page.goto(base + "/")
            page.wait_for_selector("[data-group]")
            directory = page.evaluate("() => fetch('/api/sim/directory').then(r => r.json())")
            group, person, neighbour = _pick(directory)
            _open(page, group["id"], neighbour["id"] if neighbour else person["id"])
            if neighbour is not None:
                _say(page, NEIGHBOUR_GREETING, None)
                page.select_option("#as-user", person["id"])
                page.wait_for_timeout(800)
            else:
                page.select_option("#as-user", person["id"])
            reply = _say(page, QUESTION, args.timeout)
            if reply is not None and any(m in reply for m in NO_ACTIVITY_MARKERS):
                _say(page, FOLLOW_UP, args.timeout)
            _say(page, REPAIR, args.timeout)

            page.wait_for_timeout(3500)  # one round of the list's unread polling
            page.locator("#input").blur()
            page.screenshot(path=str(out))
        finally:
            browser.close()
    print(f"wrote {out}")
    return 0


def _open(page, group_id: str, user_id: str) -> None:
    page.select_option("#as-user", user_id)
    page.click(f'[data-group="{group_id}"]')
    page.wait_for_function("g => document.getElementById('messages').dataset.chat === 'group:' + g", arg=group_id)
    page.wait_for_timeout(1200)  # let history and list previews load


def _say(page, text: str, timeout: float | None) -> str | None:
    """Type and send text; with a timeout, wait for and return the bot's reply."""
    bots_before = page.locator("#messages .msg-bot").count()
    selfs_before = page.locator("#messages .msg-self").count()
    page.fill("#input", text)
    page.press("#input", "Enter")
    page.wait_for_function("n => document.querySelectorAll('#messages .msg-self').length > n", arg=selfs_before)
    if timeout is None:
        page.wait_for_timeout(800)
        return None
    try:
        page.wait_for_function(
            "n => document.querySelectorAll('#messages .msg-bot').length > n", arg=bots_before, timeout=timeout * 1000
        )
    except PlaywrightError:
        print(f"warning: no bot reply to {text!r} within {timeout:g}s", file=sys.stderr)
        return None
    page.wait_for_timeout(600)
    return page.locator("#messages .msg-bot .bubble").last.text_content()


def _pick(directory: dict) -> tuple[dict, dict, dict | None]:
    """A residents' group, a resident who is a member of it, and a neighbour in it (if any)."""
    groups = [g for g in directory.get("groups", []) if g.get("kind") == "residents"] or directory["groups"]
    people = directory.get("people", [])
    for g in groups:
        members = [p for p in people if p.get("role") == "resident" and g["id"] in p.get("groups", [])]
        if members:
            return g, members[0], (members[1] if len(members) > 1 else None)
    residents = [p for p in people if p.get("role") == "resident"] or people
    return groups[0], residents[0], None


if __name__ == "__main__":
    sys.exit(main())
