"""The staff web page at /staff: login per staff member, requests with filters, detail, status changes, charts.

Passwords are checked against scrypt hashes from the community file (`password_hash`), never
stored in plain text. A login creates a session row (only the SHA-256 of the cookie's token is
kept, with an absolute expiry), so any bot process behind a load balancer accepts it. Forms carry
a per-session CSRF token and the request's version: a change based on a stale page is refused
with a message, never silently overwrites a colleague's change. Charts are SVG drawn here.

Failed logins are counted in the database (`LoginThrottle`), per login name and per address, so
that every process behind the load balancer refuses the same guesser. /staff/deliveries lists
the community's messages the outbox gave up on (what `linli outbox failed` shows operators).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import html
import ipaddress
import logging
import math
import secrets
import statistics
import unicodedata
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from aiohttp import web
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from config.community import Community, Person
from config.settings import IPNetwork
from core.clock import Clock
from core.message import Outgoing
from handlers import texts as common_texts
from handlers import texts_requests as texts
from handlers.digest import CATEGORY_COLORS, CATEGORY_ORDER, day_bounds, weekly_chart
from handlers.requests import apply_change, grid_name
from nlp.location import Location
from storage import requests_repo as repo
from storage.db import Database
from storage.models import OutboxMessage
from storage.models_channels import ChannelRateCount
from storage.models_requests import OPEN_STATUSES, STATUSES, TIERS, Request, StaffSession
from storage.outbox_repo import enqueue
from storage.upsert import rate_count_upsert

if TYPE_CHECKING:
    from bot.linli import Linli

log = logging.getLogger("linli.staff_web")

COOKIE = "linli_staff"
PREFIX = "/staff"
PAGE_SIZE = 100
AGE_CHOICES = (1, 3, 7, 30)
CHART_WEEKS = 8
DELIVERY_EXCERPT_CHARS = 60

# scrypt at n=2**14, r=8: ~50 ms and 16 MB per check, so guessing is slow and memory-hard.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _DKLEN = 2**14, 8, 1, 32


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """"scrypt$n$r$p$salt$hash" (base64), the form `password_hash` takes in the community file."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_DKLEN)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(expected)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(want), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        log.error("a staff password_hash in the community file is malformed")
        return False
    return hmac.compare_digest(got, want)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Staff:
    community: Community
    person: Person
    session: StaffSession


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


PAGE_CSS = """
body{font-family:-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f5f5f5;color:#222}
header{background:#07c160;color:#fff;padding:10px 20px;display:flex;justify-content:space-between;align-items:center}
header a,header button{color:#fff;background:none;border:0;font-size:14px;cursor:pointer;margin-left:12px}
main{padding:16px 20px;max-width:1100px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #eee;padding:6px 8px;text-align:left;font-size:14px;vertical-align:top}
.urgent{color:#d93025;font-weight:bold}
.msg{padding:8px 12px;margin:8px 0;border-radius:4px}.ok{background:#e6f4ea}.err{background:#fce8e6}
form.filters select,form.filters button{margin-right:8px}
.card{background:#fff;padding:12px 16px;margin-bottom:12px;border-radius:4px}
"""


def _page(title: str, body: str, staff: Staff | None = None) -> str:
    nav = ""
    if staff is not None:
        nav = (f'<nav><span id="who">{_esc(staff.person.name)}</span>'
               f'<a href="{PREFIX}">工单</a><a href="{PREFIX}/charts">图表</a>'
               f'<a href="{PREFIX}/deliveries" id="nav-deliveries">{common_texts.WEB_DELIVERIES_TITLE}</a>'
               f'<form method="post" action="{PREFIX}/logout" style="display:inline">'
               f'<input type="hidden" name="csrf" value="{_esc(staff.session.csrf)}">'
               f'<button type="submit" id="logout">退出</button></form></nav>')
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{_esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{PAGE_CSS}</style></head>'
            f'<body><header><strong>社区工单 · {_esc(title)}</strong>{nav}</header><main>{body}</main></body></html>')


def _html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                 "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'"})


def _safe_next(value: str | None) -> str:
    # Only paths of this page: never an open redirect to another site.
    if value and value.startswith(PREFIX) and not value.startswith("//"):
        return value
    return PREFIX


