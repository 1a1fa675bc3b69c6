"""Fuzzing `understand()` and every HTTP endpoint with hypothesis: no 5xx, no crash, no hang, flat memory.

Usage: .venv/bin/python bench/faults/fuzz.py [--understand 100000] [--http 100000]
CI runs 300 simulator cases (tests/bot/test_fuzz_simulator.py); this is the long run.
The bot runs as a subprocess (SQLite, simulator + WeCom app callback mounted); requests go over
one keep-alive connection; each must be answered within 10 s. RSS of the bot is sampled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.bench_e2e import wecom_env, write_callbacks  # noqa: E402
from bench.common import REPO, free_port, rss_mb, serve_cmd, wait_up  # noqa: E402

SETTINGS = dict(deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=False)
texts = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("今天明天周六上午下午理发修预约取消排队不去了活动垃圾漏水12号楼室")
                                     + list("0123456789，。！？ @#+")), max_size=80),
    st.sampled_from(["今天有什么活动", "周六能理发吗", "取消", "排队", "1", "第二个", "@社区小助手 在吗", "#1 已解决"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4), max_leaves=8)
sim_bodies = st.one_of(
    st.fixed_dictionaries({"group": st.sampled_from(["g-res-1", "g-res-2", "g-staff", "g-vol"]),
                           "user": st.sampled_from(["r-zhang", "staff-li", "v-he"]) | st.text(min_size=1, max_size=20),
                           "text": texts}).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=400),
)
paths = st.sampled_from(["/api/sim/messages", "/api/sim/groups/g-res-1/messages", "/api/sim/users/r-zhang/messages",
                         "/api/sim/directory", "/healthz", "/", "/wecom/callback", "/staff", "/staff/login",
                         "/wecom/aibot/callback", "/mp/callback", "/static/app.js"])
queries = st.one_of(st.just(""), st.dictionaries(st.sampled_from(["after", "msg_signature", "timestamp", "nonce",
                                                                  "echostr", "token", "x"]),
                                                 st.text(max_size=40), max_size=4).map(
    lambda d: "&".join(f"{quote(k)}={quote(v)}" for k, v in d.items())))


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


def http_fuzz(n: int, port: int, pid: int, callbacks: list[tuple[str, bytes]]) -> dict[str, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    statuses: Counter[int] = Counter()
    rss: list[float] = []
    slowest = [0.0]

    def request(method: str, target: str, body: bytes | None) -> int:
        nonlocal conn
        for attempt in range(2):
            try:
                t0 = time.perf_counter()
                conn.request(method, target, body=body, headers={"Content-Type": "application/octet-stream"})
                resp = conn.getresponse()
                resp.read()
                slowest[0] = max(slowest[0], time.perf_counter() - t0)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                return resp.status
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()  # the server may close a connection after a rejected request: reconnect
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    @settings(max_examples=n, **SETTINGS)
    @given(kind=st.integers(0, 9), path=paths, query=queries, body=sim_bodies, method=st.sampled_from(["GET", "POST"]),
           pick=st.integers(0, len(callbacks) - 1), flip=st.integers(0, 2000))
    def run(kind: int, path: str, query: str, body: bytes, method: str, pick: int, flip: int) -> None:
        if kind < 4:  # the simulator API
            status = request("POST", "/api/sim/messages", body)
        elif kind < 7:  # WeCom callbacks: real ones (retries, replays), and with one byte flipped
            target, real = callbacks[pick]
            data = bytearray(real)
            if kind > 4 and flip < len(data):
                data[flip] ^= 0x20
            status = request("POST", target if kind != 6 else target.replace("msg_signature=", "msg_signature=0"),
                             bytes(data))
        else:  # anything else, anywhere
            status = request(method, path + ("?" + query if query else ""), body if method == "POST" else None)
        statuses[status] += 1
        if sum(statuses.values()) % 2000 == 0:
            rss.append(round(rss_mb(pid), 1))
        assert status < 500, (status, kind, path, query, body[:100])

    t0 = time.monotonic()
    run()
    conn.close()
    return {"cases": sum(statuses.values()), "seconds": round(time.monotonic() - t0, 1),
            "statuses": dict(sorted(statuses.items())), "slowest_ms": round(slowest[0] * 1000, 1),
            "rss_mb_samples": rss[:3] + ["…"] + rss[-3:] if len(rss) > 6 else rss}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--understand", type=int, default=100_000)
    parser.add_argument("--http", type=int, default=100_000)
    args = parser.parse_args()
    if args.understand:
        print("understand():", json.dumps(understand_fuzz(args.understand), ensure_ascii=False), flush=True)
    if args.http:
        tmp = Path(tempfile.mkdtemp(prefix="linli-fuzz-"))
        file = tmp / "callbacks.txt"
        write_callbacks(file, 500, first_id=9_500_000_000)
        callbacks = [(line.split("\t")[0], line.split("\t", 1)[1].encode()) for line in file.read_text().splitlines()]
        api_port, port = free_port(), free_port()
        api = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"), str(api_port)], cwd=REPO)
        bot = subprocess.Popen(serve_cmd(port, f"sqlite:///{tmp}/fuzz.db"), cwd=REPO, env=wecom_env(api_port),
                               stdout=subprocess.DEVNULL, stderr=(tmp / "bot.log").open("wb"))
        try:
            wait_up(api_port)
            wait_up(port, 60, bot)
            result = http_fuzz(args.http, port, bot.pid, callbacks)
            result["bot_alive"] = bot.poll() is None
            print("HTTP:", json.dumps(result, ensure_ascii=False), flush=True)
        finally:
            bot.terminate()
            bot.wait(20)
            api.terminate()
            api.wait(10)


if __name__ == "__main__":
    main()
