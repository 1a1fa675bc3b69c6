"""Assembles one bot process: database, config, inbox, pipeline, outbox, channels, web server."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import ipaddress
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from bot.channels.base import Sender
from bot.channels.simulator import CHANNEL as SIM_CHANNEL
from bot.channels.simulator import SimulatorChannel, SimulatorSender
from bot.inbox import InboxWriter
from bot.outbox import OutboxDrainer
from bot.pipeline import Pipeline, Understand
from bot.routing import Router, default_handlers
from config.community import ConfigError, Directory, load_directory
from config.settings import Settings
from core.clock import Clock, SystemClock
from storage.db import Database, normalize_url
from storage.migrate import current_revision, head_revision, upgrade

log = logging.getLogger("linli.app")

LINLI_KEY: web.AppKey[Linli] = web.AppKey("linli", object)  # type: ignore[arg-type]


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
    senders: dict[str, Sender] = field(default_factory=dict)
    background: list[Any] = field(default_factory=list)
    scheduler: Any = None  # bot.scheduler.Scheduler, while running with settings.scheduler

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
            from bot.scheduler import Scheduler

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
    directory = directory or load_directory(settings.config)
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
    return Linli(settings, directory, db, clock, InboxWriter(db), pipeline, drainer, senders)


def build_app(linli: Linli) -> web.Application:
    app = web.Application(client_max_size=256 * 1024)
    app[LINLI_KEY] = linli
    if linli.settings.simulator:
        SimulatorChannel(
            linli.db, linli.directory, linli.inbox, linli.pipeline, linli.drainer, linli.clock,
            max_text_chars=linli.settings.max_text_chars, token=linli.settings.sim_token,
        ).add_routes(app)

    async def healthz(request: web.Request) -> web.Response:
        leader = linli.scheduler is not None and linli.scheduler.is_leader
        return web.json_response({"ok": True, "scheduler_leader": leader})

    app.router.add_get("/healthz", healthz)

    async def metrics(request: web.Request) -> web.Response:
        """Outbox outcomes of this process since it started (Prometheus text format)."""
        lines = ["# TYPE linli_outbox_outcomes_total counter"]
        lines += [f'linli_outbox_outcomes_total{{channel="{channel}",outcome="{outcome}"}} {n}'
                  for (channel, outcome), n in sorted(linli.drainer.counts.items())]
        return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")

    app.router.add_get("/metrics", metrics)
    from bot.staff_web import StaffWeb  # the staff page at /staff (login per staff member)

    StaffWeb(linli).add_routes(app)

    async def on_startup(app: web.Application) -> None:
        await linli.start()

    async def on_cleanup(app: web.Application) -> None:
        await linli.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    from bot.channels.wecom import mount_wechat_channels  # callbacks whose credentials are set

    mount_wechat_channels(app, linli)
    return app


def warm_up_nlp(understand: Understand) -> None:
    """Loads jieba's dictionary before the first message instead of during it."""
    understand("今天有什么活动", dt.datetime.now(dt.UTC))


async def serve(settings: Settings, *, reuse_port: bool = False) -> None:
    """Runs one bot process until SIGTERM or SIGINT, then stops it cleanly (drains the pipeline)."""
    linli = build_linli(settings)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, warm_up_nlp, linli.pipeline.understand)
    app = build_app(linli)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    # With --workers, every worker listens on the same port and the kernel spreads the connections.
    site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port or None)
    await site.start()
    # Everything loaded so far (jieba's dictionary, the configuration, SQLAlchemy's compiled
    # statements) lives as long as the process: kept out of the garbage collector's full passes,
    # which otherwise walk those ~150,000 objects again and again under load.
    gc.collect()
    gc.freeze()
    log.info("linli is listening on http://%s:%d/ (database %s)", settings.host, settings.port,
             linli.db.engine.url.render_as_string(hide_password=True))
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def quiet_sensitive_loggers() -> None:
    """SQL statement logging prints bound parameters: access tokens (shared through the database)
    and residents' messages. It stays off even with LINLI_LOG_LEVEL=DEBUG."""
    for name in ("sqlalchemy", "aiosqlite", "asyncpg"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _worker_main(settings_values: dict[str, Any], log_level: str) -> None:
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s")
    quiet_sensitive_loggers()
    asyncio.run(serve(Settings(**settings_values), reuse_port=True))


def serve_workers(settings: Settings, workers: int) -> int:
    """`linli serve --workers N`: N bot processes sharing one port (SO_REUSEPORT) and one database.

    The parent only supervises: a worker that dies (crash, OOM kill) is started again after a
    second; SIGTERM/SIGINT stop all of them. Everything the workers share lives in the database
    (inbox key, outbox leases, conversation state, tokens, scheduler leadership), so they behave
    as one bot — which is why SQLite, a single-writer file, is refused here.
    """
    if make_url(normalize_url(settings.database_url)).get_backend_name() == "sqlite":
        raise ConfigError("--workers needs PostgreSQL (LINLI_DATABASE_URL=postgresql://…); "
                          "with SQLite run one process")
    ctx = multiprocessing.get_context("spawn")
    values = settings.model_dump()
    level = settings.log_level.upper()
    procs: dict[int, multiprocessing.process.BaseProcess] = {}
    started_at: dict[int, float] = {}
    stopping = False
    failed = 0

    def start(i: int) -> None:
        proc = ctx.Process(target=_worker_main, args=(values, level), name=f"linli-worker-{i}")
        proc.start()
        procs[i], started_at[i] = proc, time.monotonic()
        log.info("worker %d started (pid %s)", i, proc.pid)

    def stop_all(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs.values():
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop_all)
    signal.signal(signal.SIGINT, stop_all)
    for i in range(workers):
        start(i)
    while procs:
        multiprocessing.connection.wait([p.sentinel for p in procs.values()], timeout=1.0)
        for i, proc in list(procs.items()):
            if proc.is_alive():
                continue
            proc.join()
            if stopping:
                del procs[i]
            elif time.monotonic() - started_at[i] < 15:
                # Dying at start-up (bad settings, database not migrated) would only repeat.
                log.error("worker %d (pid %s) exited with %s during start-up; stopping", i, proc.pid, proc.exitcode)
                del procs[i]
                failed = proc.exitcode or 1
                stop_all(signal.SIGTERM, None)
            else:
                log.error("worker %d (pid %s) exited with %s; starting it again", i, proc.pid, proc.exitcode)
                time.sleep(1.0)
                start(i)
    return failed
