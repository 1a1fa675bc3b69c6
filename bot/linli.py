"""One bot process's parts (`Linli`): database, config, inbox, pipeline, outbox, senders, scheduler,
built from the settings by `build_linli`, started and stopped together."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
from dataclasses import dataclass, field
from typing import Any

from bot.channels.simulator import CHANNEL as SIM_CHANNEL
from bot.channels.simulator import SimulatorSender
from bot.inbox import InboxWriter
from bot.intake import Intake
from bot.outbox import OutboxDrainer
from bot.pipeline import Pipeline, Understand
from bot.routing import Router, default_handlers
from bot.scheduler import Scheduler
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(settings: Settings) -> None:
    """The simulator lets anyone speak as anyone: never expose it publicly without a token."""
    if settings.production and settings.simulator and not _is_loopback(settings.host) and not settings.sim_token:
        raise ConfigError(
            f"refusing to serve the simulator on {settings.host} in production mode without "
            "LINLI_SIM_TOKEN (or set LINLI_SIMULATOR=false)"
        )


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
    background: list[Any] = field(default_factory=list)
    scheduler: Scheduler | None = None  # while running with settings.scheduler

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
        if self.settings.handle_messages:
            resumed = await self.pipeline.resume_pending()
            if resumed:
                log.info("handled %d message(s) left over from the last run", resumed)
            self.background.append(asyncio.create_task(self.pipeline.sweep_forever(), name="inbox-sweeper"))
        else:
            log.warning("handle_messages is off: WeChat callbacks are stored and acknowledged, not handled")
        self.drainer.start()
        if self.settings.scheduler:
            self.scheduler = Scheduler(self.db, self.directory, self.clock,
                                       retry_seconds=self.settings.scheduler_retry_seconds, on_outbox=self.drainer.wake)
            await self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        for task in self.background:
            if isinstance(task, asyncio.Task):
                task.cancel()
        await asyncio.gather(*(t for t in self.background if isinstance(t, asyncio.Task)), return_exceptions=True)
        self.background[:] = [t for t in self.background if not isinstance(t, asyncio.Task)]
        await self.drainer.stop()
        await self.pipeline.stop()
        await self.inbox.stop()
        await self.db.dispose()


def build_linli(settings: Settings, *, clock: Clock | None = None, understand: Understand | None = None,
                directory: Directory | None = None) -> Linli:
    directory = (directory or load_directory(settings.config)).with_public_url(settings.public_base_url)
    check_exposure(settings)
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
    inbox = InboxWriter(db)
    return Linli(settings, directory, db, clock, inbox, pipeline, drainer, Intake(inbox, pipeline, drainer), senders)
