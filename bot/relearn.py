"""A running bot learns from staff corrections: retrained in the background, swapped in whole.

Every `retrain_check_seconds` the process asks the database whether corrections were added (a count
and the newest id: one cheap query). When they were, the labelled rows they give are the model's
`ModelSources.extra`: a model of that key already in the cache (another process on this machine
trained it) is loaded and served at once; otherwise a new one is trained in a child process
(nlp/model.py, as at first use), at most once per `retrain_min_interval_seconds`, and only by the
process holding a PostgreSQL advisory lock, so several processes never train at the same time (on
SQLite there is one process). Until the new model is ready, messages are read by the old one: the
training runs in a worker thread that waits for the child, never on the event loop. The swap
(`Classifier.use_model`) happens on the event loop, between two messages.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from bot.leader_lock import AdvisoryLock, Leadership, SoleProcess
from bot.stopping import pause
from handlers.label_corrections import load_correction_rows
from nlp.classifier import Classifier
from nlp.model import LearnedModel, ModelSources, load_or_train
from storage import learning_repo
from storage.db import Database

log = logging.getLogger("linli.learning")

RETRAIN_LOCK_KEY = 0x6C696E6C6954  # "linliT": one trainer at a time across the processes of a database
FIRST_CHECK_SECONDS = 5.0  # after start: corrections made while the bot was down are learned soon


def _default_classifier() -> Classifier:
    from nlp import default_classifier

    return default_classifier()


class Relearner:
    """Keeps one process's classifier trained on the corpus and every staff correction."""

    def __init__(self, db: Database, *, classifier: Callable[[], Classifier] = _default_classifier,
                 sources: ModelSources | None = None, check_seconds: float = 60.0,
                 min_interval_seconds: float = 3600.0,
                 lock: Callable[[], Leadership] | None = None) -> None:
        self.db = db
        self.classifier = classifier
        self.sources = sources or ModelSources()
        self.check_seconds = check_seconds
        self.min_interval_seconds = min_interval_seconds
        self.lock = lock or (lambda: AdvisoryLock(db.url, key=RETRAIN_LOCK_KEY) if db.is_postgres else SoleProcess())
        self._seen: learning_repo.Fingerprint | None = None  # corrections the served model accounts for
        self._trained_at: float | None = None  # monotonic time of this process's last training

    async def check_once(self) -> str:
        """Brings the served model up to date if it can; says what it did: "same", "loaded",
        "trained", "waiting" (trained less than the minimum interval ago), "busy" (another process
        is training), "failed" (read on with the model it had)."""
        async with self.db.transaction() as session:
            seen = await learning_repo.fingerprint(session)
            if seen == self._seen:
                return "same"
            rows = await load_correction_rows(session)
        sources = dataclasses.replace(self.sources, extra=tuple(rows))
        classifier = await asyncio.to_thread(self.classifier)
        key = await asyncio.to_thread(sources.key)
        current = classifier.model
        if current is not None and current.key == key:
            self._seen = seen
            return "same"
        model = await asyncio.to_thread(load_or_train, sources, train=False)
        if model is not None:
            return self._swap(classifier, model, seen, "loaded")
        if self._trained_at is not None and time.monotonic() - self._trained_at < self.min_interval_seconds:
            return "waiting"
        lock = self.lock()
        try:
            if not await lock.hold():
                return "busy"
            self._trained_at = time.monotonic()
            log.info("training the model again with %d staff correction(s)", len(rows))
            model = await asyncio.to_thread(load_or_train, sources)  # the cache first: another may have trained
        finally:
            await lock.release()
        if model is None:
            return "failed"
        return self._swap(classifier, model, seen, "trained")

    def _swap(self, classifier: Classifier, model: LearnedModel, seen: learning_repo.Fingerprint, how: str) -> str:
        classifier.use_model(model)
        self._seen = seen
        log.info("now reading with the model %s (%s; %d correction(s))", model.key, how, seen.count)
        return how

    async def run_forever(self, stopping: asyncio.Event) -> None:
        if await pause(stopping, min(FIRST_CHECK_SECONDS, self.check_seconds)):
            return
        while True:
            try:
                await self.check_once()
            except Exception:  # the database is down, the disk is full …: try again at the next check
                log.exception("checking for staff corrections to learn from failed")
            if await pause(stopping, self.check_seconds):
                return
