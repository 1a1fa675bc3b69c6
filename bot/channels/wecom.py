"""The WeCom self-built app callback (GET URL check, POST encrypted XML): members writing to the app one-to-one.

Text, image (`MediaId`, `PicUrl`: the photo is fetched later through media/get) and location
(`Location_X` latitude, `Location_Y` longitude, `Label`) messages become `Message`s; other types
are acknowledged and logged.

The skeleton every WeChat callback shares is in callback.py. wechatpy is used for the URL check;
messages, the hot path, are opened by `wechat_codec` in a fifth of wechatpy's time
(shared/notes/wechat-protocol.md).
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from bot.channels.callback import (
    MAX_ID_CHARS,
    CallbackChannel,
    Rejected,
    check_echo,
    epoch_time,
    message_id,
    query_params,
    read_body,
    text_field,
    xml_attachments,
)
from bot.channels.wechat_codec import CallbackCodec, Forged, Malformed, envelope_encrypt, message_fields
from core.message import Message

log = logging.getLogger("linli.wechat")

CHANNEL = "wecom"
CALLBACK_PATH = "/wecom/callback"


class WeComAppCallback(CallbackChannel):
    """Members talking one-to-one with the self-built app (staff, volunteers)."""

    channel = CHANNEL
    logger = log

    def __init__(self, *args: Any, token: str, aes_key: str, corp_id: str, agent_id: int | None,
                 path: str = CALLBACK_PATH, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crypto = WeComCrypto(token, aes_key, corp_id)  # the URL check
        self.codec = CallbackCodec(token, aes_key, corp_id)  # messages (the hot path)
        self.agent_id = agent_id
        self.path = path

    def echo(self, request: web.Request) -> str:
        return check_echo(self.crypto, request)

    async def open(self, request: web.Request) -> dict[str, str]:
        signature, timestamp, nonce = query_params(request, "msg_signature", "timestamp", "nonce")
        body = await read_body(request)
        try:
            encrypt = envelope_encrypt(body)
            self.codec.verify(encrypt, signature, timestamp, nonce)
            self.check_fresh(timestamp)
            return message_fields(self.codec.decrypt(encrypt))
        except Forged as exc:
            raise Rejected(403, f"not from WeCom ({exc})") from None
        except Malformed as exc:
            raise Rejected(400, f"cannot decrypt the message ({exc})") from None

    async def _handle(self, fields: dict[str, str]) -> web.Response:
        kind = text_field(fields.get("MsgType"), "MsgType")
        source = text_field(fields.get("FromUserName"), "FromUserName", max_chars=MAX_ID_CHARS)
        sent_at = epoch_time(fields.get("CreateTime"), "CreateTime")
        if kind == "event":
            event = text_field(fields.get("Event"), "Event")
            await self.record_event(f"{source}:{int(sent_at.timestamp())}:{event}", event)
            return web.Response(status=200)
        attachments = xml_attachments(kind, fields)
        if kind == "text":
            content = text_field(fields.get("Content"), "Content")
        elif attachments is not None:
            content = ""
        else:
            log.info("wecom: ignored a %s message from %s (text, images and locations are understood)", kind, source)
            return web.Response(status=200)
        msg_id = message_id(fields.get("MsgId"), "MsgId")
        agent = fields.get("AgentID")
        if self.agent_id is not None and agent is not None and agent.strip() != str(self.agent_id):
            log.warning("wecom: message %s is for agent %s, not ours (%s)", msg_id, agent, self.agent_id)
        sender = await self.identify(source)
        message = Message(
            channel=self.channel,
            community=sender.community.id,
            group_id=None,  # app messages are one-to-one with the bot
            sender_id=sender.sender_id,
            sender_name=sender.name,
            text=content,
            msg_id=msg_id,
            sent_at=sent_at,
            mentions_bot=True,
            sender_role=sender.role,  # type: ignore[arg-type]
            attachments=attachments or (),
        )
        failed = await self.accept(message, sender, self.member_on_new(sender, None))
        return failed or web.Response(status=200)
