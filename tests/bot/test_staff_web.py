"""The staff web page over real HTTP: login, sessions, filters, detail, status changes, escaping, failed deliveries."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from unittest import mock

import aiohttp
import pytest
from sqlalchemy import select

from bot.staff_web.passwords import hash_password, verify_password
from core.clock import FixedClock
from storage import requests_repo as repo
from storage.models_requests import Request, StaffSession
from tests.conftest import LiveBot, make_settings, start_live_bot
from tests.handlers import requests_support
from tests.handlers.test_requests import number_in, one_reply

req_bot = requests_support.req_bot  # the fixture: a live bot with a keyword classifier

DEMO_PASSWORD = "linli-demo"


class StaffBrowser:
    """A staff member's browser: its own cookie jar against the live server."""

    def __init__(self, bot: LiveBot, http: aiohttp.ClientSession) -> None:
        self.base = bot.client.base_url
        self.http = http

    async def get(self, path: str) -> tuple[int, str, str]:
        async with self.http.get(self.base + path, allow_redirects=False) as resp:
            return resp.status, await resp.text(), resp.headers.get("Location", "")

    async def post(self, path: str, data: dict[str, str]) -> tuple[int, str, str]:
        async with self.http.post(self.base + path, data=data, allow_redirects=False) as resp:
            return resp.status, await resp.text(), resp.headers.get("Location", "")

    async def login(self, login: str, password: str = DEMO_PASSWORD) -> tuple[int, str, str]:
        return await self.post("/staff/login", {"login": login, "password": password, "next": "/staff"})

    async def form_of(self, number: int) -> dict[str, str]:
        status, page, _ = await self.get(f"/staff/requests/{number}")
        assert status == 200, page
        csrf = re.search(r'name="csrf" value="([^"]+)"', page)
        version = re.search(r'name="version" value="(\d+)"', page)
        assert csrf and version, page
        return {"csrf": csrf.group(1), "version": version.group(1)}


@pytest.fixture
async def browsers(req_bot: LiveBot) -> AsyncIterator[list[StaffBrowser]]:
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(2)]
    try:
        yield [StaffBrowser(req_bot, s) for s in sessions]
    finally:
        for s in sessions:
            await s.close()


async def file(bot: LiveBot, text: str, user: str = "r-zhang", group: str = "g-res-1") -> int:
    return number_in(await one_reply(bot, group, user, text))


def test_password_hashes() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not verify_password("anything", None) and not verify_password("x", "not-a-hash")
    assert hash_password("same") != hash_password("same")  # salted


async def test_login_is_required_and_wrong_passwords_are_refused(req_bot: LiveBot,
                                                                 browsers: list[StaffBrowser]) -> None:
    web = browsers[0]
    status, _, location = await web.get("/staff")
    assert status == 302 and location.startswith("/staff/login")
    for login, password in [("staff-wang", "wrong"), ("r-zhang", DEMO_PASSWORD), ("nobody", DEMO_PASSWORD),
                            ("", "")]:
        status, page, _ = await web.login(login, password)
        assert status == 401 and "账号或密码不对" in page
    status, _, location = await web.get("/staff/charts")
    assert status == 302
    status, _, location = await web.login("王网格员")  # a display name (every resident sees it): no
    assert status == 401
    status, _, location = await web.login(" staff-wang ")  # the id, as typed with spaces around
    assert status == 302 and location == "/staff"
    status, page, _ = await web.get("/staff")
    assert status == 200 and "王网格员" in page
    async with req_bot.linli.db.transaction() as session:
        rows = (await session.scalars(select(StaffSession))).all()
    # only a hash of the cookie's token is stored
    cookie = next(c.value for c in web.http.cookie_jar if c.key == "linli_staff")
    assert len(rows) == 1 and rows[0].token_hash != cookie and cookie not in rows[0].token_hash


