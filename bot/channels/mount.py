"""Mounts the WeChat callbacks (WeCom app, WeCom AI bot, Official Account) whose credentials are set."""

from __future__ import annotations

import logging

from aiohttp import web

from bot.channels.official_account import OfficialAccountCallback
from bot.channels.wechat_directory import WeChatDirectory
from bot.channels.wecom import CALLBACK_PATH, WeComAppCallback
from bot.channels.wecom_aibot import AibotCallback
from bot.linli import Linli

log = logging.getLogger("linli.wechat")


def mount_wechat_channels(app: web.Application, linli: Linli) -> None:
    """Mounts the callbacks whose credentials are configured; closes the senders' HTTP on cleanup."""
    s = linli.settings
    parts = (linli.db, WeChatDirectory(linli.directory), linli.intake, linli.clock)
    if s.wecom_corp_id and s.wecom_token and s.wecom_aes_key:
        WeComAppCallback(*parts, token=s.wecom_token, aes_key=s.wecom_aes_key, corp_id=s.wecom_corp_id,
                         agent_id=s.wecom_agent_id).add_routes(app)
        log.info("wecom: app callback at %s", CALLBACK_PATH)
    if s.wecom_aibot_token and s.wecom_aibot_aes_key:
        AibotCallback(*parts, token=s.wecom_aibot_token, aes_key=s.wecom_aibot_aes_key).add_routes(app)
    if s.mp_token:
        OfficialAccountCallback(*parts, token=s.mp_token, aes_key=s.mp_aes_key, app_id=s.mp_app_id).add_routes(app)

    async def close_senders(app: web.Application) -> None:
        for sender in {id(x): x for x in linli.senders.values()}.values():
            close = getattr(sender, "close", None)
            if close is not None:
                await close()

    app.on_cleanup.append(close_senders)
