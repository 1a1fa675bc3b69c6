"""What the channels keep: the WeChat channels' tokens, rate counters, reply windows and events,
shared between bot processes, and the web simulator's chat store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class ChannelToken(Base):
    """An access_token with its expiry, so every process uses the same one (wechatpy issue #684)."""

    __tablename__ = "channel_tokens"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # e.g. "wecom:<corp>:<agent>"
    token: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ChannelRateCount(Base):
    """Sends to one target in one fixed one-minute window (robot 20/min, member 30/min)."""

    __tablename__ = "channel_rate_counts"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class MpReplyWindow(Base):
    """When an Official Account follower last wrote: customer-service messages only within 48 h."""

    __tablename__ = "mp_reply_windows"

    openid: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_message_at: Mapped[dt.datetime]
    # Customer-service messages sent since that message (the platform allows a handful).
    sent_since: Mapped[int] = mapped_column(Integer, default=0)


class ChannelEvent(Base):
    """Callback events seen (wechatpy gives events id 0): a retried event is recognised and skipped."""

    __tablename__ = "channel_events"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), primary_key=True)  # sender:CreateTime:Event
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AibotReplyUrl(Base):
    """The one-use `response_url` of an AI-bot callback, to answer that message in its group."""

    __tablename__ = "aibot_reply_urls"

    msg_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    response_url: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class DeliveryProgress(Base):
    """How many parts of a long outbox text went out, so a retry never repeats the first parts."""

    __tablename__ = "delivery_progress"

    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), primary_key=True)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)


class SimTimeline(Base):
    """The web simulator's chat store: what a WeChat server would hold for its groups and chats."""

    __tablename__ = "sim_timeline"
    __table_args__ = (Index("ix_sim_timeline_chat", "chat_kind", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chat_kind: Mapped[str] = mapped_column(String(8))  # group | user
    chat_id: Mapped[str] = mapped_column(String(128))
    from_kind: Mapped[str] = mapped_column(String(8))  # user | bot
    sender_id: Mapped[str | None] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # A photo posted in the simulator (storage/models_attachments.py), shown in its bubble.
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("sim_uploads.id"))
