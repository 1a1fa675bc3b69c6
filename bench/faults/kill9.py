"""kill -9 of the bot during a run of 10,000 encrypted WeCom callbacks, then a restart.

Usage: .venv/bin/python bench/faults/kill9.py --postgres postgresql://linli:linli@127.0.0.1:5432/linli_test
       [--messages 10000] [--kill-after 3000]

The sender plays WeChat: a callback not answered with 200 (the kill resets its connection, or
the bot is down) is sent again with the same MsgId until it is. After everything is acknowledged
and settled, the run checks: every message stored once and handled (inbox), one answer per
question / booking attempt (outbox), what the fake WeCom API received (duplicates are counted:
a send that succeeded but was not yet marked sent when the process died is sent again after its
lease — at-least-once delivery), and at most one booking per resident, within capacity.
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
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.bench_e2e import TEXTS, wecom_env, write_callbacks  # noqa: E402
from bench.common import REPO, drop_postgres, free_port, fresh_postgres, serve_cmd, wait_up  # noqa: E402
from bench.faults.common import fetch, load_lines, send_until_acked, wait_settled  # noqa: E402

BOOK = "热水壶坏了 周六上午能修不"


def message(i: int) -> tuple[str, str]:
    if i % 20 == 7:  # 500 residents try to book Saturday morning's appliance repair (10 places)
        return f"k9-booker-{i}", BOOK
    return f"k9-u{i % 300}", TEXTS[i % len(TEXTS)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kill-after", type=int, default=3_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-kill9-"))
    file = tmp / "callbacks.txt"
    write_callbacks(file, args.messages, message=message, first_id=9_100_000_000)
    lines = load_lines(file)
    url, name = fresh_postgres(args.postgres)
    api_port, port = free_port(), free_port()
    api = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"), str(api_port)], cwd=REPO)
    env = wecom_env(api_port)
    env["LINLI_LOG_LEVEL"] = "INFO"
    logs = [tmp / "bot-1.log", tmp / "bot-2.log"]
    state: dict[str, object] = {}

    def start(n: int) -> subprocess.Popen:
        with logs[n].open("wb") as log:
            proc = subprocess.Popen(serve_cmd(port, url), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        state["proc"] = proc
        return proc

    try:
        wait_up(api_port)
        first = start(0)
        wait_up(port, 60, first)

        def on_ack(sent) -> None:  # type: ignore[no-untyped-def]
            if len(sent.acked) >= args.kill_after and "killed_at" not in state:
                first.kill()  # SIGKILL
                state["killed_at"] = time.monotonic()
                state["acked_at_kill"] = len(sent.acked)

        async def run() -> None:
            sender = asyncio.create_task(send_until_acked(lambda: f"http://127.0.0.1:{port}", lines,
                                                          on_ack=on_ack))
            while "killed_at" not in state:  # noqa: ASYNC110 (set by a callback of the sender)
                await asyncio.sleep(0.05)
            first.wait()
            await asyncio.sleep(1.0)
            restarted = time.monotonic()
            second = start(1)
            await asyncio.to_thread(wait_up, port, 60, second)
            state["restart_s"] = time.monotonic() - restarted
            sent = await sender
            state["sent"] = sent
            state["settle_s"] = await wait_settled(url)

        started = time.monotonic()
        asyncio.run(run())
        elapsed = time.monotonic() - started
        sent = state["sent"]
        failures = Counter(s for _, s in sent.statuses if s != 200)  # type: ignore[attr-defined]

        async def checks() -> dict[str, object]:
            inbox = await fetch(url, "SELECT status, count(*) AS n FROM inbox GROUP BY status")
            per_msg = await fetch(url, "SELECT i.msg_id, count(o.id) AS n FROM inbox i LEFT JOIN outbox o "
                                       "ON o.reply_to = i.id GROUP BY i.msg_id")
            outbox = await fetch(url, "SELECT status, count(*) AS n FROM outbox GROUP BY status")
            bookings = await fetch(url, "SELECT resident_id, status FROM bookings")
            return {"inbox": {r["status"]: r["n"] for r in inbox},
                    "answers_per_message": dict(Counter(r["n"] for r in per_msg)),
                    "outbox": {r["status"]: r["n"] for r in outbox},
                    "bookings": dict(Counter(b["status"] for b in bookings)),
                    "residents_with_two_bookings": sum(n > 1 for n in Counter(b["resident_id"] for b in bookings
                                                                              if b["status"] != "cancelled").values())}

        result = asyncio.run(checks())
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/stats") as resp:
            stats = json.load(resp)
        delivered = Counter((kind, to, text) for kind, to, text in stats["delivered"])
        result.update(
            messages=args.messages, acked_before_kill=state["acked_at_kill"], unanswered_attempts=dict(failures),
            restart_to_healthy_s=round(state["restart_s"], 2), settle_after_last_ack_s=round(state["settle_s"], 2),
            total_s=round(elapsed, 1), api_deliveries=sum(delivered.values()),
            resumed=[line for line in logs[1].read_text().splitlines() if "left over" in line],
        )
        print(json.dumps(result, ensure_ascii=False, indent=1))
        sent_rows = result["outbox"].get("sent", 0)  # type: ignore[union-attr]
        # A question has one answer, a booking attempt one (full) or three (booked: the resident,
        # the group, the staff); any other count would be a message handled twice.
        ok = (result["inbox"] == {"done": args.messages} and result["residents_with_two_bookings"] == 0
              and result["bookings"].get("booked", 0) <= 10 and set(result["answers_per_message"]) <= {0, 1, 3}
              and result["api_deliveries"] >= sent_rows)
        print("duplicate sends to the API (at-least-once window):", result["api_deliveries"] - sent_rows)
        print("PASS" if ok else "FAIL")
        raise SystemExit(0 if ok else 1)
    finally:
        proc = state.get("proc")
        if isinstance(proc, subprocess.Popen) and proc.poll() is None:
            proc.terminate()
            proc.wait(20)
        api.terminate()
        api.wait(10)
        drop_postgres(args.postgres, name)


if __name__ == "__main__":
    main()
