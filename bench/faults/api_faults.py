"""The WeCom API answering 30 % of sends with 502, timeouts, "system busy" or rate-limit errors.

Usage: .venv/bin/python bench/faults/api_faults.py [--users 150] [--fail-rate 0.3]

Each resident sends two questions, one after the other ("今天有什么活动", then "周六能理发吗"),
whose answers differ. Checked at the end: every outbox row sent (none failed), the fake API got
each answer once (no loss; a duplicate would be a timeout whose send did reach the API — counted),
and in each chat the answers arrived in the order of the questions. The retries are counted from
the bot's log and from GET /metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.bench_e2e import wecom_env, write_callbacks  # noqa: E402
from bench.common import REPO, free_port, serve_cmd, wait_up  # noqa: E402
from bench.faults.common import load_lines, send_until_acked  # noqa: E402

QUESTIONS = ["今天有什么活动", "周六能理发吗"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=150)
    parser.add_argument("--fail-rate", type=float, default=0.3)
    parser.add_argument("--timeout", type=float, default=400)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-apifaults-"))
    files = []
    for k, question in enumerate(QUESTIONS):  # the second question is sent once the first is acknowledged
        files.append(tmp / f"q{k}.txt")
        write_callbacks(files[-1], args.users, message=lambda i, q=question: (f"af-u{i}", q),
                        first_id=9_700_000_000 + k * 100_000)
    url = f"sqlite:///{tmp}/faults.db"
    api_port, port = free_port(), free_port()
    api = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"), str(api_port),
                            "--fail-rate", str(args.fail_rate), "--slow-seconds", "1.5"], cwd=REPO)
    env = wecom_env(api_port)
    env.update(LINLI_LOG_LEVEL="INFO", LINLI_WECHAT_HTTP_TIMEOUT_SECONDS="1", LINLI_OUTBOX_MAX_ATTEMPTS="12")
    log_path = tmp / "bot.log"
    with log_path.open("wb") as log:
        bot = subprocess.Popen(serve_cmd(port, url), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_up(api_port)
        wait_up(port, 60, bot)
        t0 = time.monotonic()
        for file in files:
            asyncio.run(send_until_acked(lambda: f"http://127.0.0.1:{port}", load_lines(file), concurrency=32))
        import sqlite3

        db = sqlite3.connect(url.split("///", 1)[1], timeout=30)
        while time.monotonic() - t0 < args.timeout:
            pending = db.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
            new = db.execute("SELECT count(*) FROM inbox WHERE status = 'new'").fetchone()[0]
            if not pending and not new:
                break
            time.sleep(1)
        elapsed = time.monotonic() - t0
        outbox = dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall())
        expected: dict[str, list[str]] = defaultdict(list)
        for target, text in db.execute("SELECT target, text FROM outbox ORDER BY id"):
            expected[target].append(text)
        attempts = Counter(n for (n,) in db.execute("SELECT attempts FROM outbox"))
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/stats") as resp:
            stats = json.load(resp)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as resp:
            metrics = resp.read().decode()
        got: dict[str, list[str]] = defaultdict(list)
        for _kind, to, text in stats["delivered"]:
            got[to].append(text)
        deduped = {to: [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]] for to, texts in got.items()}
        log = log_path.read_text()
        result = {
            "outbox_rows": sum(outbox.values()), "outbox": outbox, "seconds_until_all_sent": round(elapsed, 1),
            "api_calls": stats["calls"], "faults_injected": stats["injected_faults"],
            "attempts_per_row": dict(sorted(attempts.items())),
            "retry_log_lines": log.count("retrying"),
            "metrics": [line for line in metrics.splitlines() if not line.startswith("#")],
            "targets": len(expected), "targets_in_order": sum(deduped.get(t) == texts for t, texts in expected.items()),
            "duplicate_deliveries": sum(len(got[t]) - len(deduped[t]) for t in got),
            "lost": sum(len(texts) for t, texts in expected.items() if t not in got),
        }
        print(json.dumps(result, ensure_ascii=False, indent=1))
        ok = (outbox == {"sent": result["outbox_rows"]} and result["targets_in_order"] == result["targets"]
              and result["lost"] == 0)
        print("PASS" if ok else "FAIL")
        raise SystemExit(0 if ok else 1)
    finally:
        bot.terminate()
        bot.wait(20)
        api.terminate()
        api.wait(10)


if __name__ == "__main__":
    main()
