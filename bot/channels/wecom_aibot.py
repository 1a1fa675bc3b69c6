"""The WeCom AI bot (智能机器人, API mode) callback: residents @-mentioning the bot in group chats.

The platform POSTs `{"encrypt": …}` with the WeCom signature and AES scheme and an empty receive
id. The value is found in the body and its signature checked before any JSON is parsed (a forged
body never reaches a parser), and both JSON texts are parsed with bounded depth and numbers
(bot/web_input.py). The plaintext is JSON (`msgid`, `aibotid`, `chatid`, `chattype` group|single, `from.userid`,
`response_url`, `msgtype`, `text.content` starting with "@bot", optional `quote`). Besides `text`, an
`image` (private chats) and a `mixed` message (text and images; what an @-mention with a photo
is in a group) are understood: their images are encrypted `url`s, valid for minutes, fetched
in the background (bot/channels/media_sources.py, bot/media_fetcher.py). The answer is
200 with an empty body once the message is stored; the reply goes out later through the
message's one-use `response_url` (bot/channels/wecom_senders.py), valid for an hour (secondary
source: sipeed/picoclaw docs/channels/wecom/wecom_aibot; unverified against the official page).
Chat ids map to groups through `wecom_chat_id` in the community file; a chat that maps to no
group is acknowledged and logged with its id (so an operator can add it), never stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from bot.channels.callback import (
    MAX_ID_CHARS,
    CallbackChannel,
    Rejected,
    check_echo,
    epoch_time,
    image_attachment,
    query_params,
    read_body,
    text_field,
)
from bot.channels.wechat_codec import CallbackCodec, Forged, Malformed
from bot.channels.wechat_directory import add_member
from bot.web_input import BadInput, parse_json_object
from core.message import MAX_ATTACHMENTS, Attachment, Message
from storage.models_channels import AibotReplyUrl

log = logging.getLogger("linli.wechat.aibot")

CHANNEL = "wecom_aibot"
CALLBACK_PATH = "/wecom/aibot/callback"
RESPONSE_URL_TTL = dt.timedelta(hours=1)
MAX_MIXED_ITEMS = 50
MAX_URL_CHARS = 2048
# The envelope's one field, base64 (a JSON encoder may write "/" as "\/").
_ENCRYPT = re.compile(rb'"encrypt"\s*:\s*"((?:[A-Za-z0-9+=]|/|\\/)+)"')


class AibotCallback(CallbackChannel):
    channel = CHANNEL
    logger = log

    def __init__(self, *args: Any, token: str, aes_key: str, path: str = CALLBACK_PATH, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crypto = WeComCrypto(token, aes_key, "")  # the URL check; AI bots use an empty receive id
        self.codec = CallbackCodec(token, aes_key, "")  # messages
        self.path = path

    def add_routes(self, app: web.Application) -> None:
        super().add_routes(app)
        log.info("wecom_aibot: callback at %s", self.path)

    def echo(self, request: web.Request) -> str:
        return check_echo(self.crypto, request)

    async def open(self, request: web.Request) -> dict[str, Any]:
        signature, timestamp, nonce = query_params(request, "msg_signature", "timestamp", "nonce")
        found = _ENCRYPT.search(await read_body(request))
        if found is None:
            raise Rejected(400, "missing field encrypt")
        encrypted = found.group(1).replace(b"\\/", b"/").decode("ascii")
        try:
            self.codec.verify(encrypted, signature, timestamp, nonce)
            self.check_fresh(timestamp)
            plain = self.codec.decrypt(encrypted)
        except Forged as exc:
            raise Rejected(403, f"not from WeCom ({exc})") from None
        except Malformed as exc:
            raise Rejected(400, f"cannot decrypt the message ({exc})") from None
        try:
            return parse_json_object(plain.encode("utf-8", "surrogatepass"), "decrypted message")
        except BadInput as exc:
            raise Rejected(400, str(exc)) from None

    async def _handle(self, data: dict[str, Any]) -> web.Response:
        msgtype = data.get("msgtype")
        sender_field = data.get("from")
        userid = text_field(sender_field.get("userid") if isinstance(sender_field, dict) else None, "from.userid",
                            max_chars=MAX_ID_CHARS)
        if msgtype == "event":
            event = data.get("event")
            kind = event.get("eventtype") if isinstance(event, dict) else None
            await self.record_event(str(data.get("msgid") or f"{userid}:{data.get('create_time')}:{kind}"),
                                    str(kind))
            return web.Response(status=200)
        msg_id = text_field(data.get("msgid"), "msgid", max_chars=MAX_ID_CHARS)
        chattype = data.get("chattype")
        if chattype not in ("group", "single"):
            raise Rejected(400, "field chattype must be 'group' or 'single'")
        attachments: tuple[Attachment, ...] = ()
        if msgtype == "text":
            text = data.get("text")
            content = text_field(text.get("content") if isinstance(text, dict) else None, "text.content")
        elif msgtype in ("image", "mixed"):
            content, attachments = _text_and_images(data, msgtype)
        else:
            log.info("wecom_aibot: ignored a %s message %s (text, image and mixed are understood)", msgtype, msg_id)
            return web.Response(status=200)
        response_url = data.get("response_url")
        if response_url is not None and (not isinstance(response_url, str) or len(response_url) > MAX_URL_CHARS
                                         or not response_url.startswith(("https://", "http://"))):
            raise Rejected(400, "field response_url is not a URL")
        group_id = None
        community = None
        if chattype == "group":
            chat_id = text_field(data.get("chatid"), "chatid", max_chars=MAX_ID_CHARS)
            found = self.people.group_for_chat(chat_id)
            if found is None:
                log.warning("wecom_aibot: message %s from chat %r, which is no group in the community file "
                            "(set wecom_chat_id on the group to answer there); not handled", msg_id, chat_id)
                return web.Response(status=200)
            community, group = found
            group_id = group.id
        sent_at = epoch_time(data["create_time"], "create_time") if "create_time" in data else self.clock.now()
        sender = await self.identify(userid, community)
        message = Message(
            channel=self.channel,
            community=sender.community.id,
            group_id=group_id,
            sender_id=sender.sender_id,
            sender_name=sender.name,
            text=content,
            msg_id=msg_id,
            sent_at=sent_at,
            mentions_bot=True,  # the platform only calls back when the bot is mentioned
            sender_role=sender.role,  # type: ignore[arg-type]
            attachments=attachments,
        )
        expires = self.clock.now() + RESPONSE_URL_TTL

        async def on_new(session: AsyncSession, inbox_id: int) -> None:
            await add_member(session, sender, group_id)
            if response_url:
                session.add(AibotReplyUrl(msg_id=msg_id, response_url=response_url, expires_at=expires))

        failed = await self.accept(message, sender, on_new)
        return failed or web.Response(status=200)


def _text_and_images(data: dict[str, Any], msgtype: str) -> tuple[str, tuple[Attachment, ...]]:
    """An `image` message (private chats) or a `mixed` one (text and images; also @-mentions in
    groups): its words, joined, and its images (each an encrypted `url`, fetched later)."""
    if msgtype == "image":
        image = data.get("image")
        return "", (image_attachment(None, image.get("url") if isinstance(image, dict) else None, "image.url"),)
    mixed = data.get("mixed")
    items = mixed.get("msg_item") if isinstance(mixed, dict) else None
    if not isinstance(items, list) or not items or len(items) > MAX_MIXED_ITEMS:
        raise Rejected(400, f"field mixed.msg_item must be a list of 1 to {MAX_MIXED_ITEMS} items")
    words: list[str] = []
    images: list[Attachment] = []
    for item in items:
        kind = item.get("msgtype") if isinstance(item, dict) else None
        body = item.get(kind) if isinstance(item, dict) and isinstance(kind, str) else None
        if kind == "text":
            words.append(text_field(body.get("content") if isinstance(body, dict) else None, "mixed text.content"))
        elif kind == "image":
            images.append(image_attachment(None, body.get("url") if isinstance(body, dict) else None,
                                           "mixed image.url"))
    if len(images) > MAX_ATTACHMENTS:  # keep the words and the first ones rather than lose the message
        log.warning("wecom_aibot: %d images in one message; keeping the first %d", len(images), MAX_ATTACHMENTS)
        images = images[:MAX_ATTACHMENTS]
    content = "\n".join(words)
    if not content and not images:
        raise Rejected(400, "a mixed message with neither text nor images")
    return content, tuple(images)

