"""What the scheduler remembers: one row per (job, community, day) that ran or had to be skipped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class SchedulerRun(Base):
    """The outcome of a daily job for one community and day.

    The outbox's idempotency keys are what make a rerun harmless; this row is the operator's view
    ("did the morning post go out today, and if not, why?") and lets the start-up catch-up skip
    days that are done without re-inserting thousands of rows that would all conflict.
    """

    __tablename__ = "scheduler_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    community: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)  # in the community's time zone
    status: Mapped[str] = mapped_column(String(8))  # done | skipped
    runs: Mapped[int] = mapped_column(Integer, default=0)
    # Outbox rows added for this day over all runs (a rerun adds only what was missing).
    queued: Mapped[int] = mapped_column(Integer, default=0)
    last_run_at: Mapped[dt.datetime]
    note: Mapped[str | None] = mapped_column(Text)
