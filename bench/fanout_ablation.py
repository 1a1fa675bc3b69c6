"""Which delivery change buys what: bench_fanout.py --deliver with one change taken back at a time.

Diagnosis only: the bot's code is patched in this process (nothing here is what the bot does).

    .venv/bin/python bench/fanout_ablation.py [--wave 1] [--limiter old-per-row|lean-per-row]
        [--linear-group] [--token-db] [--skip-limiter] [--route appchat] [--backends sqlite]

--wave N          rows in flight (bot/outbox.py WAVE; 1 = one row at a time, as before)
--limiter         old-per-row: the rate limiter as before (ORM upsert + DELETE, one transaction per
                  send); lean-per-row: today's statement, but one transaction per send
--linear-group    Community.group() as a linear scan of the groups, as before
--token-db        the access_token read from the database for every send, as before (appchat route)
--skip-limiter    no rate-limit transaction at all (as bench_fanout.py --skip-limiter)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete  # noqa: E402

import bench.bench_fanout as fanout  # noqa: E402
import bot.outbox as outbox  # noqa: E402
from bot.channels import wecom_api  # noqa: E402
from bot.channels.wecom_api import RateLimiter  # noqa: E402
from config.community import Community, Group  # noqa: E402
from storage.models_channels import ChannelRateCount  # noqa: E402
from storage.upsert import dialect_insert  # noqa: E402


async def old_acquire(self: RateLimiter, key: str, per_minute: int) -> bool:
    """The limiter before: statement rebuilt on the ORM entity, a DELETE of older windows every call."""
    now = self.clock.now().astimezone(dt.UTC)
    window = now.replace(second=0, microsecond=0)
    async with self.db.transaction() as session:
        stmt = dialect_insert(session)(ChannelRateCount).values(key=key, window_start=window, count=1)
        stmt = stmt.on_conflict_do_update(index_elements=["key", "window_start"],
                                          set_={"count": ChannelRateCount.count + 1})
        count = (await session.execute(stmt.returning(ChannelRateCount.count))).scalar_one()
        await session.execute(delete(ChannelRateCount).where(ChannelRateCount.key == key,
                                                             ChannelRateCount.window_start < window))
    return bool(count <= per_minute)


def patch(args: argparse.Namespace) -> None:
    outbox.WAVE = args.wave  # type: ignore[misc]
    if args.linear_group:
        def linear(self: Community, group_id: str) -> Group | None:
            return next((g for g in self.groups if g.id == group_id), None)

        Community.group = linear  # type: ignore[method-assign]
    lean_many = RateLimiter.acquire_many

    async def per_row(self: RateLimiter, wanted: list[tuple[str, int, int]]) -> list[int]:
        granted = []
        for key, per_minute, n in wanted:
            got = 0
            for _ in range(n):
                if args.limiter == "old-per-row":
                    got += await old_acquire(self, key, per_minute)
                else:
                    got += (await lean_many(self, [(key, per_minute, 1)]))[0]
            granted.append(got)
        return granted

    if args.limiter != "many":
        RateLimiter.acquire_many = per_row  # type: ignore[method-assign]
    if args.token_db:
        async def token(self: Any, *, force: bool = False) -> str:
            cached = await self.store.get(self.key)
            if cached is not None:
                return str(cached)
            async with self._lock:
                cached = await self.store.get(self.key)
                if cached is not None:
                    return str(cached)
                value, expires_in = await self.fetch(force)
                await self.store.put(self.key, value, expires_in)
                return str(value)

        wecom_api.TokenProvider.token = token  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wave", type=int, default=outbox.WAVE)
    parser.add_argument("--limiter", choices=["many", "lean-per-row", "old-per-row"], default="many")
    parser.add_argument("--linear-group", action="store_true")
    parser.add_argument("--token-db", action="store_true")
    parser.add_argument("--skip-limiter", action="store_true")
    parser.add_argument("--route", choices=["robot", "appchat"], default="robot")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("LINLI_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    patch(args)
    print({k: v for k, v in vars(args).items() if k != "postgres_url"}, flush=True)
    deliver = fanout.DeliverOptions(args.route, args.seconds, 0, skip_limiter=args.skip_limiter)
    asyncio.run(fanout.bench(args.groups, args.repeat, args.postgres_url, deliver, None,
                             tuple(args.backends.split(","))))


if __name__ == "__main__":
    main()
