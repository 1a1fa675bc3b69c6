"""One bot process's parts (`Linli`): database, config, inbox, pipeline, outbox, senders, scheduler,
built from the settings by `build_linli`, started and stopped together."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field

from bot.channels.media_sources import build_media_sources
from bot.channels.simulator import CHANNEL as SIM_CHANNEL
from bot.channels.simulator import SimulatorSender
from bot.exposure import check_demo_passwords, check_exposure
from bot.inbox import InboxWriter
from bot.intake import Intake
from bot.media_fetcher import MediaFetcher
from bot.outbox import OutboxDrainer
from bot.pipeline import Pipeline, Understand
from bot.relearn import Relearner
from bot.retention import Retention
from bot.routing import Router, default_handlers
from bot.scheduler import Scheduler
from bot.stopping import stop_loops
from config.community import ConfigError, Directory
from config.loader import load_directory
from config.settings import Settings
from core.clock import Clock, SystemClock
from core.delivery import Sender
from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade

log = logging.getLogger("linli.app")


def default_understand() -> Understand:
    from nlp import understand

    return understand


@dataclass
class Linli:
    """The parts of a running bot, reachable from tests and from other channels."""

    settings: Settings
    directory: Directory
    db: Database
    clock: Clock
    inbox: InboxWriter
    pipeline: Pipeline
    drainer: OutboxDrainer
    intake: Intake
    senders: dict[str, Sender] = field(default_factory=dict)
    media: MediaFetcher | None = None  # photos residents send, fetched in the background
    background: list[asyncio.Task[None]] = field(default_factory=list)  # loops that end when `stopping` is set
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    scheduler: Scheduler | None = None  # while running with settings.scheduler
    relearner: Relearner | None = None  # learns staff corrections (the default classifier only)

    async def start(self) -> None:
        if self.db.dialect == "sqlite":
            await upgrade(self.db)
        else:
            current, head = await current_revision(self.db), head_revision()
            if current != head:
                raise ConfigError(
                    f"the database is at revision {current or 'none'}, this linli needs {head}: "
                    "run `linli db upgrade` first"
                )
        self.inbox.start()
        self.stopping.clear()
        if self.settings.handle_messages:
            resumed = await self.pipeline.resume_pending()
            if resumed:
                log.info("handled %d message(s) left over from the last run", resumed)
            sweeper = asyncio.create_task(self.pipeline.sweep_forever(self.stopping), name="inbox-sweeper")
            self.background.append(sweeper)
            if self.relearner is not None:
                self.background.append(asyncio.create_task(self.relearner.run_forever(self.stopping), name="relearner"))
        else:
            log.warning("handle_messages is off: WeChat callbacks are stored and acknowledged, not handled")
        self.drainer.start()
        if self.media is not None and self.settings.handle_messages:
            self.media.start()
        retention = Retention(self.db, self.clock, dt.timedelta(days=self.settings.inbox_retention_days))
        self.background.append(asyncio.create_task(retention.prune_forever(self.stopping), name="inbox-retention"))
        if self.settings.scheduler:
            self.scheduler = Scheduler(self.db, self.directory, self.clock,
                                       retry_seconds=self.settings.scheduler_retry_seconds, on_outbox=self.drainer.wake)
            await self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        # Every loop ends between rounds (bot/stopping.py): one cut off inside a transaction can
        # leave SQLite locked for the rest. The messages stored so far are handled before the
        # outbox stops, so that their answers are queued (and sent, if there is time).
        await stop_loops(self.background, self.stopping)
        self.background.clear()
        if self.media is not None:
            await self.media.stop()
        await self.pipeline.stop()
        await self.drainer.stop()
        await self.inbox.stop()
        await self.db.dispose()


def build_linli(settings: Settings, *, clock: Clock | None = None, understand: Understand | None = None,
                directory: Directory | None = None) -> Linli:
    directory = (directory or load_directory(settings.config)).with_public_url(settings.public_base_url)
    check_exposure(settings)
    check_demo_passwords(settings, directory)
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    senders: dict[str, Sender] = {SIM_CHANNEL: SimulatorSender(db, directory)}
    from bot.channels.wecom_senders import build_wechat_senders  # "wecom", "wecom_aibot", "mp"

    senders.update(build_wechat_senders(settings, db, directory, clock))
    drainer = OutboxDrainer(db, senders, clock, poll_seconds=settings.outbox_poll_seconds,
                            max_attempts=settings.outbox_max_attempts)
    pipeline = Pipeline(
        db,
        directory,
        Router(default_handlers()),
        understand or default_understand(),
        clock,
        conversation_ttl=dt.timedelta(seconds=settings.conversation_ttl_seconds),
        on_outbox=drainer.wake,
        handle=settings.handle_messages,
    )
    media = MediaFetcher(db, build_media_sources(settings, db, senders), clock, max_bytes=settings.media_max_bytes,
                         max_attempts=settings.media_max_attempts, poll_seconds=settings.media_poll_seconds,
                         on_outbox=drainer.wake)
    inbox = InboxWriter(db)
    intake = Intake(inbox, pipeline, drainer, clock=clock, media=media)
    relearner = None
    if understand is None and settings.retrain_check_seconds > 0:  # a custom reader has no model to retrain
        relearner = Relearner(db, check_seconds=settings.retrain_check_seconds,
                              min_interval_seconds=settings.retrain_min_interval_seconds)
    return Linli(settings, directory, db, clock, inbox, pipeline, drainer, intake, senders, media=media,
                 relearner=relearner)
