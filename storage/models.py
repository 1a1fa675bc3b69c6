"""SQLAlchemy models of everything linli keeps. Migrations in `storage/migrations` mirror them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Member(Base):
    """A person who is not in the community file but joined a group (a new resident)."""

    __tablename__ = "members"

    community: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16), default="resident")
    first_group: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class InboxMessage(Base):
    """Every message received, stored before it is handled; (channel, msg_id) drops retries."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "msg_id", name="uq_inbox_channel_msg"),
        Index("ix_inbox_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    msg_id: Mapped[str] = mapped_column(String(128))
    community: Mapped[str] = mapped_column(String(64))
    group_id: Mapped[str | None] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(64))
    sender_role: Mapped[str] = mapped_column(String(16), default="resident")
    text: Mapped[str] = mapped_column(Text)
    mentions_bot: Mapped[bool] = mapped_column(Boolean, default=False)
    sent_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # new -> done | failed; "new" rows are picked up again after a crash.
    status: Mapped[str] = mapped_column(String(8), default="new")
    label: Mapped[str | None] = mapped_column(String(32))
    handler: Mapped[str | None] = mapped_column(String(32))
    processed_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class OutboxMessage(Base):
    """Something to send; delivered by the channel's sender with retries, marked sent once."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        # Pending rows only (issue 19): due rows, and earlier pending rows of a chat (the claims).
        Index("ix_outbox_pending_due", "next_attempt_at", "id", postgresql_where=sql_text("status = 'pending'"),
              sqlite_where=sql_text("status = 'pending'")),
        Index("ix_outbox_pending_chat", "channel", "target", "id", postgresql_where=sql_text("status = 'pending'"),
              sqlite_where=sql_text("status = 'pending'")),
        Index("ix_outbox_reply_to", "reply_to"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    community: Mapped[str] = mapped_column(String(64))
    audience: Mapped[str] = mapped_column(String(8))  # group | user
    target: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    reply_to: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    # People to @ (`Outgoing.mentions`) as a JSON list; NULL when none.
    mentions: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[dt.datetime | None]


class ConversationState(Base):
    """A pending question to one person in one chat (slot filling), forgotten at `expires_at`."""

    __tablename__ = "conversation_state"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # group id, or "" for 1:1
    sender_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    intent: Mapped[str] = mapped_column(String(32))
    slot: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# The capabilities' models live in modules of their own; importing them here puts every table on
# Base.metadata, which Alembic and the migration test compare against.
from storage import (  # noqa: E402
    models_attachments,  # noqa: F401
    models_attendance,  # noqa: F401
    models_booking,  # noqa: F401
    models_channels,  # noqa: F401
    models_learning,  # noqa: F401
    models_notices,  # noqa: F401
    models_requests,  # noqa: F401
    models_scheduler,  # noqa: F401
)
