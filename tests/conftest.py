"""Shared fixtures: settings, a database (SQLite file and real PostgreSQL), a clock, a live server."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import build_app
from bot.linli import Linli, build_linli
from bot.web_guard import runner_options
from config.community import Directory
from config.loader import load_directory
from config.settings import DEFAULT_COMMUNITY_FILE, Settings
from core.clock import FixedClock
from storage.db import Database
from storage.migrate import upgrade

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The reference "now" of shared/eval/LABELS.md: Wednesday 2026-11-25 10:00 in Shanghai.
REFERENCE_NOW = dt.datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
REPO_ROOT = Path(__file__).resolve().parents[1]
POSTGRES_ENV = "LINLI_TEST_POSTGRES_URL"


def pytest_configure(config: pytest.Config) -> None:
    # CI must exercise PostgreSQL for real: a missing server there is an error, never a skip.
    if os.environ.get("CI") and not os.environ.get(POSTGRES_ENV):
        raise pytest.UsageError(f"CI is set but {POSTGRES_ENV} is not: PostgreSQL tests cannot be skipped in CI")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(REFERENCE_NOW)


@pytest.fixture(scope="session")
def demo_directory() -> Directory:
    return load_directory(DEFAULT_COMMUNITY_FILE)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await engine.dispose()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set (scripts/postgres-for-tests.sh starts a local server)")
    admin = make_url(base).set(drivername="postgresql+asyncpg")
    name = f"linli_t_{uuid.uuid4().hex[:12]}"
    await _admin(admin.render_as_string(hide_password=False), f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(admin.render_as_string(hide_password=False), f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a test once on a SQLite file and once on a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'linli.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    """A migrated database (SQLite file, then PostgreSQL) for tests that use storage directly."""
    database = Database(db_url)
    await upgrade(database)
    try:
        yield database
    finally:
        await database.dispose()


def make_settings(database_url: str, **overrides: Any) -> Settings:
    return Settings(database_url=database_url, config=DEFAULT_COMMUNITY_FILE, **overrides)


class SimClient:
    """Talks to a live bot over HTTP the way the simulator page does."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url
        self.http = session

    async def post(self, payload: Any, *, raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
        if raw is not None:
            resp = await self.http.post(f"{self.base_url}/api/sim/messages", data=raw,
                                        headers={"Content-Type": "application/json"})
        else:
            resp = await self.http.post(f"{self.base_url}/api/sim/messages", json=payload)
        async with resp:
            return resp.status, await resp.json()

    async def say(self, group: str, user: str, text: str, **extra: Any) -> dict[str, Any]:
        status, body = await self.post({"group": group, "user": user, "text": text, **extra})
        assert status == 200, body
        return body

    async def group_timeline(self, group: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base_url}/api/sim/groups/{group}/messages") as resp:
            assert resp.status == 200
            return (await resp.json())["messages"]

    async def user_timeline(self, user: str) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base_url}/api/sim/users/{user}/messages") as resp:
            assert resp.status == 200
            return (await resp.json())["messages"]

    async def get_json(self, path: str) -> tuple[int, Any]:
        async with self.http.get(f"{self.base_url}{path}") as resp:
            return resp.status, await resp.json()


class LiveBot:
    def __init__(self, linli: Linli, server: TestServer, client: SimClient) -> None:
        self.linli = linli
        self.server = server
        self.client = client


async def start_live_bot(settings: Settings, clock: FixedClock, **kwargs: Any) -> tuple[LiveBot, Any]:
    linli = build_linli(settings, clock=clock, **kwargs)
    server = TestServer(build_app(linli), host="127.0.0.1")
    await server.start_server(**runner_options(settings))  # the runner `linli serve` uses (bot/web_guard.py)
    session = aiohttp.ClientSession()
    bot = LiveBot(linli, server, SimClient(str(server.make_url("")).rstrip("/"), session))

    async def close() -> None:
        await session.close()
        await server.close()

    return bot, close


@pytest.fixture
async def live_bot(sqlite_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    """The real bot app on a real aiohttp server on 127.0.0.1, demo config, SQLite file."""
    bot, close = await start_live_bot(make_settings(sqlite_url), clock)
    try:
        yield bot
    finally:
        await close()


@pytest.fixture
async def live_bot_any_db(db_url: str, clock: FixedClock) -> AsyncIterator[LiveBot]:
    """The same, once on SQLite and once on PostgreSQL."""
    if not db_url.startswith("sqlite"):
        db = Database(db_url)
        await upgrade(db)
        await db.dispose()
    bot, close = await start_live_bot(make_settings(db_url), clock)
    try:
        yield bot
    finally:
        await close()


@pytest.fixture(scope="session")
def sim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A bot served from a background thread (for browser tests); yields its base URL."""
    db_file = tmp_path_factory.mktemp("sim") / "linli.db"
    # No timed posts: the browser tests count the bot's answers, and a morning theme caught up on a
    # real clock would arrive among them (timed posts have tests of their own, on a fixed clock).
    settings = make_settings(f"sqlite+aiosqlite:///{db_file}", scheduler=False)
    ready = threading.Event()
    state: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        linli = build_linli(settings)
        runner = web.AppRunner(build_app(linli), access_log=None)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        state.update(loop=loop, runner=runner, url=f"http://127.0.0.1:{port}")
        ready.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="sim-server", daemon=True)
    thread.start()
    assert ready.wait(30), "the simulator server did not start"
    yield state["url"]
    state["loop"].call_soon_threadsafe(state["loop"].stop)
    thread.join(10)
