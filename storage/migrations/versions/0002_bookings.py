"""Bookings: service sessions and residents' bookings.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "service_sessions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("place", sa.String(128)),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("created_by", sa.String(128)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.UniqueConstraint("community", "service", "starts_at", name="uq_service_sessions_slot"),
    )
    op.create_index("ix_service_sessions_community_starts", "service_sessions", ["community", "starts_at"])
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(8), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("service_sessions.id"), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("resident_id", sa.String(128), nullable=False),
        sa.Column("resident_name", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(64)),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("item", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("cancelled_at", TS),
        sa.UniqueConstraint("code", name="uq_bookings_code"),
    )
    op.create_index("ix_bookings_session_status", "bookings", ["session_id", "status"])
    op.create_index("ix_bookings_resident", "bookings", ["community", "resident_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_bookings_resident", table_name="bookings")
    op.drop_index("ix_bookings_session_status", table_name="bookings")
    op.drop_table("bookings")
    op.drop_index("ix_service_sessions_community_starts", table_name="service_sessions")
    op.drop_table("service_sessions")
