"""Photos and locations residents send (issue 16 item 9): what came with which message, the request it
belongs to, and the checked image bytes; and the simulator's uploads (its stand-in for WeChat's media store).

The bytes live in the database, not in files under a data directory: with several bot processes on
one PostgreSQL (possibly on several machines) the database is the one place every process can read
what another fetched, and `linli backup` keeps the photos with the requests they document. A size
limit (LINLI_MEDIA_MAX_BYTES) bounds each row; the staff page reads a thumbnail, not the original.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow

# pending: to fetch; ready: a stored image, or a location; refused: too large or not an image
# (the sender was told); failed: could not be fetched after the retries (the sender was told).
ATTACHMENT_STATUSES: tuple[str, ...] = ("pending", "ready", "refused", "failed")


class RequestAttachment(Base):
    """A photo or a location a person sent, attached to a request (`request_id`), or waiting for the
    report that follows (NULL). Written with the inbox row of its message, so nothing is lost
    before it is handled; `position` orders the attachments of one message."""

    __tablename__ = "request_attachments"
    __table_args__ = (
        UniqueConstraint("channel", "msg_id", "position", name="uq_request_attachments_message"),
        Index("ix_request_attachments_due", "status", "next_attempt_at"),
        Index("ix_request_attachments_request", "request_id", "id"),
        # "what did this person send in the last minutes that waits for a report"
        Index("ix_request_attachments_sender", "community", "sender_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    msg_id: Mapped[str] = mapped_column(String(128))  # the inbox key (channel, msg_id) of its message
    position: Mapped[int] = mapped_column(Integer, default=0)
    group_id: Mapped[str | None] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # image | location
    media_id: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    status: Mapped[str] = mapped_column(String(8), default="pending")
    reason: Mapped[str | None] = mapped_column(String(16))  # refused: too_large | not_image
    content_type: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due for a fetch attempt; a process that claims the row moves it on by a lease, so a row
    # whose fetcher died is tried again once the lease is over.
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attached_at: Mapped[dt.datetime | None]
    fetched_at: Mapped[dt.datetime | None]


class AttachmentFile(Base):
    """The checked bytes of a ready image and its thumbnail (JPEG), apart from the row so that
    lists of attachments never read megabytes."""

    __tablename__ = "attachment_files"

    attachment_id: Mapped[int] = mapped_column(ForeignKey("request_attachments.id"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    thumbnail: Mapped[bytes] = mapped_column(LargeBinary)


class SimUpload(Base):
    """An image posted in the simulator: what WeChat's media store holds for a real channel (the
    message refers to it as media id "sim:<id>", and it is fetched and checked like any other)."""

    __tablename__ = "sim_uploads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
