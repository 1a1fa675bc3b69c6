"""Helpers shared by the HTTP benchmarks and fault runs: ports, servers, fresh PostgreSQL databases."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 30, proc: subprocess.Popen | None = None) -> float:
    """Waits until GET /healthz answers; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server on {port} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"server on {port} did not start within {timeout} s")


def bench_env(**extra: str) -> dict[str, str]:
    """The environment of a bot under test: none of the caller's LINLI_* settings, quiet logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_LOG_LEVEL"] = "WARNING"
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def serve_cmd(port: int, database_url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--database-url", database_url, *extra]


def ensure_wrk() -> None:
    """wrk drives the HTTP benchmarks. It is a Debian package, missing on a fresh machine: installed
    here when this user is root (as test.sh installs nginx), otherwise the run stops with the command."""
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing Debian's wrk…", file=sys.stderr, flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
        if shutil.which("wrk"):
            return
    raise SystemExit("wrk is missing: install it with `sudo apt-get install wrk` (Debian, Ubuntu), then run again")


def wrk(url: str, *, script: Path, seconds: float, connections: int, threads: int = 1,
        allow_errors: bool = False) -> dict[str, object]:
    env = dict(os.environ, THREADS=str(threads))  # wrk_callbacks.lua splits its lines between threads
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True, env=env,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: (.*)", out)
    if (errors or sock) and not allow_errors:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return {"rate": rate, "requests": total, "p99": p99.group(1) if p99 else "?", "p50": p50.group(1) if p50 else "?",
            "errors": int(errors.group(1)) if errors else 0, "raw": out}


def ms(value: str) -> float:
    """wrk's '12.34ms' / '1.20s' / '850.00us' in milliseconds."""
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh_postgres(base_url: str, prefix: str = "linli_bench", repo: Path = REPO) -> tuple[str, str]:
    """Creates a new database next to `base_url`, migrated by the checkout `repo`; returns (url, name)."""
    from sqlalchemy.engine import make_url

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(base_url, f'CREATE DATABASE "{name}"'))
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade", "--database-url", url], cwd=repo,
                   env=bench_env(PYTHONPATH=str(repo)), check=True, capture_output=True)
    return url, name


def drop_postgres(base_url: str, name: str) -> None:
    asyncio.run(_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (those still running)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def pids_named(name: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == name:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def children(pid: int) -> list[int]:
    """`pid` and its descendants."""
    out = [pid]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                out += children(int(entry))
    return out
