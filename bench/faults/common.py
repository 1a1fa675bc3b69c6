"""Shared by the fault runs: a WeChat-like sender that retries until acknowledged, and DB checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp


@dataclass
class Sent:
    acked: dict[int, float] = field(default_factory=dict)  # line -> time of the 200
    statuses: list[tuple[float, int]] = field(default_factory=list)  # (time, status; 0 = no answer)


def load_lines(path: Path) -> list[tuple[str, bytes]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        target, _, body = line.partition("\t")
        out.append((target, body.encode()))
    return out


async def send_until_acked(base: Callable[[], str], lines: list[tuple[str, bytes]], *, concurrency: int = 64,
                           rate: float | None = None, sent: Sent | None = None,
                           on_ack: Callable[[Sent], None] | None = None, give_up_after: float = 300) -> Sent:
    """Sends every line until it is answered with 200, as WeChat retries unanswered callbacks.

    With `rate`, lines start on a fixed schedule (open loop); otherwise `concurrency` at a time.
    """
    sent = sent or Sent()
    started = time.monotonic()
    limit = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:

        async def one(i: int) -> None:
            target, body = lines[i]
            while time.monotonic() - started < give_up_after:
                async with limit:
                    try:
                        async with http.post(base() + target, data=body,
                                             headers={"Content-Type": "text/xml"}) as resp:
                            await resp.read()
                            status = resp.status
                    except (aiohttp.ClientError, TimeoutError, OSError):
                        status = 0
                now = time.monotonic()
                sent.statuses.append((now, status))
                if status == 200:
                    sent.acked[i] = now
                    if on_ack is not None:
                        on_ack(sent)
                    return
                await asyncio.sleep(0.5)  # WeChat waits longer; shorter keeps the run short

        tasks = []
        for i in range(len(lines)):
            if rate:
                delay = started + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
    return sent


async def fetch(url: str, sql: str) -> list:  # type: ignore[type-arg]
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def wait_settled(url: str, within: float = 180) -> float:
    """Seconds until no inbox row is new and no outbox row is pending."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        rows = await fetch(url, "SELECT (SELECT count(*) FROM inbox WHERE status = 'new') AS n, "
                                "(SELECT count(*) FROM outbox WHERE status = 'pending') AS p")
        if rows[0]["n"] == 0 and rows[0]["p"] == 0:
            return time.monotonic() - started
        await asyncio.sleep(0.25)
    raise SystemExit(f"not settled within {within} s: {rows[0]}")
