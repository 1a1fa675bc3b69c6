"""Where each channel's photos are fetched from: a media reference (`core.message.Attachment`) in, bytes out.

- WeCom app: `GET /cgi-bin/media/get?access_token=…&media_id=…` with the app's shared token (a
  temporary media id lives 3 days); the answer is the file, or JSON with an errcode.
- Official Account: the same path on its own API base, with the account's stable token.
- WeCom AI bot: the image's `url` (valid for a few minutes) serves the file AES-256-CBC-encrypted
  with the bot's EncodingAESKey: key = base64(EncodingAESKey + "="), IV = its first 16 bytes,
  PKCS#7 padding to 32 bytes, as the callbacks themselves (WeCom 智能机器人 doc 100719 "接收消息"
  lists the image and mixed messages; the encryption of the file is described by peers that
  download it: AstrBot's wecom_ai_bot `process_encrypted_image`, CowAgent's wecom_bot channel —
  secondary sources, not in shared/notes/wechat-protocol.md).
- The simulator: its own upload store (media id "sim:<id>").
A WeCom or OA image without a media id (or whose channel has no API configured) is downloaded from
its `PicUrl`. Errors are `TemporaryError` (retry), `PermanentError` (give up), `TooLarge` (over
the limit, not read further) or `Unreadable` (not a file we can read: refused as no image).
"""

from __future__ import annotations

import json
from typing import Protocol

from bot.channels.wechat_codec import BLOCK, Malformed, aes_open, wechat_cipher
from bot.channels.wecom_api import (
    MP_TOKEN_ERRORS,
    WECOM_TOKEN_ERRORS,
    MpApi,
    TooLarge,
    WeChatHttp,
    WeComApi,
    errcode_of,
    raise_for_errcode,
)
from config.settings import Settings
from core.delivery import PermanentError, Sender
from core.message import Attachment
from storage import attachments_repo
from storage.db import Database

SIM_PREFIX = "sim:"


class Unreadable(PermanentError):
    """The platform sent something that cannot be an image (e.g. it does not decrypt)."""


class MediaSource(Protocol):
    async def fetch(self, attachment: Attachment, max_bytes: int) -> bytes:
        """The image's bytes, or one of the errors above."""
        ...


def json_error(body: bytes, content_type: str) -> dict[str, object] | None:
    """The platform's JSON error answer (`{"errcode": …}`) instead of a file, if it is one."""
    if not body[:1] == b"{" or len(body) > 4096 or not ("json" in content_type or "text" in content_type):
        return None
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) and "errcode" in value else None


async def _download_url(http: WeChatHttp, attachment: Attachment, max_bytes: int, what: str) -> bytes:
    if not attachment.url:
        raise PermanentError(f"{what}: the image has neither a media id we can fetch nor a url")
    body, content_type = await http.download(attachment.url, what, max_bytes=max_bytes)
    error = json_error(body, content_type)
    if error is not None:
        raise_for_errcode(error, what)
        raise Unreadable(f"{what}: JSON instead of an image")
    return body


class PlatformMedia:
    """`/cgi-bin/media/get` of the WeCom app or the Official Account, with one token refresh."""

    def __init__(self, api: WeComApi | MpApi, token_errors: frozenset[int], what: str) -> None:
        self.api = api
        self.token_errors = token_errors
        self.what = what

    async def fetch(self, attachment: Attachment, max_bytes: int) -> bytes:
        if not attachment.media_id:
            return await _download_url(self.api.http, attachment, max_bytes, f"{self.what} PicUrl")
        url = f"{self.api.base}/cgi-bin/media/get"
        token = await self.api.tokens.token()
        for attempt in (1, 2):
            body, content_type = await self.api.http.download(
                url, self.what, max_bytes=max_bytes, params={"access_token": token, "media_id": attachment.media_id})
            error = json_error(body, content_type)
            if error is None:
                return body
            if errcode_of(error) in self.token_errors and attempt == 1:  # expired early: one fresh token
                token = await self.api.tokens.refresh(token)
                continue
            raise_for_errcode(error, self.what, temporary=self.token_errors)
        raise Unreadable(f"{self.what}: no image in the answer")


class UrlMedia:
    """A WeCom/OA image whose channel has no media API configured: its PicUrl."""

    def __init__(self, http: WeChatHttp, what: str) -> None:
        self.http = http
        self.what = what

    async def fetch(self, attachment: Attachment, max_bytes: int) -> bytes:
        return await _download_url(self.http, attachment, max_bytes, f"{self.what} PicUrl")


class AibotMedia:
    """The AI bot's encrypted image URL, decrypted with the bot's EncodingAESKey (as its callbacks)."""

    def __init__(self, http: WeChatHttp, encoding_aes_key: str) -> None:
        self.http = http
        self.cipher = wechat_cipher(encoding_aes_key)

    async def fetch(self, attachment: Attachment, max_bytes: int) -> bytes:
        # The ciphertext is the image plus at most one block of padding.
        sealed = await _download_url(self.http, attachment, max_bytes + BLOCK, "wecom aibot image")
        return self.decrypt(sealed)

    def decrypt(self, sealed: bytes) -> bytes:
        try:
            return aes_open(self.cipher, sealed)
        except Malformed as exc:
            raise Unreadable(f"wecom aibot image: {exc} (not encrypted with this bot's key?)") from None


class SimMedia:
    """The simulator's uploads, in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def fetch(self, attachment: Attachment, max_bytes: int) -> bytes:
        ref = attachment.media_id or ""
        if not ref.startswith(SIM_PREFIX) or not ref[len(SIM_PREFIX):].isdigit():
            raise PermanentError(f"simulator: {ref!r} is no upload")
        async with self.db.transaction() as session:
            upload = await attachments_repo.sim_upload(session, int(ref[len(SIM_PREFIX):]))
            data = upload.data if upload is not None else None
        if data is None:
            raise PermanentError(f"simulator: upload {ref} is gone")
        if len(data) > max_bytes:
            raise TooLarge(f"simulator upload: {len(data)} bytes", size=len(data))
        return data


def build_media_sources(settings: Settings, db: Database, senders: dict[str, Sender]) -> dict[str, MediaSource]:
    """A source per channel that can carry photos, with the API clients the senders already hold
    (their tokens are the same shared tokens)."""
    sources: dict[str, MediaSource] = {"sim": SimMedia(db)}
    wechat = senders.get("wecom")
    http: WeChatHttp | None = getattr(wechat, "http", None)
    if http is None:
        return sources
    wecom: WeComApi | None = getattr(wechat, "wecom", None)
    mp: MpApi | None = getattr(wechat, "mp", None)
    sources["wecom"] = PlatformMedia(wecom, WECOM_TOKEN_ERRORS, "wecom media/get") if wecom else UrlMedia(http, "wecom")
    sources["mp"] = PlatformMedia(mp, MP_TOKEN_ERRORS, "mp media/get") if mp else UrlMedia(http, "mp")
    if settings.wecom_aibot_aes_key:
        sources["wecom_aibot"] = AibotMedia(http, settings.wecom_aibot_aes_key)
    return sources
