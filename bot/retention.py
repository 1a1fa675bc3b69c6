"""The hourly prune every process runs: handled inbox rows, callback events and spent AI-bot reply
addresses older than LINLI_INBOX_RETENTION_DAYS are deleted (storage/retention.py), so the database
does not grow forever, while replays stay impossible (a replayed callback meets the freshness
window of bot/channels/callback.py or its stored row: the retention is far longer than the window).

Every process runs it, at a random minute of the hour so several processes rarely meet; when they
do, each deletes different rows (storage/retention.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

from bot.stopping import pause
from core.clock import Clock
from storage.db import Database
from storage.retention import Pruned, prune

log = logging.getLogger("linli.retention")

EVERY_SECONDS = 3600.0


class Retention:
    def __init__(self, db: Database, clock: Clock, keep: dt.timedelta) -> None:
        self.db = db
        self.clock = clock
        self.keep = keep

    async def prune_once(self) -> Pruned:
        before = self.clock.now() - self.keep
        pruned = await prune(self.db, before=before)
        if pruned.total:
            log.info("pruned %d inbox row(s), %d callback event(s) and %d AI-bot reply address(es) from before %s",
                     pruned.inbox, pruned.events, pruned.reply_urls, before.isoformat(timespec="seconds"))
        return pruned

    async def prune_forever(self, stopping: asyncio.Event, every: float = EVERY_SECONDS) -> None:
        # Not all processes at once after a restart.
        if await pause(stopping, random.uniform(0, min(every, 600.0))):
            return
        while True:
            try:
                await self.prune_once()
            except Exception:  # the database may be down: next time
                log.exception("pruning old inbox rows failed; trying again in %.0f s", every)
            if await pause(stopping, every * random.uniform(0.9, 1.1)):
                return
