"""Residents' requests (报事) with their history, the residents who reported them, and staff web sessions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow

OPEN_STATUSES: tuple[str, ...] = ("new", "acknowledged", "in_progress")
STATUSES: tuple[str, ...] = (*OPEN_STATUSES, "resolved", "closed", "rejected")
TIERS: tuple[str, ...] = ("grid", "community", "street")


class Request(Base):
    """One problem staff follow to the end; several residents reporting it share one row."""

    __tablename__ = "requests"
    __table_args__ = (
        # The digest's questions: "created on that day" (by category), "resolved on that day",
        # "open now" (oldest first). A category-only index would be chosen for date ranges and
        # is slow (DESIGN.md), so every index leads with the community and a time or status.
        Index("ix_requests_community_created", "community", "created_at", "category"),
        Index("ix_requests_community_resolved", "community", "resolved_at"),
        # Covering for the open counts by category, tier and grid (no table lookups: 0.24 s -> 0.04 s at 1M).
        Index("ix_requests_community_status", "community", "status", "created_at", "category", "tier", "grid"),
        # "urgent and still open, oldest first": without it SQLite walks the created_at index
        # over every request (0.5 s at 100k rows).
        Index("ix_requests_community_urgent", "community", "urgent", "status", "created_at"),
        Index("ix_requests_group_created", "group_id", "created_at"),
        # "my open requests" (我的工单, the page's owner filter) and the overdue check.
        Index("ix_requests_community_owner", "community", "owner_id", "status"),
        Index("ix_requests_community_due", "community", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str | None] = mapped_column(String(64))
    sender_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16))  # repair … elderly_care, policy
    text: Mapped[str] = mapped_column(Text)
    building: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[int | None] = mapped_column(Integer)
    room: Mapped[str | None] = mapped_column(String(8))
    grid: Mapped[str] = mapped_column(String(64))  # a grid id, else the sender's group id
    tier: Mapped[str] = mapped_column(String(16))  # grid | community | street
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="new")
    team: Mapped[str | None] = mapped_column(String(64))  # volunteer team asked to help (policy)
    affected: Mapped[int] = mapped_column(Integer, default=1)  # residents who reported it
    note: Mapped[str | None] = mapped_column(Text)  # staff's note on resolving, or why it was rejected
    # Optimistic concurrency: every change is `UPDATE … WHERE version = <the one read>`.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    # What the problem is about (楼道灯, 门禁, 电梯 … from `requests.objects`): merges need the same.
    object: Mapped[str | None] = mapped_column(String(32))
    owner_id: Mapped[str | None] = mapped_column(String(128))  # the staff member who handles it
    due_at: Mapped[dt.datetime | None]  # deadline, in working time (handlers/deadlines.py)
    # Set once, by the check that found it overdue and raised its tier (never twice, whatever runs it).
    overdue_at: Mapped[dt.datetime | None]
    followup_at: Mapped[dt.datetime | None]  # when its reporters were asked (回访), once

    @property
    def resolved_on_time(self) -> bool | None:
        """Resolved by its deadline; None when not resolved or without one."""
        if self.resolved_at is None or self.due_at is None:
            return None
        return self.resolved_at <= self.due_at


class RequestEvent(Base):
    """The history of a request: who changed what and when (written in the change's transaction)."""

    __tablename__ = "request_events"
    __table_args__ = (Index("ix_request_events_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str] = mapped_column(String(128))
    actor_name: Mapped[str] = mapped_column(String(64))
    # created, merged, status, tier, urgent, assigned, category, split, overdue, followup, rated,
    # reopened, reply
    action: Mapped[str] = mapped_column(String(16))
    from_value: Mapped[str | None] = mapped_column(String(128))
    to_value: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class RequestReporter(Base):
    """A resident who reported a request (the first sender, and everyone merged into it)."""

    __tablename__ = "request_reporters"

    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    text: Mapped[str | None] = mapped_column(Text)  # what they wrote (a split request starts from it)
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 回访: 1-5 (满意 5, 一般 3, 不满意 1)
    rated_at: Mapped[dt.datetime | None]


class StaffSession(Base):
    """A logged-in staff member of the staff web; only a hash of the cookie's token is kept."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    community: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[str] = mapped_column(String(128))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
