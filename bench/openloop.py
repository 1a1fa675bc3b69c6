"""An open-loop HTTP load generator: requests start on a fixed schedule, whatever the answers do.

Latency is measured from each request's *scheduled* start, so a stalled server shows up in the
percentiles instead of slowing the client down (no coordinated omission, unlike wrk's closed loop).

Usage: .venv/bin/python bench/openloop.py URL_BASE FILE --rate 1000 --seconds 10 [--connections 64]
FILE holds one "path?query<TAB>body" a line (as written by bench_e2e.py); lines are sent in turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

import aiohttp


def load(path: Path) -> list[tuple[str, bytes]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        target, _, body = line.partition("\t")
        out.append((target, body.encode()))
    return out


async def run(base: str, requests: list[tuple[str, bytes]], rate: float, seconds: float,
              connections: int) -> dict[str, float]:
    total = int(rate * seconds)
    latencies: list[float] = []
    timeline: list[tuple[float, float]] = []
    statuses: dict[int, int] = {}
    late = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as http:
        start = time.perf_counter() + 0.2
        tasks = []

        async def one(i: int, due: float) -> None:
            target, body = requests[i % len(requests)]
            try:
                async with http.post(base + target, data=body, headers={"Content-Type": "text/xml"}) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
            except Exception:
                statuses[0] = statuses.get(0, 0) + 1
            latencies.append(time.perf_counter() - due)
            timeline.append((due - start, latencies[-1]))

        for i in range(total):
            due = start + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.005:
                late += 1  # the client itself fell behind its schedule by more than 5 ms
            tasks.append(asyncio.create_task(one(i, due)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    per_second: dict[int, float] = {}
    for at, latency in timeline:
        per_second[int(at)] = max(per_second.get(int(at), 0.0), latency)
    latencies.sort()
    steady = sorted(latency for at, latency in timeline if at >= 2.0)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"sent": total, "achieved_rate": total / elapsed, "p50_ms": pick(0.50), "p99_ms": pick(0.99),
            "max_ms": latencies[-1] * 1000, "mean_ms": statistics.fmean(latencies) * 1000,
            "late_starts": late,
            "p99_after_2s_ms": steady[min(len(steady) - 1, int(0.99 * len(steady)))] * 1000 if steady else None,
            "max_ms_per_second": [round(per_second[k] * 1000) for k in sorted(per_second)],
            "ok": statuses.get(200, 0), "errors": total - statuses.get(200, 0)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base")
    parser.add_argument("file", type=Path)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--start", type=int, default=0, help="skip the first lines (sent by a warm-up)")
    args = parser.parse_args()
    result = asyncio.run(run(args.base, load(args.file)[args.start:], args.rate, args.seconds, args.connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
