"""Staff login and sessions: the login form, the password check behind the lockout, the session cookie, logout.

A login creates a session row (only the SHA-256 of the cookie's token is kept, with an absolute
expiry), so any bot process behind a load balancer accepts it. The cookie is HttpOnly and
SameSite=Strict, limited to the staff pages, and Secure whenever the page came over HTTPS (directly,
or as our proxy says in X-Forwarded-Proto) or LINLI_SECURE_COOKIES is set; forms carry the
session's CSRF token.

Staff log in with their id (staff-li), never their display name (李书记), which every resident sees
in the groups. The password is checked off the event loop (`check_password`). A failed login's
name is logged as typed only when it is a staff id: anything else may be a password typed into the
wrong field, and is logged as a keyed digest (the same name gives the same digest while the
process runs, so repeated attempts can still be seen).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import math
import secrets
import unicodedata
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from aiohttp import web
from multidict import MultiDict
from sqlalchemy import delete

from bot.staff_web.passwords import check_password, dummy_hash
from bot.staff_web.render import PREFIX, render, safe_next
from bot.staff_web.throttle import LoginThrottle, account_of, client_address, is_trusted
from config.community import Community, Directory, Person
from config.settings import IPNetwork
from core.clock import Clock
from handlers import texts as common_texts
from handlers import texts_requests as texts
from storage.db import Database
from storage.models_requests import StaffSession

log = logging.getLogger("linli.staff_web")

COOKIE = "linli_staff"
MAX_FORM_FIELD_CHARS = 256  # a login name or a password longer than this is no staff member's
# The key of the digests failed login names are logged as (one per process: not reversible offline).
_LOG_KEY = secrets.token_bytes(16)


def shown_login(login: str, found: tuple[Community, Person] | None) -> str:
    """How a login name appears in the log: a staff id as typed, anything else as a keyed digest."""
    if found is not None:
        return repr(found[1].id)
    name = unicodedata.normalize("NFKC", login).strip()
    digest = hmac.new(_LOG_KEY, name.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:12]
    return f"an unknown name (digest {digest}, {len(name)} characters)"


def is_https(request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> bool:
    """Whether the browser talks HTTPS: to us directly, or to our proxy (its X-Forwarded-Proto,
    believed only from a peer in LINLI_TRUSTED_PROXIES, like X-Forwarded-For)."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "")
    return bool(proto) and proto.rsplit(",", 1)[-1].strip().lower() == "https" and is_trusted(
        request.remote, trusted_proxies)


async def read_form(request: web.Request) -> MultiDict[str]:
    """The fields of a staff form (HTML forms send application/x-www-form-urlencoded), each value cut
    to a bound, repeated fields kept (a notice's groups); another body, a multipart one included, is
    no form of ours and reads as empty, as does a broken one (a bad charset=, a broken encoding)."""
    if request.content_type not in ("application/x-www-form-urlencoded", ""):
        return MultiDict()
    try:
        form = await request.post()
    except (ValueError, LookupError):  # a broken body, an unknown charset=
        return MultiDict()
    return MultiDict((key, value[:MAX_FORM_FIELD_CHARS * 16]) for key, value in form.items() if isinstance(value, str))


async def form_fields(request: web.Request) -> dict[str, str]:
    """`read_form` with one value per field (the first given)."""
    return dict(await read_form(request))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    """The staff member a request comes from, with their community and session."""

    community: Community
    person: Person
    session: StaffSession

    def csrf_ok(self, form_value: object) -> bool:
        # As bytes: compare_digest refuses str with non-ASCII characters (TypeError: a 500).
        given = str(form_value or "").encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given, self.session.csrf.encode())


class StaffAuth:
    """Who is logged in (`require`), and the login and logout pages."""

    def __init__(self, db: Database, directory: Directory, clock: Clock,
                 trusted_proxies: Sequence[IPNetwork], *, secure_cookies: bool = False) -> None:
        self.db = db
        self.directory = directory
        self.clock = clock
        self.throttle = LoginThrottle(db, clock)
        self.trusted_proxies = trusted_proxies
        self.secure_cookies = secure_cookies

    def find_staff(self, login: str) -> tuple[Community, Person] | None:
        """The staff member whose id this is (never a display name: residents see those)."""
        login = login.strip()
        for community in self.directory.communities:
            for person in community.people:
                if person.role == "staff" and login == person.id:
                    return community, person
        return None

    async def current(self, request: web.Request) -> Staff | None:
        token = request.cookies.get(COOKIE)
        if not token or len(token) > 128 or not token.isascii():  # ours are 43 ASCII characters
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
        form = await form_fields(request)
        login, password = form.get("login", ""), form.get("password", "")
        found = self.find_staff(login) if login and len(login) <= MAX_FORM_FIELD_CHARS else None
        address = client_address(request, self.trusted_proxies)
        # Counted before the password is checked, and refused even when it is right: otherwise
        # the lockout would only slow a guesser down, not stop them.
        attempt = await self.throttle.attempt(account_of(login, found), address)
        if attempt.refused:
            log.warning("staff web: login for %s from %s refused: too many failed logins "
                        "(attempts in this window: %d on this account from there, %d from the address)",
                        shown_login(login, found), address, attempt.pair_count, attempt.address_count)
            resp = await self.login_form(request, common_texts.web_login_locked(
                math.ceil(attempt.retry_after / 60)), status=429)
            resp.headers["Retry-After"] = str(max(1, math.ceil(attempt.retry_after)))
            return resp
        # Check a hash even for unknown names, so timing does not tell which names exist.
        ok = await check_password(password[:MAX_FORM_FIELD_CHARS], found[1].password_hash if found else dummy_hash())
        if not ok or found is None:
            log.warning("staff web: failed login for %s from %s", shown_login(login, found), address)
            return await self.login_form(request, texts.WEB_LOGIN_FAILED, status=401)
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
        resp = web.HTTPFound(safe_next(form.get("next", "")))
        secure = self.secure_cookies or is_https(request, self.trusted_proxies)
        resp.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="Strict",
                        secure=secure, max_age=community.requests.staff_session_minutes * 60)
        raise resp

    async def logout(self, request: web.Request) -> web.Response:
        staff = await self.current(request)
        if staff is not None:
            form = await form_fields(request)
            if not staff.csrf_ok(form.get("csrf")):
                return render(request, "message.html", {"title": "错误", "kind": "err", "text": texts.WEB_BAD_FORM},
                              status=403)
            async with self.db.transaction() as session:
                await session.execute(delete(StaffSession).where(StaffSession.token_hash == staff.session.token_hash))
        resp = web.HTTPFound(f"{PREFIX}/login")
        resp.del_cookie(COOKIE, path=PREFIX)
        raise resp
