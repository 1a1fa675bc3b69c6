"""The staff digest: SQL counts by category, tier and grid, urgent first, oldest open, masking; the CLI."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

from sqlalchemy import update

from config.community import Directory
from handlers.digest import compute_digest, daily_digest, render_digest
from storage import requests_repo as repo
from storage.db import Database
from storage.migrate import upgrade
from storage.models_requests import Request
from tests.conftest import REPO_ROOT, SHANGHAI

DAY = dt.date(2026, 11, 25)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


SEED = [
    # (created, category, text, building, grid, tier, urgent, status, resolved)
    (at(10, 9), "repair", "12号楼1单元602 楼顶渗水 电话13800000101", 12, "grid-3", "grid", False, "in_progress", None),
    (at(20, 9), "sanitation", "垃圾站没清", None, "grid-2", "grid", False, "new", None),
    (at(24, 23, 59), "parking", "东门堵了", None, "grid-1", "grid", False, "resolved", at(25, 9)),
    (at(25, 0, 0), "repair", "3号楼2单元501漏水", 3, "grid-1", "grid", False, "new", None),
    (at(25, 8), "safety", "11号楼燃气味 13800000104", 11, "grid-3", "street", True, "new", None),
    (at(25, 9), "repair", "6号楼停水", 6, "grid-2", "community", False, "resolved", at(25, 15)),
    (at(25, 23, 59), "dispute", "楼上装修吵", None, "grid-2", "grid", False, "rejected", None),
    (at(26, 0, 1), "repair", "明天的，不算今天", None, "grid-1", "grid", False, "new", None),
]


async def seed(db: Database, community: str = "xingfuli") -> list[int]:
    ids = []
    async with db.transaction() as session:
        for created, category, text, building, grid, tier, urgent, status, resolved in SEED:
            req = await repo.create_request(
                session,
                Request(community=community, channel="sim", group_id="g-res-1", sender_id="r-zhang",
                        sender_name="张秀兰", category=category, text=text, building=building, grid=grid, tier=tier,
                        urgent=urgent),
                actor=repo.Actor("r-zhang", "张秀兰"), now=created)
            await session.execute(update(Request).where(Request.id == req.id)
                                  .values(status=status, resolved_at=resolved))
            ids.append(req.id)
    return ids


async def test_digest_counts_by_category_tier_and_grid(db_url: str, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        await upgrade(db)
        ids = await seed(db)
        await seed(db, community="elsewhere")  # another community's requests never count
        async with db.transaction() as session:
            digest = await compute_digest(session, community, DAY)
    finally:
        await db.dispose()
    # new on the 25th (local day): 00:00, 08:00, 09:00, 23:59; resolved on the 25th: two
    assert (digest.total.new, digest.total.resolved) == (4, 2)
    # open now and filed by the end of the 25th: in_progress #1, new #2, #4, #5 (not the one of the 26th)
    assert digest.total.open == 4
    assert digest.by_category["repair"].new == 2 and digest.by_category["repair"].open == 2
    assert digest.by_category["parking"].resolved == 1 and digest.by_category["parking"].new == 0
    assert digest.by_tier["street"].open == 1 and digest.by_tier["community"].resolved == 1
    assert digest.by_grid["grid-3"].open == 2 and digest.by_grid["grid-2"].new == 2
    assert [i.id for i in digest.urgent] == [ids[4]]
    assert [i.id for i in digest.oldest] == [ids[0], ids[1], ids[3], ids[4]]
    # ages as of the digest time (17:30 in the demo config)
    assert digest.oldest[0].age_seconds == (at(25, 17, 30) - at(10, 9)).total_seconds()


async def test_digest_text_puts_urgent_first_and_masks_phones_and_rooms(db_url: str,
                                                                       demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        await upgrade(db)
        ids = await seed(db)
        async with db.transaction() as session:
            [post] = await daily_digest(session, community, DAY)
            nothing = render_digest(await compute_digest(session, community, dt.date(2026, 11, 1)))
    finally:
        await db.dispose()
    assert (post.to, post.target, post.idempotency_key) == ("group", "g-staff", "digest:xingfuli:2026-11-25")
    text = post.text
    assert "11月25日" in text and "今日新增 4 件，办结 2 件，未办结 4 件" in text
    assert text.index("紧急") < text.index("按类别") < text.index("等待最久")
    assert f"#{ids[4]}" in text.split("按类别")[0]  # the urgent one, before the breakdown
    assert "报修 2/1/2" in text and "停车交通 0/1/0" in text and "街道 1/0/1" in text and "第三网格" in text
    assert f"#{ids[0]} 报修 · 12号楼 · 已等 15 天" in text
    for secret in ("13800000101", "13800000104", "602", "501"):
        assert secret not in text
    assert "138****0101" in text
    assert "本周" not in text  # Wednesday: no weekly part in the demo config (sunday)
    assert "今天没有新的居民报事" in nothing


async def test_weekly_digest_adds_the_week_and_the_chart_link(db_url: str, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        await upgrade(db)
        await seed(db)
        async with db.transaction() as session:
            [post] = await daily_digest(session, community, dt.date(2026, 11, 29))  # a Sunday
    finally:
        await db.dispose()
    # 23rd..29th: the 24th 23:59 parking, four on the 25th, one on the 26th
    assert "本周（11/23-11/29）共 6 件" in post.text
    assert "/staff/charts/weekly.png?end=2026-11-29" in post.text


async def _linli(*args: str) -> tuple[int, str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, cwd=REPO_ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_prints_the_digest_of_a_day(db_url: str, tmp_path: Path) -> None:
    db = Database(db_url)
    try:
        await upgrade(db)
        await seed(db)
    finally:
        await db.dispose()
    code, out, err = await _linli("digest", "--community", "xingfuli", "--date", "2026-11-25",
                                  "--database-url", db_url)
    assert code == 0, err
    assert "幸福里社区" in out and "今日新增 4 件，办结 2 件，未办结 4 件" in out and "13800000101" not in out
    code, _, err = await _linli("digest", "--community", "nowhere", "--database-url", db_url)
    assert code == 2 and "no community 'nowhere'" in err
    code, _, err = await _linli("digest", "--date", "2026-13-01", "--database-url", db_url)
    assert code == 2 and "YYYY-MM-DD" in err
    code, _, err = await _linli("digest", "--database-url", f"sqlite:///{tmp_path / 'missing.db'}")
    assert code == 1 and "no database" in err


# --- issue 16, item 10 -----------------------------------------------------------------------------


async def test_ages_are_measured_from_the_report_as_of_now(db_url: str, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        await upgrade(db)
        async with db.transaction() as session:
            await repo.create_request(
                session, Request(community="xingfuli", channel="sim", group_id="g-res-3", sender_id="r-sun",
                                 sender_name="孙桂芳", category="safety", text="11号楼燃气味", building=11,
                                 grid="grid-3", tier="street", urgent=True),
                actor=repo.Actor("r-sun", "孙桂芳"), now=at(25, 10, 25))
        async with db.transaction() as session:
            # asked for at 10:30, before the 17:30 post: "5 分钟", never "已 7 小时"
            early = render_digest(await compute_digest(session, community, DAY, now=at(25, 10, 30)))
            posted = render_digest(await compute_digest(session, community, DAY, now=at(25, 17, 30)))
            later_day = render_digest(await compute_digest(session, community, DAY, now=at(27, 9, 0)))
    finally:
        await db.dispose()
    assert "已 5 分钟" in early and "小时" not in early.split("按类别")[0]
    assert "已 7 小时" in posted
    assert "已 7 小时" in later_day  # a past day's digest: as of that day's posting time


async def test_only_real_grids_are_listed(db_url: str, demo_directory: Directory) -> None:
    community = demo_directory.communities[0]
    db = Database(db_url)
    try:
        await upgrade(db)
        await seed(db)
        async with db.transaction() as session:  # filed before only residents could file: the staff group
            await repo.create_request(
                session, Request(community="xingfuli", channel="sim", group_id="g-staff", sender_id="staff-li",
                                 sender_name="李书记", category="repair", text="群发 明天停水", grid="g-staff",
                                 tier="grid", urgent=False),
                actor=repo.Actor("staff-li", "李书记"), now=at(25, 11))
            text = render_digest(await compute_digest(session, community, DAY))
    finally:
        await db.dispose()
    grids = text.split("按网格：")[1].splitlines()[0]
    assert "幸福里社区工作群" not in text and "g-staff" not in grids
    assert grids.startswith("第一网格") and "未分网格 1/0/1" in grids


async def test_links_use_the_public_url(db_url: str, demo_directory: Directory) -> None:
    public = demo_directory.with_public_url("https://linli.example.org/").communities[0]
    db = Database(db_url)
    try:
        await upgrade(db)
        await seed(db)
        async with db.transaction() as session:
            [post] = await daily_digest(session, public, dt.date(2026, 11, 29))
    finally:
        await db.dispose()
    assert "工作台：https://linli.example.org/staff" in post.text
    assert "https://linli.example.org/staff/charts/weekly.png?end=2026-11-29" in post.text
    assert "127.0.0.1" not in post.text
