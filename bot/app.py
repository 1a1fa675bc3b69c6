"""One bot process on the web: its aiohttp application (simulator, WeChat callbacks, staff page, health,
metrics) and `linli serve`, alone or as N workers sharing a port."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from typing import Any

from aiohttp import web
from sqlalchemy.engine import make_url

from bot.channels.official_account import CALLBACK_PATH as MP_PATH
from bot.channels.official_account import OfficialAccountCallback
from bot.channels.simulator import SimulatorChannel
from bot.channels.wechat_directory import WeChatDirectory
from bot.channels.wecom import CALLBACK_PATH, WeComAppCallback
from bot.channels.wecom_aibot import CALLBACK_PATH as AIBOT_PATH
from bot.channels.wecom_aibot import AibotCallback
from bot.exposure import check_demo_passwords, check_exposure, exposure_lines
from bot.linli import Linli, build_linli
from bot.pipeline import Understand
from bot.web_guard import MAX_REQUEST_BYTES, guard, runner_options
from config.community import ConfigError, Directory
from config.loader import load_directory
from config.settings import Settings
from storage.db import normalize_url

log = logging.getLogger("linli.app")

LINLI_KEY: web.AppKey[Linli] = web.AppKey("linli", object)  # type: ignore[arg-type]


def build_app(linli: Linli) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app[LINLI_KEY] = linli
    guard(app, linli.settings)  # bodies within a deadline, few slow ones at once (bot/web_guard.py)
    if linli.settings.simulator:
        SimulatorChannel(
            linli.db, linli.directory, linli.intake, linli.clock,
            max_text_chars=linli.settings.max_text_chars, token=linli.settings.sim_token,
            max_upload_bytes=2 * linli.settings.media_max_bytes,
            body_timeout_seconds=linli.settings.body_timeout_seconds,
        ).add_routes(app)

    async def healthz(request: web.Request) -> web.Response:
        leader = linli.scheduler is not None and linli.scheduler.is_leader
        return web.json_response({"ok": True, "scheduler_leader": leader})

    app.router.add_get("/healthz", healthz)

    from bot.metrics import Metrics  # GET /metrics (prometheus-client, a registry per app)

    Metrics(linli).add_routes(app)
    from bot.staff_web.routes import StaffWeb  # the staff page at /staff (login per staff member)

    StaffWeb(linli).add_routes(app)

    async def on_startup(app: web.Application) -> None:
        await linli.start()

    async def on_cleanup(app: web.Application) -> None:
        await linli.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    mount_wechat_callbacks(app, linli)
    return app


def configured_callbacks(s: Settings) -> list[tuple[str, str]]:
    """(path, what) of each WeChat callback whose credentials are set: those `mount_wechat_callbacks` mounts."""
    found = []
    if s.wecom_corp_id and s.wecom_token and s.wecom_aes_key:
        found.append((CALLBACK_PATH, "WeCom app"))
    if s.wecom_aibot_token and s.wecom_aibot_aes_key:
        found.append((AIBOT_PATH, "WeCom AI bot"))
    if s.mp_token:
        found.append((MP_PATH, "Official Account, " + ("safe mode" if s.mp_aes_key else "plain mode")))
    return found


def mount_wechat_callbacks(app: web.Application, linli: Linli) -> None:
    """Mounts the WeChat callbacks whose credentials are configured; closes the senders' HTTP on cleanup."""
    s = linli.settings
    parts = (linli.db, WeChatDirectory(linli.directory), linli.intake, linli.clock)
    fresh = dt.timedelta(seconds=s.callback_max_age_seconds)
    mounted = {path for path, _ in configured_callbacks(s)}
    if CALLBACK_PATH in mounted:
        WeComAppCallback(*parts, token=s.wecom_token, aes_key=s.wecom_aes_key, corp_id=s.wecom_corp_id,  # type: ignore[arg-type]
                         agent_id=s.wecom_agent_id, max_age=fresh).add_routes(app)
        log.info("wecom: app callback at %s", CALLBACK_PATH)
    if AIBOT_PATH in mounted:
        AibotCallback(*parts, token=s.wecom_aibot_token, aes_key=s.wecom_aibot_aes_key,  # type: ignore[arg-type]
                      max_age=fresh).add_routes(app)
    if MP_PATH in mounted:
        OfficialAccountCallback(*parts, token=s.mp_token, aes_key=s.mp_aes_key, app_id=s.mp_app_id,  # type: ignore[arg-type]
                                max_age=fresh).add_routes(app)

    async def close_senders(app: web.Application) -> None:
        for sender in {id(x): x for x in linli.senders.values()}.values():
            close = getattr(sender, "close", None)
            if close is not None:
                await close()

    app.on_cleanup.append(close_senders)


def warm_up_nlp(understand: Understand) -> None:
    """Loads jieba's dictionary before the first message instead of during it."""
    understand("今天有什么活动", dt.datetime.now(dt.UTC))


def announce(settings: Settings, directory: Directory) -> None:
    """Prints what this `linli serve` exposes, on standard output (whatever the log level)."""
    print("\n".join(exposure_lines(settings, directory, configured_callbacks(settings))), flush=True)


async def serve(settings: Settings, *, reuse_port: bool = False, announced: bool = False) -> None:
    """Runs one bot process until SIGTERM or SIGINT, then stops it cleanly (drains the pipeline).
    Prints what it exposes once it listens, unless a parent (`--workers`) `announced` it already."""
    linli = build_linli(settings)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, warm_up_nlp, linli.pipeline.understand)
    app = build_app(linli)
    runner = web.AppRunner(app, access_log=None, **runner_options(settings))
    await runner.setup()
    # With --workers, every worker listens on the same port and the kernel spreads the connections.
    site = web.TCPSite(runner, settings.host, settings.port, reuse_port=reuse_port or None)
    await site.start()
    # Everything loaded so far (jieba's dictionary, the configuration, SQLAlchemy's compiled
    # statements) lives as long as the process: kept out of the garbage collector's full passes,
    # which otherwise walk those ~150,000 objects again and again under load.
    gc.collect()
    gc.freeze()
    if not announced:
        announce(settings, linli.directory)
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
    asyncio.run(serve(Settings(**settings_values), reuse_port=True, announced=True))


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
    directory = load_directory(settings.config)  # refused here, before any worker starts, if unsafe
    check_exposure(settings)
    check_demo_passwords(settings, directory)
    announce(settings, directory)
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