async def test_filters_detail_and_a_status_change_that_tells_the_resident(req_bot: LiveBot,
                                                                          browsers: list[StaffBrowser],
                                                                          clock: FixedClock) -> None:
    repair = await file(req_bot, "3号楼2单元501楼道灯坏了 电话13900000000")
    clock.advance(minutes=1)
    rubbish = await file(req_bot, "垃圾站三天没清了", user="r-chen", group="g-res-2")
    web = browsers[0]
    await web.login("staff-wang")

    _, page, _ = await web.get("/staff?status=open")
    assert f'data-id="{repair}"' in page and f'data-id="{rubbish}"' in page and "共 2 件" in page
    _, page, _ = await web.get("/staff?category=repair")
    assert f'data-id="{repair}"' in page and f'data-id="{rubbish}"' not in page
    _, page, _ = await web.get("/staff?grid=grid-2")
    assert f'data-id="{rubbish}"' in page and f'data-id="{repair}"' not in page
    _, page, _ = await web.get("/staff?tier=street")
    assert "共 0 件" in page
    _, page, _ = await web.get("/staff?age=1")  # filed minutes ago: not older than a day
    assert "共 0 件" in page
    clock.advance(days=2)
    await web.login("staff-wang")  # the earlier session has expired meanwhile
    _, page, _ = await web.get("/staff?age=1")
    assert "共 2 件" in page
    _, page, _ = await web.get("/staff?status=bogus&category=<script>")  # unknown values are ignored
    assert "共 2 件" in page and "<script>" not in page

    status, page, _ = await web.get(f"/staff/requests/{repair}")
    assert status == 200 and "3号楼2单元501" in page and "13900000000" in page  # staff see the full text
    assert "登记" in page and "待受理" in page

    form = await web.form_of(repair)
    status, _, location = await web.post(f"/staff/requests/{repair}", {**form, "action": "in_progress", "note": ""})
    assert status == 303 and location.startswith(f"/staff/requests/{repair}")
    form = await web.form_of(repair)
    assert form["version"] == "2"
    status, _, _ = await web.post(f"/staff/requests/{repair}", {**form, "action": "resolved", "note": "换了灯泡"})
    assert status == 303
    _, page, _ = await web.get(f"/staff/requests/{repair}")
    assert 'id="status">已解决' in page and "待受理 → 处理中" in page and "处理中 → 已解决" in page
    # the outbox drainer delivers in the background: wait (briefly) for both messages
    for _ in range(100):
        await req_bot.linli.drainer.drain_once()
        private = [m["text"] for m in await req_bot.client.user_timeline("r-zhang")]
        staff_group = [m["text"] for m in await req_bot.client.group_timeline("g-staff")]
        if any("换了灯泡" in t for t in private) and any("网页" in t for t in staff_group):
            break
        await asyncio.sleep(0.05)
    assert any("换了灯泡" in t and f"#{repair}" in t for t in private)
    assert any(f"#{repair}" in t and "网页" in t for t in staff_group)
    assert not any("13900000000" in t or "501" in t for t in staff_group)


async def test_a_change_from_a_stale_page_is_refused(req_bot: LiveBot, browsers: list[StaffBrowser]) -> None:
    number = await file(req_bot, "3号楼楼道灯坏了")
    wang, zhao = browsers
    await wang.login("staff-wang")
    await zhao.login("staff-zhao")
    wang_form, zhao_form = await wang.form_of(number), await zhao.form_of(number)  # both see version 1
    status, _, _ = await wang.post(f"/staff/requests/{number}", {**wang_form, "action": "in_progress", "note": ""})
    assert status == 303
    status, page, _ = await zhao.post(f"/staff/requests/{number}",
                                      {**zhao_form, "action": "rejected", "note": "不归社区管"})
    assert status == 409 and "王网格员" in page and "没有保存" in page
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
        events = [e for e in await repo.history(session, number) if e.action == "status"]
    assert req is not None and req.status == "in_progress"
    assert [(e.actor_id, e.to_value) for e in events] == [("staff-wang", "in_progress")]


async def test_forms_need_the_sessions_csrf_token_and_a_reason_to_reject(req_bot: LiveBot,
                                                                         browsers: list[StaffBrowser]) -> None:
    number = await file(req_bot, "3号楼楼道灯坏了")
    web = browsers[0]
    await web.login("staff-li")
    form = await web.form_of(number)
    status, _, _ = await web.post(f"/staff/requests/{number}", {**form, "csrf": "forged", "action": "in_progress"})
    assert status == 403
    status, page, _ = await web.post(f"/staff/requests/{number}", {**form, "action": "rejected", "note": " "})
    assert status == 400 and "原因" in page
    status, _, _ = await web.post(f"/staff/requests/{number}", {**form, "action": "explode"})
    assert status == 400
    async with req_bot.linli.db.transaction() as session:
        req = await session.get(Request, number)
    assert req is not None and (req.status, req.version) == ("new", 1)


