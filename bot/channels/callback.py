"""What the three WeChat callbacks (WeCom app, WeCom AI bot, Official Account) share: the GET URL check,
the POST skeleton, and the checks of their query strings, bodies and fields.

A callback is answered only once its message is durable in the inbox, and at once after that:
200 with an empty body (or the channel's own "success"), then the message is handled in the
background (`Intake.hand_off`). WeChat retries a callback that is not answered within 5 s, so:
- a forged request (wrong signature, corp id or app id) gets 403 and a log line;
- a malformed one (bad XML/JSON, missing fields, corrupt ciphertext, an id longer than the inbox
  stores) gets 400: retrying cannot help; the signature is checked before anything in the body
  is parsed, so only WeChat's own bodies reach a parser;
- a signed request whose `timestamp` is further than the freshness window (LINLI_CALLBACK_MAX_AGE_SECONDS,
  5 minutes: WeChat retries within about 15 s) from our clock gets 403: a replay, or a clock is
  wrong. A younger replay hits the inbox key below; inbox rows are kept far longer than the
  window (bot/retention.py), so every replay meets one of the two;
- a message the inbox cannot store (database down) gets 503, so WeChat tries again;
- a retried message hits the inbox key (channel, msg id) and is dropped there, never handled
  twice. Events (wechatpy gives them id 0) are recognised by sender + CreateTime + event in
  `channel_events` (`record_event`).
"""

from __future__ import annotations

import binascii
import datetime as dt
import logging
import struct
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote
from xml.parsers.expat import ExpatError

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

from bot.channels.wechat_directory import Sender, WeChatDirectory, add_member
from bot.inbox import OnNew, Unstorable
from bot.intake import Intake
from bot.web_input import read_body as read_limited
from config.community import Community
from config.settings import Settings
from core.clock import Clock
from core.message import MAX_LABEL_CHARS, Attachment, Message
from storage.db import Database
from storage.models_channels import ChannelEvent
from storage.upsert import dialect_insert

log = logging.getLogger("linli.wechat")

MAX_BODY_BYTES = 64 * 1024
MAX_ID_CHARS = 128  # inbox msg_id / sender_id columns
MAX_MSG_ID_DIGITS = 32  # WeChat's MsgId is a 64-bit number (at most 20 digits)
# How far a callback's signed `timestamp` may be from our clock, either way: LINLI_CALLBACK_MAX_AGE_SECONDS
# (5 minutes). WeChat stamps a push when it sends it and retries three times within about 15 s
# (shared/notes/wechat-protocol.md §3); the rest is room for clocks a little off.
DEFAULT_MAX_AGE = dt.timedelta(seconds=Settings.model_fields["callback_max_age_seconds"].default)

# Not from WeChat: wrong signature, or a message for another corp / app.
FORGED = (InvalidSignatureException, InvalidCorpIdException, InvalidAppIdException)
# What wechatpy and xmltodict raise on garbage (measured: shared/notes/wechat-protocol.md §5).
CORRUPT = (struct.error, UnicodeDecodeError, binascii.Error, ValueError, KeyError, IndexError, TypeError,
           AttributeError, ExpatError)


