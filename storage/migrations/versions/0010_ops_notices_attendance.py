"""Issue 18 (operations): staff notices, attendance and no-shows, volunteers' absences, session
close-outs and service hours.

Revision ID: 0010_ops_notices_attendance
Revises: 0009_learn_corrections
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_ops_notices_attendance"
down_revision = "0009_learn_corrections"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("author_id", sa.String(128), nullable=False),
        sa.Column("author_name", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("targets", sa.JSON, nullable=False),
        sa.Column("audience", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("send_at", TS),
        sa.Column("confirmed_by", sa.String(128)),
        sa.Column("confirmed_at", TS),
        sa.Column("sent_at", TS),
        sa.Column("cancelled_at", TS),
    )
    op.create_index("ix_notices_community_created", "notices", ["community", "created_at"])
    op.create_index("ix_notices_status_send_at", "notices", ["status", "send_at"])
    op.create_table(
        "attendance",
        sa.Column("booking_id", sa.Integer, sa.ForeignKey("bookings.id"), primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("service_sessions.id"), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("resident_id", sa.String(128), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("recorded_by", sa.String(128), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_attendance_session", "attendance", ["session_id"])
    op.create_index("ix_attendance_resident", "attendance", ["community", "resident_id", "status", "recorded_at"])
    op.create_table(
        "volunteer_absences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("service_sessions.id"), nullable=False),
        sa.Column("person_id", sa.String(128), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("session_id", "person_id", name="uq_volunteer_absences_session_person"),
    )
    op.create_table(
        "session_closeouts",
        sa.Column("session_id", sa.Integer, sa.ForeignKey("service_sessions.id"), primary_key=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("attendance_taken", sa.Boolean, nullable=False),
        sa.Column("present", sa.Integer, nullable=False),
        sa.Column("no_shows", sa.Integer, nullable=False),
        sa.Column("volunteers", sa.Integer, nullable=False),
        sa.Column("closed_at", TS, nullable=False),
    )
    op.create_table(
        "service_hours",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("service_sessions.id"), nullable=False),
        sa.Column("person_id", sa.String(128), nullable=False),
        sa.Column("person_name", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.UniqueConstraint("session_id", "person_id", name="uq_service_hours_session_person"),
    )
    op.create_index("ix_service_hours_community_day", "service_hours", ["community", "day"])


def downgrade() -> None:
    op.drop_index("ix_service_hours_community_day", table_name="service_hours")
    op.drop_table("service_hours")
    op.drop_table("session_closeouts")
    op.drop_table("volunteer_absences")
    op.drop_index("ix_attendance_resident", table_name="attendance")
    op.drop_index("ix_attendance_session", table_name="attendance")
    op.drop_table("attendance")
    op.drop_index("ix_notices_status_send_at", table_name="notices")
    op.drop_index("ix_notices_community_created", table_name="notices")
    op.drop_table("notices")
