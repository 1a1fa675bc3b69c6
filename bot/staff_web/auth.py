"""Staff login and sessions: the login form, the password check behind the lockout, the session cookie, logout.

A login creates a session row (only the SHA-256 of the cookie's token is kept, with an absolute
expiry), so any bot process behind a load balancer accepts it. The cookie is HttpOnly and
SameSite=Strict, limited to the staff pages; forms carry the session's CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import secrets
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import delete

from bot.staff_web.passwords import dummy_hash, verify_password
from bot.staff_web.render import PREFIX, render, safe_next
from bot.staff_web.throttle import LoginThrottle, client_address
from config.community import Community, Directory, Person
from config.settings import IPNetwork
from core.clock import Clock
from handlers import texts as common_texts
from handlers import texts_requests as texts
from storage.db import Database
from storage.models_requests import StaffSession

log = logging.getLogger("linli.staff_web")

COOKIE = "linli_staff"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    """The staff member a request comes from, with their community and session."""

    community: Community
    person: Person
    session: StaffSession

    def csrf_ok(self, form_value: object) -> bool:
        return hmac.compare_digest(str(form_value or ""), self.session.csrf)


class StaffAuth:
    """Who is logged in (`require`), and the login and logout pages."""

    def __init__(self, db: Database, directory: Directory, clock: Clock,
                 trusted_proxies: Sequence[IPNetwork]) -> None:
        self.db = db
        self.directory = directory
        self.clock = clock
        self.throttle = LoginThrottle(db, clock)
        self.trusted_proxies = trusted_proxies

    def find_staff(self, login: str) -> tuple[Community, Person] | None:
        login = login.strip()
        for community in self.directory.communities:
            for person in community.people:
                if person.role == "staff" and login in (person.id, person.name):
                    return community, person
        return None

    async def current(self, request: web.Request) -> Staff | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await session.get(StaffSession, token_hash(token))
            if row is None:
                return None
            if row.expires_at <= now:
                await session.delete(row)
                return None
        community = self.directory.community(row.community)
        person = community.person(row.staff_id) if community else None
        if community is None or person is None or person.role != "staff":
            return None  # removed from the community file since logging in
        return Staff(community, person, row)

    async def require(self, request: web.Request) -> Staff:
        """The logged-in staff member, or a redirect to the login form that comes back here."""
        staff = await self.current(request)
        if staff is None:
            query = {"next": str(request.rel_url)}
            if COOKIE in request.cookies:
                query["expired"] = "1"
            raise web.HTTPFound(f"{PREFIX}/login?{urllib.parse.urlencode(query)}")
        return staff

    async def login_form(self, request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
        note = error or (texts.WEB_SESSION_EXPIRED if request.query.get("expired") else None)
        return render(request, "login.html", {"title": "登录", "error": note,
                                              "next": safe_next(request.query.get("next"))}, status=status)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        login, password = str(form.get("login", "")), str(form.get("password", ""))
        found = self.find_staff(login) if login else None
        address = client_address(request, self.trusted_proxies)
        # Counted before the password is checked, and refused even when it is right: otherwise
        # the lockout would only slow a guesser down, not stop them.
        attempt = await self.throttle.attempt(self.throttle.name_key(login, found), address)
        if attempt.refused:
            log.warning("staff web: login for %r from %s refused: too many failed logins "
                        "(attempts in this window: %d on the name, %d from the address)",
                        login[:64], address, attempt.name_count, attempt.address_count)
            resp = await self.login_form(request, common_texts.web_login_locked(
                math.ceil(attempt.retry_after / 60)), status=429)
            resp.headers["Retry-After"] = str(max(1, math.ceil(attempt.retry_after)))
            return resp
        # Check a hash even for unknown names, so timing does not tell which names exist.
        ok = verify_password(password, found[1].password_hash if found else dummy_hash()) and found is not None
        if not ok:
            log.warning("staff web: failed login for %r from %s", login[:64], address)
            return await self.login_form(request, texts.WEB_LOGIN_FAILED, status=401)
        assert found is not None
        await self.throttle.succeeded(attempt)
        community, person = found
        token, now = secrets.token_urlsafe(32), self.clock.now()
        async with self.db.transaction() as session:
            await session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
            await self.throttle.forget_ended(session)
            session.add(StaffSession(
                token_hash=token_hash(token), community=community.id, staff_id=person.id,
                csrf=secrets.token_urlsafe(24), created_at=now,
                expires_at=now + dt.timedelta(minutes=community.requests.staff_session_minutes)))
        log.info("staff web: %s logged in", person.id)
        resp = web.HTTPFound(safe_next(str(form.get("next", ""))))
        resp.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="Strict",
                        secure=request.secure, max_age=community.requests.staff_session_minutes * 60)
        raise resp

    async def logout(self, request: web.Request) -> web.Response:
        staff = await self.current(request)
        if staff is not None:
            form = await request.post()
            if not staff.csrf_ok(form.get("csrf")):
                return render(request, "message.html", {"title": "错误", "kind": "err", "text": texts.WEB_BAD_FORM},
                              status=403)
            async with self.db.transaction() as session:
                await session.execute(delete(StaffSession).where(StaffSession.token_hash == staff.session.token_hash))
        resp = web.HTTPFound(f"{PREFIX}/login")
        resp.del_cookie(COOKIE, path=PREFIX)
        raise resp
