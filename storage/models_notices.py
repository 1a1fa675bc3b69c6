"""Staff notices to residents' groups (停水, 疫苗接种, 防诈骗): drafted, confirmed, sent now or at a time."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow

# draft: previewed, waiting for 确认; scheduled: confirmed for `send_at`; sent: in the outbox (one
# row per group, key notice:{id}:{group}); cancelled: dropped by staff; missed: its time passed
# while the bot was down for longer than the grace, staff were told instead.
NOTICE_STATUSES: tuple[str, ...] = ("draft", "scheduled", "sent", "cancelled", "missed")


class Notice(Base):
    """One notice and the groups it goes to; who wrote it, when it was confirmed and sent."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_community_created", "community", "created_at"),
        Index("ix_notices_status_send_at", "status", "send_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(128))
    author_name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    targets: Mapped[list[str]] = mapped_column(JSON)  # group ids
    audience: Mapped[str] = mapped_column(String(200))  # what staff asked for: 全部居民群, 3号楼 …
    status: Mapped[str] = mapped_column(String(12), default="draft")
    via: Mapped[str] = mapped_column(String(8))  # chat | web
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    send_at: Mapped[dt.datetime | None]  # the time a scheduled notice goes out
    confirmed_by: Mapped[str | None] = mapped_column(String(128))
    confirmed_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]  # when its rows went into the outbox
    cancelled_at: Mapped[dt.datetime | None]
