"""Do staff logins stall callbacks? Callback latency while 60 staff logins run in parallel, with the
password check off the event loop (as shipped: bot/staff_web/passwords.py `check_password`) and on
it (the way it was before issue 17, patched in for the comparison), in the same run.

Usage: .venv/bin/python bench/bench_login_stall.py [--rounds 3] [--seconds 5] [--rate 50] [--logins 60]

Per round and variant, a fresh `linli serve`-equivalent process (SQLite, the WeCom app callback
mounted, the fake WeCom API behind it) gets encrypted callbacks at a fixed rate (open loop), first
alone ("quiet"), then while `--logins` clients log in as staff over and over, each from its own
address (X-Forwarded-For through the trusted loopback proxy, so the lockout never answers in their
place). Reported: the callbacks' p50 and p95 in both phases, and the login rate. Variants
alternate within each round (the machine is shared: only same-run ratios mean anything).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_e2e import wecom_env, write_callbacks  # noqa: E402
from bench.common import REPO, free_port, wait_up  # noqa: E402

VARIANTS = ("off-loop", "on-loop")


def serve_here(port: int, database: str, on_loop: bool) -> None:
    """The server side: `linli serve` in this process, the password check patched onto the loop if asked."""
    import logging

    from bot.app import serve
    from config.settings import Settings

    logging.basicConfig(level="WARNING")
    if on_loop:
        import bot.staff_web.auth as auth
        from bot.staff_web.passwords import verify_password

        async def inline(password: str, stored: str | None) -> bool:  # the way before issue 17
            return verify_password(password, stored)

        auth.check_password = inline  # type: ignore[assignment]
    asyncio.run(serve(Settings(port=port, database_url=database)))


async def measure(port: int, lines: list[tuple[str, bytes]], seconds: float, rate: float,
                  logins: int) -> dict[str, float]:
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    latencies: dict[str, list[float]] = {"quiet": [], "logins": []}
    logged_in = [0]
    stop_logins = asyncio.Event()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30),
                                     connector=aiohttp.TCPConnector(limit=0)) as http:

        async def callback(i: int, phase: str) -> None:
            target, body = lines[i]
            started = time.perf_counter()
            async with http.post(base + target, data=body, headers={"Content-Type": "text/xml"}) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies[phase].append(time.perf_counter() - started)

        async def phase(name: str, first: int) -> int:
            tasks, t0, i = [], time.perf_counter(), first
            while time.perf_counter() - t0 < seconds:
                tasks.append(asyncio.create_task(callback(i, name)))
                i += 1
                await asyncio.sleep(max(0.0, t0 + (i - first) / rate - time.perf_counter()))
            await asyncio.gather(*tasks)
            return i

        async def log_in_again_and_again(n: int) -> None:
            headers = {"X-Forwarded-For": f"198.51.{n // 250}.{n % 250 + 1}"}
            form = {"login": "staff-li", "password": "linli-demo"}
            while not stop_logins.is_set():
                async with http.post(f"{base}/staff/login", data=form, headers=headers,
                                     allow_redirects=False) as resp:
                    await resp.read()
                    assert resp.status == 302, resp.status
                logged_in[0] += 1

        nxt = await phase("quiet", 0)
        login_tasks = [asyncio.create_task(log_in_again_and_again(n)) for n in range(logins)]
        await asyncio.sleep(0.5)  # the logins are under way
        started = time.perf_counter()
        await phase("logins", nxt)
        stop_logins.set()
        await asyncio.gather(*login_tasks)
        login_seconds = time.perf_counter() - started

    def pct(values: list[float], q: float) -> float:
        return round(statistics.quantiles(values, n=100)[q - 1] * 1000, 1)

    return {"quiet_p50_ms": pct(latencies["quiet"], 50), "quiet_p95_ms": pct(latencies["quiet"], 95),
            "logins_p50_ms": pct(latencies["logins"], 50), "logins_p95_ms": pct(latencies["logins"], 95),
            "logins_per_s": round(logged_in[0] / login_seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--logins", type=int, default=60)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--on-loop", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_here(args.serve, args.database, args.on_loop)
        return
    tmp = Path(tempfile.mkdtemp(prefix="linli-login-stall-"))
    per_phase = int(args.seconds * args.rate * 1.2) + 10
    api_port = free_port()
    api = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"), str(api_port)], cwd=REPO)
    results: dict[str, list[dict[str, float]]] = {v: [] for v in VARIANTS}
    try:
        wait_up(api_port)
        first_id = 8_000_000_000
        for r in range(args.rounds):
            for variant in VARIANTS:
                file = tmp / f"callbacks-{r}-{variant}.txt"
                write_callbacks(file, 2 * per_phase, first_id=first_id)
                first_id += 2 * per_phase
                lines = [(t, b.encode()) for t, _, b in (line.partition("\t") for line in
                                                         file.read_text(encoding="utf-8").splitlines())]
                port = free_port()
                command = [sys.executable, str(HERE / "bench_login_stall.py"), "--serve", str(port),
                           "--database", f"sqlite:///{tmp}/{r}-{variant}.db"] + (["--on-loop"] if variant == "on-loop"
                                                                                 else [])
                bot = subprocess.Popen(command, cwd=REPO, env=wecom_env(api_port), stdout=subprocess.DEVNULL)
                try:
                    wait_up(port, 60, bot)
                    outcome = asyncio.run(measure(port, lines, args.seconds, args.rate, args.logins))
                finally:
                    bot.terminate()
                    bot.wait(20)
                results[variant].append(outcome)
                print(f"round {r + 1} {variant}: {json.dumps(outcome)}", file=sys.stderr, flush=True)
    finally:
        api.terminate()
        api.wait(10)
    summary = {}
    for variant, runs in results.items():
        summary[variant] = {key: round(statistics.median(run[key] for run in runs), 1) for key in runs[0]}
        summary[variant]["p50_ratio_logins_to_quiet"] = round(
            statistics.median(run["logins_p50_ms"] / run["quiet_p50_ms"] for run in runs), 2)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
