"""CPU per message at a fixed load: one `linli serve` process vs two behind nginx, on one PostgreSQL.

Usage:
  .venv/bin/python bench/bench_scale.py [--rate 800] [--seconds 30] [--rounds 3] [--workers 1,2]

Maximum throughput cannot show scale-out on a 2-core machine that also runs the database and the
load generator; CPU per message at a load well below the machine's limit can: if a second process
makes each message cost more (contention on a lock, a hot row, scans over rows another process
holds), a bigger machine would hit the same wall.

Each run (fresh database, targets alternating round by round):
- its own PostgreSQL cluster, started here in a temporary directory with pg_stat_statements loaded
  (shared_preload_libraries: the shared test cluster is not restarted for it), so every postgres
  process counted below serves this run only;
- the fake WeCom API (bench/fake_api.py), group robots included, and N `linli serve` processes
  (scheduler on: they elect one leader) behind Debian's nginx with deploy/nginx-linli.conf, as
  tests/scale starts them;
- the residents are warmed up (each process has heard from every one of them, as running
  processes have), then bench/openloop.py offers `rate` signed WeCom callbacks a second for
  `seconds` through nginx: the realistic mix below, with staff notices scheduled to go out
  during the run (the leader's 30 s tick);
- CPU seconds (/proc/<pid>/stat, user + system) of the bot processes, of every process of the
  cluster (the sampler's own backend left out), of nginx and of the fake API, from the first
  request until the last message is handled; p50/p99 of the acknowledgments from their scheduled
  start; lock waits sampled from pg_locks and wait events from pg_stat_activity every 0.1 s; the
  top statements of pg_stat_statements; WAL bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.bench_e2e import SENDERS, inbox_counts, warm_up, wecom_env, write_callbacks  # noqa: E402
from bench.common import REPO, bench_env, children, cpu_seconds, free_port, fresh_postgres, serve_cmd, wait_up  # noqa: E402
from tests.scale.conftest import need_nginx, nginx_config  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql")
ROBOT_PREFIX = "benchrobot"
GROUPS = ["g-res-1", "g-res-2", "g-res-3", "g-staff", "g-vol"]
STAFF = ["staff-li", "staff-wang", "staff-zhao"]

# The mix, per 100 messages: what a residents' group says in a day, compressed.
CHITCHAT = ["大家早上好", "收到", "哈哈哈 好的", "谢谢志愿者", "[玫瑰][玫瑰]", "天冷了 大家注意保暖", "好的好的",
            "今天太阳不错", "楼下超市打折了", "孩子放学了没"]
QUESTIONS = ["今天有什么活动", "今天社区有啥活动不", "明天啥活动", "这周六有什么活动"]
BOOKINGS = ["热水壶坏了 周六上午能修不", "周六上午想理个发", "周六下午修个电饭煲", "周日上午磨刀",
            "周六上午法律咨询 约一个", "周二下午想咨询下法律问题"]
SESSION_QUESTIONS = ["周六理发还有位置吗", "周六上午维修还能约吗"]
REPORTS = ["{b}号楼楼道灯坏了好几天了", "{b}号楼的楼道灯晚上也不亮", "{b}号楼门口垃圾没人清", "{b}号楼2单元漏水了",
           "{b}号楼下有车堵着消防通道"]
STAFF_COMMANDS = ["#{n} 收到", "#{n} 处理中", "#{n} 已解决 换了灯泡", "#{n} 上报街道"]


def mix_message(i: int) -> tuple[str, str]:
    """(sender, text) of callback i. Lines 0 .. SENDERS-1: one chit-chat line per resident (the
    warm-up); then, per 100: 58 chit-chat, 15 activity questions, 12 bookings (sessions of 4-12
    places fill within seconds: most of them meet a full session), 3 questions about sessions,
    8 reports over 12 buildings (most merge into an open one), 4 staff commands on requests."""
    user = f"bench-u{i % SENDERS}"
    if i < SENDERS:
        return user, CHITCHAT[i % len(CHITCHAT)]
    k, n = i % 100, i // 100
    if k < 58:
        return user, CHITCHAT[(i + n) % len(CHITCHAT)]
    if k < 73:
        return user, QUESTIONS[(i + n) % len(QUESTIONS)]
    if k < 85:
        return user, BOOKINGS[(i + n) % len(BOOKINGS)]
    if k < 88:
        return user, SESSION_QUESTIONS[(i + n) % len(SESSION_QUESTIONS)]
    if k < 96:
        return user, REPORTS[(i + n) % len(REPORTS)].format(b=1 + (i * 7 + n) % 12)
    return STAFF[(i + n) % len(STAFF)], STAFF_COMMANDS[(i + n) % len(STAFF_COMMANDS)].format(n=1 + n % 40)


class Cluster:
    """A throw-away PostgreSQL cluster with pg_stat_statements, run by the postgres user."""

    def __init__(self, tmp: Path) -> None:
        versions = sorted(PG_BIN.iterdir(), key=lambda p: [int(x) for x in p.name.split(".") if x.isdigit()])
        self.bin = versions[-1] / "bin"
        self.dir = tmp / "pgdata"
        self.port = free_port()
        self.url = f"postgresql://linli:linli@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True)

    def start(self) -> None:
        self.dir.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            shutil.chown(self.dir.parent, "postgres")
        self._as_postgres(str(self.bin / "initdb"), "-D", str(self.dir), "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--locale=C.UTF-8")
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
                   "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top "
                   "-c max_connections=200")
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-o", options, "-w", "-l",
                          str(self.dir / "log"), "start")
        self._as_postgres(str(self.bin / "psql"), "-h", str(self.dir), "-p", str(self.port), "-U", "postgres",
                          "-qc", "CREATE ROLE linli LOGIN SUPERUSER PASSWORD 'linli'")

    def postmaster(self) -> int:
        return int((self.dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop")


async def _sql(url: str, sql: str, *args: object) -> list:  # type: ignore[type-arg]
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


def sql(url: str, query: str, *args: object) -> list:  # type: ignore[type-arg]
    return asyncio.run(_sql(url, query, *args))


def schedule_notices(url: str, start: dt.datetime, seconds: float, count: int = 6) -> None:
    """Staff notices to every residents' group, due one after another during the run."""
    for k in range(count):
        at = start + dt.timedelta(seconds=seconds * k / count)
        sql(url, "INSERT INTO notices (community, author_id, author_name, text, targets, audience, status, via, "
                 "created_at, send_at, confirmed_by, confirmed_at) VALUES ('xingfuli', 'staff-li', '李书记', $1, "
                 "$2::json, '全部居民群', 'scheduled', 'web', $3, $4, 'staff-li', $3)",
            f"通知{k}: 本周六上午9点停水两小时，请提前储水。", json.dumps(GROUPS[:3]), start, at)


