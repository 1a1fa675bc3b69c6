"""Profiles one linli process under wrk load (pyinstrument), to see where a request's time goes.

Usage: .venv/bin/python bench/profile_server.py [--seconds 8] [--connections 32] [--database-url URL]
       [--path /api/sim/messages] [--script bench/wrk_sim_post.lua] [--html out.html]
Needs `pip install pyinstrument` and Debian's wrk. The server runs in this process; wrk in another.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import free_port  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url")
    parser.add_argument("--path", default="/api/sim/messages")
    parser.add_argument("--script", default=str(HERE / "wrk_sim_post.lua"))
    parser.add_argument("--html")
    parser.add_argument("--no-profile", action="store_true", help="only count batch sizes")
    parser.add_argument("--ack-only", action="store_true", help="do not hand stored callbacks to the pipeline")
    args = parser.parse_args()
    from aiohttp import web
    from pyinstrument import Profiler

    from bot.app import build_app, warm_up_nlp
    from bot.linli import build_linli
    from config.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    if os.environ.get("SWITCH"):
        sys.setswitchinterval(float(os.environ["SWITCH"]))
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='linli-prof-')}/p.db"
    settings = Settings(database_url=url, scheduler=False)
    linli = build_linli(settings)
    warm_up_nlp(linli.pipeline.understand)
    sizes: dict[str, list[int]] = {"inbox": [], "pipeline": [], "outbox": []}

    def counting(name: str, fn, arg: int = 0):  # type: ignore[no-untyped-def]
        async def wrapper(*a, **k):  # type: ignore[no-untyped-def]
            result = await fn(*a, **k)
            sizes[name].append(len(a[arg]) if name != "outbox" else len(result))
            return result
        return wrapper

    linli.inbox._write = counting("inbox", linli.inbox._write)  # type: ignore[method-assign]
    linli.pipeline._handle_batch = counting("pipeline", linli.pipeline._handle_batch)  # type: ignore[method-assign]
    linli.drainer._claim = counting("outbox", linli.drainer._claim)  # type: ignore[method-assign]
    if args.ack_only:  # the acknowledgment path alone: stored messages are not handled
        linli.pipeline.handle = False
    runner = web.AppRunner(build_app(linli), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    if not args.no_profile:
        profiler.start()
    proc = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "-s", args.script,
        f"http://127.0.0.1:{port}{args.path}", stdout=subprocess.PIPE, env=dict(os.environ),
    )
    cpu0 = time.process_time()
    out, _ = await proc.communicate()
    cpu = time.process_time() - cpu0
    if not args.no_profile:
        profiler.stop()
    if args.ack_only:  # then handle the backlog the way a restart does, and time it
        t0, c0 = time.perf_counter(), time.process_time()
        if not args.no_profile:
            profiler.start()
        n = await linli.pipeline.resume_pending()
        await asyncio.sleep(0.5)
        while await linli.drainer.drain_once():
            pass
        if not args.no_profile:
            profiler.stop()
        wall, cpu_h = time.perf_counter() - t0, time.process_time() - c0
        print(f"handled a backlog of {n} in {wall:.2f} s ({n / wall:.0f}/s), CPU {cpu_h / max(1, n) * 1e6:.0f} us each")
    await runner.cleanup()
    print(out.decode())
    requests = int(out.decode().split(" requests in")[0].split()[-1])
    print(f"server CPU {cpu:.2f} s for {requests} requests: {cpu / max(1, requests) * 1e6:.0f} us a request")
    for name, values in sizes.items():
        print(f"{name}: {len(values)} batches, mean {sum(values) / max(1, len(values)):.1f} rows")
    if args.no_profile:
        return
    if args.html:
        Path(args.html).write_text(profiler.output_html())  # noqa: ASYNC240 (after the run)
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    asyncio.run(main())
