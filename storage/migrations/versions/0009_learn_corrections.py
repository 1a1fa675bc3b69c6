"""Staff teach the bot: label corrections (labelled examples, masked) and the unsure messages kept for
staff (待确认).

Revision ID: 0009_learn_corrections
Revises: 0008_media_attachments
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_learn_corrections"
down_revision = "0008_media_attachments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_corrections",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("previous", sa.String(32)),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("actor_name", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("request_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_label_corrections_created", "label_corrections", ["created_at", "id"])
    op.create_table(
        "unsure_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("group_id", sa.String(64)),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_key", sa.String(32), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("suggested", sa.String(32)),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("request_id", sa.Integer),
        sa.UniqueConstraint("community", "sender_id", "text_key", name="uq_unsure_sender_text"),
    )
    op.create_index("ix_unsure_community_status", "unsure_messages", ["community", "status", "last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_unsure_community_status", table_name="unsure_messages")
    op.drop_table("unsure_messages")
    op.drop_index("ix_label_corrections_created", table_name="label_corrections")
    op.drop_table("label_corrections")