class Sampler(threading.Thread):
    """Every 0.1 s: lock requests not granted (pg_locks) and what active backends wait for."""

    QUERY = ("SELECT 'lock ' || l.locktype || ' ' || l.mode FROM pg_locks l WHERE NOT l.granted "
             "UNION ALL SELECT 'wait ' || a.wait_event_type || ':' || a.wait_event FROM pg_stat_activity a "
             "WHERE a.state = 'active' AND a.wait_event IS NOT NULL AND a.pid <> pg_backend_pid() "
             "AND a.backend_type = 'client backend'")

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.counts: Counter[str] = Counter()
        self.samples = 0
        self.backend_pid = 0
        self.running = True
        self.ready = threading.Event()

    def run(self) -> None:
        asyncio.run(self._run())

    async def _run(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.url)
        self.backend_pid = await conn.fetchval("SELECT pg_backend_pid()")
        self.ready.set()
        try:
            while self.running:
                for (what,) in await conn.fetch(self.QUERY):
                    self.counts[what] += 1
                self.samples += 1
                await asyncio.sleep(0.1)
        finally:
            await conn.close()


def run_once(tmp: Path, cluster: Cluster, file: Path, workers: int, rate: float, seconds: float,
             code: Path = REPO) -> dict:  # type: ignore[type-arg]
    """One measured run of `workers` processes of the checkout `code`."""
    url, _ = fresh_postgres(cluster.url, repo=code)
    db_url = url
    procs: list[subprocess.Popen] = []
    nginx: subprocess.Popen | None = None
    try:
        api_port = free_port()
        procs.append(subprocess.Popen([sys.executable, str(HERE / "fake_api.py"), str(api_port),
                                       "--robot-key-prefix", ROBOT_PREFIX], cwd=REPO, env=bench_env()))
        wait_up(api_port)
        robots = {f"LINLI_WECOM_ROBOT_KEY_{g.upper().replace('-', '_')}": f"{ROBOT_PREFIX}-{g}" for g in GROUPS}
        env = wecom_env(api_port) | robots | {"LINLI_SCHEDULER": "true", "PYTHONPATH": str(code)}
        ports = [free_port() for _ in range(workers)]
        bots = []
        for port in ports:
            bots.append(subprocess.Popen(serve_cmd(port, db_url), cwd=code, env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port, proc in zip(ports, bots, strict=True):
            wait_up(port, 60, proc)
        procs += bots
        nginx_dir = tmp / f"nginx-{time.monotonic_ns()}"
        nginx_dir.mkdir()
        front = free_port()
        conf = nginx_config(nginx_dir, front, ports)
        nginx = subprocess.Popen([need_nginx(), "-p", str(nginx_dir), "-e", str(nginx_dir / "error.log"), "-c",
                                  str(conf), "-g", f"daemon off; pid {nginx_dir}/nginx.pid;"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_up(front)
        # Each process has heard from every resident (its member cache is warm), as processes that
        # have run for a while have: the warm-up goes to each process directly; the second time a
        # line is a retry, acknowledged and not handled again.
        for port in ports:
            warm_up(port, file)
        wait_handled(db_url)
        msg_url = db_url.replace("postgresql+asyncpg://", "postgresql://")
        start = dt.datetime.now(dt.UTC)
        schedule_notices(msg_url, start + dt.timedelta(seconds=2), seconds)
        sql(msg_url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        sql(msg_url, "SELECT pg_stat_statements_reset()")
        wal0 = sql(msg_url, "SELECT pg_current_wal_lsn()")[0][0]
        sampler = Sampler(msg_url)
        sampler.start()
        sampler.ready.wait(10)
        bot_pids = [p for b in bots for p in children(b.pid)]
        pg_pids = [p for p in children(cluster.postmaster()) if p != sampler.backend_pid]
        others = {"nginx": children(nginx.pid), "fake API": [procs[0].pid]}
        pg_before = {p: cpu_seconds([p]) for p in pg_pids}
        before = {"bot": cpu_seconds(bot_pids)}
        before |= {k: cpu_seconds(v) for k, v in others.items()}
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, str(HERE / "openloop.py"), f"http://127.0.0.1:{front}", str(file),
                              "--rate", str(rate), "--seconds", str(seconds), "--start", str(SENDERS),
                              "--connections", "128"], capture_output=True, text=True, check=True)
        latency = json.loads(out.stdout)
        handled_after = wait_handled(db_url) + time.monotonic() - t0 - seconds
        # Per process: backends that connected during the run count whole; one that came and went
        # is gone from /proc with its CPU (the pools keep their connections: the count is printed).
        pg_pids_after = [p for p in children(cluster.postmaster()) if p != sampler.backend_pid]
        used = {"bot": cpu_seconds(bot_pids) - before["bot"],
                "postgres": sum(cpu_seconds([p]) - pg_before.get(p, 0.0) for p in pg_pids_after)}
        used |= {k: cpu_seconds(v) - before[k] for k, v in others.items()}
        sampler.running = False
        sampler.join(5)
        wal = sql(msg_url, "SELECT pg_current_wal_lsn() - $1::pg_lsn", wal0)[0][0]
        top = sql(msg_url, "SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) "
                           "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10")
        counts = sql(msg_url, "SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM outbox), "
                              "(SELECT count(*) FROM outbox WHERE status = 'sent'), "
                              "(SELECT count(*) FROM bookings), (SELECT count(*) FROM requests), "
                              "(SELECT count(*) FROM notices WHERE status = 'sent'), "
                              "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database())")[0]
        sent = latency["sent"]
        return {
            "workers": workers, "sent": sent, "late_starts": latency["late_starts"], "errors": latency["errors"],
            "achieved_rate": round(latency["achieved_rate"], 1),
            "p50_ms": round(latency["p50_ms"], 1), "p99_ms": round(latency["p99_ms"], 1),
            "handled_after_s": round(handled_after, 1),
            "cpu_s": {k: round(v, 2) for k, v in used.items()},
            "cpu_s_per_1000": {k: round(v / sent * 1000, 3) for k, v in used.items()},
            "wal_bytes_per_message": round(float(wal) / sent),
            "lock_waits": dict(sampler.counts.most_common(8)), "samples": sampler.samples,
            "top_statements": [[r[0], round(r[1]), r[2], r[3]] for r in top],
            "rows": dict(zip(["inbox", "outbox", "outbox sent", "bookings", "requests", "notices sent",
                              "connections"], counts, strict=True)),
            "backends_started_during_run": len([p for p in pg_pids_after if p not in pg_pids]),
        }
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(10)
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_handled(url: str, timeout: float = 300) -> float:
    """Waits until no inbox row is new and the outbox has sent what it can (pending rows left only
    if they wait for a rate-limit window: their count stays the same for 2 s); returns the seconds."""
    t0 = time.monotonic()
    last, since = -1, time.monotonic()
    while time.monotonic() - t0 < timeout:
        _, new, pending = inbox_counts(url)
        if pending != last:
            last, since = pending, time.monotonic()
        if not new and (not pending or time.monotonic() - since > 2):
            break
        time.sleep(0.1)
    return time.monotonic() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=800)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="1,2", help="process counts to compare, in each round; N@RATE "
                        "runs N processes at RATE messages/s (1@150: one process at the rate each of two sees)")
    parser.add_argument("--json", type=Path, help="also write every run here")
    parser.add_argument("--baseline", type=Path, help="another checkout (`git archive REV | tar -x -C DIR`): its "
                        "bots and migrations are run too, interleaved with this checkout's, round by round")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the cluster and the processes on the way out
    tmp = Path(tempfile.mkdtemp(prefix="linli-scale-"))
    file = tmp / "callbacks.txt"
    write_callbacks(file, SENDERS + int(args.rate * args.seconds) + 10, message=mix_message, first_id=9_000_000_000)
    cluster = Cluster(tmp)
    cluster.start()
    runs: list[dict] = []  # type: ignore[type-arg]
    try:
        codes = {"this": REPO} | ({"baseline": args.baseline.resolve()} if args.baseline else {})
        for rnd in range(args.rounds):
            for spec in args.workers.split(","):
                workers, _, rate = spec.partition("@")
                for name, code in codes.items():
                    r = run_once(tmp, cluster, file, int(workers), float(rate or args.rate), args.seconds, code)
                    r |= {"round": rnd + 1, "code": name + (f" @{rate}/s" if rate else "")}
                    runs.append(r)
                    print(json.dumps(r, ensure_ascii=False), flush=True)
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(runs, ensure_ascii=False, indent=1), encoding="utf-8")
    for name in dict.fromkeys(r["code"] for r in runs):
        print(f"\n{name} checkout:")
        summarize([r for r in runs if r["code"] == name])