# --- login lockout ------------------------------------------------------------------------------

LOCKOUT_WINDOW = dt.timedelta(minutes=15)
MAX_FAILS_PER_NAME = 5  # one account: a guesser gets 5 passwords per 15 minutes, from anywhere
MAX_FAILS_PER_ADDRESS = 20  # one address (an office behind one NAT has several staff members)
LOGIN_KEY = "staff-login:"


def client_address(request: web.Request, trusted_proxies: Sequence[IPNetwork]) -> str:
    """Who is logging in: the peer's address, or the client nginx saw when the peer is our proxy.

    X-Forwarded-For is believed only from a peer in `trusted_proxies` (LINLI_TRUSTED_PROXIES:
    loopback by default, where deploy/nginx-linli.conf runs; it appends the address it saw, so the
    last entry is the one to trust, whatever a client put before it). Behind that proxy every
    request comes from the proxy's address: counting the peer would let 20 typos lock out every
    staff member. From any other peer the header is a client's claim and is ignored. IPv6 counts
    per /64, what one subscriber usually gets.
    """
    peer = request.remote or ""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(peer)
    except ValueError:
        ip = None
    forwarded = request.headers.get("X-Forwarded-For", "")
    if ip is not None and forwarded and _is_trusted(ip, trusted_proxies):
        try:
            ip = ipaddress.ip_address(forwarded.rsplit(",", 1)[-1].strip())
        except ValueError:
            pass  # a proxy we trust sent garbage: count the proxy
    if ip is None:
        return peer or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _is_trusted(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Sequence[IPNetwork]) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return any(ip in network for network in trusted)


@dataclass(frozen=True)
class LoginAttempt:
    name_key: str
    address_key: str
    window_end: dt.datetime
    refused: bool
    retry_after: float  # seconds until the window ends
    name_count: int
    address_count: int


