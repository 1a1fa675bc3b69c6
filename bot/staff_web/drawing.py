"""Where the charts are drawn: a helper process, started on the first chart and stopped when idle.

Not in the bot's process: matplotlib adds ≈ 50 MB that would stay for the process's lifetime
(the bot's budget is 150 MB, BENCHMARKS.md) for pictures staff open a few times a day, and its
drawing is Python code holding the GIL for ≈ 0.1 s a chart, which a thread would take from the
event loop that acknowledges WeChat's callbacks. The helper (a `ProcessPoolExecutor` of one
spawned process) costs ≈ 0.7 s on the first chart after a pause; it exits after IDLE_SECONDS
without a chart, returning its memory.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

log = logging.getLogger("linli.staff_web")

IDLE_SECONDS = 300.0


def _start_helper(level: int) -> None:
    """In the helper: log as the bot does (its warnings, e.g. a missing CJK font, reach the bot's log)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s")


class ChartDrawer:
    """Runs a drawing function (module-level, picklable arguments) in the helper process."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self.idle_seconds = idle_seconds
        self._pool: ProcessPoolExecutor | None = None
        self._busy = 0
        self._last_used = 0.0
        self._idle_timer: asyncio.TimerHandle | None = None

    def _helper(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_helper, initargs=(logging.getLogger().level,))
        return self._pool

    async def draw(self, draw: Callable[..., bytes], *args: object) -> bytes:
        loop = asyncio.get_running_loop()
        self._busy += 1
        try:
            try:
                return await loop.run_in_executor(self._helper(), functools.partial(draw, *args))
            except BrokenProcessPool:  # the helper died (killed for memory?): one more try with a new one
                log.warning("the chart drawing process died; starting it again")
                self.close()
                return await loop.run_in_executor(self._helper(), functools.partial(draw, *args))
        finally:
            self._busy -= 1
            self._last_used = time.monotonic()
            if self._idle_timer is None:
                self._idle_timer = loop.call_later(self.idle_seconds, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        self._idle_timer = None
        idle_for = time.monotonic() - self._last_used
        if self._busy or idle_for < self.idle_seconds:
            later = self.idle_seconds - idle_for if not self._busy else self.idle_seconds
            self._idle_timer = asyncio.get_running_loop().call_later(later, self._stop_if_idle)
            return
        self.close()

    @property
    def running(self) -> bool:
        return self._pool is not None

    async def stop(self) -> None:
        """Stops the helper and waits for it to exit (the app's cleanup)."""
        pool, self._pool = self._pool, None
        self.close()
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True)

    def close(self) -> None:
        """Stops the helper (it finishes a chart it is drawing); the next chart starts a new one."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
