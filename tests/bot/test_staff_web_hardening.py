"""The staff pages under attack (issue 17 items 1, 5, 6), over real HTTP with a logged-in session:
extreme numbers answer 4xx (they raised OverflowError: 500), residents cannot lock staff out and
display names do not log in (test_staff_web.py), the password check runs off the event loop,
passwords typed as login names are not logged, and the cookie is Secure behind a TLS proxy."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.staff_web import passwords
from core.clock import FixedClock
from tests.bot.test_staff_web import DEMO_PASSWORD, StaffBrowser, file
from tests.conftest import LiveBot, make_settings, start_live_bot
from tests.handlers import requests_support

req_bot = requests_support.req_bot  # a live bot with a keyword classifier, SQLite and PostgreSQL

HUGE = "99999999999999999999"


@pytest.fixture
async def staff(req_bot: LiveBot) -> AsyncIterator[StaffBrowser]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        browser = StaffBrowser(req_bot, http)
        assert (await browser.login("staff-wang"))[0] == 302
        yield browser


@pytest.mark.parametrize(("path", "expected"), [
    (f"/staff?offset={HUGE}", 200),
    ("/staff?offset=" + "9" * 5000, 200),
    ("/staff?offset=-5", 200),
    ("/staff?age=" + "9" * 5000, 200),  # int() of 5,000 digits raised ValueError
    ("/staff?age=²", 200),  # a digit to str.isdigit, not to int()
    (f"/staff/requests/{HUGE}", 404),
    ("/staff/requests/" + "9" * 5000, 404),
    ("/staff/requests/0", 404),
    ("/staff/charts/weekly.png?end=9999-12-31", 400),
    ("/staff/charts/weekly.png?end=0001-01-01", 400),
    ("/staff/charts/categories.png?end=9999-12-31", 400),
    ("/staff/charts/median.png?end=0001-01-07", 400),
    ("/staff/charts?end=9999-12-31", 400),
    ("/staff/charts?end=" + "9" * 5000, 400),
])
async def test_extreme_numbers_in_the_staff_pages_answer_4xx(staff: StaffBrowser, path: str, expected: int) -> None:
    status, _, _ = await staff.get(path)
    assert status == expected, (path, status)


async def test_extreme_form_values_answer_4xx(req_bot: LiveBot, staff: StaffBrowser) -> None:
    number = await file(req_bot, "3号楼2单元楼道灯坏了")
    form = await staff.form_of(number)
    for version in (HUGE, "9" * 5000, "²", "-1"):
        status, _, _ = await staff.post(f"/staff/requests/{number}", {**form, "action": "in_progress",
                                                                      "version": version})
        assert status == 400, version
    status, _, _ = await staff.post(f"/staff/requests/{HUGE}", {**form, "action": "in_progress"})
    assert status == 404
    # Not a form of ours: a multipart body with a nameless part (aiohttp raised ValueError: 500),
    # a charset nobody knows (LookupError).
    for body, content_type in [
        (b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b"),
        (b"login=staff-wang&password=x", "application/x-www-form-urlencoded; charset=no-such-charset"),
    ]:
        for path in ("/staff/login", f"/staff/requests/{number}", "/staff/logout"):
            async with staff.http.post(staff.base + path, data=body, allow_redirects=False,
                                       headers={"Content-Type": content_type}) as resp:
                assert 300 <= resp.status < 500, (path, content_type, resp.status)


async def test_the_password_check_runs_off_the_event_loop(req_bot: LiveBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """While password checks are in progress (held here until the end), the bot keeps answering:
    a check on the event loop would stop everything until it returned (60 parallel logins raised
    the callbacks' median latency from 3 to 21 ms; bench/bench_login_stall.py measures it)."""
    release = threading.Event()
    threads: list[str] = []
    real = passwords.verify_password

    def held(password: str, stored: str | None) -> bool:
        threads.append(threading.current_thread().name)
        release.wait(20)
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify_password", held)
    async with aiohttp.ClientSession() as http:
        logins = [asyncio.create_task(http.post(f"{req_bot.client.base_url}/staff/login",
                                                data={"login": "staff-wang", "password": DEMO_PASSWORD},
                                                allow_redirects=False)) for _ in range(4)]
        try:
            for _ in range(1000):  # until a password check is under way (10 s at most)
                if threads:
                    break
                await asyncio.sleep(0.01)
            assert threads, "the password checks did not start"
            answer = await asyncio.wait_for(req_bot.client.say("g-res-1", "r-zhang", "今天有什么活动"), 10)
            assert answer["replies"]
            async with http.get(f"{req_bot.client.base_url}/healthz") as resp:
                assert resp.status == 200
        finally:
            release.set()
            for response in await asyncio.gather(*logins):
                assert response.status == 302
                response.release()
    assert threads and all(name.startswith("linli-scrypt") for name in threads), threads
    assert threading.main_thread().name not in threads


async def test_failed_login_names_that_may_be_passwords_are_logged_as_a_digest(
        staff: StaffBrowser, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="linli.staff_web")
    async with aiohttp.ClientSession() as http:
        browser = StaffBrowser.__new__(StaffBrowser)
        browser.base, browser.http = staff.base, http
        for _ in range(2):
            assert (await browser.login("Tr0ub4dor&3", "oops"))[0] == 401  # a password in the name field
        assert (await browser.login("staff-li", "wrong"))[0] == 401
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("staff web: failed login")]
    assert len(failed) == 3
    assert not any("Tr0ub4dor" in r.getMessage() for r in caplog.records)
    assert failed[0] == failed[1]  # the same name, the same digest
    assert "digest" in failed[0] and "11 characters" in failed[0]
    assert "'staff-li'" in failed[2]  # a staff id is no secret


@pytest.mark.parametrize(("trusted_proxies", "secure_cookies", "headers", "secure"), [
    ("127.0.0.1/8", False, {}, False),  # plain HTTP on this machine (the simulator's default)
    ("127.0.0.1/8", False, {"X-Forwarded-Proto": "https"}, True),  # nginx with TLS on this machine
    ("192.0.2.0/24", False, {"X-Forwarded-Proto": "https"}, False),  # a client's own claim: ignored
    ("127.0.0.1/8", True, {}, True),  # LINLI_SECURE_COOKIES: TLS ends before a proxy that does not say
])
async def test_the_session_cookie_is_secure_behind_a_tls_proxy(
        sqlite_url: str, clock: FixedClock, trusted_proxies: str, secure_cookies: bool, headers: dict[str, str],
        secure: bool) -> None:
    bot, close = await start_live_bot(make_settings(sqlite_url, trusted_proxies=trusted_proxies,
                                                    secure_cookies=secure_cookies), clock,
                                      understand=requests_support.keyword_understand)
    try:
        async with aiohttp.ClientSession() as http, http.post(
                f"{bot.client.base_url}/staff/login", allow_redirects=False, headers=headers,
                data={"login": "staff-wang", "password": DEMO_PASSWORD, "next": "/staff"}) as resp:
            assert resp.status == 302
            cookie = resp.cookies["linli_staff"]
            assert bool(cookie["secure"]) is secure
            assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/staff"
    finally:
        await close()
