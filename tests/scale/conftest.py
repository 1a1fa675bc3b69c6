"""Real `linli serve` processes on one PostgreSQL database, and Debian's nginx in front of them."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from config.settings import DEFAULT_COMMUNITY_FILE
from storage.db import Database
from storage.migrate import upgrade

REPO = Path(__file__).resolve().parents[2]
SITE_CONF = REPO / "deploy" / "nginx-linli.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
# Saturday-morning appliance repair has 5 places in the communities these tests use.
REPAIR_CAPACITY = 5


def need_nginx() -> str:
    if NGINX is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is missing but CI is set: apt-get install nginx")
        pytest.skip("nginx is not installed (apt-get install nginx)")
    return NGINX


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_healthy(base: str, proc: subprocess.Popen | None = None, within: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"the process behind {base} exited with {proc.returncode}")
            try:
                async with http.get(f"{base}/healthz", timeout=aiohttp.ClientTimeout(total=1)) as resp:
                    if resp.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{base} did not answer /healthz within {within} s")


@dataclass
class BotProcess:
    """One `linli serve` subprocess; its log (stderr) goes to a file the test can read."""

    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen | None = None
    logs: list[Path] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        path = self.log_path.with_suffix(f".{len(self.logs)}.log")
        self.logs.append(path)
        with path.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(self.port)],
                                         cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    async def started(self) -> BotProcess:
        await wait_healthy(self.base, self.proc)
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self) -> str:
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs if p.exists())


def bot_env(database_url: str, config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    # LINLI_DEMO: the configs here are copies of the demo community, with its published passwords.
    env.update(LINLI_DATABASE_URL=database_url, LINLI_CONFIG=str(config), LINLI_SCHEDULER="false",
               LINLI_LOG_LEVEL="INFO", LINLI_OUTBOX_POLL_SECONDS="0.1", LINLI_DEMO="true", PYTHONPATH=str(REPO))
    env.update(extra)
    return env


def small_repair_config(tmp: Path) -> Path:
    """The demo community with REPAIR_CAPACITY places on Saturday morning's appliance repair."""
    text = DEFAULT_COMMUNITY_FILE.read_text(encoding="utf-8")
    old = '{weekday: saturday, start: "09:00", end: "11:30", capacity: 10}'
    assert old in text, "the demo community changed: update tests/scale/conftest.py"
    path = tmp / "community.yaml"
    path.write_text(text.replace(old, old.replace("capacity: 10", f"capacity: {REPAIR_CAPACITY}")), encoding="utf-8")
    return path


def nginx_config(tmp: Path, listen_port: int, upstream_ports: list[int]) -> Path:
    """deploy/nginx-linli.conf inside a minimal main config whose files all live in `tmp`."""
    site = SITE_CONF.read_text(encoding="utf-8")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{listen_port};")
    lines = [line for line in site.splitlines() if "server 127.0.0.1:808" not in line]
    servers = [f"    server 127.0.0.1:{p} max_fails=3 fail_timeout=5s;" for p in upstream_ports]
    at = next(i for i, line in enumerate(lines) if line.startswith("upstream linli_bots")) + 1
    lines[at:at] = servers
    (tmp / "linli-site.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for d in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / f"{d}_temp").mkdir(exist_ok=True)
    main = f"""
worker_processes 1;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client_body_temp;
    proxy_temp_path {tmp}/proxy_temp;
    fastcgi_temp_path {tmp}/fastcgi_temp;
    uwsgi_temp_path {tmp}/uwsgi_temp;
    scgi_temp_path {tmp}/scgi_temp;
    include {tmp}/linli-site.conf;
}}
"""
    path = tmp / "nginx.conf"
    path.write_text(main, encoding="utf-8")
    return path


@dataclass
class Nginx:
    port: int
    proc: subprocess.Popen

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


async def start_nginx(tmp: Path, upstream_ports: list[int]) -> Nginx:
    nginx = need_nginx()
    port = free_port()
    conf = nginx_config(tmp, port, upstream_ports)
    command = [nginx, "-p", str(tmp), "-e", str(tmp / "nginx-error.log"), "-c", str(conf),
               "-g", f"daemon off; pid {tmp}/nginx.pid;"]
    # Popen returns at once: nginx runs beside the test.
    # Its output goes to a file: an unread pipe would be left open (a ResourceWarning, an error here).
    with (tmp / "nginx-stderr.log").open("wb") as err:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)  # noqa: ASYNC220
    await wait_healthy(f"http://127.0.0.1:{port}", proc)
    return Nginx(port, proc)


@dataclass
class Cluster:
    database_url: str
    bots: list[BotProcess]
    nginx: Nginx
    tmp: Path


@pytest.fixture
async def cluster(postgres_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """Two `linli serve` processes on one migrated PostgreSQL database, nginx in front."""
    need_nginx()
    db = Database(postgres_url)
    await upgrade(db)
    await db.dispose()
    env = bot_env(postgres_url, small_repair_config(tmp_path))
    bots = [BotProcess(free_port(), env, tmp_path / f"bot{i}") for i in range(2)]
    nginx: Nginx | None = None
    try:
        for bot in bots:
            bot.start()
        await asyncio.gather(*(bot.started() for bot in bots))
        nginx = await start_nginx(tmp_path, [b.port for b in bots])
        yield Cluster(postgres_url, bots, nginx, tmp_path)
    finally:
        if nginx is not None:
            nginx.proc.terminate()
            nginx.proc.wait(10)
        for bot in bots:
            bot.stop()
