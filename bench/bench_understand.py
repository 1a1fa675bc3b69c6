"""Benchmark of nlp.understand(): start-up to the first answer, and throughput against plain jieba.lcut.

Run from the repository root:

    .venv/bin/python bench/bench_understand.py           # print the results
    .venv/bin/python bench/bench_understand.py --write   # ... and update BENCHMARKS.md

(a) start-up: a fresh interpreter imports nlp, builds `Classifier.from_config()` and answers one
    message; warm = the learned model in its cache file (jieba's reduced dictionary in its own),
    cold = an empty model cache, so the model is trained first (in a child process, as the bot
    does). Timed inside the subprocess, and the whole subprocess wall time for reference. Medians.
(b) throughput: `understand()` (rules and model, without the per-process memo) over the dev
    messages, the rules alone over the same messages, and `jieba.lcut()` over them, in the same
    process, alternating rounds; medians. The ratio understand/jieba (messages a second) should
    be >= 0.5: reading a message costs at most twice segmenting it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEV_SET = ROOT / "nlp" / "corpus" / "dev.jsonl"  # a copy of shared/eval/dev.jsonl
BENCHMARKS = ROOT / "BENCHMARKS.md"
SECTION = "### understand(): start-up and throughput (session 6)"
COMMAND = ".venv/bin/python bench/bench_understand.py --write"

STARTUP_SNIPPET = """
import datetime as dt, time
t0 = time.perf_counter()
from nlp import Classifier
classifier = Classifier.from_config()
assert classifier.model is not None, "no learned model"
classifier.understand("今天有什么活动", dt.datetime(2026, 11, 25, 10, tzinfo=dt.timezone(dt.timedelta(hours=8))))
print(time.perf_counter() - t0)
"""


def startup_seconds(runs: int, cold: bool) -> tuple[float, float]:
    """Medians over `runs` fresh interpreters of the time to the first answer, in the process and the
    whole subprocess wall time; `cold`: each with an empty model cache (the model is trained)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-c", STARTUP_SNIPPET], cwd=ROOT, env=env, check=True,
                   capture_output=True)  # once first, so jieba's and the model's cache files exist
    inside, wall = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as empty:
            run_env = dict(env, LINLI_CACHE_DIR=empty) if cold else env
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", STARTUP_SNIPPET], cwd=ROOT, env=run_env, check=True,
                                  capture_output=True, text=True)
            wall.append(time.perf_counter() - start)
            inside.append(float(done.stdout.split()[-1]))
    return statistics.median(inside), statistics.median(wall)


def throughput(messages: list[str], rounds: int) -> tuple[float, float, float, list[float]]:
    """Median messages a second of understand(), of the rules alone and of jieba.lcut(), and each
    round's ratio understand/jieba."""
    sys.path.insert(0, str(ROOT))
    import jieba

    from nlp import Classifier, default_classifier

    classifier = default_classifier()
    rules_alone = Classifier.from_config(learned=False)
    now = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    readers = (lambda text: classifier.read(text, now),  # the rules and the model every time, not the memo
               lambda text: rules_alone.read(text, now),
               jieba.lcut)
    for text in messages:  # warm every path
        for read in readers:
            read(text)
    rates: list[list[float]] = [[], [], []]
    for _ in range(rounds):
        for rate, read in zip(rates, readers, strict=True):
            start = time.perf_counter()
            for text in messages:
                read(text)
            rate.append(len(messages) / (time.perf_counter() - start))
    ratios = [a / b for a, b in zip(rates[0], rates[2], strict=True)]
    return statistics.median(rates[0]), statistics.median(rates[1]), statistics.median(rates[2]), ratios


def write_section(body: str, section: str = SECTION) -> None:
    """Replaces (or appends) a benchmark's section of BENCHMARKS.md, leaving the others alone."""
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    start = text.find(section)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        level = len(section) - len(section.lstrip("#"))  # a section ends at the next heading as high
        ends = [i for depth in range(1, level + 1)
                if (i := text.find("\n" + "#" * depth + " ", start + len(section))) >= 0]
        nxt = min(ends) if ends else -1
        text = text[:start] + body + (text[nxt + 1 :] if nxt >= 0 else "")
    BENCHMARKS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=Path, default=DEV_SET, help="JSON Lines with a text field")
    parser.add_argument("--rounds", type=int, default=9, help="alternating throughput rounds")
    parser.add_argument("--startups", type=int, default=5, help="fresh interpreters for the warm start-up time")
    parser.add_argument("--cold-startups", type=int, default=3, help="fresh interpreters with an empty model cache")
    parser.add_argument("--write", action="store_true", help=f"update the section of {BENCHMARKS.name}")
    args = parser.parse_args()
    messages = [json.loads(line)["text"] for line in args.messages.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    chars = statistics.median(len(m) for m in messages)

    warm, warm_wall = startup_seconds(args.startups, cold=False)
    cold, cold_wall = startup_seconds(args.cold_startups, cold=True)
    ours, rules, theirs, ratios = throughput(messages, args.rounds)
    ratio = ours / theirs
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        SECTION,
        "",
        f"Command (repository root): `{COMMAND}`  ",
        f"Measured {dt.datetime.now(dt.UTC).date().isoformat()}, Python {platform.python_version()},"
        f" {os.cpu_count()} CPUs, load average {load:.2f} at the start;"
        f" {len(messages)} dev messages (median {chars:.0f} characters).",
        "",
        "| what | result |",
        "|---|---|",
        f"| start-up to the first answer, warm (import nlp, `Classifier.from_config()`, model from its"
        f" cache file, one `understand()`), median of {args.startups} | {warm:.2f} s"
        f" (whole interpreter {warm_wall:.2f} s; target <= 2 s) |",
        f"| the same, cold (empty model cache: trained in a child process first), median of"
        f" {args.cold_startups} | {cold:.2f} s (whole interpreter {cold_wall:.2f} s; target <= 10 s) |",
        f"| `understand()` throughput (rules + model, no memo), median of {args.rounds} rounds"
        f" | {ours:,.0f} messages/s ({1e6 / ours:.0f} µs each) |",
        f"| the rules alone, same rounds | {rules:,.0f} messages/s ({1e6 / rules:.0f} µs each) |",
        f"| `jieba.lcut()` on the same messages, same rounds | {theirs:,.0f} messages/s ({1e6 / theirs:.0f} µs each) |",
        f"| ratio understand/jieba (median of rates; per-round min-max {min(ratios):.2f}-{max(ratios):.2f})"
        f" | {ratio:.2f} (target >= 0.5; the rules alone {rules / theirs:.2f}) |",
        "",
    ]
    body = "\n".join(lines)
    print(body)
    if args.write:
        write_section(body)
        print(f"(written to {BENCHMARKS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
