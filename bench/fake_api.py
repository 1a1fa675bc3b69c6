"""The fake WeCom API of the tests as a stand-alone server for benchmarks and fault runs.

Usage: .venv/bin/python bench/fake_api.py PORT [--fail-rate 0.3] [--seed 1] [--corp-id ID --corp-secret S]
    [--robot-key-prefix PREFIX]
With --robot-key-prefix, every group robot key starting with PREFIX is valid (none is, without it).
With --fail-rate, that share of message sends answers with a random fault: HTTP 502, a timeout,
"system busy" (-1) or a rate limit (45009). GET /stats returns the deliveries so far (JSON).
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bot.channels.fake_wechat import FakeWeChatApi  # noqa: E402


class _KeysWithPrefix(set[str]):
    """The robot keys the fake accepts: any key starting with the prefix (`key in keys`)."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and bool(self.prefix) and key.startswith(self.prefix)

CORP_ID = "wwlinlibench001"
CORP_SECRET = "corp-secret-for-bench"
AGENT_ID = 1000002
TOKEN = "benchtoken"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"  # wechatpy's test key; nothing real


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--slow-seconds", type=float, default=1.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--corp-id", default=CORP_ID)
    parser.add_argument("--corp-secret", default=CORP_SECRET)
    parser.add_argument("--robot-key-prefix", default="")
    args = parser.parse_args()
    api = FakeWeChatApi(corp_id=args.corp_id, corp_secret=args.corp_secret, mp_app_id="wxbench", mp_secret="mp-bench",
                        robot_keys=_KeysWithPrefix(args.robot_key_prefix))
    api.slow_seconds = args.slow_seconds
    rng = random.Random(args.seed)
    app = api.app()
    original = api._fault
    injected = {"count": 0}

    async def fault(path: str):  # type: ignore[no-untyped-def]
        if args.fail_rate and path.endswith("/send") and rng.random() < args.fail_rate:
            injected["count"] += 1
            api.fail(path, rng.choice(["5xx", "timeout", "busy", "throttled"]))
        return await original(path)

    api._fault = fault  # type: ignore[method-assign]

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"delivered": [[d.kind, d.to, d.content] for d in api.delivered],
                                  "injected_faults": injected["count"], "calls": len(api.calls),
                                  "tokens_issued": api._issued})

    app.router.add_get("/stats", stats)
    app.router.add_get("/healthz", lambda r: web.json_response({"ok": True}))
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
