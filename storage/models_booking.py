"""Bookable service sessions (materialized from config rules or added by staff) and residents' bookings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class ServiceSession(Base):
    """One dated session of a service, e.g. haircut on 2026-11-28 09:00-11:30 with 12 places.

    Rows are never deleted: closing keeps the row (status "closed"), so that re-materializing the
    config rules cannot bring back a session staff have closed.
    """

    __tablename__ = "service_sessions"
    __table_args__ = (
        UniqueConstraint("community", "service", "starts_at", name="uq_service_sessions_slot"),
        Index("ix_service_sessions_community_starts", "community", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(32))
    starts_at: Mapped[dt.datetime]
    ends_at: Mapped[dt.datetime]
    capacity: Mapped[int] = mapped_column(Integer)
    place: Mapped[str | None] = mapped_column(String(128))  # None: the service's place
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    source: Mapped[str] = mapped_column(String(8), default="config")  # config | staff
    created_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]


# A booking that holds a place, or waits for one.
ACTIVE_STATUSES = ("booked", "waitlisted")


class Booking(Base):
    """A resident's place (or waitlist entry) in a session; cancelled bookings are kept."""

    __tablename__ = "bookings"
    __table_args__ = (
        UniqueConstraint("code", name="uq_bookings_code"),
        Index("ix_bookings_session_status", "session_id", "status"),
        Index("ix_bookings_resident", "community", "resident_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(8))
    community: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[int] = mapped_column(ForeignKey("service_sessions.id"))
    service: Mapped[str] = mapped_column(String(32))
    resident_id: Mapped[str] = mapped_column(String(128))
    resident_name: Mapped[str] = mapped_column(String(64))
    # Where the resident booked: reminders and "a place freed up" go back through this channel.
    channel: Mapped[str] = mapped_column(String(16))
    group_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # booked | waitlisted | cancelled
    item: Mapped[str | None] = mapped_column(String(64))  # what is needed, e.g. 热水壶
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None]
