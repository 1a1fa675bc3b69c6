"""Start-up and memory of `linli serve` before and after a staff member opens the pages and charts.

Same run, interleaved rounds, against a baseline checkout (e.g. `git worktree add /tmp/base main`
or `git archive main | tar -x -C /tmp/base`): a fresh SQLite database each round; seconds from
starting `linli serve` to the first answered simulator message, the server's RSS then, and its RSS
after two requests are filed, a staff member logs in and opens the list, the charts page, the
three chart pictures and /metrics (a 404 on a checkout without those pictures is skipped).

    .venv/bin/python bench/bench_staff_web.py --baseline /tmp/base --rounds 5
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from bench.common import REPO, bench_env, free_port, rss_mb, serve_cmd  # noqa: E402

PAGES = ["/staff", "/staff/charts", "/staff/charts/categories.png", "/staff/charts/median.png",
         "/staff/charts/weekly.png", "/metrics"]


def post(port: int, text: str) -> list[dict]:
    body = json.dumps({"group": "g-res-1", "user": "r-zhang", "text": text}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/sim/messages", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)["replies"]


def one_round(repo: Path, tmp: Path) -> tuple[float, float, float]:
    port = free_port()
    env = bench_env(LINLI_SCHEDULER="true", PYTHONPATH=str(repo))
    started = time.monotonic()
    proc = subprocess.Popen(serve_cmd(port, f"sqlite:///{tmp}/s-{time.monotonic_ns()}.db"), cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if post(port, "今天有什么活动"):
                    break
            except OSError:
                time.sleep(0.01)
        startup = time.monotonic() - started
        time.sleep(0.5)
        rss_start = rss_mb(proc.pid)
        for text in ("3号楼楼道灯坏了", "垃圾站三天没清了"):
            post(port, text)
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        login = urllib.parse.urlencode({"login": "staff-wang", "password": "linli-demo", "next": "/staff"}).encode()
        opener.open(f"http://127.0.0.1:{port}/staff/login", data=login, timeout=30).read()
        for path in PAGES:
            try:
                opener.open(f"http://127.0.0.1:{port}{path}", timeout=60).read()
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
        time.sleep(0.3)
        return startup, rss_start, rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="linli-staff-web-"))
    results: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "this": []}
    for _ in range(args.rounds):
        results["baseline"].append(one_round(args.baseline.resolve(), tmp))
        results["this"].append(one_round(REPO, tmp))
    medians = {name: [statistics.median(column) for column in zip(*rows, strict=True)]
               for name, rows in results.items()}
    for name, (startup, rss_start, rss_after) in medians.items():
        print(f"{name:<9} start-up to first answer {startup:.2f} s, RSS {rss_start:.1f} MB, "
              f"after the staff pages and charts {rss_after:.1f} MB")
    base, this = medians["baseline"], medians["this"]
    print(f"ratios this/baseline: start-up {this[0] / base[0]:.2f}, RSS {this[1] / base[1]:.3f}, "
          f"RSS after the pages {this[2] / base[2]:.3f}")


if __name__ == "__main__":
    main()
