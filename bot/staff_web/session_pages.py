"""/staff/sessions: the service sessions around today with who came; one session's roster with a
check-in button per booked resident (as `到场 <code>` in the chat); /staff/hours: volunteers'
service hours of a month, downloadable as CSV and as an Excel workbook (what street offices file)."""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.staff_web.auth import Staff, StaffAuth, read_form
from bot.staff_web.render import PREFIX, not_found, render
from bot.web_input import path_number
from core.clock import Clock
from handlers import texts_booking
from handlers import texts_volunteers as vtexts
from handlers.attendance import check_in, session_view
from handlers.service_hours import HoursReport, hours_csv, hours_report, hours_table, hours_xlsx, month_bounds
from handlers.texts_requests import WEB_BAD_FORM
from storage import attendance_repo, booking_repo, sessions_repo
from storage.db import Database

log = logging.getLogger("linli.staff_web")

DAYS_BEFORE, DAYS_AFTER = 7, 7
STATUS_NAMES = {"present": "已到", "no_show": "爽约"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SessionPages:
    def __init__(self, db: Database, clock: Clock, auth: StaffAuth) -> None:
        self.db = db
        self.clock = clock
        self.auth = auth

    async def list_page(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        tz = ZoneInfo(c.timezone)
        now = self.clock.now().astimezone(tz)
        start = dt.datetime.combine(now.date() - dt.timedelta(days=DAYS_BEFORE), dt.time(0), tzinfo=tz)
        async with self.db.transaction() as session:
            await sessions_repo.materialize_sessions(session, c, now)
            end = start + dt.timedelta(days=DAYS_BEFORE + DAYS_AFTER)
            views = await sessions_repo.find_sessions(session, c.id, starting_from=start, starting_before=end,
                                                      include_closed=True)
            marks = {v.id: await attendance_repo.statuses(session, v.id) for v in views}
        items = [{"id": v.id, "service": texts_booking.service_name(c, v.row.service),
                  "when": texts_booking.when(v.row.starts_at, v.row.ends_at, tz), "booked": v.booked,
                  "capacity": v.row.capacity, "present": list(marks[v.id].values()).count("present"),
                  "no_show": list(marks[v.id].values()).count("no_show"), "closed": v.row.status == "closed",
                  "past": v.row.ends_at <= now} for v in views]
        return render(request, "sessions.html", {"title": "场次签到", "staff": staff, "items": items,
                                                 "month": now.strftime("%Y-%m")})

    async def detail_page(self, request: web.Request, message: tuple[str, str] | None = None,
                          status: int = 200) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        tz = ZoneInfo(c.timezone)
        number = path_number(request)
        async with self.db.transaction() as session:
            found = await session_view(session, c, number)
            if found is None:
                return not_found(request, staff, texts_booking.staff_unknown_session(number))
            view, marks = found
            bookings = [b for b in await booking_repo.session_bookings(session, number) if b.status == "booked"]
            absent = (await attendance_repo.absent(session, [number])).get(number, set())
        service = c.service(view.row.service)
        team = c.team(service.team) if service is not None else None
        people = [{"code": b.code, "name": b.resident_name, "address": texts_booking.address(c.person(b.resident_id)),
                   "item": b.item or "", "status": marks.get(b.id, ""),
                   "status_name": STATUS_NAMES.get(marks.get(b.id, ""), "")} for b in bookings]
        volunteers = [{"name": p.name, "absent": p.id in absent}
                      for p in (c.person(m) for m in (team.members if team else [])) if p is not None]
        if message is None and request.query.get("done"):
            message = ("ok", request.query["done"])
        return render(request, "session.html", {
            "title": f"场次 #{number}", "staff": staff, "message": message, "id": number,
            "service": texts_booking.service_name(c, view.row.service),
            "when": texts_booking.when(view.row.starts_at, view.row.ends_at, tz),
            "place": sessions_repo.place_of(c, view.row), "booked": view.booked, "capacity": view.row.capacity,
            "team": team.name if team else "", "volunteers": volunteers, "people": people,
            "closed": view.row.status == "closed"}, status=status)

    async def check_in(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        number = path_number(request)
        form = await read_form(request)
        if not staff.csrf_ok(form.get("csrf")):
            return await self.detail_page(request, ("err", WEB_BAD_FORM), 403)
        code = str(form.get("code", "")).strip().upper()
        done = None
        async with self.db.transaction() as session:
            booking = await booking_repo.booking_by_code(session, c.id, code) if code else None
            if booking is not None and booking.session_id == number:  # a code of this session only
                done = await check_in(session, c, code, by=staff.person.id, role="staff",
                                      now=self.clock.now().astimezone(ZoneInfo(c.timezone)), masked=False)
        if done is None:
            return await self.detail_page(request, ("err", vtexts.check_in_unknown(code)), 400)
        if not done.ok:
            return await self.detail_page(request, ("err", done.text), 409)
        raise web.HTTPSeeOther(f"{PREFIX}/sessions/{number}?{urllib.parse.urlencode({'done': done.text})}")

    async def _report(self, request: web.Request) -> tuple[Staff, str, HoursReport]:
        """The logged-in staff member, the month asked for (`?month=`, default this one) and its hours."""
        staff = await self.auth.require(request)
        c = staff.community
        month = request.query.get("month", "")
        try:
            first, last = month_bounds(month)
        except ValueError:
            if month:
                raise web.HTTPBadRequest(text="month must be YYYY-MM") from None
            month = self.clock.now().astimezone(ZoneInfo(c.timezone)).strftime("%Y-%m")
            first, last = month_bounds(month)
        async with self.db.transaction() as session:
            return staff, month, await hours_report(session, c, first, last)

    async def hours_page(self, request: web.Request) -> web.Response:
        staff, month, report = await self._report(request)
        return render(request, "hours.html", {
            "title": "志愿时长", "staff": staff, "month": month, "header": vtexts.HOURS_HEADER,
            "rows": hours_table(report), "teams": [(t.team, t.people, t.sessions, vtexts.hours(t.minutes))
                                                   for t in report.teams],
            "query": urllib.parse.urlencode({"month": month})})

    async def hours_file(self, request: web.Request) -> web.Response:
        staff, month, report = await self._report(request)
        name = f"volunteer-hours-{staff.community.id}-{month}"
        ext = request.match_info["ext"]
        if ext == "xlsx":
            response = web.Response(body=hours_xlsx(report), content_type=XLSX)
        else:  # with a BOM, so that Excel reads the UTF-8 as such
            response = web.Response(body=("\ufeff" + hours_csv(report)).encode("utf-8"), content_type="text/csv",
                                    charset="utf-8")
        log.info("staff web: %s downloaded %s.%s", staff.person.id, name, ext)
        response.headers.update({"Content-Disposition": f'attachment; filename="{name}.{ext}"',
                                 "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
        return response
