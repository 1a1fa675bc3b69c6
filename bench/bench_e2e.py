"""End-to-end rates through encrypted WeCom callbacks, as ratios to a bare aiohttp handler.

Usage:
  .venv/bin/python bench/bench_e2e.py [--seconds 10] [--rounds 3] [--connections 32]
      [--postgres postgresql://linli:linli@127.0.0.1:5432/linli_test] [--latency-seconds 10]

Per round, alternating targets (the machine is shared: only same-run ratios mean anything):
- bare: bench/bare_server.py answering the same POSTs (reads the body, answers);
- linli on SQLite (and on PostgreSQL with --postgres, a fresh migrated database each time),
  with the WeCom app callback mounted and the fake WeCom API (bench/fake_api.py) behind it.
wrk replays pre-encrypted callbacks (distinct MsgIds, signatures in the query string). A 200
means the message is durable in the inbox (acknowledgment path: verify, decrypt, parse, inbox);
handling (understand, handler, outbox, delivery to the fake API) goes on in the background. After
wrk stops, the backlog (inbox rows still "new") is counted and timed until it is gone:
handled rate = messages stored / (wrk seconds + drain seconds).
Then, with --latency-seconds, an open-loop client (bench/openloop.py) sends at half of the
measured max ack rate, to linli and to the bare server (showing the client keeps its schedule).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import (  # noqa: E402
    REPO,
    bench_env,
    children,
    cpu_seconds,
    drop_postgres,
    ensure_wrk,
    free_port,
    fresh_postgres,
    ms,
    pids_named,
    rss_mb,
    serve_cmd,
    wait_up,
    wrk,
)
from bench.fake_api import AES_KEY, AGENT_ID, CORP_ID, CORP_SECRET, TOKEN  # noqa: E402

TEXTS = ["大家早上好", "收到", "哈哈哈 好的", "今天有什么活动", "谢谢志愿者",
         "今天社区有啥活动不", "[玫瑰][玫瑰]", "天冷了 大家注意保暖", "好的好的", "明天啥活动"]


# Residents sending the callbacks. A district's bot hears many people a few messages each; with
# too few senders, each one would ask more answers a minute than WeCom lets the app send to one
# member (30), and the run would measure rate-limit retries instead of the bot.
SENDERS = int(os.environ.get("BENCH_SENDERS", "5000"))


def bench_message(i: int) -> tuple[str, str]:
    """(sender, text) of callback i: SENDERS residents, mostly chit-chat, some questions.

    Lines 0 .. SENDERS-1 have one sender each: `warm_up` sends them first, so the measured run
    hears residents the bot already knows (as a running bot does)."""
    return f"bench-u{i % SENDERS}", TEXTS[(i // SENDERS + i) % len(TEXTS)]


def write_callbacks(path: Path, count: int, *, message: Callable[[int], tuple[str, str]] = bench_message,
                    first_id: int = 7_000_000_000) -> None:
    """`count` encrypted, signed WeCom app callbacks with distinct MsgIds, one per line."""
    import xmltodict
    from wechatpy.enterprise.crypto import WeChatCrypto

    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    now = int(time.time())
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            user, text = message(i)
            xml = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
                   f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{now}</CreateTime>"
                   f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
                   f"<MsgId>{first_id + i}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")
            nonce = str(100000 + i)
            out = xmltodict.parse(crypto.encrypt_message(xml, nonce, str(now)))["xml"]
            body = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{out['Encrypt']}]]>"
                    f"</Encrypt><AgentID><![CDATA[{AGENT_ID}]]></AgentID></xml>")
            f.write(f"/wecom/callback?msg_signature={out['MsgSignature']}&timestamp={now}&nonce={nonce}\t{body}\n")


def warm_up(port: int, file: Path, count: int = SENDERS, concurrency: int = 16) -> float:
    """Sends the first `count` callbacks (one per sender) and waits for their answers; seconds taken.

    Measured runs then start at line `count` (START for wrk_callbacks.lua)."""
    import aiohttp

    with file.open(encoding="utf-8") as f:
        lines = [next(f).rstrip("\n").split("\t", 1) for _ in range(count)]

    async def run() -> None:
        async with aiohttp.ClientSession() as http:
            async def worker(k: int) -> None:
                for target, body in lines[k::concurrency]:
                    async with http.post(f"http://127.0.0.1:{port}{target}", data=body.encode()) as resp:
                        if resp.status != 200:
                            raise SystemExit(f"warm-up callback answered {resp.status}")

            await asyncio.gather(*(worker(k) for k in range(concurrency)))

    t0 = time.monotonic()
    asyncio.run(run())
    return time.monotonic() - t0


def wecom_env(api_port: int) -> dict[str, str]:
    # The runs replay callbacks signed when their file was written, for longer than the 5-minute
    # freshness window: a day's window here (WeChat's own callbacks are fresh).
    return bench_env(LINLI_WECOM_CORP_ID=CORP_ID, LINLI_WECOM_AGENT_ID=str(AGENT_ID), LINLI_WECOM_SECRET=CORP_SECRET,
                     LINLI_WECOM_TOKEN=TOKEN, LINLI_WECOM_AES_KEY=AES_KEY,
                     LINLI_WECOM_API_BASE=f"http://127.0.0.1:{api_port}", LINLI_SCHEDULER="false",
                     LINLI_OUTBOX_POLL_SECONDS="0.2", LINLI_CALLBACK_MAX_AGE_SECONDS="86400")


def inbox_counts(url: str) -> tuple[int, int, int]:
    """(rows, rows still new, outbox rows still pending)."""
    sql = ("SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM inbox WHERE status = 'new'), "
           "(SELECT count(*) FROM outbox WHERE status = 'pending')")
    if url.startswith("sqlite"):
        with sqlite3.connect(url.split("///", 1)[1], timeout=30) as conn:
            return conn.execute(sql).fetchone()

    async def pg() -> tuple[int, int, int]:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return tuple(await conn.fetchrow(sql))  # type: ignore[return-value]
        finally:
            await conn.close()

    return asyncio.run(pg())


class Target:
    def __init__(self, name: str, postgres: str | None = None) -> None:
        self.name = name
        self.postgres = postgres
        self.procs: list[subprocess.Popen] = []
        self.db_name: str | None = None
        self.url = ""

    @property
    def bare(self) -> bool:
        return self.name == "bare"

    def start(self, tmp: Path, workers: int = 1, handling: bool = True, database_url: str | None = None) -> int:
        port = free_port()
        if self.bare:
            self.procs.append(subprocess.Popen([sys.executable, str(HERE / "bare_server.py"), str(port)], cwd=REPO))
            wait_up(port)
            return port
        api_port = free_port()
        self.procs.append(subprocess.Popen([sys.executable, str(HERE / "fake_api.py"), str(api_port)], cwd=REPO,
                                           env=bench_env()))
        wait_up(api_port)
        if database_url:  # a database the caller made (and drops)
            self.url = database_url
        elif self.postgres:
            self.url, self.db_name = fresh_postgres(self.postgres)
        else:
            self.url = f"sqlite:///{tmp}/e2e-{time.monotonic_ns()}.db"
        extra = ["--workers", str(workers)] if workers > 1 else []
        env = wecom_env(api_port) | ({} if handling else {"LINLI_HANDLE_MESSAGES": "false"})
        proc = subprocess.Popen(serve_cmd(port, self.url, *extra), cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        wait_up(port, 60, proc)
        return port

    @property
    def server_pid(self) -> int:
        return self.procs[-1].pid

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()
        if self.db_name and self.postgres:
            drop_postgres(self.postgres, self.db_name)
            self.db_name = None


def drain(target: Target, timeout: float = 180) -> tuple[int, int, float]:
    """(messages stored, backlog when wrk stopped, seconds until nothing is left to handle)."""
    started = time.monotonic()
    total, backlog, _ = inbox_counts(target.url)
    left = backlog
    while left and time.monotonic() - started < timeout:
        time.sleep(0.05)
        total, left, _ = inbox_counts(target.url)
    return total, backlog, time.monotonic() - started


def openloop(port: int, file: Path, rate: float, seconds: float, start: int = 0) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(HERE / "openloop.py"), f"http://127.0.0.1:{port}", str(file),
                          "--rate", str(rate), "--seconds", str(seconds), "--start", str(start)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def startup(tmp: Path, postgres: str | None, rounds: int) -> None:
    """Seconds from starting `linli serve` to the first answered simulator message (fresh database)."""
    import urllib.request

    body = json.dumps({"group": "g-res-1", "user": "r-zhang", "text": "今天有什么活动"}).encode()
    for label in ["SQLite"] + (["PostgreSQL"] if postgres else []):
        times = []
        for _ in range(rounds):
            port, db_name = free_port(), None
            if label == "SQLite":
                url = f"sqlite:///{tmp}/start-{time.monotonic_ns()}.db"  # migrated at start-up, in the timing
            else:
                url, db_name = fresh_postgres(postgres)  # type: ignore[arg-type]
            t0 = time.monotonic()
            proc = subprocess.Popen(serve_cmd(port, url), cwd=REPO, env=bench_env(LINLI_SCHEDULER="true"),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                while True:
                    try:
                        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/sim/messages", data=body,
                                                     headers={"Content-Type": "application/json"})
                        with urllib.request.urlopen(req, timeout=5) as resp:
                            if json.load(resp)["replies"]:
                                break
                    except OSError:
                        time.sleep(0.01)
                times.append(time.monotonic() - t0)
            finally:
                proc.terminate()
                proc.wait(20)
                if db_name:
                    drop_postgres(postgres, db_name)  # type: ignore[arg-type]
        print(f"start-up to first answer, {label}: median {statistics.median(times):.2f} s, "
              f"runs {', '.join(f'{t:.2f}' for t in times)}")


def rss_run(tmp: Path, count: int, connections: int) -> None:
    """RSS of one linli process (SQLite) after `count` WeCom callbacks, all handled."""
    file = tmp / "rss-callbacks.txt"
    write_callbacks(file, count, first_id=8_000_000_000)
    os.environ["CALLBACKS"] = str(file)
    target = Target("linli SQLite")
    port = target.start(tmp)
    try:
        start_rss = rss_mb(target.server_pid)
        stored = 0
        samples = []
        sent = 0
        while stored < count and sent < count:  # wrk in slices, each going on where the last stopped
            os.environ["START"] = str(sent)
            w = wrk(f"http://127.0.0.1:{port}/wecom/callback", script=HERE / "wrk_callbacks.lua", seconds=15,
                    connections=connections)
            sent += int(w["requests"])  # type: ignore[call-overload]
            stored, backlog, _ = inbox_counts(target.url)
            samples.append((stored, round(rss_mb(target.server_pid), 1)))
            print(f"  stored {stored}, backlog {backlog}, RSS {samples[-1][1]} MB", flush=True)
        drain(target)
        with open(f"/proc/{target.server_pid}/status") as f:
            peak = next(line.split()[1] for line in f if line.startswith("VmHWM:"))
        print(f"RSS after {stored} messages (all handled): {rss_mb(target.server_pid):.1f} MB "
              f"(at start {start_rss:.1f} MB, peak {int(peak) / 1024:.1f} MB)")
    finally:
        target.stop()


def compare_workers(tmp: Path, file: Path, postgres: str, seconds: int, rounds: int, connections: int) -> None:
    """One process vs `linli serve --workers 2` on PostgreSQL, same port, alternating rounds."""
    rates: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for _ in range(rounds):
        for workers in (1, 2):
            target = Target("linli PostgreSQL", postgres)
            port = target.start(tmp, workers=workers)
            if workers > 1:
                time.sleep(3)  # the second worker is up a moment after the first one answers
            try:
                # Residents the bot knows, as in the rate runs (each sender's first message is the
                # warm-up's; the measured lines start after them). Each process caches the
                # residents it has heard from: with two, the warm-up is sent 4 times, new
                # connections each time (the kernel spreads them), so each process has heard
                # ≈ 94 % of the residents, as processes that have run for a while have. The
                # repeats are retries of stored messages: acknowledged, not handled again.
                for _ in range(1 if workers == 1 else 4):
                    warm_up(port, file)
                warm = drain(target)[0]
                bots, pg = children(target.server_pid), pids_named("postgres")
                cpu0 = (cpu_seconds(bots), cpu_seconds(pg), resource.getrusage(resource.RUSAGE_CHILDREN))
                w = wrk(f"http://127.0.0.1:{port}/wecom/callback", script=HERE / "wrk_callbacks.lua",
                        seconds=seconds, connections=connections, threads=2)
                total, backlog, drain_s = drain(target)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                used = {"bot": cpu_seconds(bots) - cpu0[0], "postgres": cpu_seconds(pg) - cpu0[1],
                        "wrk": after.ru_utime + after.ru_stime - cpu0[2].ru_utime - cpu0[2].ru_stime}
                rates[workers].append((w["rate"], (total - warm) / (seconds + drain_s)))  # type: ignore[arg-type]
                print(f"  workers={workers}: ack {w['rate']:.0f}/s, handled {rates[workers][-1][1]:.0f}/s, "
                      f"backlog {backlog}; CPU seconds in {seconds + drain_s:.1f} s: "
                      + ", ".join(f"{k} {v:.1f}" for k, v in used.items()), flush=True)
            finally:
                target.stop()
    for i, what in enumerate(("ack", "handled")):
        one = statistics.median(r[i] for r in rates[1])
        two = statistics.median(r[i] for r in rates[2])
        print(f"{what}: 1 process {one:.0f}/s, 2 processes {two:.0f}/s, ratio {two / one:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--startup", action="store_true", help="only measure start-up to the first answer")
    parser.add_argument("--rss", type=int, metavar="N", help="only measure RSS after N callbacks")
    parser.add_argument("--compare-workers", action="store_true", help="only 1 vs 2 processes (needs --postgres)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="also measure linli on PostgreSQL (fresh database next to this URL)")
    parser.add_argument("--latency-seconds", type=float, default=10)
    parser.add_argument("--latency-rate", type=float, help="open-loop rate (default: half the measured max)")
    parser.add_argument("--callbacks", type=int, default=120_000, help="distinct pre-encrypted callbacks")
    parser.add_argument("--ack-only", action="store_true",
                        help="linli only acknowledges (LINLI_HANDLE_MESSAGES=false): the acknowledgment path alone")
    args = parser.parse_args()
    ensure_wrk()
    tmp = Path(tempfile.mkdtemp(prefix="linli-e2e-"))
    if args.startup:
        return startup(tmp, args.postgres, args.rounds)
    if args.rss:
        return rss_run(tmp, args.rss, args.connections)
    file = tmp / "callbacks.txt"
    t0 = time.monotonic()
    write_callbacks(file, args.callbacks)
    print(f"wrote {args.callbacks} encrypted callbacks in {time.monotonic() - t0:.1f} s", flush=True)
    os.environ["CALLBACKS"] = str(file)
    os.environ["START"] = str(SENDERS)  # after the warm-up's lines
    if args.compare_workers:
        return compare_workers(tmp, file, args.postgres, args.seconds, args.rounds, args.connections)
    targets = [Target("bare"), Target("linli SQLite")]
    if args.postgres:
        targets.append(Target("linli PostgreSQL", args.postgres))
    results: dict[str, list[dict[str, float]]] = {t.name: [] for t in targets}
    for rnd in range(args.rounds):
        for target in targets:
            port = target.start(tmp, handling=not args.ack_only)
            try:
                warm = 0
                if not target.bare:
                    warm_up(port, file)
                    if not args.ack_only:
                        warm = drain(target)[0]  # the warm-up's messages are not counted below
                w = wrk(f"http://127.0.0.1:{port}/wecom/callback", script=HERE / "wrk_callbacks.lua",
                        seconds=args.seconds, connections=args.connections)
                row: dict[str, float] = {"ack_rate": w["rate"], "p99_ms": ms(w["p99"]), "p50_ms": ms(w["p50"])}
                if not target.bare and not args.ack_only:
                    total, backlog, seconds = drain(target)
                    total -= warm
                    row.update(stored=total, backlog=backlog, drain_s=seconds,
                               handled_rate=total / (args.seconds + seconds), rss_mb=rss_mb(target.server_pid))
                results[target.name].append(row)
                print(f"round {rnd + 1} {target.name}: {json.dumps(row)}", flush=True)
            finally:
                target.stop()
    base = statistics.median(r["ack_rate"] for r in results["bare"])
    print(f"\n{'target':<18}{'ack req/s':>10}{'ratio':>7}{'wrk p99':>9}{'handled/s':>10}{'ratio':>7}"
          f"{'backlog':>9}{'drain s':>8}")
    for name, rows in results.items():
        ack = statistics.median(r["ack_rate"] for r in rows)
        line = f"{name:<18}{ack:>10.0f}{ack / base:>7.2f}{statistics.median(r['p99_ms'] for r in rows):>8.0f}ms"
        if "handled_rate" in rows[0]:
            handled = statistics.median(r["handled_rate"] for r in rows)
            line += (f"{handled:>10.0f}{handled / base:>7.2f}{statistics.median(r['backlog'] for r in rows):>9.0f}"
                     f"{statistics.median(r['drain_s'] for r in rows):>8.1f}")
        print(line)
    if args.latency_seconds:
        print("\nopen-loop latency at half of each linli target's median max ack rate:")
        for target in targets[1:]:
            rate = args.latency_rate or statistics.median(r["ack_rate"] for r in results[target.name]) / 2
            for probe in (targets[0], target):
                port = probe.start(tmp)
                try:
                    if not probe.bare:  # residents the bot knows, as in the rate runs
                        warm_up(port, file)
                        drain(probe)
                    r = openloop(port, file, rate, args.latency_seconds, start=SENDERS)
                finally:
                    probe.stop()
                print(f"  {probe.name:<18} at {rate:.0f}/s: {json.dumps(r)}", flush=True)


if __name__ == "__main__":
    main()
