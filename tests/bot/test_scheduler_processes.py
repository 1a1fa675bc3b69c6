"""The scheduler across real processes: `linli serve` leader election, `linli jobs run` / `jobs list`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from sqlalchemy import func, select, text

from bot.leader_lock import SCHEDULER_LOCK_KEY
from config.settings import DEFAULT_COMMUNITY_FILE
from handlers.themes import package_calendar_ends
from storage.db import Database
from storage.models import OutboxMessage

REPO = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(extra)
    return env


def _linli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=_env(**env),
                          capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return json.loads(resp.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _wait_healthy(port: int, proc: subprocess.Popen, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"linli serve exited: {proc.stderr.read() if proc.stderr else ''}")
        health = _health(port)
        if health is not None:
            return health
        time.sleep(0.1)
    raise AssertionError(f"linli serve on port {port} did not come up")


def _serve(url: str, port: int, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--database-url", url],
        cwd=cwd, env=_env(LINLI_SCHEDULER_RETRY_SECONDS="1"),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


async def _lock_holders(url: str) -> int:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return (await conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = :hi AND objid = :lo"),
                {"hi": SCHEDULER_LOCK_KEY >> 32, "lo": SCHEDULER_LOCK_KEY & 0xFFFFFFFF})).scalar_one()
    finally:
        await db.dispose()


async def test_two_bots_on_one_postgres_run_the_scheduler_on_one_and_the_other_takes_over(
        postgres_url: str, tmp_path: Path) -> None:
    upgraded = _linli("db", "upgrade", "--database-url", postgres_url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    ports = [_free_port(), _free_port()]
    procs = [_serve(postgres_url, port, tmp_path) for port in ports]
    try:
        for port, proc in zip(ports, procs, strict=True):
            _wait_healthy(port, proc)
        # Both are up (each tried the lock once during start-up); watch for flapping a little.
        for _ in range(5):
            leaders = [bool(_wait_healthy(port, proc)["scheduler_leader"]) for port, proc in zip(ports, procs,
                                                                                                   strict=True)]
            assert leaders.count(True) == 1, leaders
            await asyncio.sleep(0.3)
        assert await _lock_holders(postgres_url) == 1
        leader = leaders.index(True)
        follower = 1 - leader

        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait(timeout=10)
        killed_at = time.monotonic()
        while not _wait_healthy(ports[follower], procs[follower])["scheduler_leader"]:
            assert time.monotonic() - killed_at < 60, "the surviving bot did not take over within a minute"
            await asyncio.sleep(0.2)
        takeover = time.monotonic() - killed_at
        assert takeover < 60
        assert await _lock_holders(postgres_url) == 1
        print(f"takeover after SIGKILL of the leader: {takeover:.1f} s")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=15)  # also closes the pipes
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()


async def test_two_jobs_run_commands_at_once_post_once_per_group(db_url: str, tmp_path: Path) -> None:
    upgraded = _linli("db", "upgrade", "--database-url", db_url, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    command = [sys.executable, "-m", "bot.cli", "jobs", "run", "theme", "--date", "2026-11-26",
               "--database-url", db_url]
    procs = [await asyncio.create_subprocess_exec(*command, cwd=tmp_path, env=_env(), stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE) for _ in range(2)]
    results = await asyncio.wait_for(asyncio.gather(*(proc.communicate() for proc in procs)), timeout=120)
    outputs = [(out.decode(), err.decode()) for out, err in results]
    assert [proc.returncode for proc in procs] == [0, 0], [err for _, err in outputs]
    queued = [int(out.split(" post(s), ")[1].split(" newly")[0]) for out, _ in outputs]
    assert sum(queued) == 3, outputs  # whichever finished first queued them

    db = Database(db_url)
    try:
        async with db.transaction() as session:
            per_group = dict((await session.execute(
                select(OutboxMessage.target, func.count()).group_by(OutboxMessage.target))).all())
    finally:
        await db.dispose()
    assert per_group == {"g-res-1": 1, "g-res-2": 1, "g-res-3": 1}

    again = _linli("jobs", "run", "theme", "--date", "2026-11-26", "--database-url", db_url, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "theme xingfuli 2026-11-26: 3 post(s), 0 newly queued (3 queued by an earlier run)" in again.stdout


def test_jobs_list_shows_each_communitys_next_run_in_its_own_zone(tmp_path: Path) -> None:
    config = yaml.safe_load(DEFAULT_COMMUNITY_FILE.read_text(encoding="utf-8"))
    config["communities"].append({
        "id": "riverside", "name": "河畔社区", "timezone": "Europe/London",
        "groups": [{"id": "g-rv-1", "name": "河畔居民群", "kind": "residents"},
                   {"id": "g-rv-staff", "name": "河畔工作群", "kind": "staff"}],
        "themes": {"post_time": "07:30", "grace_minutes": 60,
                   "weekly": {"monday": {"title": "学习日", "description": "集中学习"}}},
    })
    # Both enter the year after the package's in their files (made-up dates): the printed end moves.
    next_year = package_calendar_ends().year + 1
    config["communities"][0]["themes"]["calendar"] = {"workdays": [f"{next_year}-02-20"]}
    config["communities"][1]["themes"]["calendar"] = {"holidays": [{"name": "春节", "date": f"{next_year}-02-10"}]}
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    # The server's own zone must not matter.
    listed = _linli("jobs", "list", "--now", "2026-11-25T10:00:00+08:00", "--config", str(path),
                    "--database-url", f"sqlite:///{tmp_path / 'none.db'}", cwd=tmp_path, TZ="America/New_York")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["JOB", "COMMUNITY", "AT", "ZONE", "GRACE", "NEXT", "RUN", "LAST", "RUN"]
    rows = {tuple(line.split()[:2]): line.split() for line in lines[1:] if line and not line.startswith("(")}
    assert rows[("theme", "xingfuli")] == ["theme", "xingfuli", "08:00", "Asia/Shanghai", "120", "min",
                                          "2026-11-26T08:00:00+08:00", "Thu", "-"]
    # 10:00 in Shanghai is 02:00 in London: today's 07:30 is still ahead.
    assert rows[("theme", "riverside")] == ["theme", "riverside", "07:30", "Europe/London", "60", "min",
                                            "2026-11-25T07:30:00+00:00", "Wed", "-"]
    assert any("last runs unknown: no database yet" in line for line in lines)
    assert lines[-1] == f"holiday calendar (chinesecalendar and themes.calendar) known until {next_year}-12-31"
    # Each year's source: both files entered next year; this year is the package's.
    assert f"holidays of xingfuli: 2026 from chinesecalendar; {next_year} from community file" in lines
    assert not (tmp_path / "none.db").exists()  # listing creates no database

    bad = _linli("jobs", "run", "fireworks", "--database-url", f"sqlite:///{tmp_path / 'x.db'}", cwd=tmp_path)
    assert bad.returncode == 2 and "no job 'fireworks' (known: theme" in bad.stderr
