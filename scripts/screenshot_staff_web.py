#!/usr/bin/env python3
"""Take the README screenshots of the staff web (docs/staff-*.png) and of the weekly picture.

Starts nothing itself: point it at a running bot with a fresh database, e.g.

    .venv/bin/linli serve --port 8099 --database-url sqlite:////tmp/linli-shots.db &
    .venv/bin/python scripts/screenshot_staff_web.py http://127.0.0.1:8099

Residents report a few problems through the simulator's API first (the demo community's
people), then Debian's Chromium (/usr/bin/chromium, through Playwright) logs in as a grid
worker, takes the login page, the request list, one request after a status change, the charts
page and the weekly picture the staff digest links to, each at 1280x800.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parent.parent
STAFF, PASSWORD = "staff-wang", "linli-demo"  # the demo community's grid worker

REPORTS = [  # (group, resident, text)
    ("g-res-1", "r-zhang", "3号楼2单元楼道灯坏了好几天了，晚上下楼黑乎乎的"),
    ("g-res-1", "r-liu", "2号楼门口的垃圾桶满了三天没人清，味道很大"),
    ("g-res-3", "r-sun", "11号楼3单元楼道里堆满了纸箱杂物，挡住了消防通道"),
    ("g-res-2", "r-chen", "东门口老有车乱停，消防通道都堵死了"),
    ("g-res-2", "r-zhou", "7号楼楼上装修天天砸墙到晚上十点，说了也不听"),
    ("g-res-1", "r-liu", "2号楼1单元的水管漏水了，楼梯上全是水"),
    ("g-res-3", "r-sun", "12号楼独居的王奶奶好几天没下楼了，有点担心"),
    ("g-res-2", "r-chen", "@社区小助手 医保卡丢了去哪补办"),
]


def report(base: str, group: str, user: str, text: str) -> int | None:
    """Posts a resident's message; the request number the bot's answer names, if any."""
    body = json.dumps({"group": group, "user": user, "text": text}).encode()
    request = urllib.request.Request(f"{base}/api/sim/messages", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        replies = [r["text"] for r in json.load(resp)["replies"]]
    found = next((re.search(r"#(\d+)", r) for r in replies if re.search(r"#(\d+)", r)), None)
    print(f"{text} → {' / '.join(replies) or '(no reply)'}")
    return int(found.group(1)) if found else None


def change(page: Page, base: str, number: int, action: str, note: str = "") -> None:
    page.goto(f"{base}/staff/requests/{number}")
    page.select_option("#action", action)
    page.fill("#note", note)
    page.click("#save")
    page.wait_for_selector("#message")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="base URL of a running bot, e.g. http://127.0.0.1:8099")
    parser.add_argument("--out", default=str(ROOT / "docs"), help="directory to write the PNGs to")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} not found: apt-get install chromium", file=sys.stderr)
        return 2
    base, out = args.base_url.rstrip("/"), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    numbers = [n for n in (report(base, *r) for r in REPORTS) if n is not None]
    if len(numbers) < 3:
        print(f"only {len(numbers)} reports became requests; use a fresh database", file=sys.stderr)
        return 1

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800}, device_scale_factor=1, locale="zh-CN")
            page.goto(f"{base}/staff")
            page.fill("#login", STAFF)
            page.screenshot(path=str(out / "staff-login.png"))
            page.fill("#password", PASSWORD)
            page.click("#submit")
            page.wait_for_selector("#requests")
            change(page, base, numbers[1], "resolved", "已联系保洁清运，垃圾桶已清空")
            change(page, base, numbers[3], "in_progress", "已通知物业，今晚巡查")
            page.goto(f"{base}/staff")
            page.screenshot(path=str(out / "staff-requests.png"))
            change(page, base, numbers[0], "in_progress", "已派电工，明天上午更换灯泡")
            page.screenshot(path=str(out / "staff-request.png"))
            page.goto(f"{base}/staff/charts")
            for image in ("chart-categories", "chart-median", "weekly-png"):
                page.wait_for_function(f"() => document.getElementById('{image}').complete")
            page.screenshot(path=str(out / "staff-charts.png"), full_page=True)
            page.locator("#weekly-png").screenshot(path=str(out / "weekly-chart.png"))
        finally:
            browser.close()
    print(f"wrote staff-login, staff-requests, staff-request, staff-charts and weekly-chart .png to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
