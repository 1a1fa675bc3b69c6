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
    args = parser.parse_args()
    from aiohttp import web
    from pyinstrument import Profiler

    from bot.app import build_app, build_linli, warm_up_nlp
    from config.settings import Settings

    logging.basicConfig(level=logging.WARNING)
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='linli-prof-')}/p.db"
    settings = Settings(database_url=url, scheduler=False)
    linli = build_linli(settings)
    warm_up_nlp(linli.pipeline.understand)
    runner = web.AppRunner(build_app(linli), access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    proc = await asyncio.create_subprocess_exec(
        "wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "-s", args.script,
        f"http://127.0.0.1:{port}{args.path}", stdout=subprocess.PIPE, env=dict(os.environ),
    )
    out, _ = await proc.communicate()
    profiler.stop()
    await runner.cleanup()
    print(out.decode())
    if args.html:
        Path(args.html).write_text(profiler.output_html())
    print(profiler.output_text(unicode=False, color=False, show_all=False))


if __name__ == "__main__":
    asyncio.run(main())
