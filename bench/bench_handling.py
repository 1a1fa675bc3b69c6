"""CPU per message of handling and of delivery, apart from the acknowledgment path.

Usage:
  .venv/bin/python bench/bench_handling.py [--messages 20000] [--rounds 3]
      [--postgres postgresql://linli:linli@127.0.0.1:5432/linli_test] [--profile DIR]

An acknowledge-only `linli serve` (LINLI_HANDLE_MESSAGES=false) stores `--messages` encrypted WeCom
callbacks from bench_e2e.py's 5,000 residents (the same mix: 7 of 10 chit-chat, 3 of 10 activity
questions answered through the fake WeCom API) and is stopped. Then, in this process, linli is
built on that database and times two phases, each with the process's CPU clock (all threads):
- handling: `Pipeline.resume_pending()` (understand, route, handler, outbox rows; batches of 100);
- delivery: the outbox drainer sending every answer to bench/fake_api.py (another process).
Nothing else runs in the process, so these are the costs a message adds beyond its acknowledgment.
With --profile, py-spy samples each phase (raw stacks into DIR).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_e2e import Target, inbox_counts, warm_up, wecom_env, write_callbacks  # noqa: E402
from bench.common import REPO, drop_postgres, free_port, fresh_postgres, wait_up  # noqa: E402


def store_backlog(tmp: Path, file: Path, count: int, url: str) -> None:
    """Stores `count` callbacks through an acknowledge-only process, then stops it."""
    bot = Target("linli")
    port = bot.start(tmp, handling=False, database_url=url)
    try:
        warm_up(port, file, count=count, concurrency=32)
    finally:
        bot.stop()
    stored, new, _ = inbox_counts(url)
    if stored != count or new != count:
        raise SystemExit(f"expected {count} stored, unhandled rows; found {stored} stored, {new} new")


async def drain(url: str, api_port: int, profile: Path | None, tag: str) -> dict[str, float]:
    from bot.app import warm_up_nlp
    from bot.linli import build_linli
    from config.settings import Settings

    for key, value in wecom_env(api_port).items():
        if key.startswith("LINLI_"):
            os.environ[key] = value
    linli = build_linli(Settings(database_url=url))
    warm_up_nlp(linli.pipeline.understand)
    linli.inbox.start()
    try:
        spy = _spy(profile, f"{tag}-handling")
        c0, t0 = time.process_time(), time.perf_counter()
        handled = await linli.pipeline.resume_pending()
        c1, t1 = time.process_time(), time.perf_counter()
        _stop(spy)
        _, new, pending = await asyncio.to_thread(inbox_counts, url)
        if new:
            raise SystemExit(f"{new} rows still new after resume_pending")
        spy = _spy(profile, f"{tag}-delivery")
        c2, t2 = time.process_time(), time.perf_counter()
        linli.drainer.start()
        while True:
            await asyncio.sleep(0.05)
            if (await asyncio.to_thread(inbox_counts, url))[2] == 0:
                break
        c3, t3 = time.process_time(), time.perf_counter()
        _stop(spy)
    finally:
        await linli.stop()
        for sender in {id(s): s for s in linli.senders.values()}.values():
            if hasattr(sender, "close"):
                await sender.close()  # `linli serve` closes them with the web app
    return {"handled": handled, "answers": pending, "handle_cpu_us": (c1 - c0) / handled * 1e6,
            "handle_wall_s": t1 - t0, "deliver_cpu_us_per_answer": (c3 - c2) / max(pending, 1) * 1e6,
            "deliver_cpu_us_per_message": (c3 - c2) / handled * 1e6, "deliver_wall_s": t3 - t2}


def _spy(profile: Path | None, name: str) -> subprocess.Popen | None:
    if profile is None:
        return None
    profile.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(exe), "record", "-p", str(os.getpid()), "-r", "250", "-f", "raw", "--nonblocking",
                             "-o", str(profile / f"{name}.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop(spy: subprocess.Popen | None) -> None:
    if spy is not None:
        spy.send_signal(2)  # py-spy writes its file on SIGINT
        spy.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", help="also measure on PostgreSQL (a fresh database next to this URL)")
    parser.add_argument("--profile", type=Path, help="py-spy raw stacks of each phase into this folder")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-handling-"))
    file = tmp / "callbacks.txt"
    write_callbacks(file, args.messages)
    targets = ["SQLite"] + (["PostgreSQL"] if args.postgres else [])
    results: dict[str, list[dict[str, float]]] = {t: [] for t in targets}
    for rnd in range(args.rounds):
        for target in targets:
            if target == "SQLite":
                url, name = f"sqlite:///{tmp}/h-{time.monotonic_ns()}.db", None
            else:
                url, name = fresh_postgres(args.postgres)
            try:
                store_backlog(tmp, file, args.messages, url)
                api = subprocess.Popen([sys.executable, str(HERE / "fake_api.py"), str(port := free_port())], cwd=REPO)
                try:
                    wait_up(port)
                    row = asyncio.run(drain(url, port, args.profile, f"{target}-{rnd + 1}"))
                finally:
                    api.terminate()
                    api.wait(15)
            finally:
                if name:
                    drop_postgres(args.postgres, name)
            results[target].append(row)
            print(f"round {rnd + 1} {target}: " + ", ".join(f"{k}={v:.1f}" for k, v in row.items()), flush=True)
    print(f"\n{'target':<12}{'handling µs/msg':>17}{'delivery µs/answer':>20}{'delivery µs/msg':>17}{'sum µs/msg':>12}")
    for target, rows in results.items():
        h = statistics.median(r["handle_cpu_us"] for r in rows)
        d = statistics.median(r["deliver_cpu_us_per_answer"] for r in rows)
        dm = statistics.median(r["deliver_cpu_us_per_message"] for r in rows)
        print(f"{target:<12}{h:>17.0f}{d:>20.0f}{dm:>17.0f}{h + dm:>12.0f}")


if __name__ == "__main__":
    main()