class Rejected(Exception):
    """A callback we refuse: the HTTP status and why (for the log line and the body)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def rejection(channel: str, request: web.Request, exc: Rejected) -> web.Response:
    log.warning("%s callback %s %s rejected with %d: %s (from %s)", channel, request.method, request.path,
                exc.status, exc.reason, request.remote)
    return web.Response(status=exc.status, text=exc.reason)


def query_params(request: web.Request, *names: str) -> list[str]:
    values = []
    for name in names:
        value = request.query.get(name)
        if not value:
            raise Rejected(400, f"missing query parameter {name!r}")
        values.append(value)
    return values


def raw_query_values(request: web.Request, name: str) -> list[str]:
    """The candidates for a base64 query value: aiohttp turns a literal '+' into a space.

    WeCom percent-encodes `echostr` (%2B), but a proxy or a hand-made request may not; the
    percent-decoded raw query (no '+' → ' ') comes first, then what aiohttp decoded.
    """
    found: list[str] = []
    for pair in request.query_string.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key) == name:
            found.append(unquote(value))
            break
    decoded = request.query.get(name)
    if decoded is not None:
        found.append(decoded)
        if " " in decoded:
            found.append(decoded.replace(" ", "+"))
    return list(dict.fromkeys(v for v in found if v))


async def read_body(request: web.Request) -> bytes:
    try:
        raw = await read_limited(request, MAX_BODY_BYTES)
    except web.HTTPRequestEntityTooLarge:
        raise Rejected(413, f"body larger than {MAX_BODY_BYTES} bytes") from None
    if not raw.strip():
        raise Rejected(400, "empty body")
    return raw


def check_echo(crypto: WeComCrypto, request: web.Request) -> str:
    """Verifies a WeCom URL check (app or AI bot) and returns the decrypted echostr."""
    signature, timestamp, nonce = query_params(request, "msg_signature", "timestamp", "nonce")
    candidates = raw_query_values(request, "echostr")
    if not candidates:
        raise Rejected(400, "missing query parameter 'echostr'")
    for echostr in candidates:
        try:
            return str(crypto.check_signature(signature, timestamp, nonce, echostr))
        except InvalidSignatureException:
            continue  # the next spelling of echostr may be the one WeCom signed
        except InvalidCorpIdException:
            raise Rejected(403, "echostr is for another corp id / receive id") from None
        except CORRUPT as exc:
            raise Rejected(400, f"echostr cannot be decrypted ({type(exc).__name__})") from None
    raise Rejected(403, "wrong signature")


def text_field(value: Any, name: str, *, max_chars: int | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Rejected(400, f"missing field {name}")
    if max_chars is not None and len(value) > max_chars:
        raise Rejected(400, f"field {name} is longer than {max_chars} characters")
    return value


def image_attachment(media_id: Any, url: Any, what: str) -> Attachment:
    """An image by its media id and/or download URL (WeCom/OA: MediaId and PicUrl; AI bot: url)."""
    media_id = media_id.strip() if isinstance(media_id, str) and media_id.strip() else None
    url = url.strip() if isinstance(url, str) and url.strip() else None
    try:
        return Attachment("image", media_id=media_id, url=url)
    except ValueError as exc:
        raise Rejected(400, f"{what}: {exc}") from None


def location_attachment(latitude: Any, longitude: Any, label: Any, what: str) -> Attachment:
    """A location by its coordinates (WeChat's Location_X is the latitude, Location_Y the longitude)."""
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError):
        raise Rejected(400, f"{what}: the coordinates are not numbers") from None
    name = " ".join(label.split())[:MAX_LABEL_CHARS] if isinstance(label, str) and label.strip() else None
    try:
        return Attachment("location", latitude=lat, longitude=lon, label=name)
    except ValueError as exc:
        raise Rejected(400, f"{what}: {exc}") from None


def xml_attachments(kind: str, fields: Mapping[str, Any]) -> tuple[Attachment, ...] | None:
    """The photo or location of a WeCom-app or Official-Account message, which name them alike
    (`MediaId`, `PicUrl`; `Location_X` the latitude, `Location_Y`, `Label`); None for other kinds."""
    if kind == "image":  # fetched later through media/get (bot/media_fetcher.py)
        return (image_attachment(fields.get("MediaId"), fields.get("PicUrl"), "image"),)
    if kind == "location":
        return (location_attachment(fields.get("Location_X"), fields.get("Location_Y"), fields.get("Label"),
                                    "location"),)
    return None


def message_id(value: Any, name: str) -> str:
    """A WeChat MsgId: digits, not all zeros (wechatpy's "no id"), at most MAX_MSG_ID_DIGITS; as a
    canonical string (no leading zeros), so a retry written differently is the same inbox key."""
    text = value.strip() if isinstance(value, str) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_MSG_ID_DIGITS or not text.strip("0"):
        raise Rejected(400, f"missing field {name} (digits, at most {MAX_MSG_ID_DIGITS})")
    return str(int(text))


def epoch_time(value: Any, name: str) -> dt.datetime:
    try:
        seconds = int(value)
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise Rejected(400, f"field {name} is not a time") from None


