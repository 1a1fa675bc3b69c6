"""The charts page and its pictures: requests per category per week, median time to resolve, the share
resolved on time and the residents' satisfaction (回访), the weekly picture.

The numbers are counted by SQL per week (community-local weeks from Monday); the pictures are
drawn by `charts` in the drawing process (`drawing.py`). The weekly picture is the one the staff
digest links to (`handlers.digest.weekly_chart_url`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import func, select

from bot.staff_web import charts
from bot.staff_web.auth import StaffAuth
from bot.staff_web.drawing import ChartDrawer
from bot.staff_web.render import render
from bot.web_input import BadInput, bounded_day
from config.community import Community
from core.clock import Clock
from handlers import texts_requests as texts
from handlers.digest import CATEGORY_ORDER, day_bounds, satisfaction, week_counts
from storage.db import Database
from storage.models_requests import Request

CHART_WEEKS = 8
PNG_HEADERS = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}


@dataclass(frozen=True)
class Weekly:
    """The last CHART_WEEKS weeks (their Mondays, oldest first) with their numbers."""

    weeks: list[dt.date]
    counts: dict[dt.date, dict[str, int]]  # requests filed per category
    medians: dict[dt.date, float | None]  # median hours from filing to resolution, of those resolved
    on_time: dict[dt.date, float | None]  # share resolved by the deadline, of those resolved with one
    satisfied: dict[dt.date, float | None]  # share of 回访 marks of 4-5, of those given that week


class ChartPages:
    """/staff/charts and the pictures it shows."""

    def __init__(self, db: Database, clock: Clock, auth: StaffAuth, drawer: ChartDrawer) -> None:
        self.db = db
        self.clock = clock
        self.auth = auth
        self.drawer = drawer

    async def _png(self, draw: Callable[..., bytes], *args: object) -> web.Response:
        png = await self.drawer.draw(draw, *args)
        return web.Response(body=png, content_type="image/png", headers=PNG_HEADERS)

    def _end_day(self, request: web.Request, c: Community) -> dt.date:
        """The `end` parameter (YYYY-MM-DD), by default today in the community's time zone."""
        if "end" not in request.query:
            return self.clock.now().astimezone(ZoneInfo(c.timezone)).date()
        try:  # bounded: 9999-12-31 plus the week's days overflowed `date` (500)
            return bounded_day(request.query["end"], name="end")
        except BadInput as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None

    async def weekly(self, c: Community, end_day: dt.date) -> Weekly:
        """Requests per category per week, and the median hours to resolve, for the weeks up to `end_day`'s."""
        monday = end_day - dt.timedelta(days=end_day.weekday())
        weeks = [monday - dt.timedelta(weeks=i) for i in range(CHART_WEEKS - 1, -1, -1)]
        counts: dict[dt.date, dict[str, int]] = {}
        medians: dict[dt.date, float | None] = {}
        on_time: dict[dt.date, float | None] = {}
        satisfied: dict[dt.date, float | None] = {}
        async with self.db.transaction() as session:
            for week in weeks:
                start, _ = day_bounds(c, week)
                _, end = day_bounds(c, week + dt.timedelta(days=6))
                rows = (await session.execute(
                    select(Request.category, func.count()).where(
                        Request.community == c.id, Request.created_at >= start, Request.created_at < end)
                    .group_by(Request.category))).all()
                counts[week] = {category: n for category, n in rows}
                spans = (await session.execute(
                    select(Request.created_at, Request.resolved_at, Request.due_at).where(
                        Request.community == c.id, Request.resolved_at >= start, Request.resolved_at < end)
                )).all()
                hours = [(b - a).total_seconds() / 3600 for a, b, _ in spans if a is not None and b is not None]
                medians[week] = statistics.median(hours) if hours else None
                due = [b <= d for _, b, d in spans if b is not None and d is not None]
                on_time[week] = sum(due) / len(due) if due else None
                marks = await satisfaction(session, c, start, end)
                satisfied[week] = marks.satisfied / marks.count if marks.count else None
        return Weekly(weeks, counts, medians, on_time, satisfied)

    async def charts_page(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        today = self._end_day(request, staff.community)
        data = await self.weekly(staff.community, today)
        last = data.weeks[-1] + dt.timedelta(days=6)
        rows = [{"week": week, "label": f"{week.month}/{week.day}", "total": sum(data.counts[week].values()),
                 "counts": [(k, data.counts[week].get(k, 0)) for k in CATEGORY_ORDER], "median": data.medians[week],
                 "on_time": data.on_time[week], "satisfied": data.satisfied[week]}
                for week in data.weeks]
        return render(request, "charts.html", {
            "title": "图表", "staff": staff, "end": today.isoformat(), "weekly_end": last.isoformat(),
            "categories": [(k, texts.category_name(k)) for k in CATEGORY_ORDER], "rows": rows,
            "weekly_size": charts.WEEKLY_SIZE, "page_size": charts.PAGE_CHART_SIZE})

    async def categories_png(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        data = await self.weekly(staff.community, self._end_day(request, staff.community))
        return await self._png(charts.category_weeks_png, data.weeks, data.counts)

    async def median_png(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        data = await self.weekly(staff.community, self._end_day(request, staff.community))
        return await self._png(charts.median_hours_png, data.weeks, data.medians)

    async def rates_png(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        data = await self.weekly(staff.community, self._end_day(request, staff.community))
        return await self._png(charts.rates_png, data.weeks, data.on_time, data.satisfied)

    async def weekly_png(self, request: web.Request) -> web.Response:
        """The seven days ending with `end`: requests per category (the picture the weekly digest links)."""
        staff = await self.auth.require(request)
        end = self._end_day(request, staff.community)
        async with self.db.transaction() as session:
            counts = await week_counts(session, staff.community, end)
        return await self._png(charts.weekly_png, end - dt.timedelta(days=6), end, counts)
