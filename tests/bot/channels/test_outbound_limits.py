"""Answers from the WeChat APIs are read up to a limit (issue 17 item 6): a server (or something in
between) that answers with an endless or huge body must not fill the bot's memory. The API is
played by a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels.wecom_api import MAX_ANSWER_BYTES, WeChatHttp
from core.delivery import TemporaryError


class Streamer:
    def __init__(self) -> None:
        self.sent = 0

    async def endless(self, request: web.Request) -> web.StreamResponse:
        """Chunked, no Content-Length: JSON that never ends."""
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        await resp.prepare(request)
        await resp.write(b'{"errcode": 0, "pad": "')
        try:
            for _ in range(10_000):  # 640 MB, if anyone read it all
                await resp.write(b"x" * 65536)
                self.sent += 65536
        except (ConnectionResetError, RuntimeError):
            pass
        return resp

    async def declared(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (MAX_ANSWER_BYTES + 1), content_type="application/json")

    async def small(self, request: web.Request) -> web.Response:
        return web.json_response({"errcode": 0, "access_token": "t", "expires_in": 7200})


@pytest.fixture
async def api() -> AsyncIterator[tuple[str, Streamer]]:
    streamer = Streamer()
    app = web.Application()
    app.router.add_get("/endless", streamer.endless)
    app.router.add_get("/declared", streamer.declared)
    app.router.add_get("/small", streamer.small)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), streamer
    finally:
        await server.close()


async def test_an_endless_answer_is_read_no_further_than_the_limit(api: tuple[str, Streamer]) -> None:
    base, streamer = api
    http = WeChatHttp(timeout_seconds=10)
    try:
        with pytest.raises(TemporaryError, match=f"more than {MAX_ANSWER_BYTES} bytes"):
            await http.request("GET", f"{base}/endless", "gettoken")
        with pytest.raises(TemporaryError, match="more than"):
            await http.request("GET", f"{base}/declared", "gettoken")  # refused by its Content-Length
        assert (await http.request("GET", f"{base}/small", "gettoken"))["access_token"] == "t"
    finally:
        await http.close()
    await asyncio.sleep(0.1)
    assert streamer.sent < 40 * MAX_ANSWER_BYTES  # the connection was dropped, not drained
