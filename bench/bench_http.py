"""End-to-end message rate through the simulator API vs a bare aiohttp handler, measured in one run.

Usage: .venv/bin/python bench/bench_http.py [--seconds 8] [--rounds 2] [--connections 32] [--postgres URL]
Needs Debian's `wrk`. Every figure is a ratio to the bare handler measured in the same run,
since these machines are shared and noisy. Servers run as separate processes on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bench.common import ensure_wrk  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def wrk(port: int, path: str, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(HERE / "wrk_sim_post.lua"),
         f"http://127.0.0.1:{port}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise SystemExit(f"{errors.group(1)} non-2xx responses:\n{out}")
    return rate, p99.group(1) if p99 else "?"


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--postgres", help="also measure linli on this PostgreSQL URL (must be migrated)")
    args = parser.parse_args()
    ensure_wrk()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINLI_")}
    env["LINLI_LOG_LEVEL"] = "WARNING"
    tmp = Path(tempfile.mkdtemp(prefix="linli-bench-"))
    targets: dict[str, list[str]] = {
        "bare aiohttp": [sys.executable, str(HERE / "bare_server.py")],
        "linli sim, SQLite": [sys.executable, "-m", "bot.cli", "serve", "--database-url", f"sqlite:///{tmp}/b.db"],
    }
    if args.postgres:
        targets["linli sim, PostgreSQL"] = [sys.executable, "-m", "bot.cli", "serve", "--database-url", args.postgres]
    rates: dict[str, list[float]] = {name: [] for name in targets}
    p99s: dict[str, list[str]] = {name: [] for name in targets}
    for _ in range(args.rounds):  # alternate so that machine noise hits every target alike
        for name, cmd in targets.items():
            port = free_port()
            proc = start([*cmd, "--port", str(port)] if "bot.cli" in cmd else [*cmd, str(port)], env)
            try:
                wait_up(port)
                rate, p99 = wrk(port, "/api/sim/messages", args.seconds, args.connections)
            finally:
                proc.terminate()
                proc.wait(10)
            rates[name].append(rate)
            p99s[name].append(p99)
    base = statistics.median(rates["bare aiohttp"])
    print(f"{'target':<24}{'req/s (median)':>16}{'ratio to bare':>15}   p99 latency per round")
    for name in targets:
        med = statistics.median(rates[name])
        print(f"{name:<24}{med:>16.0f}{med / base:>15.2f}   {', '.join(p99s[name])}")


if __name__ == "__main__":
    main()
