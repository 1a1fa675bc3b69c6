"""How long a client may take, and how many may be slow at once, before any handler runs.

aiohttp's server has no timeout for reading a request: 250 connections that send their headers
(or bodies) a byte at a time were held indefinitely (issue 17). The knobs that exist, and ours:

- Headers: aiohttp starts its keep-alive timer when a connection opens, and when it fires it closes
  a connection that has not produced a whole request (and an idle keep-alive one). Its default is
  3,630 s; `runner_options` sets it to LINLI_HEADER_TIMEOUT_SECONDS (15 s), so a request line and
  headers must arrive within that of the connection opening (or of the previous answer).
- Bodies: `guard_bodies` reads every body before the handler, within LINLI_BODY_TIMEOUT_SECONDS
  (10 s, else 408) and up to the application's client_max_size (256 KB, else 413, aiohttp's own
  check); handlers then read it from memory (`request.read()`, `request.post()`).
- A handler marked with `streams_own_body` (the simulator's photo upload: 20 MB, far over 256 KB)
  is passed its body unread; it reads it in pieces under its own size limit and this deadline.
- Compressed bodies (Content-Encoding) are refused with 415 before anything is read: nobody who
  talks to the bot sends one, and aiohttp can wait forever for a broken deflate body.
- Slow bodies at once: a body that has not fully arrived when its headers have is a slow body;
  at most LINLI_MAX_SLOW_BODIES (64) are waited for at once, and the next is answered 429 at once.
  Bodies that arrive with their headers (every WeChat callback, every browser form) never count.

What a process cannot do alone — limit connections per client address, drop connections that are
slow to accept their answer — nginx does in front of it (deploy/nginx-linli.conf: client_header_timeout,
client_body_timeout, send_timeout, limit_conn).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from config.settings import Settings

log = logging.getLogger("linli.web")

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_REQUEST_BYTES = 256 * 1024  # the application's client_max_size (a callback's limit is 64 KB)


def runner_options(settings: Settings) -> dict[str, Any]:
    """The options of the aiohttp runner (`linli serve`, and the tests' live servers). Bodies are
    not inflated by the HTTP parser (`auto_decompress`): compressed ones are refused (415) below,
    before aiohttp could fail on them outside any handler."""
    return {"keepalive_timeout": settings.header_timeout_seconds, "auto_decompress": False}


STREAMS_OWN_BODY = "_linli_streams_own_body"


def streams_own_body(handler: Handler) -> Handler:
    """Marks a handler that reads its own body in pieces, under its own size limit and deadline
    (`BodyGuard` passes its request on unread: reading a 20 MB photo into memory first, under the
    application's 256 KB limit, would refuse every real photo)."""
    setattr(handler, STREAMS_OWN_BODY, True)
    return handler


def _streams_own_body(request: web.Request) -> bool:
    handler = request.match_info.handler
    return bool(getattr(getattr(handler, "__func__", handler), STREAMS_OWN_BODY, False))


class BodyGuard:
    """The middleware that reads request bodies within a deadline, with few slow ones at a time."""

    def __init__(self, timeout_seconds: float, max_slow: int) -> None:
        self.timeout = timeout_seconds
        self.max_slow = max_slow
        self.slow = 0  # bodies being waited for right now

    async def handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in BODY_METHODS and request.body_exists:
            encoding = request.headers.get("Content-Encoding", "").strip().lower()
            if encoding not in ("", "identity"):
                # Nobody sends us compressed bodies (WeChat, browsers' forms, the simulator page);
                # a broken deflate body could leave aiohttp waiting for a payload that never ends.
                raise _refusal(web.HTTPUnsupportedMediaType, f"Content-Encoding {encoding[:20]!r} is not accepted")
            if not _streams_own_body(request):
                await self._read(request)
        return await handler(request)

    async def _read(self, request: web.Request) -> None:
        try:
            length = request.content_length
            if length is not None and request.content.total_bytes >= length:
                await request.read()  # all here already: nothing to wait for
                return
            if self.slow >= self.max_slow:
                log.warning("%d bodies are arriving slowly already: %s %s from %s refused", self.slow,
                            request.method, request.path, request.remote)
                raise _refusal(web.HTTPTooManyRequests, "too many slow requests; try again", {"Retry-After": "1"})
            self.slow += 1
            try:
                await asyncio.wait_for(request.read(), self.timeout)
            except TimeoutError:
                log.warning("%s %s from %s: body not received within %g s", request.method, request.path,
                            request.remote, self.timeout)
                raise _refusal(web.HTTPRequestTimeout, f"the body did not arrive within {self.timeout:g} s") from None
            finally:
                self.slow -= 1
        except web.HTTPRequestEntityTooLarge:
            raise _refusal(web.HTTPRequestEntityTooLarge, "the body is too large",
                           max_size=MAX_REQUEST_BYTES, actual_size=request.content_length or 0) from None
        except web.HTTPException:
            raise
        except Exception as exc:  # e.g. Content-Encoding: gzip over a body that is not (aiohttp raised: 500)
            log.warning("%s %s from %s: the body cannot be read (%s)", request.method, request.path,
                        request.remote, type(exc).__name__)
            raise _refusal(web.HTTPBadRequest, f"the body cannot be read ({type(exc).__name__})") from None


def _refusal(kind: type[web.HTTPException], text: str, headers: dict[str, str] | None = None,
             **kwargs: Any) -> web.HTTPException:
    """The answer, as JSON like the simulator's own errors; the connection is closed after it (the
    rest of the body may still be on its way)."""
    body = json.dumps({"error": text})
    return kind(text=body, content_type="application/json", headers={**(headers or {}), "Connection": "close"},
                **kwargs)


def guard(app: web.Application, settings: Settings) -> None:
    """Installs the body guard in front of every handler of `app`."""
    body_guard = BodyGuard(settings.body_timeout_seconds, settings.max_slow_bodies)

    @web.middleware
    async def guard_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await body_guard.handle(request, handler)

    app.middlewares.append(guard_bodies)