class CallbackChannel:
    """What the three WeChat callbacks share: the GET URL check and the POST skeleton (verify and
    decrypt in `open`, refuse with `Rejected`, then `_handle`), identifying the sender, storing
    durably, handing off. A channel supplies `echo`, `open` and `_handle`."""

    channel: str  # the inbox's channel name (set by each channel)
    logger: logging.Logger  # each channel logs under its own name
    path: str  # where the channel mounts (set by each channel)

    def __init__(self, db: Database, people: WeChatDirectory, intake: Intake, clock: Clock, *,
                 max_age: dt.timedelta = DEFAULT_MAX_AGE) -> None:
        self.db = db
        self.people = people
        self.intake = intake
        self.clock = clock
        self.max_age = max_age

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(self.path, self.verify)
        app.router.add_post(self.path, self.receive)

    def echo(self, request: web.Request) -> str:
        """Checks a URL check (GET) and returns what to echo; raises `Rejected`."""
        raise NotImplementedError

    async def open(self, request: web.Request) -> Any:
        """Checks a callback (POST) is from WeChat and returns its message, decrypted; raises `Rejected`."""
        raise NotImplementedError

    async def _handle(self, payload: Any) -> web.Response:
        """Answers the opened message (stores it via `accept`, records an event, or ignores it)."""
        raise NotImplementedError

    async def verify(self, request: web.Request) -> web.Response:
        try:
            echo = self.echo(request)
        except Rejected as exc:
            return rejection(self.channel, request, exc)
        self.logger.info("%s: callback URL verified", self.channel)
        return web.Response(text=echo, content_type="text/plain")

    async def receive(self, request: web.Request) -> web.Response:
        try:
            return await self._handle(await self.open(request))
        except Rejected as exc:
            return rejection(self.channel, request, exc)
        except Exception:  # a bug of ours: WeChat may retry later, and the log says why
            self.logger.exception("%s: callback failed", self.channel)
            return web.Response(status=503)

    def check_fresh(self, timestamp: str) -> None:
        """A signed request from further than `max_age` away (past or future) is a replay, or a
        clock is wrong: refused (403, logged by `rejection`)."""
        sent = epoch_time(timestamp, "timestamp")
        skew = (self.clock.now() - sent).total_seconds()
        if abs(skew) > self.max_age.total_seconds():
            raise Rejected(403, f"stale timestamp ({skew:+.0f} s from our clock; at most "
                                f"{self.max_age.total_seconds():.0f} s): a replay, or a clock is wrong")

    async def identify(self, raw_id: str, community: Community | None = None) -> Sender:
        try:
            return await self.people.sender(self.db, raw_id, channel=self.channel, community=community)
        except Exception:
            log.exception("%s: could not look up sender %s", self.channel, raw_id)
            raise Rejected(503, "cannot look up the sender right now") from None

    async def accept(self, message: Message, sender: Sender, on_new: OnNew | None) -> web.Response | None:
        """Stores `message` and hands it off for handling; returns the error response when it could
        not be stored (a retried callback is dropped here, by the inbox key).

        Once stored, a new `sender` is a member (their row went in with the message): remembered,
        so their next callbacks need no lookup."""
        try:
            stored = await self.intake.store(message, on_new)
        except Unstorable as exc:  # this message can never be stored (logged once, by the inbox)
            return web.Response(status=400, text=f"cannot store this message: {exc}")
        except Exception:
            log.exception("%s: could not store message %s; asking WeChat to retry", self.channel, message.msg_id)
            return web.Response(status=503, text="cannot store the message right now")
        self.people.remember(sender)
        if stored.duplicate:
            log.info("%s: message %s is a retry; already stored", self.channel, message.msg_id)
        else:
            await self.intake.hand_off(stored, message)
        return None

    async def record_event(self, key: str, what: str) -> bool:
        """True the first time this event is seen (retries are skipped)."""
        key = key[:200]
        try:
            async with self.db.transaction() as session:
                stmt = dialect_insert(session)(ChannelEvent).values(channel=self.channel, event_key=key,
                                                                    received_at=self.clock.now())
                result = await session.execute(stmt.on_conflict_do_nothing())
        except Exception:
            log.exception("%s: could not record event %s", self.channel, key)
            raise Rejected(503, "cannot store the event right now") from None
        first = bool(result.rowcount)
        log.info("%s: event %s %s%s", self.channel, what, key, "" if first else " (retry, skipped)")
        return first

    def member_on_new(self, sender: Sender, group_id: str | None) -> OnNew | None:
        if not sender.is_new:
            return None  # nothing to add: the inbox row goes alone (its lean path)

        async def on_new(session: AsyncSession, inbox_id: int) -> None:
            await add_member(session, sender, group_id)

        return on_new
