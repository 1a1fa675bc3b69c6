"""The bot's background loops end between rounds when it stops (bot/stopping.py)."""

from __future__ import annotations

import asyncio
import time

from bot.stopping import pause, stop_loops


async def _loop(stopping: asyncio.Event, round_seconds: float, rounds: list[str]) -> None:
    while True:
        rounds.append("started")
        await asyncio.sleep(round_seconds)  # a round's work (a transaction)
        rounds.append("finished")
        if await pause(stopping, 3600):
            return


async def test_a_round_under_way_finishes_and_the_pause_after_it_is_cut_short() -> None:
    stopping, rounds = asyncio.Event(), []
    task = asyncio.create_task(_loop(stopping, 0.2, rounds))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await stop_loops([task], stopping, grace=5)
    assert rounds == ["started", "finished"]  # not cancelled inside the round
    assert task.done() and not task.cancelled()
    assert time.monotonic() - started < 1  # nor the hour's pause waited out


async def test_a_round_longer_than_the_grace_is_cancelled() -> None:
    stopping, rounds = asyncio.Event(), []
    task = asyncio.create_task(_loop(stopping, 60, rounds))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await stop_loops([task], stopping, grace=0.2)
    assert task.cancelled() and rounds == ["started"]
    assert time.monotonic() - started < 2


async def test_pause_says_whether_to_stop() -> None:
    stopping = asyncio.Event()
    assert await pause(stopping, 0.01) is False
    stopping.set()
    assert await pause(stopping, 3600) is True
