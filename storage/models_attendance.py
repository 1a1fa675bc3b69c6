"""Who came to a session (check-ins and no-shows), volunteers who said they cannot come, each
session's close-out, and the service hours volunteers served."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base, utcnow


class Attendance(Base):
    """A booked resident's attendance: checked in ("present") or recorded as a no-show at close-out."""

    __tablename__ = "attendance"
    __table_args__ = (
        Index("ix_attendance_session", "session_id"),
        Index("ix_attendance_resident", "community", "resident_id", "status", "recorded_at"),
    )

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("service_sessions.id"))
    community: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(8))  # present | no_show
    recorded_by: Mapped[str] = mapped_column(String(128))  # a person id, or "close-out"
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class VolunteerAbsence(Base):
    """A volunteer said they cannot come to a session of their team ("12月5号的理发我有事去不了")."""

    __tablename__ = "volunteer_absences"
    __table_args__ = (UniqueConstraint("session_id", "person_id", name="uq_volunteer_absences_session_person"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[int] = mapped_column(ForeignKey("service_sessions.id"))
    person_id: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)  # what they said, as said (staff and the lead see it)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SessionCloseout(Base):
    """A session after it ended: no-shows and service hours were recorded once, here is the count."""

    __tablename__ = "session_closeouts"

    session_id: Mapped[int] = mapped_column(ForeignKey("service_sessions.id"), primary_key=True)
    community: Mapped[str] = mapped_column(String(64))
    attendance_taken: Mapped[bool] = mapped_column(Boolean)  # anyone was checked in
    present: Mapped[int] = mapped_column(Integer)
    no_shows: Mapped[int] = mapped_column(Integer)
    volunteers: Mapped[int] = mapped_column(Integer)  # who were credited service hours
    closed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ServiceHours(Base):
    """The minutes one volunteer served at one session, for their team (志愿时长)."""

    __tablename__ = "service_hours"
    __table_args__ = (
        UniqueConstraint("session_id", "person_id", name="uq_service_hours_session_person"),
        Index("ix_service_hours_community_day", "community", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(64))
    session_id: Mapped[int] = mapped_column(ForeignKey("service_sessions.id"))
    person_id: Mapped[str] = mapped_column(String(128))
    person_name: Mapped[str] = mapped_column(String(64))  # as of the day served
    team_id: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(32))
    day: Mapped[dt.date] = mapped_column(Date)  # the session's local date
    minutes: Mapped[int] = mapped_column(Integer)
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