async def test_sessions_expire_and_logout_ends_them(req_bot: LiveBot, browsers: list[StaffBrowser],
                                                    clock: FixedClock) -> None:
    web = browsers[0]
    await web.login("staff-wang")
    clock.advance(minutes=479)
    status, _, _ = await web.get("/staff")
    assert status == 200
    clock.advance(minutes=2)  # the demo community's sessions last 480 minutes
    status, _, location = await web.get("/staff")
    assert status == 302 and "expired=1" in location
    status, page, _ = await web.get(location)
    assert "登录已过期" in page

    await web.login("staff-wang")
    _, page, _ = await web.get("/staff")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    status, _, _ = await web.post("/staff/logout", {"csrf": csrf.group(1)})
    assert status == 302
    status, _, _ = await web.get("/staff")
    assert status == 302
    async with req_bot.linli.db.transaction() as session:
        assert (await session.scalars(select(StaffSession))).all() == []


async def test_a_residents_markup_is_shown_as_text_and_pages_load_nothing_inline(
        req_bot: LiveBot, browsers: list[StaffBrowser]) -> None:
    number = await file(req_bot, '3号楼楼道灯坏了<script>alert("x")</script><img src=x onerror=alert(1)>')
    web = browsers[0]
    await web.login("staff-wang")
    for path in ("/staff", f"/staff/requests/{number}"):
        async with web.http.get(web.base + path) as resp:
            page = await resp.text()
            policy = resp.headers["Content-Security-Policy"]
        assert resp.status == 200, page
        assert "楼道灯坏了&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page  # the list shows an excerpt
        assert "<script" not in page and "<img src=x" not in page
        assert "unsafe-inline" not in policy and "style-src 'self'" in policy and "<style" not in page
        assert ' style="' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the detail page shows it all
    async with web.http.get(web.base + "/staff/static/staff.css") as resp:  # the one stylesheet
        assert resp.status == 200 and resp.content_type == "text/css" and "--wechat-green: #07c160" in await resp.text()


# --- login lockout --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def browsers_at_two_addresses(bot: LiveBot) -> AsyncIterator[dict[str, StaffBrowser]]:
    """Browsers at two client addresses, as nginx on this machine reports them (X-Forwarded-For)."""
    addresses = {"guesser": "198.51.100.7", "office": "203.0.113.9"}
    sessions = {who: aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                           headers={"X-Forwarded-For": f"10.9.9.9, {ip}"})
                for who, ip in addresses.items()}
    try:
        yield {who: StaffBrowser(bot, s) for who, s in sessions.items()}
    finally:
        for s in sessions.values():
            await s.close()


@pytest.fixture
async def from_addresses(req_bot: LiveBot) -> AsyncIterator[dict[str, StaffBrowser]]:
    async with browsers_at_two_addresses(req_bot) as browsers:
        yield browsers


async def test_five_wrong_passwords_lock_the_account_from_that_address_only_until_the_window_passes(
        req_bot: LiveBot, from_addresses: dict[str, StaffBrowser], clock: FixedClock,
        caplog: pytest.LogCaptureFixture) -> None:
    guesser, office = from_addresses["guesser"], from_addresses["office"]
    caplog.set_level("WARNING", logger="linli.staff_web")
    for i in range(5):
        status, page, _ = await guesser.login("staff-wang", f"guess-{i}")
        assert status == 401 and "账号或密码不对" in page
    status, page, _ = await guesser.login(" staff-wang ", "guess-5")
    assert status == 429 and "登录失败次数过多，请 15 分钟后再试" in page
    async with guesser.http.post(guesser.base + "/staff/login", allow_redirects=False,
                                 data={"login": "staff-wang", "password": DEMO_PASSWORD}) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "900"  # the right password: refused too
    # A resident who knows the name cannot lock its owner out: from an address that has not
    # failed, the owner gets in (issue 17: the lock used to be on the account, for everyone).
    status, _, location = await office.login("staff-wang")
    assert status == 302 and location == "/staff"
    status, page, _ = await office.get("/staff")
    assert status == 200 and "王网格员" in page
    status, _, _ = await guesser.get("/staff")
    assert status == 302  # the guesser never got a session

    refused = [r for r in caplog.records if "refused: too many failed logins" in r.getMessage()]
    assert refused and all(r.levelname == "WARNING" and "198.51.100.7" in r.getMessage() for r in refused[:2])
    assert not any("guess-" in r.getMessage() or DEMO_PASSWORD in r.getMessage() for r in caplog.records)

    clock.advance(minutes=14, seconds=59)
    status, page, _ = await guesser.login("staff-wang")
    assert status == 429 and "请 1 分钟后再试" in page
    clock.advance(seconds=1)  # the window is over
    status, _, location = await guesser.login("staff-wang")
    assert status == 302 and location == "/staff"


