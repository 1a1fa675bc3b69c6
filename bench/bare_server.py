"""The baseline for HTTP benchmarks: a bare aiohttp handler that only reads the body and answers."""

from __future__ import annotations

import sys

from aiohttp import web


async def handle(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ok": True})


def main() -> None:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    app.router.add_get("/healthz", lambda r: web.json_response({"ok": True}))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