def summarize(runs: list[dict]) -> None:  # type: ignore[type-arg]
    print(f"{'processes':<10}{'bot CPU-s/1000':>16}{'PostgreSQL':>12}{'total':>8}{'nginx':>7}"
          f"{'p50 ms':>8}{'p99 ms':>8}{'late':>6}  (median; rounds in brackets)")
    medians = {}
    for workers in sorted({r["workers"] for r in runs}):
        rows = [r for r in runs if r["workers"] == workers]
        bot = [r["cpu_s_per_1000"]["bot"] for r in rows]
        pg = [r["cpu_s_per_1000"]["postgres"] for r in rows]
        total = [b + p for b, p in zip(bot, pg, strict=True)]
        medians[workers] = (statistics.median(bot), statistics.median(pg), statistics.median(total),
                            statistics.median(r["p99_ms"] for r in rows))
        print(f"{workers:<10}{medians[workers][0]:>16.3f}{medians[workers][1]:>12.3f}{medians[workers][2]:>8.3f}"
              f"{statistics.median(r['cpu_s_per_1000']['nginx'] for r in rows):>7.3f}"
              f"{statistics.median(r['p50_ms'] for r in rows):>8.1f}{medians[workers][3]:>8.1f}"
              f"{statistics.median(r['late_starts'] for r in rows):>6.0f}  "
              f"[{' / '.join(f'{t:.3f}' for t in total)}]")
    if 1 in medians and 2 in medians:
        one, two = medians[1], medians[2]
        print(f"2 vs 1 process: bot {two[0] / one[0]:.2f}×, PostgreSQL {two[1] / one[1]:.2f}×, "
              f"total {two[2] / one[2]:.2f}× (target ≤ 1.15×), p99 {two[3] / one[3]:.2f}×")


if __name__ == "__main__":
    main()