async def test_an_address_is_locked_after_twenty_failures_and_a_right_password_resets_only_the_pair(
        req_bot: LiveBot, from_addresses: dict[str, StaffBrowser]) -> None:
    guesser, office = from_addresses["guesser"], from_addresses["office"]
    for _ in range(2):  # 4 typos, then the right password, twice: the pair's count starts again
        for i in range(4):
            assert (await guesser.login("staff-wang", f"typo-{i}"))[0] == 401
        assert (await guesser.login("staff-wang"))[0] == 302
    for i in range(12):  # the address has 8 failures: 12 more, each on another name
        assert (await guesser.login(f"nobody-{i}", "x"))[0] == 401
    status, page, _ = await guesser.login("staff-li")  # the 21st from this address, right password
    assert status == 429 and "登录失败次数过多" in page
    assert (await office.login("staff-li"))[0] == 302  # the same account from elsewhere


@pytest.mark.parametrize(("trusted_proxies", "peer_trusted"), [
    ("198.51.100.0/24, 127.0.0.1", True),  # the bot's peer here is 127.0.0.1: this proxy is ours
    ("192.0.2.0/24,::1", False),  # nginx elsewhere: a client at 127.0.0.1 could claim any address
])
async def test_x_forwarded_for_counts_for_the_address_lockout_only_from_a_trusted_proxy(
        db_url: str, clock: FixedClock, caplog: pytest.LogCaptureFixture, trusted_proxies: str,
        peer_trusted: bool) -> None:
    await requests_support.migrated(db_url)
    bot, close = await start_live_bot(make_settings(db_url, trusted_proxies=trusted_proxies), clock,
                                      understand=requests_support.keyword_understand)
    caplog.set_level("WARNING", logger="linli.staff_web")
    try:
        async with browsers_at_two_addresses(bot) as browsers:
            guesser, office = browsers["guesser"], browsers["office"]
            for i in range(20):  # each on another name: only the address's count reaches 20
                assert (await guesser.login(f"nobody-{i}", "x"))[0] == 401
            assert (await guesser.login("staff-li"))[0] == 429
            # The office's header names another client: believed from our proxy, ignored otherwise
            # (then both are the peer, 127.0.0.1, whose 20 failures lock out everyone behind it).
            status, _, _ = await office.login("staff-li")
            assert status == (302 if peer_trusted else 429)
    finally:
        await close()
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("staff web: failed login")]
    assert len(failed) == 20
    assert all(("from 198.51.100.7" if peer_trusted else "from 127.0.0.1") in m for m in failed)