class LoginThrottle:
    """Failed staff logins per login name and per address, in fixed 15-minute windows.

    The counts live in `channel_rate_counts`, the table of the outbox's `RateLimiter`
    (bot/channels/wecom_api.py), with keys "staff-login:name:…" / "staff-login:addr:…", and are
    kept the same way: one `INSERT … ON CONFLICT DO UPDATE SET count = count + 1 … RETURNING`
    (SQLite and PostgreSQL), which the database serialises per key, so processes sharing one
    database share the counts and parallel guesses cannot slip past the limit. Every attempt
    reserves its slot before the password is checked (a check costs ~50 ms, and guesses sent in
    parallel must count); a successful login gives its slot back.

    For these rows `window_start` holds the window's *end*: the rate limiter deletes rows whose
    `window_start` is more than a minute old, so it removes them only once their window is over
    (a real start would be deleted within two minutes, and with it the lockout).
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._upsert = rate_count_upsert(pg_insert if db.is_postgres else sqlite_insert)

    @staticmethod
    def name_key(login: str, found: tuple[Community, Person] | None) -> str:
        # A known staff member is counted once, whether they type their id or their name. Other
        # names are normalised, and stored only as a digest: people type passwords into the
        # login field, and this table is no place for them.
        if found is not None:
            key = f"{LOGIN_KEY}name:{found[0].id}/{found[1].id}"
            if len(key) <= 160:
                return key
        name = unicodedata.normalize("NFKC", login).strip().casefold()
        return f"{LOGIN_KEY}name:?{hashlib.sha256(name.encode()).hexdigest()[:32]}"

    def _window_end(self, now: dt.datetime) -> dt.datetime:
        span = int(LOCKOUT_WINDOW.total_seconds())
        start = int(now.timestamp()) // span * span
        return dt.datetime.fromtimestamp(start + span, dt.UTC)

    async def attempt(self, name_key: str, address: str) -> LoginAttempt:
        """Counts one login attempt; `refused` once either count is over its limit in this window."""
        now = self.clock.now()
        end = self._window_end(now)
        address_key = f"{LOGIN_KEY}addr:{address}"[:160]
        # Sorted keys: two processes lock the two rows in the same order (no deadlock).
        params = [{"key": k, "window_start": end, "count": 1} for k in sorted((name_key, address_key))]
        async with self.db.transaction() as session:
            counts: dict[str, int] = {key: count for key, count in await session.execute(self._upsert, params)}
        name_count, address_count = counts[name_key], counts[address_key]
        refused = name_count > MAX_FAILS_PER_NAME or address_count > MAX_FAILS_PER_ADDRESS
        return LoginAttempt(name_key, address_key, end, refused, (end - now).total_seconds(), name_count,
                            address_count)

    async def succeeded(self, attempt: LoginAttempt) -> None:
        """A right password: its slot on the address is given back, and the name's count is reset.

        The name's count is reset because only someone who knows the password can do this: the
        owner's typos of this morning should not add up with the next ones. A guesser gains nothing
        from the reset but the owner's own logins, and stays bounded per address. The address's
        count is not reset: one right password (a colleague's, at the same office or attacker's
        address) must not wipe out the failures of the guesses around it.
        """
        table = ChannelRateCount.__table__
        async with self.db.transaction() as session:
            # "…addr:…" before "…name:…", the order `attempt` locks them in (no deadlock).
            await session.execute(update(table).where(
                table.c.key == attempt.address_key, table.c.window_start == attempt.window_end, table.c.count > 0,
            ).values(count=table.c.count - 1))
            await session.execute(delete(table).where(table.c.key == attempt.name_key))

    async def forget_ended(self, session: AsyncSession) -> None:
        """Deletes the counts of windows that are over (the rate limiter does it too when it runs)."""
        table = ChannelRateCount.__table__
        await session.execute(delete(table).where(table.c.key.startswith(LOGIN_KEY),
                                                  table.c.window_start < self.clock.now()))


class StaffWeb:
    def __init__(self, linli: Linli) -> None:
        self.linli = linli
        self.db = linli.db
        self.directory = linli.directory
        self.clock = linli.clock
        self.throttle = LoginThrottle(linli.db, linli.clock)
        self.trusted_proxies = linli.settings.trusted_proxy_networks

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get(f"{PREFIX}/login", self.login_form)
        r.add_post(f"{PREFIX}/login", self.login)
        r.add_post(f"{PREFIX}/logout", self.logout)
        r.add_get(PREFIX, self.list_page)
        r.add_get(f"{PREFIX}/requests/{{id:\\d+}}", self.detail_page)
        r.add_post(f"{PREFIX}/requests/{{id:\\d+}}", self.change)
        r.add_get(f"{PREFIX}/charts", self.charts_page)
        r.add_get(f"{PREFIX}/charts/weekly.png", self.weekly_png)
        r.add_get(f"{PREFIX}/deliveries", self.deliveries_page)

    # --- sessions -------------------------------------------------------------------------------

    def _find_staff(self, login: str) -> tuple[Community, Person] | None:
        login = login.strip()
        for community in self.directory.communities:
            for person in community.people:
                if person.role == "staff" and login in (person.id, person.name):
                    return community, person
        return None

    async def _staff(self, request: web.Request) -> Staff | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        now = self.clock.now()
        async with self.db.transaction() as session:
            row = await session.get(StaffSession, _token_hash(token))
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

    def _to_login(self, request: web.Request, expired: bool = False) -> web.HTTPFound:
        query = {"next": str(request.rel_url)}
        if expired:
            query["expired"] = "1"
        return web.HTTPFound(f"{PREFIX}/login?{urllib.parse.urlencode(query)}")

    async def _require(self, request: web.Request) -> Staff:
        staff = await self._staff(request)
        if staff is None:
            raise self._to_login(request, expired=COOKIE in request.cookies)
        return staff

    async def login_form(self, request: web.Request, error: str | None = None, status: int = 200) -> web.Response:
        nxt = _safe_next(request.query.get("next"))
        note = error or (texts.WEB_SESSION_EXPIRED if request.query.get("expired") else None)
        msg = f'<p class="msg err" id="error">{_esc(note)}</p>' if note else ""
        body = (f'<div class="card"><h2>工作人员登录</h2>{msg}'
                f'<form method="post" action="{PREFIX}/login">'
                f'<input type="hidden" name="next" value="{_esc(nxt)}">'
                '<p><label>账号（工号或姓名）<br><input name="login" id="login" autocomplete="username"></label></p>'
                '<p><label>密码<br><input name="password" id="password" type="password" '
                'autocomplete="current-password"></label></p>'
                '<p><button type="submit" id="submit">登录</button></p></form></div>')
        return _html(_page("登录", body), status)

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        login, password = str(form.get("login", "")), str(form.get("password", ""))
        found = self._find_staff(login) if login else None
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
        ok = verify_password(password, found[1].password_hash if found else _dummy_hash()) and found is not None
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
                token_hash=_token_hash(token), community=community.id, staff_id=person.id,
                csrf=secrets.token_urlsafe(24), created_at=now,
                expires_at=now + dt.timedelta(minutes=community.requests.staff_session_minutes)))
        log.info("staff web: %s logged in", person.id)
        resp = web.HTTPFound(_safe_next(str(form.get("next", ""))))
        resp.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="Strict",
                        secure=request.secure, max_age=community.requests.staff_session_minutes * 60)
        raise resp

    async def logout(self, request: web.Request) -> web.Response:
        staff = await self._staff(request)
        if staff is not None:
            form = await request.post()
            if not hmac.compare_digest(str(form.get("csrf", "")), staff.session.csrf):
                return _html(_page("错误", f'<p class="msg err">{_esc(texts.WEB_BAD_FORM)}</p>'), 403)
            async with self.db.transaction() as session:
                await session.execute(delete(StaffSession).where(StaffSession.token_hash == staff.session.token_hash))
        resp = web.HTTPFound(f"{PREFIX}/login")
        resp.del_cookie(COOKIE, path=PREFIX)
        raise resp

    # --- pages ----------------------------------------------------------------------------------

    def _local(self, community: Community, when: dt.datetime | None) -> str:
        if when is None:
            return ""
        return when.astimezone(ZoneInfo(community.timezone)).strftime("%Y-%m-%d %H:%M")

    async def list_page(self, request: web.Request) -> web.Response:
        staff = await self._require(request)
        c, q = staff.community, request.query

        def pick(name: str, allowed: Sequence[str]) -> str | None:
            value = q.get(name) or None
            return value if value in allowed else None

        grids = [g.id for g in c.grids] + [g.id for g in c.groups]
        age = q.get("age", "")
        filters = repo.Filters(
            status=pick("status", ("open", *STATUSES)), category=pick("category", CATEGORY_ORDER),
            grid=pick("grid", grids), tier=pick("tier", TIERS),
            min_age_days=int(age) if age.isdigit() and int(age) in AGE_CHOICES else None)
        try:
            offset = max(0, int(q.get("offset", "0")))
        except ValueError:
            offset = 0
        async with self.db.transaction() as session:
            rows, total = await repo.list_requests(session, c.id, filters, now=self.clock.now(), limit=PAGE_SIZE,
                                                   offset=offset)

        def select_box(name: str, label: str, options: Sequence[tuple[str, str]], current: object) -> str:
            opts = "".join(f'<option value="{_esc(v)}"{" selected" if v == (current or "") else ""}>{_esc(t)}</option>'
                           for v, t in [("", f"全部{label}"), *options])
            return f'<select name="{name}" id="f-{name}">{opts}</select>'

        grid_options = [(g.id, g.name) for g in c.grids] + [(g.id, g.name) for g in c.groups if g.kind == "residents"]
        form = ('<form class="filters card" method="get">'
                + select_box("status", "状态", [("open", "未办结"), *texts.STATUS_NAMES.items()], filters.status)
                + select_box("category", "类别", list(texts.CATEGORY_NAMES.items()), filters.category)
                + select_box("grid", "网格", grid_options, filters.grid)
                + select_box("tier", "层级", list(texts.TIER_NAMES.items()), filters.tier)
                + select_box("age", "时长", [(str(d), f"超过{d}天") for d in AGE_CHOICES],
                             str(filters.min_age_days) if filters.min_age_days else None)
                + '<button type="submit" id="filter">筛选</button></form>')
        now = self.clock.now()
        body_rows = []
        for r in rows:
            where = Location(r.building, r.unit, r.room).describe()
            urgent = '<span class="urgent">紧急</span> ' if r.urgent else ""
            body_rows.append(
                f'<tr data-id="{r.id}" data-status="{_esc(r.status)}">'
                f'<td><a href="{PREFIX}/requests/{r.id}">#{r.id}</a></td>'
                f"<td>{urgent}{_esc(texts.category_name(r.category))}</td>"
                f"<td>{_esc(texts.excerpt(r.text))}</td><td>{_esc(where)}</td>"
                f"<td>{_esc(grid_name(c, r.grid))}</td><td>{_esc(texts.TIER_NAMES.get(r.tier, r.tier))}</td>"
                f'<td class="status">{_esc(texts.STATUS_NAMES.get(r.status, r.status))}</td>'
                f"<td>{r.affected}</td><td>{_esc(texts.age_text((now - r.created_at).total_seconds()))}</td></tr>")
        table = ('<table id="requests"><thead><tr><th>编号</th><th>类别</th><th>内容</th><th>位置</th><th>网格</th>'
                 '<th>层级</th><th>状态</th><th>户数</th><th>已过</th></tr></thead><tbody>'
                 + "".join(body_rows) + "</tbody></table>")
        pager = ""
        if offset + PAGE_SIZE < total:
            nxt = dict(q)
            nxt["offset"] = str(offset + PAGE_SIZE)
            pager = f'<p><a id="next-page" href="?{_esc(urllib.parse.urlencode(nxt))}">下一页</a></p>'
        summary = f'<p id="count">共 {total} 件</p>'
        return _html(_page("工单", form + summary + table + pager, staff))

    async def detail_page(self, request: web.Request, message: tuple[str, str] | None = None,
                          status: int = 200) -> web.Response:
        staff = await self._require(request)
        c = staff.community
        number = int(request.match_info["id"])
        async with self.db.transaction() as session:
            req = await repo.get_request(session, c.id, number)
            if req is None:
                return _html(_page("未找到", f'<p class="msg err">{_esc(texts.not_found(number))}</p>', staff), 404)
            events = await repo.history(session, number)
            reporters = await repo.reporters(session, number)
        msg = ""
        if message is None and request.query.get("done"):
            message = ("ok", request.query["done"])
        if message is not None:
            kind, text = message
            msg = f'<p class="msg {kind}" id="message">{_esc(text)}</p>'
        where = Location(req.building, req.unit, req.room).describe() or "（未写明）"
        people = "、".join(f"{_esc(p.name)}" + (f"（{_esc(person.phone)}）" if (person := c.person(p.person_id))
                                               and person.phone else "") for p in reporters)
        info = (f'<div class="card" id="info"><h2>#{req.id} {_esc(texts.category_name(req.category))}'
                f'{" <span class=urgent>紧急</span>" if req.urgent else ""}</h2>'
                f'<p id="text">{_esc(req.text)}</p>'
                f"<p>位置：{_esc(where)} · 网格：{_esc(grid_name(c, req.grid))} · "
                f'层级：<span id="tier">{_esc(texts.TIER_NAMES.get(req.tier, req.tier))}</span></p>'
                f'<p>状态：<strong id="status">{_esc(texts.STATUS_NAMES.get(req.status, req.status))}</strong>'
                f'{" · 说明：" + _esc(req.note) if req.note else ""}</p>'
                f"<p>反映居民（{req.affected} 户）：{people}</p>"
                f"<p>登记：{self._local(c, req.created_at)}</p></div>")
        actions = [(s, texts.STATUS_NAMES[s]) for s in repo.ALLOWED_FROM if req.status in repo.ALLOWED_FROM[s]]
        if req.status in OPEN_STATUSES:
            actions += [(f"tier:{t}", f"转{texts.TIER_NAMES[t]}") for t in TIERS if t != req.tier]
        form = ""
        if actions:
            options = "".join(f'<option value="{_esc(v)}">{_esc(t)}</option>' for v, t in actions)
            form = (f'<form method="post" class="card" id="change">'
                    f'<input type="hidden" name="csrf" value="{_esc(staff.session.csrf)}">'
                    f'<input type="hidden" name="version" value="{req.version}">'
                    f'<label>改为 <select name="action" id="action">{options}</select></label> '
                    '<label>说明 <input name="note" id="note" size="40" '
                    'placeholder="已解决/驳回时写给居民看"></label> '
                    '<button type="submit" id="save">保存</button></form>')
        rows = "".join(
            f'<tr><td>{self._local(c, e.at)}</td><td>{_esc(e.actor_name)}</td>'
            f'<td>{_esc(texts.ACTION_NAMES.get(e.action, e.action))}</td>'
            f'<td>{_esc(self._change_text(e.action, e.from_value, e.to_value))}</td><td>{_esc(e.note or "")}</td></tr>'
            for e in events)
        history = ('<h3>处理记录</h3><table id="history"><thead><tr><th>时间</th><th>人</th><th>动作</th><th>变化</th>'
                   f"<th>说明</th></tr></thead><tbody>{rows}</tbody></table>")
        return _html(_page(f"#{req.id}", msg + info + form + history, staff), status)

    @staticmethod
    def _change_text(action: str, before: str | None, after: str | None) -> str:
        names = texts.TIER_NAMES if action == "tier" else texts.STATUS_NAMES
        if action not in ("status", "tier"):
            return names.get(after or "", after or "") if action == "created" else ""
        return f"{names.get(before or '', before)} → {names.get(after or '', after)}"

    async def change(self, request: web.Request) -> web.Response:
        staff = await self._require(request)
        c = staff.community
        number = int(request.match_info["id"])
        form = await request.post()
        if not hmac.compare_digest(str(form.get("csrf", "")), staff.session.csrf):
            log.warning("staff web: change of #%s by %s without a valid CSRF token", number, staff.person.id)
            return await self.detail_page(request, ("err", texts.WEB_BAD_FORM), 403)
        action, note = str(form.get("action", "")), str(form.get("note", "")).strip() or None
        valid = set(repo.ALLOWED_FROM) | {f"tier:{t}" for t in TIERS}
        try:
            version = int(str(form.get("version", "")))
        except ValueError:
            version = -1
        if action not in valid or version < 1:
            return await self.detail_page(request, ("err", texts.WEB_BAD_FORM), 400)
        if action == "rejected" and not note:
            return await self.detail_page(request, ("err", texts.REJECT_NEEDS_REASON), 400)
        now = self.clock.now().astimezone(ZoneInfo(c.timezone))
        async with self.db.transaction() as session:
            outcome = await apply_change(session, c, number, action, actor=repo.Actor(staff.person.id,
                                                                                      staff.person.name),
                                         now=now, note=note, expected_version=version, via_web=True)
            if outcome.ok:
                group = c.staff_group()
                outgoing = list(outcome.outgoing)
                if group is not None:
                    outgoing.append(Outgoing(group.channel, c.id, "group", group.id, outcome.staff_text))
                await enqueue(session, outgoing, now=self.clock.now())
        if not outcome.ok:
            log.info("staff web: change of #%s by %s refused: %s", number, staff.person.id,
                     type(outcome.result).__name__)
            status = 409 if isinstance(outcome.result, repo.Stale) else 400
            if isinstance(outcome.result, repo.NotFound):
                status = 404
            return await self.detail_page(request, ("err", outcome.staff_text), status)
        self.linli.drainer.wake()
        raise web.HTTPSeeOther(f"{PREFIX}/requests/{number}?{urllib.parse.urlencode({'done': outcome.staff_text})}")

    # --- charts ---------------------------------------------------------------------------------

    async def _weekly(self, c: Community) -> tuple[list[dt.date], dict[dt.date, dict[str, int]],
                                                    dict[dt.date, float | None]]:
        """Requests per category per week, and the median hours to resolve, for the last weeks."""
        today = self.clock.now().astimezone(ZoneInfo(c.timezone)).date()
        monday = today - dt.timedelta(days=today.weekday())
        weeks = [monday - dt.timedelta(weeks=i) for i in range(CHART_WEEKS - 1, -1, -1)]
        counts: dict[dt.date, dict[str, int]] = {}
        medians: dict[dt.date, float | None] = {}
        async with self.db.transaction() as session:
            for week in weeks:
                start, _ = day_bounds(c, week)
                _, end = day_bounds(c, week + dt.timedelta(days=6))
                rows = (await session.execute(
                    select(Request.category, func.count()).where(
                        Request.community == c.id, Request.created_at >= start, Request.created_at < end)
                    .group_by(Request.category))).all()
                counts[week] = dict(rows)
                spans = (await session.execute(
                    select(Request.created_at, Request.resolved_at).where(
                        Request.community == c.id, Request.resolved_at >= start, Request.resolved_at < end)
                )).all()
                hours = [(b - a).total_seconds() / 3600 for a, b in spans if a is not None and b is not None]
                medians[week] = statistics.median(hours) if hours else None
        return weeks, counts, medians

    async def charts_page(self, request: web.Request) -> web.Response:
        staff = await self._require(request)
        weeks, counts, medians = await self._weekly(staff.community)
        legend = "".join(
            f'<span style="display:inline-block;margin-right:12px"><span style="display:inline-block;width:12px;'
            f'height:12px;background:rgb{CATEGORY_COLORS[k]}"></span> {_esc(v)}</span>'
            for k, v in texts.CATEGORY_NAMES.items())
        last = weeks[-1] + dt.timedelta(days=6)
        body = (f'<div class="card"><h3>每周各类别工单数</h3><p>{legend}</p>{category_week_svg(weeks, counts)}</div>'
                f'<div class="card"><h3>每周办结工单的处理时长中位数（小时）</h3>{median_svg(weeks, medians)}</div>'
                f'<div class="card"><h3>本周图片（周报用）</h3><img id="weekly-png" alt="本周各类别工单数" '
                f'src="{PREFIX}/charts/weekly.png?end={last.isoformat()}" width="480" height="240"></div>')
        return _html(_page("图表", body, staff))

    async def weekly_png(self, request: web.Request) -> web.Response:
        staff = await self._require(request)
        c = staff.community
        try:
            end = dt.date.fromisoformat(request.query["end"]) if "end" in request.query else \
                self.clock.now().astimezone(ZoneInfo(c.timezone)).date()
        except ValueError:
            return web.Response(status=400, text="end must be YYYY-MM-DD")
        async with self.db.transaction() as session:
            png = await weekly_chart(session, c, end)
        return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    # --- failed deliveries ----------------------------------------------------------------------

    def _recipient(self, c: Community, audience: str, target: str) -> str:
        if audience == "group":
            group = c.group(target)
            return f"群：{group.name}" if group is not None else f"群：{target}"
        person = c.person(target)
        return person.name if person is not None else target

    async def deliveries_page(self, request: web.Request) -> web.Response:
        """Messages the outbox gave up on (status "failed": a permanent error, or out of attempts).

        Each outbox row carries the community it was written for, so staff see their own
        community's only, newest first.
        """
        staff = await self._require(request)
        c = staff.community
        o = OutboxMessage
        failed = (o.status == "failed", o.community == c.id)
        async with self.db.transaction() as session:
            rows = (await session.execute(
                select(o.id, o.created_at, o.channel, o.audience, o.target, o.text, o.last_error, o.attempts)
                .where(*failed).order_by(o.id.desc()).limit(PAGE_SIZE))).all()
            total = await session.scalar(select(func.count()).select_from(o).where(*failed)) or 0
        body_rows = "".join(
            f'<tr data-id="{r.id}"><td>{self._local(c, r.created_at)}</td>'
            f"<td>{_esc(common_texts.CHANNEL_NAMES.get(r.channel, r.channel))}</td>"
            f'<td class="target">{_esc(self._recipient(c, r.audience, r.target))}</td>'
            f'<td class="text">{_esc(texts.excerpt(r.text, DELIVERY_EXCERPT_CHARS))}</td>'
            f'<td class="error">{_esc(r.last_error or "")}</td><td>{r.attempts}</td></tr>'
            for r in rows)
        if rows:
            content = (f'<p id="count">{_esc(common_texts.web_deliveries_count(total, len(rows)))}</p>'
                       '<table id="deliveries"><thead><tr><th>时间</th><th>渠道</th><th>发给</th><th>内容</th>'
                       f"<th>原因</th><th>尝试次数</th></tr></thead><tbody>{body_rows}</tbody></table>")
        else:
            content = f'<p class="msg ok" id="count">{_esc(common_texts.WEB_DELIVERIES_NONE)}</p>'
        hint = f'<p class="card">{_esc(common_texts.WEB_DELIVERIES_HINT)}</p>'
        return _html(_page(common_texts.WEB_DELIVERIES_TITLE, hint + content, staff))


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


# --- SVG ------------------------------------------------------------------------------------------

SVG_W, SVG_H, PAD_L, PAD_B, PAD_T = 720, 260, 40, 30, 16


def category_week_svg(weeks: Sequence[dt.date], counts: dict[dt.date, dict[str, int]]) -> str:
    """Stacked bars: one per week, one segment per category (data-* attributes name each segment)."""
    peak = max([sum(counts.get(w, {}).values()) for w in weeks] + [1])
    plot_h = SVG_H - PAD_B - PAD_T
    slot = (SVG_W - PAD_L) / max(1, len(weeks))
    parts = [f'<svg id="chart-categories" xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{SVG_H}" '
             f'viewBox="0 0 {SVG_W} {SVG_H}" role="img" aria-label="每周各类别工单数">',
             f'<line x1="{PAD_L}" y1="{SVG_H - PAD_B}" x2="{SVG_W}" y2="{SVG_H - PAD_B}" stroke="#999"/>',
             f'<text x="4" y="{PAD_T + 4}" font-size="11">{peak}</text>']
    for i, week in enumerate(weeks):
        x = PAD_L + i * slot + slot * 0.2
        y = SVG_H - PAD_B
        total = 0
        for category in CATEGORY_ORDER:
            n = counts.get(week, {}).get(category, 0)
            if not n:
                continue
            h = plot_h * n / peak
            y -= h
            total += n
            parts.append(f'<rect class="bar" data-week="{week.isoformat()}" data-category="{category}" '
                         f'data-count="{n}" x="{x:.1f}" y="{y:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" '
                         f'fill="rgb{CATEGORY_COLORS[category]}"><title>{_esc(texts.category_name(category))} '
                         f'{n}</title></rect>')
        parts.append(f'<text x="{x:.1f}" y="{SVG_H - 10}" font-size="11">{week.month}/{week.day}</text>')
        if total:
            parts.append(f'<text class="total" x="{x:.1f}" y="{y - 3:.1f}" font-size="11">{total}</text>')
    parts.append("</svg>")
    return "".join(parts)


def median_svg(weeks: Sequence[dt.date], medians: dict[dt.date, float | None]) -> str:
    """Bars of the median hours from filing to resolution, for requests resolved in each week."""
    values = [m for m in medians.values() if m is not None]
    peak = max(values + [1.0])
    plot_h = SVG_H - PAD_B - PAD_T
    slot = (SVG_W - PAD_L) / max(1, len(weeks))
    parts = [f'<svg id="chart-median" xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{SVG_H}" '
             f'viewBox="0 0 {SVG_W} {SVG_H}" role="img" aria-label="处理时长中位数">',
             f'<line x1="{PAD_L}" y1="{SVG_H - PAD_B}" x2="{SVG_W}" y2="{SVG_H - PAD_B}" stroke="#999"/>']
    for i, week in enumerate(weeks):
        x = PAD_L + i * slot + slot * 0.2
        m = medians.get(week)
        if m is not None:
            h = plot_h * m / peak
            parts.append(f'<rect class="median" data-week="{week.isoformat()}" data-hours="{m:.1f}" x="{x:.1f}" '
                         f'y="{SVG_H - PAD_B - h:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" fill="#07c160"/>')
            parts.append(f'<text x="{x:.1f}" y="{SVG_H - PAD_B - h - 3:.1f}" font-size="11">{m:.1f}</text>')
        parts.append(f'<text x="{x:.1f}" y="{SVG_H - 10}" font-size="11">{week.month}/{week.day}</text>')
    parts.append("</svg>")
    return "".join(parts)
