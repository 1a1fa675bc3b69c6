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

# (text, expect a bot reply?)
CONVERSATION = [
    ("大家早上好", False),
    ("今天有什么活动", True),
    ("3号楼楼道灯又不亮了，晚上下楼黑乎乎的", True),
]


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
            group, person = _pick(directory)
            page.select_option("#as-user", person["id"])
            page.click(f'[data-group="{group["id"]}"]')
            page.wait_for_function(
                "g => document.getElementById('messages').dataset.chat === 'group:' + g", arg=group["id"]
            )
            page.wait_for_timeout(1200)  # let history and list previews load

            for text, expect_reply in CONVERSATION:
                bots_before = page.locator("#messages .msg-bot").count()
                selfs_before = page.locator("#messages .msg-self").count()
                page.fill("#input", text)
                page.press("#input", "Enter")
                page.wait_for_function(
                    "n => document.querySelectorAll('#messages .msg-self').length > n", arg=selfs_before
                )
                if expect_reply:
                    try:
                        page.wait_for_function(
                            "n => document.querySelectorAll('#messages .msg-bot').length > n",
                            arg=bots_before,
                            timeout=args.timeout * 1000,
                        )
                    except PlaywrightError:
                        print(f"warning: no bot reply to {text!r} within {args.timeout:g}s", file=sys.stderr)
                page.wait_for_timeout(600)

            page.wait_for_timeout(3500)  # one round of the list's unread polling
            page.locator("#input").blur()
            page.screenshot(path=str(out))
        finally:
            browser.close()
    print(f"wrote {out}")
    return 0


def _pick(directory: dict) -> tuple[dict, dict]:
    """A residents' group and a resident who is a member of it."""
    groups = [g for g in directory.get("groups", []) if g.get("kind") == "residents"] or directory["groups"]
    people = directory.get("people", [])
    for g in groups:
        for p in people:
            if p.get("role") == "resident" and g["id"] in p.get("groups", []):
                return g, p
    residents = [p for p in people if p.get("role") == "resident"] or people
    return groups[0], residents[0]


if __name__ == "__main__":
    sys.exit(main())
