"""`linli serve` and `linli db upgrade` as a new user runs them: real processes, real sockets."""

from __future__ import annotations

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

import pytest

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env.update(extra)
    return env


def _post(url: str, payload: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def _wait_up(port: int, proc: subprocess.Popen, timeout: float = 30) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"linli serve exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.05)
    raise AssertionError("linli serve did not come up")


def _serve(tmp_path: Path, port: int, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
         "--database-url", f"sqlite:///{tmp_path / 'linli.db'}"],
        cwd=tmp_path, env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err


def test_serve_answers_the_simulator_and_logs_one_line_per_message(tmp_path: Path) -> None:
    port = _free_port()
    proc = _serve(tmp_path, port)
    try:
        _wait_up(port, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
            page = resp.read().decode()
        assert "<html" in page.lower()
        body = _post(f"http://127.0.0.1:{port}/api/sim/messages",
                     {"group": "g-res-1", "user": "r-liu", "text": "今天有什么活动", "msg_id": "cli-1"})
        assert body["replies"] and "活动" in body["replies"][0]["text"]
        quiet = _post(f"http://127.0.0.1:{port}/api/sim/messages",
                      {"group": "g-res-1", "user": "r-liu", "text": "哈哈哈 好的", "msg_id": "cli-2"})
        assert quiet["replies"] == []
    finally:
        err = _stop(proc)
    lines = [json.loads(line.split(" linli.pipeline ", 1)[1])
             for line in err.splitlines() if " linli.pipeline " in line and '"event": "message"' in line]
    assert [(entry["msg_id"], entry["handler"]) for entry in lines] == [("cli-1", "today_activity"), ("cli-2", None)]
    assert all(isinstance(entry["ms"], float | int) and entry["label"] for entry in lines)
    assert (tmp_path / "linli.db").exists()


def test_serve_takes_its_port_from_the_environment(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"], cwd=tmp_path,
        env=_env(LINLI_PORT=str(port), LINLI_DATABASE_URL=f"sqlite:///{tmp_path / 'env.db'}"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_up(port, proc)
    finally:
        _stop(proc)
    assert (tmp_path / "env.db").exists()


def test_messages_stored_before_a_crash_are_handled_after_restart(tmp_path: Path) -> None:
    """kill -9 between storing and handling: the message is handled once at the next start."""
    import asyncio

    from bot.inbox import InboxWriter
    from core.message import Message
    from storage.db import Database
    from storage.migrate import upgrade
    from tests.conftest import REFERENCE_NOW

    url = f"sqlite:///{tmp_path / 'linli.db'}"

    async def store_unhandled() -> None:
        db = Database(url)
        await upgrade(db)
        writer = InboxWriter(db)
        await writer.store(Message("sim", "xingfuli", "g-res-2", "r-chen", "陈建国", "今天有啥活动", "left-over-1",
                                   REFERENCE_NOW))
        await writer.stop()
        await db.dispose()

    asyncio.run(store_unhandled())
    port = _free_port()
    # No timed jobs: started between 08:00 and 10:00 Shanghai time, the bot would catch up the
    # morning post into the same group, and this test is about the stored message alone.
    quiet = {"LINLI_SCHEDULER": "false"}
    proc = _serve(tmp_path, port, **quiet)
    try:
        _wait_up(port, proc)
        deadline = time.monotonic() + 10
        timeline: list = []
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/sim/groups/g-res-2/messages", timeout=5) as r:
                timeline = json.loads(r.read())["messages"]
            if timeline:
                break
            time.sleep(0.1)
        assert [m["from"] for m in timeline] == ["bot"] and "活动" in timeline[0]["text"]
    finally:
        _stop(proc)
    # A second restart does not answer it again.
    proc = _serve(tmp_path, port, **quiet)
    try:
        _wait_up(port, proc)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/sim/groups/g-res-2/messages", timeout=5) as r:
            assert len(json.loads(r.read())["messages"]) == 1
    finally:
        _stop(proc)


@pytest.mark.postgres
def test_db_upgrade_on_postgres_then_serve(postgres_url: str, tmp_path: Path) -> None:
    plain_url = postgres_url.replace("+asyncpg", "")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade", "--database-url", plain_url],
                            capture_output=True, text=True, timeout=60, env=_env())
    assert result.returncode == 0, result.stderr
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
                             "--database-url", plain_url], cwd=tmp_path, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_up(port, proc)
        body = _post(f"http://127.0.0.1:{port}/api/sim/messages",
                     {"group": "g-res-3", "user": "r-sun", "text": "今天有什么活动"})
        assert body["replies"]
    finally:
        _stop(proc)


def test_serve_on_postgres_without_migrations_says_what_to_run(postgres_url: str, tmp_path: Path) -> None:
    port = _free_port()
    result = subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--port", str(port),
                             "--database-url", postgres_url], capture_output=True, text=True, timeout=60,
                            env=_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert "linli db upgrade" in result.stderr and "Traceback" not in result.stderr
