"""Fuzzing `understand()` and every HTTP endpoint with hypothesis: no 5xx, no crash, no hang, flat memory.

Usage: .venv/bin/python bench/faults/fuzz.py [--understand 100000] [--http 100000] [--seed N]
The HTTP cases are the structure-aware ones of tests/fuzzing.py (CI runs a few hundred of them in
tests/bot/channels/test_fuzz_endpoints.py; this is the long run): the simulator's API, the three
WeChat callbacks (sealed with wechatpy's own crypto around good and bad plaintext, signed garbage,
unsigned, stale, byte-flipped), the staff pages with a logged-in session, health, metrics and
static files, with JSON nested 40,000 deep, numbers of 6,000 digits, XML with entities (billion
laughs, external and parameter entities), wrong types in every field. The bot runs as a `linli
serve` subprocess (SQLite, every channel mounted, the fake WeChat API behind it); requests go
over one keep-alive connection; each must be answered within 30 s. RSS of the bot is sampled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.common import REPO, bench_env, free_port, rss_mb, serve_cmd, wait_up  # noqa: E402
from tests.bot.channels import conftest as creds  # noqa: E402
from tests.fuzzing import Case, Driver, Sealer, StaffSession, all_cases  # noqa: E402

SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=False)
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("今天明天周六上午下午理发修预约取消排队不去了活动垃圾漏水12号楼室")
                                     + list("0123456789，。！？ @#+")), max_size=80),
    st.sampled_from(["今天有什么活动", "周六能理发吗", "取消", "排队", "1", "第二个", "@社区小助手 在吗", "#1 已解决"]),
)


def understand_fuzz(n: int) -> dict[str, object]:
    from nlp import understand

    now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    labels: Counter[str] = Counter()
    slowest = [0.0]
    understand("今天有什么活动", now)  # loads the dictionary first: that is start-up, not a case
    rss: list[float] = []

    @settings(max_examples=n, **SETTINGS)
    @given(text=texts)
    def run(text: str) -> None:
        t0 = time.perf_counter()
        labels[understand(text, now).label] += 1
        slowest[0] = max(slowest[0], time.perf_counter() - t0)
        if sum(labels.values()) % 5000 == 0:
            rss.append(round(rss_mb(os.getpid()), 1))

    t0 = time.monotonic()
    run()
    return {"cases": sum(labels.values()), "seconds": round(time.monotonic() - t0, 1),
            "slowest_ms": round(slowest[0] * 1000, 1), "labels": len(labels),
            "rss_mb_every_5000": rss[:3] + ["…"] + rss[-3:] if len(rss) > 6 else rss}


def bot_env(api_port: int) -> dict[str, str]:
    """Every channel mounted, with the tests' credentials (tests/bot/channels/conftest.py)."""
    api = f"http://127.0.0.1:{api_port}"
    return bench_env(
        LINLI_WECOM_CORP_ID=creds.CORP_ID, LINLI_WECOM_AGENT_ID=str(creds.AGENT_ID),
        LINLI_WECOM_SECRET=creds.CORP_SECRET,
        LINLI_WECOM_TOKEN=creds.APP_TOKEN, LINLI_WECOM_AES_KEY=creds.AES_KEY, LINLI_WECOM_API_BASE=api,
        LINLI_WECOM_AIBOT_TOKEN=creds.AIBOT_TOKEN, LINLI_WECOM_AIBOT_AES_KEY=creds.AES_KEY,
        LINLI_MP_APP_ID=creds.MP_APP_ID, LINLI_MP_SECRET=creds.MP_SECRET, LINLI_MP_TOKEN=creds.MP_TOKEN,
        LINLI_MP_AES_KEY=creds.AES_KEY, LINLI_MP_API_BASE=api, LINLI_SCHEDULER="false",
        LINLI_WECHAT_HTTP_TIMEOUT_SECONDS="2")


def staff_session(port: int) -> StaffSession:
    """Files a request through the simulator, logs in as staff-li and reads the request's CSRF token."""
    base = f"http://127.0.0.1:{port}"
    post = urllib.request.Request(f"{base}/api/sim/messages", headers={"Content-Type": "application/json"},
                                  data=json.dumps({"group": "g-res-1", "user": "r-zhang",
                                                   "text": "3号楼2单元楼道灯又不亮了"}).encode())
    with urllib.request.urlopen(post, timeout=30) as resp:
        replies = " ".join(r["text"] for r in json.loads(resp.read())["replies"])
    number = int(m.group(1)) if (m := re.search(r"#(\d+)", replies)) else 1
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = urllib.parse.urlencode({"login": "staff-li", "password": "linli-demo", "next": f"/staff/requests/{number}"})
    with opener.open(f"{base}/staff/login", data=form.encode(), timeout=30) as resp:
        page = resp.read().decode()
    cookie = next(c for c in jar if c.name == "linli_staff")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None, "the login did not lead to the request's page"
    return StaffSession(f"linli_staff={cookie.value}", csrf.group(1), number)


def http_fuzz(n: int, port: int, pid: int) -> dict[str, object]:
    staff = staff_session(port)
    sealer = Sealer()
    driver = Driver("127.0.0.1", port, sealer)
    rss: list[float] = []
    sent = [0]

    @settings(max_examples=n, **SETTINGS)
    @given(case=all_cases(sealer, staff))
    def run(case: Case) -> None:
        driver.send(case)
        sent[0] += 1
        if sent[0] % 5000 == 0:
            rss.append(round(rss_mb(pid), 1))
            print(f"  {sent[0]} cases, {dict(sorted(driver.statuses.items()))}", file=sys.stderr, flush=True)

    t0 = time.monotonic()
    try:
        run()
    finally:
        driver.close()
    return {"cases": sent[0], "answered": sum(driver.statuses.values()), "seconds": round(time.monotonic() - t0, 1),
            "statuses": dict(sorted(driver.statuses.items())), "kinds": dict(driver.kinds.most_common()),
            "slowest_ms": round(driver.slowest * 1000, 1),
            "rss_mb_every_5000": rss[:3] + ["…"] + rss[-3:] if len(rss) > 6 else rss}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--understand", type=int, default=100_000)
    parser.add_argument("--http", type=int, default=100_000)
    args = parser.parse_args()
    if args.understand:
        print("understand():", json.dumps(understand_fuzz(args.understand), ensure_ascii=False), flush=True)
    if args.http:
        tmp = Path(tempfile.mkdtemp(prefix="linli-fuzz-"))
        api_port, port = free_port(), free_port()
        api = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"), str(api_port),
                                "--corp-id", creds.CORP_ID, "--corp-secret", creds.CORP_SECRET], cwd=REPO)
        bot = subprocess.Popen(serve_cmd(port, f"sqlite:///{tmp}/fuzz.db"), cwd=REPO, env=bot_env(api_port),
                               stdout=subprocess.DEVNULL, stderr=(tmp / "bot.log").open("wb"))
        try:
            wait_up(api_port)
            wait_up(port, 60, bot)
            result = http_fuzz(args.http, port, bot.pid)
            result["bot_alive"] = bot.poll() is None
            print("HTTP:", json.dumps(result, ensure_ascii=False), flush=True)
        finally:
            bot.terminate()
            bot.wait(20)
            api.terminate()
            api.wait(10)
        log = (tmp / "bot.log").read_text(encoding="utf-8", errors="replace")
        print(f"bot log: {tmp / 'bot.log'} ({log.count(' ERROR ')} ERROR lines, "
              f"{log.count('Traceback')} tracebacks)", flush=True)


if __name__ == "__main__":
    main()
