"""Morning fan-out benchmark (issues 6/8): time to queue the theme post for 10,000 groups.

Builds a synthetic community with N residents' groups (the demo community's themes), runs the
theme job the way the scheduler does (one job, one transaction, batched inserts) on a fresh SQLite
file and on a fresh PostgreSQL database, and prints the time to queue, then the time of a rerun
(every row already queued: all conflicts, nothing added).

    .venv/bin/python bench/bench_fanout.py [--groups 10000] [--repeat 3] \
        [--postgres-url postgresql://linli:linli@127.0.0.1:5432/linli_test]

PostgreSQL is skipped when neither --postgres-url nor LINLI_TEST_POSTGRES_URL is set.

With --deliver, every run then delivers the queued rows: the groups are on the "wecom" channel,
each with its group robot key (LINLI_WECOM_ROBOT_KEY_<GROUP>, the route a residents' group takes;
--route appchat posts through app group chats instead), the fake WeCom API (bench/fake_api.py)
runs as a separate process, and the bot's own OutboxDrainer with the WeChat senders exactly as
`bot.linli.build_linli` builds them (LINLI_WECOM_API_BASE = the fake) sends the rows. Delivery stops
after --deliver-seconds (then the sustained rate is extrapolated). Afterwards, on the same fake API,
baselines of --baseline-sends calls each: bare aiohttp POSTs (one at a time, and WAVE at a time
like the drainer), the sender's HTTP client (GroupRobot / WeChatHttp) alone, the rate limiter's
database transaction alone (`acquire`, one key), and its reservation for a wave of the drainer
(`acquire_many` of WAVE keys; counted in keys/s).
--profile DIR writes a pyinstrument profile of each backend's first delivery (profiled runs are slower).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.leader_lock import SoleProcess  # noqa: E402
from bot.scheduler import Scheduler  # noqa: E402
from config.community import Directory, Group  # noqa: E402
from config.loader import load_directory  # noqa: E402
from config.settings import DEFAULT_COMMUNITY_FILE  # noqa: E402
from core.clock import FixedClock  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402

DAY = dt.date(2026, 11, 26)  # a Thursday: safety check day
NOW = dt.datetime(2026, 11, 26, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def synthetic_directory(groups: int, route: str | None = None) -> Directory:
    """N residents' groups; with a `route`, on the "wecom" channel (robot: keys come from the
    environment, see `robot_environ`; appchat: each group has an app chat id)."""
    demo = load_directory(DEFAULT_COMMUNITY_FILE).communities[0]
    wiring: dict[str, object] = {} if route is None else {"channel": "wecom"}
    residents = [Group(id=f"g-{i:05d}", name=f"居民群{i}", kind="residents",
                       **wiring, **({"appchat_id": f"chat{i:05d}"} if route == "appchat" else {}))  # type: ignore[arg-type]
                 for i in range(groups)]
    others = [g for g in demo.groups if g.kind != "residents"]
    people = [p.model_copy(update={"groups": [g for g in p.groups if not g.startswith("g-res-")]})
              for p in demo.people]
    return Directory([demo.model_copy(update={"groups": residents + others, "people": people})])


async def one_run(url: str, directory: Directory,
                  deliver: DeliverOptions | None = None) -> tuple[float, float, float, int, DeliveryResult | None]:
    db = Database(url)
    try:
        await upgrade(db)
        scheduler = Scheduler(db, directory, FixedClock(NOW), leadership=SoleProcess())
        started, cpu_started = time.perf_counter(), time.process_time()
        [first] = await scheduler.run("theme", DAY)
        queue_s, queue_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        started = time.perf_counter()
        [again] = await scheduler.run("theme", DAY)
        rerun_s = time.perf_counter() - started
        async with db.transaction() as session:
            rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
        assert first.queued == rows and again.queued == 0, (first, again, rows)
    finally:
        await db.dispose()
    delivered = await deliver_run(url, directory, rows or 0, deliver) if deliver is not None else None
    return queue_s, queue_cpu, rerun_s, rows or 0, delivered


# ---------------------------------------------------------------------------------------------
# Delivery (--deliver)

ROBOT_KEY_PREFIX = "bench-robot-"
BASELINE_KEY = ROBOT_KEY_PREFIX + "baseline"


@dataclass
class DeliverOptions:
    route: str = "robot"  # robot | appchat
    max_seconds: float = 60.0
    baseline_sends: int = 2000
    profile_to: Path | None = None  # a pyinstrument text profile of this delivery
    skip_limiter: bool = False  # diagnosis only: the senders' RateLimiter.acquire replaced by a no-op


@dataclass
class DeliveryResult:
    queued: int
    sent: int  # rows the drainer recorded as sent
    failed: int
    db_sent: int  # rows with status "sent" in the database afterwards
    seconds: float  # drainer start -> last row recorded (or the time limit)
    first_send_s: float  # drainer start -> first row recorded
    bot_cpu: float
    api_cpu: float
    api_received: int  # group posts the fake API delivered (baseline calls excluded)
    api_distinct: int
    complete: bool
    allowed_per_s: float  # what the configured per-target limits allow for this fan-out
    baselines: dict[str, float] = field(default_factory=dict)  # name -> calls/s
    skipped_limiter: bool = False

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


class ShiftedClock:
    """Real time, shifted so that it starts at the bench's morning (the rows are due at NOW)."""

    def __init__(self, start: dt.datetime) -> None:
        self.offset = start - dt.datetime.now(dt.UTC)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


