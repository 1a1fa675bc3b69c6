"""A fake WeCom / Official Account API server (aiohttp on 127.0.0.1) with fault injection.

It implements what linli calls: WeCom `gettoken`, `message/send`, `appchat/send`,
`webhook/send?key=`, the Official Account `stable_token` and `message/custom/send`, AI-bot
`response_url`s, and the media behind photos: `media/get` (WeCom and OA share the path; tests put
files in `media`) and the AI bot's image URLs (`files`, served as given: tests encrypt them).
Tests queue faults per path (`fail(path, *faults)`): "expired" (42001, and every
token issued so far stops working, as when WeCom invalidates a token early), "throttled" (45009),
"busy" (-1), "5xx" (HTTP 502), "timeout" (answers after `slow_seconds`), an int errcode, or None
(this call succeeds).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

ERRMSG = {40014: "invalid access_token", 42001: "access_token expired", 45009: "api freq out of limit",
          -1: "system busy", 93000: "invalid webhook url", 81013: "user & party & tag all invalid",
          45015: "response out of time limit or subscription is canceled", 40001: "invalid credential"}


@dataclass
class Delivered:
    kind: str  # app | appchat | robot | custom | aibot
    to: str
    content: str
    body: dict[str, Any]


class FakeWeChatApi:
    def __init__(self, *, corp_id: str, corp_secret: str, mp_app_id: str, mp_secret: str,
                 robot_keys: set[str]) -> None:
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.mp_app_id = mp_app_id
        self.mp_secret = mp_secret
        self.robot_keys = robot_keys
        self.valid_tokens: set[str] = set()
        self.token_fetches: dict[str, int] = defaultdict(int)  # wecom | mp
        self.delivered: list[Delivered] = []
        self.calls: list[str] = []
        self.invalid_users: set[str] = set()
        self.used_response_urls: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}  # media_id -> (bytes, content type)
        self.files: dict[str, bytes] = {}  # AI-bot image name -> the (encrypted) bytes it serves
        self.media_fetches: list[str] = []  # media ids and file names, in the order they were fetched
        self.slow_seconds = 3.0
        self._faults: dict[str, deque[Any]] = defaultdict(deque)
        self._issued = 0
        self.server: TestServer | None = None
        self.arrived = asyncio.Event()

    # -- test controls ------------------------------------------------------------------------

    def fail(self, path: str, *faults: Any) -> None:
        self._faults[path].extend(faults)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/aibot/response/{name}"

    def aibot_image_url(self, name: str) -> str:
        return f"{self.base_url}/aibot/media/{name}"

    async def wait_for(self, count: int, within: float = 10.0) -> list[Delivered]:
        """Waits until at least `count` messages were delivered."""
        async with asyncio.timeout(within):
            while len(self.delivered) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.delivered

    # -- server -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/stable_token", self.stable_token)
        app.router.add_post("/cgi-bin/message/send", self.message_send)
        app.router.add_post("/cgi-bin/appchat/send", self.appchat_send)
        app.router.add_post("/cgi-bin/webhook/send", self.webhook_send)
        app.router.add_post("/cgi-bin/message/custom/send", self.custom_send)
        app.router.add_post("/aibot/response/{name}", self.aibot_response)
        app.router.add_get("/cgi-bin/media/get", self.media_get)
        app.router.add_get("/aibot/media/{name}", self.aibot_media)
        return app

    async def start(self) -> None:
        self.server = TestServer(self.app(), host="127.0.0.1")
        await self.server.start_server()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def _fault(self, path: str) -> web.Response | None:
        self.calls.append(path)
        queue = self._faults.get(path)
        if not queue:
            return None
        fault = queue.popleft()
        if fault is None:  # this call goes through; the next fault applies to the one after
            return None
        if fault == "5xx":
            return web.Response(status=502, text="bad gateway")
        if fault == "timeout":
            await asyncio.sleep(self.slow_seconds)
            return _err(-1)
        if fault == "expired":
            self.valid_tokens.clear()
            return _err(42001)
        if fault == "throttled":
            return _err(45009)
        if fault == "busy":
            return _err(-1)
        return _err(int(fault))

    def _issue(self, kind: str) -> str:
        self._issued += 1
        self.token_fetches[kind] += 1
        token = f"{kind}-token-{self._issued}"
        self.valid_tokens.add(token)
        return token

    def _deliver(self, kind: str, to: str, content: str, body: dict[str, Any]) -> web.Response:
        self.delivered.append(Delivered(kind, to, content, body))
        self.arrived.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def gettoken(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("gettoken")) is not None:
            return fault
        if request.query.get("corpid") != self.corp_id or request.query.get("corpsecret") != self.corp_secret:
            return _err(40001)
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": self._issue("wecom"),
                                  "expires_in": 7200})

    async def stable_token(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("stable_token")) is not None:
            return fault
        body = await request.json()
        if body.get("appid") != self.mp_app_id or body.get("secret") != self.mp_secret:
            return _err(40001)
        return web.json_response({"access_token": self._issue("mp"), "expires_in": 7200})

    def _token_error(self, request: web.Request) -> web.Response | None:
        if request.query.get("access_token") not in self.valid_tokens:
            return _err(40014)
        return None

    async def message_send(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("message/send")) is not None:
            return fault
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        if body["touser"] in self.invalid_users:
            return web.json_response({"errcode": 81013, "errmsg": ERRMSG[81013], "invaliduser": body["touser"]})
        msgtype = body["msgtype"]
        content = body[msgtype].get("content") or body[msgtype].get("description", "")
        return self._deliver("app", body["touser"], content, body)

    async def appchat_send(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("appchat/send")) is not None:
            return fault
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        return self._deliver("appchat", body["chatid"], body["text"]["content"], body)

    async def webhook_send(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("webhook/send")) is not None:
            return fault
        key = request.query.get("key", "")
        if key not in self.robot_keys:
            return _err(93000)
        body = await request.json()
        return self._deliver("robot", key, body[body["msgtype"]]["content"], body)

    async def custom_send(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("custom/send")) is not None:
            return fault
        if (error := self._token_error(request)) is not None:
            return error
        body = await request.json()
        return self._deliver("custom", body["touser"], body["text"]["content"], body)

    async def aibot_response(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if (fault := await self._fault("aibot")) is not None:
            return fault
        if name in self.used_response_urls:
            return _err(600039)  # any non-zero errcode: the URL is spent
        self.used_response_urls.add(name)
        body = await request.json()
        return self._deliver("aibot", name, body["markdown"]["content"], body)


    async def media_get(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("media/get")) is not None:
            return fault
        if (error := self._token_error(request)) is not None:
            return error
        media_id = request.query.get("media_id", "")
        self.media_fetches.append(media_id)
        if media_id not in self.media:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        data, content_type = self.media[media_id]
        return web.Response(body=data, content_type=content_type,
                            headers={"Content-Disposition": f'attachment; filename="{media_id}.jpg"'})

    async def aibot_media(self, request: web.Request) -> web.Response:
        if (fault := await self._fault("aibot/media")) is not None:
            return fault
        name = request.match_info["name"]
        self.media_fetches.append(name)
        if name not in self.files:
            return web.Response(status=404, text="expired")
        return web.Response(body=self.files[name], content_type="application/octet-stream")


def _err(code: int) -> web.Response:
    return web.Response(text=json.dumps({"errcode": code, "errmsg": ERRMSG.get(code, "error")}),
                        content_type="application/json")
