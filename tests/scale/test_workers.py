"""`linli serve --workers N`: N processes on one port (SO_REUSEPORT), one scheduler leader."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from storage.db import Database
from storage.migrate import upgrade
from tests.scale.conftest import REPO, bot_env, free_port, wait_healthy


def test_workers_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = bot_env(f"sqlite:///{tmp_path}/w.db", REPO / "config" / "demo_community.yaml")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--workers", "2", "--port", str(free_port())],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--workers needs PostgreSQL" in result.stderr


async def test_two_workers_share_one_port_and_elect_one_scheduler_leader(postgres_url: str, tmp_path: Path) -> None:
    db = Database(postgres_url)
    await upgrade(db)
    await db.dispose()
    port = free_port()
    env = bot_env(postgres_url, REPO / "config" / "demo_community.yaml", LINLI_SCHEDULER="true",
                  LINLI_SCHEDULER_RETRY_SECONDS="1")
    log = (tmp_path / "workers.log").open("wb")
    # Popen returns at once: the workers run beside the test.
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--workers", "2",  # noqa: ASYNC220
                             "--port", str(port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, proc, within=60)
        leaders: list[bool] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline and not (True in leaders and False in leaders):
            # A new connection each time: the kernel spreads connections over the two workers.
            async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
                leaders.append((await resp.json())["scheduler_leader"])
        assert True in leaders and False in leaders  # two processes answer; only one leads
        async with aiohttp.ClientSession() as http, http.post(
            f"{base}/api/sim/messages", json={"group": "g-res-1", "user": "r-zhang", "text": "今天有什么活动"}
        ) as resp:
            assert resp.status == 200 and (await resp.json())["replies"]
    finally:
        proc.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(proc.wait, 30)
        log.close()
    assert returncode == 0
    text = (tmp_path / "workers.log").read_text(encoding="utf-8")
    assert text.count("linli is listening on") == 2


def test_workers_that_cannot_start_stop_the_command_instead_of_restarting_forever(postgres_url: str,
                                                                                  tmp_path: Path) -> None:
    env = bot_env(postgres_url, REPO / "config" / "demo_community.yaml")  # the database is not migrated
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--workers", "2", "--port", str(free_port())],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode != 0
    assert "run `linli db upgrade` first" in result.stderr
    assert "during start-up; stopping" in result.stderr
