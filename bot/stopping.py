"""Stopping the bot's background loops between rounds, not in the middle of one.

A loop (the inbox sweep, pruning, relearning, the outbox drain) cancelled while awaiting a
database call leaves that call to finish on the driver's side: with aiosqlite, SQLAlchemy closes
the connection while its statement (an `UPDATE … RETURNING` whose rows were not fetched yet) is
still open, and SQLite keeps such a connection, and its write lock, alive until the statement is
freed. The next writer (the pipeline finishing the last messages at stop) then waited out its
busy timeout on each of its four attempts: 40 s, and the messages were left for the next start.
So each loop sleeps on a `stopping` event, and `stop_loops` sets it and waits for the round under
way; only a round still running after the grace is cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

STOP_GRACE_SECONDS = 10.0  # a round is a few short transactions; a slow one is cancelled after this


async def pause(stopping: asyncio.Event, seconds: float) -> bool:
    """Waits `seconds`, or less if `stopping` is set meanwhile; True when the loop should end."""
    if stopping.is_set():
        return True
    try:
        await asyncio.wait_for(stopping.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True


async def stop_loops(tasks: Iterable[asyncio.Task[object]], stopping: asyncio.Event,
                     grace: float = STOP_GRACE_SECONDS) -> None:
    """Tells the loops to stop (`stopping`), lets each finish the round under way for up to `grace`
    seconds, then cancels what still runs; returns when all have ended."""
    stopping.set()
    await finish_or_cancel(tasks, grace)


async def finish_or_cancel(tasks: Iterable[asyncio.Task[object]], grace: float = STOP_GRACE_SECONDS) -> None:
    """Lets the tasks run for up to `grace` seconds more, then cancels those still running; returns
    when all have ended."""
    tasks = [t for t in tasks if not t.done()]
    if not tasks:
        return
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
