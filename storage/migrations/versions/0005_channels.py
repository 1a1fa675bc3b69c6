"""WeChat channels: shared access tokens, rate counters, OA reply windows, events, AI-bot reply URLs.

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_tokens",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "channel_rate_counts",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("window_start", TS, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "mp_reply_windows",
        sa.Column("openid", sa.String(128), primary_key=True),
        sa.Column("last_message_at", TS, nullable=False),
        sa.Column("sent_since", sa.Integer, nullable=False),
    )
    op.create_table(
        "channel_events",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("event_key", sa.String(200), primary_key=True),
        sa.Column("received_at", TS, nullable=False),
    )
    op.create_table(
        "aibot_reply_urls",
        sa.Column("msg_id", sa.String(128), primary_key=True),
        sa.Column("response_url", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("used_at", TS),
    )
    op.create_table(
        "delivery_progress",
        sa.Column("outbox_id", sa.Integer, sa.ForeignKey("outbox.id"), primary_key=True),
        sa.Column("parts_sent", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("delivery_progress")
    op.drop_table("aibot_reply_urls")
    op.drop_table("channel_events")
    op.drop_table("mp_reply_windows")
    op.drop_table("channel_rate_counts")
    op.drop_table("channel_tokens")
