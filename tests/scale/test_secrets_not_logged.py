"""Secrets never reach the logs: a real `linli serve` with WeCom credentials, DEBUG logging, callbacks
(good, forged, corrupt), replies through a fake WeCom API that fails 30 % of the sends; then the
captured output is searched for every secret and every access token the API handed out."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from tests.scale.conftest import REPO, BotProcess, bot_env, free_port, wait_healthy

CORP_ID = "wwsecrettest0001"
AGENT_ID = "1000002"
SECRET = "S3cr3t-corp-secret-must-not-leak"
TOKEN = "tokenMustNotLeak42"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def callback(crypto: WeChatCrypto, user: str, text: str, msg_id: int) -> tuple[str, bytes]:
    now = str(int(time.time()))
    xml = (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
           f"<CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content>"
           f"<MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")
    out = xmltodict.parse(crypto.encrypt_message(xml, str(msg_id), now))["xml"]
    body = f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><Encrypt><![CDATA[{out['Encrypt']}]]></Encrypt></xml>"
    return f"msg_signature={out['MsgSignature']}&timestamp={now}&nonce={msg_id}", body.encode()


async def test_no_secret_or_access_token_appears_in_the_logs(tmp_path: Path) -> None:
    api_port = free_port()
    api = subprocess.Popen([sys.executable, str(REPO / "bench" / "fake_api.py"),  # noqa: ASYNC220 (returns at once)
                            str(api_port), "--fail-rate", "0.3", "--slow-seconds", "1.5",
                            "--corp-id", CORP_ID, "--corp-secret", SECRET],
                           cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = bot_env(f"sqlite:///{tmp_path}/secrets.db", REPO / "config" / "demo_community.yaml",
                  LINLI_LOG_LEVEL="DEBUG", LINLI_WECOM_CORP_ID=CORP_ID, LINLI_WECOM_AGENT_ID=AGENT_ID,
                  LINLI_WECOM_SECRET=SECRET, LINLI_WECOM_TOKEN=TOKEN, LINLI_WECOM_AES_KEY=AES_KEY,
                  LINLI_WECOM_API_BASE=f"http://127.0.0.1:{api_port}", LINLI_WECHAT_HTTP_TIMEOUT_SECONDS="1")
    bot = BotProcess(free_port(), env, tmp_path / "bot")
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)
    try:
        await wait_healthy(f"http://127.0.0.1:{api_port}", api)
        bot.start()
        await bot.started()
        async with aiohttp.ClientSession() as http:
            statuses = []
            for i in range(12):
                query, body = callback(crypto, f"secret-user-{i % 3}", "今天有什么活动", 880000 + i)
                if i == 10:  # forged: signed with another token
                    query, body = callback(WeChatCrypto("other-token", AES_KEY, CORP_ID), "x", "hi", 880000 + i)
                if i == 11:
                    body = b"<xml><Encrypt><![CDATA[bm90IGEgbWVzc2FnZQ==]]></Encrypt></xml>"
                async with http.post(f"{bot.base}/wecom/callback?{query}", data=body) as resp:
                    statuses.append(resp.status)
            assert statuses[:10] == [200] * 10 and statuses[10] == 403 and statuses[11] in (400, 403)
            # Let the replies go out, fail, back off and be retried a few times.
            deadline = time.monotonic() + 20
            stats: dict = {}  # type: ignore[type-arg]
            while time.monotonic() < deadline:
                async with http.get(f"http://127.0.0.1:{api_port}/stats") as resp:
                    stats = await resp.json()
                if len(stats["delivered"]) >= 2 and stats["injected_faults"] >= 2:
                    break
                await asyncio.sleep(0.2)
        assert len(stats["delivered"]) >= 2 and stats["injected_faults"] >= 2, stats
    finally:
        bot.stop()
        api.terminate()
        api.wait(10)
    log = bot.log_text()
    assert "DEBUG" in log and "wecom" in log  # the log was captured, verbosely
    assert "retrying" in log  # the failed sends were logged
    tokens = {f"wecom-token-{n}" for n in range(1, stats.get("tokens_issued", 0) + 1)}
    for secret in (SECRET, TOKEN, AES_KEY, *tokens):
        assert secret not in log, f"{secret[:6]}… appears in the log"
