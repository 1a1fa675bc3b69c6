"""The WeChat Official Account (公众号) callback: residents writing to the community's account one-to-one.

Plain mode: every request carries `signature` = sha1(sort(token, timestamp, nonce)), checked
with `wechatpy.utils.check_signature`; the URL check echoes `echostr` unchanged. The signature
covers no body there, so a plain POST must also be fresh (as every callback must: callback.py):
a captured request cannot be replayed later. Safe mode (LINLI_MP_AES_KEY set): POSTs carry
`encrypt_type=aes` and `msg_signature`, which is checked before the body is decrypted and parsed
(`wechat_codec`, receive id = AppID); plain POSTs are refused then.
Text, recognised voice, image (`MediaId`, `PicUrl`: fetched later through media/get) and location
(`Location_X`, `Location_Y`, `Label`) messages are understood.
The answer is `success` once the message is stored; replies go out as customer-service messages
(bot/channels/wecom_senders.py), allowed within 48 h of the follower's last message — which is
recorded here, in the same transaction as the message.
"""

from __future__ import annotations

import logging
from typing import Any

import wechatpy
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from bot.channels.callback import (
    CORRUPT,
    MAX_ID_CHARS,
    CallbackChannel,
    Rejected,
    epoch_time,
    message_id,
    query_params,
    read_body,
    text_field,
    xml_attachments,
)
from bot.channels.wechat_codec import CallbackCodec, Forged, Malformed, envelope_encrypt
from bot.channels.wechat_directory import add_member
from core.message import Message
from storage.models_channels import MpReplyWindow
from storage.upsert import dialect_insert

log = logging.getLogger("linli.wechat.mp")

CHANNEL = "mp"
CALLBACK_PATH = "/mp/callback"
SUCCESS = "success"  # "no passive reply, do not retry"


class OfficialAccountCallback(CallbackChannel):
    channel = CHANNEL
    logger = log

    def __init__(self, *args: Any, token: str, aes_key: str | None, app_id: str | None,
                 path: str = CALLBACK_PATH, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.token = token
        self.crypto = CallbackCodec(token, aes_key, app_id or "") if aes_key else None
        self.path = path

    def add_routes(self, app: web.Application) -> None:
        super().add_routes(app)
        log.info("mp: callback at %s (%s mode)", self.path, "safe" if self.crypto else "plain")

    def _check_plain_signature(self, request: web.Request) -> tuple[str, str]:
        signature, timestamp, nonce = query_params(request, "signature", "timestamp", "nonce")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Rejected(403, "wrong signature") from None
        return timestamp, nonce

    def echo(self, request: web.Request) -> str:
        self._check_plain_signature(request)
        return query_params(request, "echostr")[0]

    async def open(self, request: web.Request) -> str:
        timestamp, nonce = self._check_plain_signature(request)
        body = await read_body(request)
        if request.query.get("encrypt_type", "raw").lower() == "aes":
            if self.crypto is None:
                raise Rejected(400, "encrypted message, but LINLI_MP_AES_KEY is not set")
            msg_signature = query_params(request, "msg_signature")[0]
            try:
                encrypt = envelope_encrypt(body)
                self.crypto.verify(encrypt, msg_signature, timestamp, nonce)
                self.check_fresh(timestamp)
                return self.crypto.decrypt(encrypt)
            except Forged as exc:
                raise Rejected(403, f"not from WeChat ({exc})") from None
            except Malformed as exc:
                raise Rejected(400, f"cannot decrypt the message ({exc})") from None
        if self.crypto is not None:
            # In safe mode the body is authenticated only by its encryption: refuse plain text.
            raise Rejected(403, "plain message while safe mode (LINLI_MP_AES_KEY) is configured")
        # The plain POST: its signature covers no body, so a captured query would sign any
        # body; freshness bounds how long it can be used.
        self.check_fresh(timestamp)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise Rejected(400, "body is not UTF-8") from None

    async def _handle(self, xml: str) -> web.Response:
        try:
            msg = wechatpy.parse_message(xml)
            if msg is None:
                raise Rejected(400, "empty message")
            kind = str(msg.type)
            openid = text_field(msg.source, "FromUserName", max_chars=MAX_ID_CHARS)
            sent_at = epoch_time(msg._data.get("CreateTime"), "CreateTime")
            if kind == "event":
                event = str(msg._data.get("Event", ""))
                await self.record_event(f"{openid}:{int(sent_at.timestamp())}:{event}", event)
                return _success()
            data = msg._data
            attachments = xml_attachments(kind, data)
            if kind == "text":
                content = text_field(msg.content, "Content")
            elif kind == "voice" and isinstance(data.get("Recognition"), str) and data["Recognition"]:
                content = data["Recognition"]  # speech recognition, when enabled for the account
            elif attachments is not None:
                content = ""
            else:
                log.info("mp: ignored a %s message from %s (not text, voice, image or location)", kind, openid)
                return _success()
            # Checked here, before the inbox, like every channel: an id longer than the inbox's
            # column failed a whole batch of other callbacks on PostgreSQL (issue 17).
            msg_id = message_id(msg._data.get("MsgId"), "MsgId")
        except CORRUPT as exc:
            raise Rejected(400, f"malformed message ({type(exc).__name__}: {str(exc)[:200]})") from None
        sender = await self.identify(openid)
        message = Message(
            channel=self.channel,
            community=sender.community.id,
            group_id=None,
            sender_id=sender.sender_id,
            sender_name=sender.name,
            text=content,
            msg_id=msg_id,
            sent_at=sent_at,
            mentions_bot=True,  # a one-to-one chat with the account
            sender_role=sender.role,  # type: ignore[arg-type]
            attachments=attachments or (),
        )

        async def on_new(session: AsyncSession, inbox_id: int) -> None:
            await add_member(session, sender, None)
            stmt = dialect_insert(session)(MpReplyWindow).values(openid=openid, last_message_at=sent_at, sent_since=0)
            await session.execute(stmt.on_conflict_do_update(
                index_elements=["openid"], set_={"last_message_at": sent_at, "sent_since": 0},
                where=MpReplyWindow.last_message_at <= sent_at))

        failed = await self.accept(message, sender, on_new)
        return failed or _success()


def _success() -> web.Response:
    return web.Response(text=SUCCESS, content_type="text/plain")