def test_trusted_proxies_are_addresses_or_networks() -> None:
    from aiohttp.test_utils import make_mocked_request
    from pydantic import ValidationError

    from bot.staff_web.throttle import client_address
    from config.settings import Settings

    assert [str(n) for n in Settings().trusted_proxy_networks] == ["127.0.0.0/8", "::1/128"]
    assert [str(n) for n in Settings(trusted_proxies=" 10.0.0.7 , fd00::/8,").trusted_proxy_networks] == [
        "10.0.0.7/32", "fd00::/8"]
    assert [str(n) for n in Settings(trusted_proxies=["10.1.0.0/16", "::1"]).trusted_proxy_networks] == [
        "10.1.0.0/16", "::1/128"]  # a list in the settings file
    assert Settings(trusted_proxies="").trusted_proxy_networks == ()  # no proxy: the peer counts
    for wrong in ("10.0.0.0/33", "localhost", "10.0.0.1;10.0.0.2"):
        with pytest.raises(ValidationError, match="not an IP address or CIDR network"):
            Settings(trusted_proxies=wrong)

    def request(peer: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
        transport = mock.Mock()
        transport.get_extra_info.side_effect = lambda key, default=None: (
            (peer, 40000, 0, 0) if key == "peername" else default)
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        return make_mocked_request("POST", "/staff/login", headers=headers, transport=transport)

    loopback = Settings().trusted_proxy_networks
    assert client_address(request("127.0.0.1", "203.0.113.9"), loopback) == "203.0.113.9"
    assert client_address(request("::ffff:127.0.0.1", "203.0.113.9"), loopback) == "203.0.113.9"
    assert client_address(request("::1", "6.6.6.6, 2001:db8:1:2::99"), loopback) == "2001:db8:1:2::/64"
    assert client_address(request("127.0.0.1", "not an address"), loopback) == "127.0.0.1"
    assert client_address(request("127.0.0.1"), loopback) == "127.0.0.1"
    # Private but not listed (the old rule believed these): the header is the client's own claim.
    assert client_address(request("10.0.0.7", "203.0.113.9"), loopback) == "10.0.0.7"
    assert client_address(request("10.0.0.7", "203.0.113.9"),
                          Settings(trusted_proxies="10.0.0.0/8").trusted_proxy_networks) == "203.0.113.9"


async def test_the_lockout_is_shared_by_every_process_on_the_database(req_bot: LiveBot) -> None:
    from bot.staff_web.throttle import LoginThrottle

    # Two processes' throttles on one database (two engines: two connection pools).
    other_db = type(req_bot.linli.db)(req_bot.linli.db.url)
    try:
        here, there = LoginThrottle(req_bot.linli.db, req_bot.linli.clock), LoginThrottle(other_db,
                                                                                        req_bot.linli.clock)
        attempts = await asyncio.gather(*[(here if i % 2 else there).attempt("xingfuli/staff-wang", "192.0.2.7")
                                          for i in range(8)])
    finally:
        await other_db.dispose()
    assert sorted(a.pair_count for a in attempts) == list(range(1, 9))
    assert sum(a.refused for a in attempts) == 3


async def test_the_outbox_rate_limiters_clean_up_does_not_lift_a_lockout(
        req_bot: LiveBot, from_addresses: dict[str, StaffBrowser], clock: FixedClock) -> None:
    from bot.channels.wecom_api import RateLimiter

    guesser = from_addresses["guesser"]
    for i in range(5):
        assert (await guesser.login("staff-wang", f"guess-{i}"))[0] == 401
    clock.advance(minutes=10)
    await RateLimiter(req_bot.linli.db, clock).acquire("robot:g-res-1", 20)  # deletes windows older than a minute
    assert (await guesser.login("staff-wang"))[0] == 429


# --- failed deliveries ------------------------------------------------------------------------------


async def test_failed_deliveries_are_listed_for_logged_in_staff_of_their_community(
        req_bot: LiveBot, browsers: list[StaffBrowser], clock: FixedClock) -> None:
    from storage.models import OutboxMessage

    long_text = "明天上午九点在社区活动室开展义诊活动，请需要测量血压血糖的居民带好医保卡准时参加，" * 3
    rows = [("wecom_aibot", "xingfuli", "group", "g-res-1", long_text, "failed", "errcode 93000 invalid webhook url"),
            ("mp", "xingfuli", "user", "r-zhang", "您反映的问题已登记", "failed", "gave up after 8 attempts: 45015"),
            ("wecom", "xingfuli", "user", "staff-li", "已送达的消息", "sent", None),
            ("wecom", "elsewhere", "group", "g-other", "别的社区的消息", "failed", "errcode 40003")]
    web = browsers[0]
    await web.login("staff-zhao")
    status, page, _ = await web.get("/staff/deliveries")
    assert status == 200 and "没有发送失败的消息" in page
    async with req_bot.linli.db.transaction() as session:
        for channel, community, audience, target, text, status, error in rows:
            session.add(OutboxMessage(channel=channel, community=community, audience=audience, target=target,
                                      text=text, status=status, attempts=8, next_attempt_at=clock.now(),
                                      last_error=error, created_at=clock.now()))
    status, _, location = await browsers[1].get("/staff/deliveries")  # a visitor who is not logged in
    assert status == 302 and location.startswith("/staff/login")

    _, page, _ = await web.get("/staff")
    assert 'href="/staff/deliveries"' in page
    status, page, _ = await web.get("/staff/deliveries")
    assert status == 200 and "共 2 条" in page
    table = page[page.index('id="deliveries"'):]
    assert "幸福里1-4号楼居民群" in table and "errcode 93000 invalid webhook url" in table
    assert long_text[:59] + "…" in table and long_text[:61] not in table
    assert "张秀兰" in table and "公众号" in table and "gave up after 8 attempts" in table
    assert "2026-11-25 10:00" in table  # local time
    assert "已送达的消息" not in table and "别的社区" not in table
