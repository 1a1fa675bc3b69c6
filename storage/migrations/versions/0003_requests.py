"""Residents' requests: requests, their history and reporters, staff web sessions.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(64)),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("building", sa.Integer),
        sa.Column("unit", sa.Integer),
        sa.Column("room", sa.String(8)),
        sa.Column("grid", sa.String(64), nullable=False),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("urgent", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("affected", sa.Integer, nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("resolved_at", TS),
        sa.Column("closed_at", TS),
    )
    op.create_index("ix_requests_community_created", "requests", ["community", "created_at", "category"])
    op.create_index("ix_requests_community_resolved", "requests", ["community", "resolved_at"])
    op.create_index("ix_requests_community_status", "requests",
                    ["community", "status", "created_at", "category", "tier", "grid"])
    op.create_index("ix_requests_community_urgent", "requests", ["community", "urgent", "status", "created_at"])
    op.create_index("ix_requests_group_created", "requests", ["group_id", "created_at"])
    op.create_table(
        "request_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_value", sa.String(16)),
        sa.Column("to_value", sa.String(16)),
        sa.Column("note", sa.Text),
    )
    op.create_index("ix_request_events_request", "request_events", ["request_id", "id"])
    op.create_table(
        "request_reporters",
        sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), primary_key=True),
        sa.Column("person_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(64)),
        sa.Column("at", TS, nullable=False),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("staff_id", sa.String(128), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("staff_sessions")
    op.drop_table("request_reporters")
    op.drop_index("ix_request_events_request", table_name="request_events")
    op.drop_table("request_events")
    op.drop_index("ix_requests_group_created", table_name="requests")
    op.drop_index("ix_requests_community_urgent", table_name="requests")
    op.drop_index("ix_requests_community_status", table_name="requests")
    op.drop_index("ix_requests_community_resolved", table_name="requests")
    op.drop_index("ix_requests_community_created", table_name="requests")
    op.drop_table("requests")
