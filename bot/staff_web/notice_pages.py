"""/staff/notices: the community's notices with who wrote them and when, a form to write one, its
preview (the groups and how many people), and sending it now, at a time, or dropping it.

The same steps as in the chat (handlers/notices.py): a notice is a draft until confirmed, and its
outbox rows carry the key notice:{id}:{group}, so a double click or a second process sends once.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.staff_web.auth import StaffAuth, read_form
from bot.staff_web.render import PREFIX, not_found, render
from bot.web_input import path_number
from core.clock import Clock
from handlers import texts_notices as texts
from handlers.notices import (
    LONGEST_AHEAD,
    groups_of,
    people_in,
    residents_groups,
    resolve_audience,
    send,
)
from handlers.texts_requests import WEB_BAD_FORM, excerpt
from storage import notices_repo as repo
from storage.db import Database
from storage.outbox_repo import enqueue

log = logging.getLogger("linli.staff_web")

PAGE_SIZE = 50


class NoticePages:
    def __init__(self, db: Database, clock: Clock, auth: StaffAuth, wake_outbox: Callable[[], None]) -> None:
        self.db = db
        self.clock = clock
        self.auth = auth
        self.wake_outbox = wake_outbox

    async def list_page(self, request: web.Request, message: tuple[str, str] | None = None,
                        status: int = 200) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        async with self.db.transaction() as session:
            notices, total = await repo.recent(session, c.id, limit=PAGE_SIZE)
        items = [{"id": n.id, "status": n.status, "status_name": texts.STATUS_NAMES.get(n.status, n.status),
                  "author": n.author_name, "via": texts.VIA_NAMES.get(n.via, n.via), "created_at": n.created_at,
                  "when": n.sent_at or n.send_at, "groups": len(n.targets), "audience": n.audience,
                  "excerpt": excerpt(n.text, 40)} for n in notices]
        groups = [{"id": g.id, "name": g.name, "members": c.member_count(g)} for g in residents_groups(c)]
        if message is None and request.query.get("done"):
            message = ("ok", request.query["done"])
        return render(request, "notices.html", {
            "title": texts.WEB_TITLE, "staff": staff, "tz": c.timezone, "items": items, "total": total,
            "groups": groups, "hint": texts.WEB_HINT, "none": texts.WEB_NONE, "message": message}, status=status)

    async def create(self, request: web.Request) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        form = await read_form(request)
        if not staff.csrf_ok(form.get("csrf")):
            return await self.list_page(request, ("err", WEB_BAD_FORM), 403)
        text = str(form.get("text", "")).strip()
        if not text or len(text) > repo.MAX_TEXT:
            return await self.list_page(request, ("err", texts.WEB_NEED_TEXT), 400)
        chosen = [str(v) for v in form.getall("group", [])]
        words = [*chosen, *str(form.get("buildings", "")).replace("、", " ").replace("，", " ").split()]
        if not words:
            return await self.list_page(request, ("err", texts.WEB_NEED_GROUPS), 400)
        audience = resolve_audience(c, words)
        if not audience.groups:
            return await self.list_page(request, ("err", texts.WEB_NEED_GROUPS), 400)
        label = "、".join(c.group(w).name if c.group(w) else w for w in words)  # type: ignore[union-attr]
        async with self.db.transaction() as session:
            notice = await repo.create(session, community_id=c.id, author_id=staff.person.id,
                                       author_name=staff.person.name, text=text,
                                       targets=[g.id for g in audience.groups], audience=label, via="web",
                                       now=self.clock.now())
        log.info("staff web: notice %s drafted by %s", notice.id, staff.person.id)
        raise web.HTTPSeeOther(f"{PREFIX}/notices/{notice.id}")

    async def detail_page(self, request: web.Request, message: tuple[str, str] | None = None,
                          status: int = 200) -> web.Response:
        staff = await self.auth.require(request)
        c = staff.community
        number = path_number(request)
        async with self.db.transaction() as session:
            notice = await repo.get(session, c.id, number)
        if notice is None:
            return not_found(request, staff, texts.unknown_notice(number))
        groups = groups_of(c, notice)
        if message is None and request.query.get("done"):
            message = ("ok", request.query["done"])
        tz = ZoneInfo(c.timezone)
        suggested = (self.clock.now().astimezone(tz) + dt.timedelta(days=1)).replace(hour=8, minute=0)
        return render(request, "notice.html", {
            "title": f"通知 #{notice.id}", "staff": staff, "tz": c.timezone, "message": message, "notice": notice,
            "status_name": texts.STATUS_NAMES.get(notice.status, notice.status),
            "groups": [{"name": g.name, "members": c.member_count(g)} for g in groups],
            "people": people_in(c, groups), "open": notice.status in ("draft", "scheduled"),
            "suggested": suggested.strftime("%Y-%m-%dT%H:%M")}, status=status)

    async def act(self, request: web.Request) -> web.Response:
        """POST /staff/notices/N/{send,schedule,cancel}."""
        staff = await self.auth.require(request)
        c = staff.community
        number, action = path_number(request), request.match_info["action"]
        form = await read_form(request)
        if not staff.csrf_ok(form.get("csrf")):
            log.warning("staff web: notice %s %s by %s without a valid CSRF token", number, action, staff.person.id)
            return await self.detail_page(request, ("err", WEB_BAD_FORM), 403)
        now = self.clock.now().astimezone(ZoneInfo(c.timezone))
        when = _send_time(str(form.get("send_at", "")), now) if action == "schedule" else None
        if action == "schedule" and when is None:
            return await self.detail_page(request, ("err", texts.WEB_BAD_TIME), 400)
        done = ""
        async with self.db.transaction() as session:
            if action == "send":
                change, posts = await send(session, c, number, by=staff.person.id, now=now)
                await enqueue(session, posts, now=now)
                if isinstance(change, repo.Changed):
                    groups = groups_of(c, change.notice)
                    done = texts.sent(number, len(groups), people_in(c, groups))
            elif action == "schedule":
                assert when is not None
                change = await repo.schedule(session, c.id, number, send_at=when, by=staff.person.id, now=now)
                if isinstance(change, repo.Changed):
                    done = texts.scheduled(number, when, len(groups_of(c, change.notice)))
            else:
                change = await repo.cancel(session, c.id, number, now=now)
                done = texts.cancelled(number)
        if isinstance(change, repo.NotAllowed):
            if change.notice is None:
                return not_found(request, staff, texts.unknown_notice(number))
            return await self.detail_page(request, ("err", texts.not_changeable(number, change.notice.status)), 409)
        log.info("staff web: notice %s %s by %s", number, action, staff.person.id)
        if action == "send":
            self.wake_outbox()
        raise web.HTTPSeeOther(f"{PREFIX}/notices/{number}?{urllib.parse.urlencode({'done': done})}")


def _send_time(value: str, now: dt.datetime) -> dt.datetime | None:
    """A datetime-local field ("2026-12-01T08:00"), in the community's zone, in the future."""
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is not None:
        return None
    when = when.replace(tzinfo=now.tzinfo)
    return when if now < when <= now + LONGEST_AHEAD else None
