"""Morning fan-out benchmark (issues 6/8): time to queue the theme post for 10,000 groups.

Builds a synthetic community with N residents' groups (the demo community's themes), runs the
theme job the way the scheduler does (one job, one transaction, batched inserts) on a fresh SQLite
file and on a fresh PostgreSQL database, and prints the time to queue, then the time of a rerun
(every row already queued: all conflicts, nothing added).

    .venv/bin/python bench/bench_fanout.py [--groups 10000] [--repeat 3] \
        [--postgres-url postgresql://linli:linli@127.0.0.1:5432/linli_test]

PostgreSQL is skipped when neither --postgres-url nor LINLI_TEST_POSTGRES_URL is set.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.clock import FixedClock  # noqa: E402
from bot.scheduler import Scheduler, SoleProcess  # noqa: E402
from config.community import Directory, Group, load_directory  # noqa: E402
from config.settings import DEFAULT_COMMUNITY_FILE  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402

DAY = dt.date(2026, 11, 26)  # a Thursday: safety check day
NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def synthetic_directory(groups: int) -> Directory:
    demo = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    residents = [Group(id=f"g-{i:05d}", name=f"居民群{i}", kind="residents") for i in range(groups)]
    others = [g for g in demo.groups if g.kind != "residents"]
    people = [p.model_copy(update={"groups": [g for g in p.groups if not g.startswith("g-res-")]})
              for p in demo.people]
    return Directory([demo.model_copy(update={"groups": residents + others, "people": people})])


async def one_run(url: str, directory: Directory) -> tuple[float, float, float, int]:
    db = Database(url)
    try:
        await upgrade(db)
        scheduler = Scheduler(db, directory, FixedClock(NOW), leadership=SoleProcess())
        started, cpu_started = time.perf_counter(), time.process_time()
        [first] = await scheduler.run("theme", DAY)
        queue_s, queue_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        started = time.perf_counter()
        [again] = await scheduler.run("theme", DAY)
        rerun_s = time.perf_counter() - started
        async with db.transaction() as session:
            rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert first.queued == rows and again.queued == 0, (first, again, rows)
        return queue_s, queue_cpu, rerun_s, rows or 0
    finally:
        await db.dispose()


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await engine.dispose()


async def bench(groups: int, repeat: int, postgres_url: str | None) -> None:
    directory = synthetic_directory(groups)
    backends: list[tuple[str, object]] = [("sqlite", None)]
    if postgres_url:
        backends.append(("postgresql", postgres_url))
    for name, base in backends:
        times: list[tuple[float, float, float, int]] = []
        for _ in range(repeat):
            if base is None:
                with tempfile.TemporaryDirectory() as tmp:
                    times.append(await one_run(f"sqlite+aiosqlite:///{tmp}/fanout.db", directory))
            else:
                admin = make_url(str(base)).set(drivername="postgresql+asyncpg")
                db_name = f"linli_bench_{uuid.uuid4().hex[:10]}"
                admin_url = admin.render_as_string(hide_password=False)
                await _admin(admin_url, f'CREATE DATABASE "{db_name}"')
                try:
                    times.append(await one_run(admin.set(database=db_name).render_as_string(hide_password=False),
                                               directory))
                finally:
                    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        queue, cpu, rerun = ([t[i] for t in times] for i in range(3))
        print(f"{name:10s} {groups} groups: queued {times[0][3]} rows in median {statistics.median(queue):.3f} s "
              f"(runs: {', '.join(f'{t:.3f}' for t in queue)}; bot CPU median {statistics.median(cpu):.3f} s); "
              f"rerun (all already queued) median {statistics.median(rerun):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get("LINLI_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    asyncio.run(bench(args.groups, args.repeat, args.postgres_url))


if __name__ == "__main__":
    main()
