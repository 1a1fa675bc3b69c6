"""The bot's background loops end between rounds when it stops (bot/stopping.py)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.stopping import pause, stop_loops


async def _loop(stopping: asyncio.Event, round_seconds: float, rounds: list[str]) -> None:
    while True:
        rounds.append("started")
        await asyncio.sleep(round_seconds)  # a round's work (a transaction)
        rounds.append("finished")
        if await pause(stopping, 3600):
            return


@pytest.mark.parametrize(("round_seconds", "grace", "cancelled", "rounds_seen", "within"), [
    # a round under way finishes, and the hour's pause after it is cut short
    (0.2, 5, False, ["started", "finished"], 1),
    # a round longer than the grace is cancelled
    (60, 0.2, True, ["started"], 2),
])
async def test_stopping_waits_for_the_round_under_way_up_to_the_grace(
        round_seconds: float, grace: float, cancelled: bool, rounds_seen: list[str], within: float) -> None:
    stopping, rounds = asyncio.Event(), []
    task = asyncio.create_task(_loop(stopping, round_seconds, rounds))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await stop_loops([task], stopping, grace=grace)
    assert task.done() and task.cancelled() is cancelled
    assert rounds == rounds_seen
    assert time.monotonic() - started < within


async def test_pause_says_whether_to_stop() -> None:
    stopping = asyncio.Event()
    assert await pause(stopping, 0.01) is False
    stopping.set()
    assert await pause(stopping, 3600) is True
