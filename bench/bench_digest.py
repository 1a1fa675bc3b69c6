"""Benchmark: the staff digest (handlers/digest.compute_digest) over 1,000,000 requests, SQLite and PostgreSQL.

The rows are bulk-loaded (stdlib sqlite3 executemany / asyncpg COPY) into a schema built by the
real migrations; that is setup. What is measured is the digest exactly as the bot computes it:
`compute_digest` through SQLAlchemy async, for an ordinary day and for the weekly day.

    .venv/bin/python bench/bench_digest.py --rows 1000000 \
        --postgres postgresql://linli:linli@127.0.0.1:5432/linli_test

Data: two years of requests ending on the digest day, one community holding all of them (the
worst case for one digest), 7 categories, 3 grids, ~2 % still open (more among recent ones),
1 % urgent; resolved ones took 1 hour to 10 days.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.loader import load_directory  # noqa: E402
from config.settings import DEFAULT_COMMUNITY_FILE  # noqa: E402
from handlers.digest import compute_digest  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 11, 25)  # a Wednesday
WEEKLY_DAY = dt.date(2026, 11, 29)  # the demo community's weekly digest day (Sunday)
CATEGORIES = ("repair", "sanitation", "safety", "parking", "dispute", "elderly_care", "policy")
GRIDS = ("grid-1", "grid-2", "grid-3")
COLUMNS = ("community", "channel", "group_id", "sender_id", "sender_name", "category", "text", "building", "unit",
           "room", "grid", "tier", "urgent", "status", "team", "affected", "note", "version", "created_at",
           "updated_at", "resolved_at", "closed_at")


def rows(n: int, seed: int = 5):  # type: ignore[no-untyped-def]
    """Tuples in COLUMNS order, aware UTC datetimes."""
    rnd = random.Random(seed)
    end = dt.datetime.combine(DAY + dt.timedelta(days=5), dt.time(0), tzinfo=TZ).astimezone(dt.UTC)
    span = 730 * 86400
    for i in range(n):
        created = end - dt.timedelta(seconds=rnd.random() * span)
        age_days = (end - created).days
        open_share = 0.30 if age_days < 7 else (0.08 if age_days < 60 else 0.01)
        r = rnd.random()
        resolved = closed = None
        if r < open_share:
            status = rnd.choice(("new", "acknowledged", "in_progress"))
        elif r < open_share + 0.03:
            status = "rejected"
        else:
            resolved = created + dt.timedelta(seconds=rnd.uniform(3600, 10 * 86400))
            status = "closed" if rnd.random() < 0.7 else "resolved"
            closed = resolved + dt.timedelta(days=1) if status == "closed" else None
        building = rnd.randint(1, 12)
        yield ("xingfuli", "sim", f"g-res-{(building - 1) // 4 + 1}", f"r-{i % 5000}", "居民", rnd.choice(CATEGORIES),
               f"{building}号楼 第{i}件 楼道灯坏了 电话1380000{i % 10000:04d}", building, rnd.randint(1, 4),
               f"{rnd.randint(1, 18)}0{rnd.randint(1, 4)}", GRIDS[(building - 1) // 4],
               rnd.choice(("grid", "grid", "grid", "community", "street")), rnd.random() < 0.01, status, None,
               rnd.randint(1, 3), None, 1, created, resolved or created, resolved, closed)


def _sqlite_ts(value: dt.datetime | None) -> str | None:
    # The text form SQLAlchemy's SQLite DateTime stores (naive UTC, microseconds always written).
    return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(
        sep=" ", timespec="microseconds")


def load_sqlite(path: Path, n: int) -> float:
    started = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    # Indexes are dropped for the load and rebuilt from their own DDL: sorted builds are faster.
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests' "
                          "AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    placeholders = ",".join("?" * len(COLUMNS))
    sql = f"INSERT INTO requests ({','.join(COLUMNS)}) VALUES ({placeholders})"
    batch: list[tuple[object, ...]] = []
    for row in rows(n):
        batch.append((*row[:18], *(_sqlite_ts(v) for v in row[18:])))
        if len(batch) == 50_000:
            con.executemany(sql, batch)
            batch.clear()
    con.executemany(sql, batch)
    for _, ddl in indexes:
        con.execute(ddl)
    con.commit()
    con.execute("ANALYZE")
    con.close()
    return time.perf_counter() - started


async def load_postgres(url: str, n: int) -> float:
    import asyncpg

    started = time.perf_counter()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        indexes = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'requests' "
                                   "AND indexname <> 'requests_pkey'")
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        await conn.copy_records_to_table("requests", records=rows(n), columns=list(COLUMNS))
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("ANALYZE requests")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def measure(url: str, runs: int) -> dict[str, list[float]]:
    community = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    db = Database(url)
    times: dict[str, list[float]] = {"daily": [], "weekly": []}
    try:
        for _ in range(runs):
            for name, day in (("daily", DAY), ("weekly", WEEKLY_DAY)):
                started = time.perf_counter()
                async with db.transaction() as session:
                    digest = await compute_digest(session, community, day)
                times[name].append(time.perf_counter() - started)
        print(f"    check: {DAY} new={digest.total.new} resolved={digest.total.resolved} open={digest.total.open}",
              file=sys.stderr)
    finally:
        await db.dispose()
    return times


async def migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade(db)
    finally:
        await db.dispose()


async def admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def report(backend: str, n: int, load: float, times: dict[str, list[float]]) -> str:
    cells = []
    for name in ("daily", "weekly"):
        t = times[name]
        cells.append(f"{statistics.median(t) * 1000:.0f} ms median, {max(t) * 1000:.0f} ms max")
    return f"| {backend} | {n:,} | {load:.1f} s | {cells[0]} | {cells[1]} |"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server; a scratch database is created")
    parser.add_argument("--sqlite-dir", type=Path, help="where the SQLite file goes (default: a temp dir)")
    args = parser.parse_args()

    lines = ["| backend | requests | bulk load (setup) | daily digest | weekly digest |", "|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(dir=args.sqlite_dir) as tmp:
        path = Path(tmp) / "bench.db"
        await migrate(f"sqlite+aiosqlite:///{path}")
        print("loading SQLite …", file=sys.stderr)
        load = load_sqlite(path, args.rows)
        times = await measure(f"sqlite+aiosqlite:///{path}", args.runs)
        lines.append(report("SQLite", args.rows, load, times))
    if args.postgres:
        name = f"linli_bench_{uuid.uuid4().hex[:8]}"
        base = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
        await admin(base, f'CREATE DATABASE "{name}"')
        url = base.rsplit("/", 1)[0] + "/" + name
        try:
            await migrate(url)
            print("loading PostgreSQL …", file=sys.stderr)
            load = await load_postgres(url, args.rows)
            times = await measure(url, args.runs)
            lines.append(report("PostgreSQL", args.rows, load, times))
        finally:
            await admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