def robot_environ(directory: Directory) -> dict[str, str]:
    """The environment variable of each residents' group robot key (LINLI_WECOM_ROBOT_KEY_G_00000)."""
    from bot.channels.wechat_directory import robot_key_env

    return {robot_key_env(g): f"{ROBOT_KEY_PREFIX}{g.id}" for c in directory.communities for g in c.groups
            if g.kind == "residents"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _proc_cpu(pid: int) -> float:
    """utime + stime of another process (Linux /proc), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _get_json(url: str) -> dict:  # type: ignore[type-arg]
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return await resp.json()  # type: ignore[no-any-return]


async def start_fake_api() -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"), str(port),  # noqa: ASYNC220
                             "--robot-key-prefix", ROBOT_KEY_PREFIX], cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            await _get_json(f"{base}/healthz")
            return proc, base
        except OSError:
            await asyncio.sleep(0.1)
    proc.terminate()
    raise RuntimeError("the fake WeCom API did not start")


async def deliver_run(url: str, directory: Directory, queued: int, opts: DeliverOptions) -> DeliveryResult:
    from bench.fake_api import AGENT_ID, CORP_ID, CORP_SECRET
    from bot.linli import build_linli
    from config.settings import Settings

    if opts.route == "robot":
        os.environ.update(robot_environ(directory))
    api, base = await start_fake_api()
    try:
        settings = Settings(database_url=url, wecom_api_base=base, simulator=False,
                            **({"wecom_corp_id": CORP_ID, "wecom_secret": CORP_SECRET, "wecom_agent_id": AGENT_ID}
                               if opts.route == "appchat" else {}))
        clock = ShiftedClock(NOW)
        # Exactly the senders and the drainer a bot process has (the pipeline is never used here).
        linli = build_linli(settings, clock=clock, directory=directory,
                            understand=lambda text, now: None)  # type: ignore[arg-type,return-value]
        drainer = linli.drainer
        if opts.skip_limiter:  # not what the bot does: shows what the rate-limit transaction costs
            async def no_limit(key: str, per_minute: int) -> None:
                return None

            async def no_limits(wanted: list[tuple[str, int, int]]) -> list[int]:
                return [n for _, _, n in wanted]

            for sender in linli.senders.values():
                if hasattr(sender, "limiter"):
                    sender.limiter.acquire = no_limit  # type: ignore[attr-defined,method-assign]
                    sender.limiter.acquire_many = no_limits  # type: ignore[attr-defined,method-assign]
        profiler = None
        if opts.profile_to is not None:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="disabled", interval=0.001)
        try:
            api_cpu0 = _proc_cpu(api.pid)
            if profiler is not None:
                profiler.start()
            started, cpu0 = time.perf_counter(), time.process_time()
            first_send = None
            drainer.start()
            while True:
                await asyncio.sleep(0.02)
                sent, failed = drainer.counts[("wecom", "sent")], drainer.counts[("wecom", "failed")]
                if first_send is None and sent:
                    first_send = time.perf_counter() - started
                elapsed = time.perf_counter() - started
                if sent + failed >= queued or elapsed >= opts.max_seconds:
                    break
            await drainer.stop()
            elapsed, bot_cpu = time.perf_counter() - started, time.process_time() - cpu0
            if profiler is not None:
                profiler.stop()
                opts.profile_to.write_text(profiler.output_text(unicode=True, color=False))  # type: ignore[union-attr]
                profiler.last_session.save(str(opts.profile_to.with_suffix(".pyisession")))  # type: ignore[union-attr]
            api_cpu = _proc_cpu(api.pid) - api_cpu0
            sent, failed = drainer.counts[("wecom", "sent")], drainer.counts[("wecom", "failed")]
            async with linli.db.transaction() as session:
                db_sent = await session.scalar(select(func.count()).select_from(OutboxMessage)
                                               .where(OutboxMessage.status == "sent")) or 0
            stats = await _get_json(f"{base}/stats")
            kind = "robot" if opts.route == "robot" else "appchat"
            posts = Counter(to for k, to, _ in stats["delivered"] if k == kind and to != BASELINE_KEY)
            # Per-target limits only (ROBOT_PER_MINUTE per robot key / APPCHAT_PER_MINUTE per chat):
            # with one target per group they add up over the groups; nothing caps the app as a whole.
            from bot.channels.wecom_api import APPCHAT_PER_MINUTE, ROBOT_PER_MINUTE

            per_minute = ROBOT_PER_MINUTE if opts.route == "robot" else APPCHAT_PER_MINUTE
            result = DeliveryResult(
                queued=queued, sent=sent, failed=failed, db_sent=db_sent, seconds=elapsed,
                first_send_s=first_send or 0.0, bot_cpu=bot_cpu, api_cpu=api_cpu,
                api_received=sum(posts.values()), api_distinct=len(posts), complete=sent + failed >= queued,
                allowed_per_s=queued * per_minute / 60, skipped_limiter=opts.skip_limiter)
            result.baselines = await baselines(linli, base, opts.baseline_sends, clock)
            return result
        finally:
            await drainer.stop()
            for sender in {id(s): s for s in linli.senders.values()}.values():
                close = getattr(sender, "close", None)
                if close is not None:
                    await close()
            await linli.db.dispose()
    finally:
        api.terminate()
        api.wait()


async def baselines(linli: object, base: str, n: int, clock: ShiftedClock) -> dict[str, float]:
    """calls/s of n sequential calls: bare aiohttp POSTs to the fake's webhook, the sender's HTTP
    client (GroupRobot over WeChatHttp), and the rate limiter's DB transaction (one per send)."""
    import aiohttp

    from bot.channels.wecom_api import ROBOT_PER_MINUTE, GroupRobot, RateLimiter, WeChatHttp

    text = "今日主题：基准测试" * 10
    out: dict[str, float] = {}
    if n <= 0:
        return out
    async with aiohttp.ClientSession() as session:
        url = f"{base}/cgi-bin/webhook/send"
        body = {"msgtype": "text", "text": {"content": text}}
        started = time.perf_counter()
        for _ in range(n):
            async with session.post(url, params={"key": BASELINE_KEY}, json=body) as resp:
                await resp.read()
        out["aiohttp POST"] = n / (time.perf_counter() - started)
        from bot.outbox import WAVE

        async def post() -> None:
            async with session.post(url, params={"key": BASELINE_KEY}, json=body) as resp:
                await resp.read()

        started, calls = time.perf_counter(), 0
        while calls < n:  # as many in flight as the drainer has: the HTTP ceiling of a concurrent drainer
            await asyncio.gather(*(post() for _ in range(WAVE)))
            calls += WAVE
        out[f"aiohttp POST, {WAVE} at a time"] = calls / (time.perf_counter() - started)
    http = WeChatHttp(10.0)
    robot = GroupRobot(http, base=base)
    try:
        started = time.perf_counter()
        for _ in range(n):
            await robot.send_text(BASELINE_KEY, text)
        out["GroupRobot.send_text"] = n / (time.perf_counter() - started)
    finally:
        await http.close()
    limiter = RateLimiter(linli.db, clock)  # type: ignore[attr-defined]
    started = time.perf_counter()
    for i in range(n):
        await limiter.acquire(f"robot:baseline{i}", ROBOT_PER_MINUTE)
    out["RateLimiter.acquire"] = n / (time.perf_counter() - started)
    started, keys = time.perf_counter(), 0
    while keys < n:  # what the drainer does: one reservation per wave of distinct targets
        await limiter.acquire_many([(f"robot:baseline-many{keys + j}", ROBOT_PER_MINUTE, 1) for j in range(WAVE)])
        keys += WAVE
    out[f"RateLimiter.acquire_many ({WAVE} keys), keys"] = keys / (time.perf_counter() - started)
    return out


async def _admin(url: str, sql: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql(sql)
    finally:
        await engine.dispose()


async def bench(groups: int, repeat: int, postgres_url: str | None, deliver: DeliverOptions | None = None,
                profile_dir: Path | None = None, backends_wanted: tuple[str, ...] = ("sqlite", "postgresql")) -> None:
    directory = synthetic_directory(groups, deliver.route if deliver is not None else None)
    backends: list[tuple[str, object]] = [("sqlite", None)] if "sqlite" in backends_wanted else []
    if postgres_url and "postgresql" in backends_wanted:
        backends.append(("postgresql", postgres_url))
    for name, base in backends:
        times: list[tuple[float, float, float, int, DeliveryResult | None]] = []
        for run in range(repeat):
            opts = deliver
            if deliver is not None and profile_dir is not None and run == 0:
                opts = DeliverOptions(deliver.route, deliver.max_seconds, deliver.baseline_sends,
                                      profile_dir / f"fanout_deliver_{name}_{deliver.route}.txt", deliver.skip_limiter)
            if base is None:
                with tempfile.TemporaryDirectory() as tmp:
                    times.append(await one_run(f"sqlite+aiosqlite:///{tmp}/fanout.db", directory, opts))
            else:
                admin = make_url(str(base)).set(drivername="postgresql+asyncpg")
                db_name = f"linli_bench_{uuid.uuid4().hex[:10]}"
                admin_url = admin.render_as_string(hide_password=False)
                await _admin(admin_url, f'CREATE DATABASE "{db_name}"')
                try:
                    times.append(await one_run(admin.set(database=db_name).render_as_string(hide_password=False),
                                               directory, opts))
                finally:
                    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
            if times[-1][4] is not None:
                print_delivery(name, run, times[-1][4], profiled=opts is not deliver)
        queue, cpu, rerun = ([t[i] for t in times] for i in range(3))
        print(f"{name:10s} {groups} groups: queued {times[0][3]} rows in median {statistics.median(queue):.3f} s "
              f"(runs: {', '.join(f'{t:.3f}' for t in queue)}; bot CPU median {statistics.median(cpu):.3f} s); "
              f"rerun (all already queued) median {statistics.median(rerun):.3f} s")
        results = [t[4] for t in times if t[4] is not None]
        if profile_dir is not None:
            results = results[1:]  # the profiled run is slower: not in the medians
        if results:
            print_delivery_summary(name, results)
        sys.stdout.flush()


def print_delivery(name: str, run: int, r: DeliveryResult, *, profiled: bool) -> None:
    how = "all" if r.complete else f"time limit reached; {r.sent} of"
    extrapolated = "" if r.complete else f", all {r.queued} would take ≈ {r.queued / r.rate:.0f} s"
    base = "; ".join(f"{k} {v:,.0f}/s" for k, v in r.baselines.items())
    print(f"{name:10s} deliver run {run + 1}{' (profiled)' if profiled else ''}"
          f"{' (RATE LIMITER SKIPPED)' if r.skipped_limiter else ''}: {how} {r.queued} rows in "
          f"{r.seconds:.2f} s = {r.rate:,.0f} sends/s{extrapolated} (first send after {r.first_send_s:.2f} s); "
          f"configured limits allow {r.allowed_per_s:,.0f}/s (ratio {r.rate / r.allowed_per_s:.3f}); "
          f"bot CPU {r.bot_cpu:.2f} s = {1000 * r.bot_cpu / max(r.sent, 1):.2f} ms/send, fake API CPU "
          f"{1000 * r.api_cpu / max(r.api_received, 1):.2f} ms/send; fake API received {r.api_received} "
          f"({r.api_distinct} distinct) vs {r.sent} recorded sent, {r.db_sent} sent in the DB, {r.failed} failed; "
          f"baselines: {base}", flush=True)


def print_delivery_summary(name: str, results: list[DeliveryResult]) -> None:
    rate = statistics.median(r.rate for r in results)
    cpu = statistics.median(1000 * r.bot_cpu / max(r.sent, 1) for r in results)
    allowed = results[0].allowed_per_s
    skipped = " (RATE LIMITER SKIPPED)" if results[0].skipped_limiter else ""
    lines = [f"{name:10s} delivery{skipped} median of {len(results)}: {rate:,.0f} sends/s "
             f"(runs: {', '.join(f'{r.rate:,.0f}' for r in results)}), {rate / allowed:.3f} of the "
             f"{allowed:,.0f}/s the configured limits allow, bot CPU {cpu:.2f} ms/send"]
    for key in results[0].baselines:
        b = statistics.median(r.baselines[key] for r in results)
        lines.append(f"{name:10s}   baseline {key}: median {b:,.0f} calls/s; delivery achieves {rate / b:.2f} of it")
    print("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres-url", default=os.environ.get("LINLI_TEST_POSTGRES_URL"))
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql")
    parser.add_argument("--deliver", action="store_true", help="then deliver the rows through the fake WeCom API")
    parser.add_argument("--route", choices=["robot", "appchat"], default="robot",
                        help="with --deliver: group robot webhooks (residents' groups) or app group chats")
    parser.add_argument("--deliver-seconds", type=float, default=60.0,
                        help="with --deliver: stop delivering after this long and extrapolate")
    parser.add_argument("--baseline-sends", type=int, default=2000)
    parser.add_argument("--skip-limiter", action="store_true",
                        help="diagnosis only: deliver without the rate limiter's database transaction")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="with --deliver: pyinstrument profile of each backend's first delivery into DIR")
    args = parser.parse_args()
    deliver = (DeliverOptions(args.route, args.deliver_seconds, args.baseline_sends, skip_limiter=args.skip_limiter)
               if args.deliver else None)
    asyncio.run(bench(args.groups, args.repeat, args.postgres_url, deliver, args.profile,
                      tuple(args.backends.split(","))))


if __name__ == "__main__":
    main()
