"""What staff teach the bot: labelled corrections, and the unsure messages kept for them (待确认)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow

UNSURE_STATUSES: tuple[str, ...] = ("pending", "filed", "chitchat")


class LabelCorrection(Base):
    """A message with the label staff gave it: a labelled example the next training learns from.

    `text` is masked (phone, ID and room numbers) before it is stored: it may end up in the corpus
    in git (`linli corpus export`). `previous` is the label the bot had given it.
    """

    __tablename__ = "label_corrections"
    __table_args__ = (Index("ix_label_corrections_created", "created_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(32))
    previous: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(128))
    actor_name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))  # "request" (a request's page), "unsure" (待确认), "command"
    request_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class UnsureMessage(Base):
    """A residents' group message that may be a request though nothing is sure of it (待确认): no reply
    in the group, kept for staff to file as a request or mark chit-chat.

    One row per (community, sender, text): the same words from the same person again only count up
    `seen`. Kept whole (staff see it on the staff page only); old rows are pruned daily.
    """

    __tablename__ = "unsure_messages"
    __table_args__ = (
        UniqueConstraint("community", "sender_id", "text_key", name="uq_unsure_sender_text"),
        Index("ix_unsure_community_status", "community", "status", "last_seen_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str | None] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    text_key: Mapped[str] = mapped_column(String(32))  # a hash of the normalized text
    label: Mapped[str] = mapped_column(String(32))  # what the bot read
    suggested: Mapped[str | None] = mapped_column(String(32))  # the most likely request label
    confidence: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # UNSURE_STATUSES
    seen: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[int | None] = mapped_column(Integer)
