"""The channel boundary: every channel turns its wire format into a `Message` and sends `Outgoing`s.

Handlers only ever see these two types, never XML, HTTP or wechatpy objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["resident", "staff", "volunteer"]
Audience = Literal["group", "user"]
AttachmentKind = Literal["image", "location"]

# At most this many attachments in one message (a WeCom AI-bot message mixes text and images).
MAX_ATTACHMENTS = 20
MAX_LABEL_CHARS = 200
MAX_REF_CHARS = 2048  # a media id or a download URL


@dataclass(frozen=True)
class Attachment:
    """A photo or a location that came with a message, as a reference: the photo's bytes are fetched
    later through the channel's media API (never while WeChat waits for its callback's answer).

    An image has a `media_id` (WeCom app, Official Account, the simulator's upload) and/or a `url`
    to download it from (the AI bot's encrypted image, the WeCom/OA PicUrl); a location has its
    coordinates (WGS-84 or GCJ-02, as the platform gives them) and the place's name.
    """

    kind: AttachmentKind
    media_id: str | None = None
    url: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if self.kind == "image":
            if not (self.media_id or self.url):
                raise ValueError("an image attachment needs a media_id or a url")
            if self.url is not None and not self.url.startswith(("https://", "http://")):
                raise ValueError("an image url must be http(s)")
        elif self.kind == "location":
            if self.latitude is None or self.longitude is None:
                raise ValueError("a location attachment needs latitude and longitude")
            if not (-90.0 <= self.latitude <= 90.0 and -180.0 <= self.longitude <= 180.0):
                raise ValueError("latitude/longitude out of range")
        else:
            raise ValueError(f"unknown attachment kind {self.kind!r}")
        for ref in (self.media_id, self.url):
            if ref is not None and not 0 < len(ref) <= MAX_REF_CHARS:
                raise ValueError(f"a media id or url must be 1 to {MAX_REF_CHARS} characters")
        if self.label is not None and len(self.label) > MAX_LABEL_CHARS:
            raise ValueError(f"a location label is at most {MAX_LABEL_CHARS} characters")


@dataclass(frozen=True)
class Message:
    """One message a person sent, as the bot sees it whichever channel it came from."""

    channel: str  # "sim", "wecom", "wecom_aibot", "mp"
    community: str
    group_id: str | None  # None for a one-to-one chat with the bot
    sender_id: str
    sender_name: str
    text: str
    msg_id: str
    sent_at: dt.datetime  # tz-aware
    mentions_bot: bool = False
    sender_role: Role = "resident"
    # Photos and locations sent with (or as) this message; `text` may be "" when there are some.
    attachments: tuple[Attachment, ...] = ()

    def __post_init__(self) -> None:
        if self.sent_at.tzinfo is None:
            raise ValueError("Message.sent_at must be timezone-aware")
        if not isinstance(self.attachments, tuple) or not all(isinstance(a, Attachment) for a in self.attachments):
            raise ValueError("Message.attachments must be a tuple of Attachment")
        if len(self.attachments) > MAX_ATTACHMENTS:
            raise ValueError(f"a message has at most {MAX_ATTACHMENTS} attachments")

    @property
    def is_group(self) -> bool:
        return self.group_id is not None


@dataclass(frozen=True)
class Outgoing:
    """Something the bot says: to a group or privately to one person, through a channel's sender."""

    channel: str
    community: str
    to: Audience
    target: str  # group id or person id
    text: str
    # Rows with the same key are written once: scheduled posts use it to be idempotent
    # (e.g. "theme:g-res-1:2026-11-25").
    idempotency_key: str | None = None
    # People to @ in a group post: person ids (or WeCom userids of people not in the community
    # file), "@all" for everyone. Stored with the outbox row; the WeCom group robot notifies them
    # (`mentioned_list`), other routes send the text without.
    mentions: tuple[str, ...] = field(default=())
