"""PostgreSQL restarted (`pg_ctlcluster 15 main restart`) under a steady stream of WeCom callbacks.

Usage (root; restarts the shared server, so run it rarely, never in CI):
  .venv/bin/python bench/faults/pg_restart.py --postgres postgresql://linli:linli@127.0.0.1:5432/linli_test
      [--rate 150] [--seconds 20] [--restart-at 6]

Callbacks are sent on a fixed schedule; one not answered with 200 is sent again (as WeChat
does). Reported: what the bot answered while the database was down (503, never 200), how long
after PostgreSQL came back the first 200 was answered (target ≤ 10 s, no restart of the bot),
and that every acknowledged message is in the inbox and handled in the end (the sweep picks up
messages whose handling failed during the outage).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.bench_e2e import wecom_env, write_callbacks  # noqa: E402
from bench.common import REPO, drop_postgres, free_port, fresh_postgres, serve_cmd, wait_up  # noqa: E402
from bench.faults.common import Sent, fetch, load_lines, send_until_acked, wait_settled  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--rate", type=float, default=150)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--restart-at", type=float, default=6)
    parser.add_argument("--cluster", default="15 main")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-pgrestart-"))
    file = tmp / "callbacks.txt"
    count = int(args.rate * args.seconds)
    write_callbacks(file, count, first_id=9_300_000_000)
    lines = load_lines(file)
    url, name = fresh_postgres(args.postgres)
    api_port, port = free_port(), free_port()
    api = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"), str(api_port)], cwd=REPO)
    env = wecom_env(api_port)
    env["LINLI_LOG_LEVEL"] = "INFO"
    log_path = tmp / "bot.log"
    with log_path.open("wb") as log:
        bot = subprocess.Popen(serve_cmd(port, url), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    marks: dict[str, float] = {}
    try:
        wait_up(api_port)
        wait_up(port, 60, bot)

        async def run() -> Sent:
            sent = Sent()
            sender = asyncio.create_task(send_until_acked(lambda: f"http://127.0.0.1:{port}", lines, rate=args.rate,
                                                          sent=sent))
            await asyncio.sleep(args.restart_at)
            marks["restart_begin"] = time.monotonic()
            proc = await asyncio.create_subprocess_exec("pg_ctlcluster", *args.cluster.split(), "restart")
            await proc.wait()
            marks["restart_end"] = time.monotonic()  # PostgreSQL accepts connections again
            await sender
            marks["last_ack"] = time.monotonic()
            marks["settle_s"] = await wait_settled(url, 180)
            return sent

        sent = asyncio.run(run())
        begin, end = marks["restart_begin"], marks["restart_end"]
        during = Counter(s for t, s in sent.statuses if begin <= t <= end)
        after = sorted(t for t, s in sent.statuses if s == 200 and t > end)
        errors_after = [t for t, s in sent.statuses if s != 200 and t > end]
        inbox = asyncio.run(fetch(url, "SELECT status, count(*) AS n FROM inbox GROUP BY status"))
        result = {
            "messages": count, "acknowledged": len(sent.acked),
            "restart_took_s": round(end - begin, 2),
            "answers_while_restarting": {str(k): v for k, v in during.items()},
            "first_200_after_up_s": round(after[0] - end, 2) if after else None,
            "last_error_after_up_s": round(max(errors_after) - end, 2) if errors_after else 0,
            "all_answers": {str(k): v for k, v in Counter(s for _, s in sent.statuses).items()},
            "inbox": {r["status"]: r["n"] for r in inbox},
            "settle_after_last_ack_s": round(marks["settle_s"], 1),
            "swept": [line.split(" WARNING ")[-1] for line in log_path.read_text().splitlines() if "sweep" in line
                      or "left unhandled" in line][:5],
        }
        print(json.dumps(result, ensure_ascii=False, indent=1))
        ok = (result["inbox"] == {"done": count} and len(sent.acked) == count
              and (result["last_error_after_up_s"] or 0) <= 10)
        print("PASS" if ok else "FAIL")
        raise SystemExit(0 if ok else 1)
    finally:
        bot.terminate()
        bot.wait(20)
        api.terminate()
        api.wait(10)
        drop_postgres(args.postgres, name)


if __name__ == "__main__":
    main()
