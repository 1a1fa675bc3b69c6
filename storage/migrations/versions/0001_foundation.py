"""Foundation: members, inbox, outbox, simulator timeline, conversation state.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("community", sa.String(64), primary_key=True),
        sa.Column("person_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("first_group", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("msg_id", sa.String(128), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("group_id", sa.String(64)),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("sender_role", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("mentions_bot", sa.Boolean, nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("label", sa.String(32)),
        sa.Column("handler", sa.String(32)),
        sa.Column("processed_at", TS),
        sa.Column("error", sa.Text),
        sa.UniqueConstraint("channel", "msg_id", name="uq_inbox_channel_msg"),
    )
    op.create_index("ix_inbox_status_id", "inbox", ["status", "id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("audience", sa.String(8), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("reply_to", sa.Integer, sa.ForeignKey("inbox.id")),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at"])
    op.create_index("ix_outbox_reply_to", "outbox", ["reply_to"])
    op.create_table(
        "sim_timeline",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("chat_kind", sa.String(8), nullable=False),
        sa.Column("chat_id", sa.String(128), nullable=False),
        sa.Column("from_kind", sa.String(8), nullable=False),
        sa.Column("sender_id", sa.String(128)),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index("ix_sim_timeline_chat", "sim_timeline", ["chat_kind", "chat_id", "id"])
    op.create_table(
        "conversation_state",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("chat_id", sa.String(64), primary_key=True),
        sa.Column("sender_id", sa.String(128), primary_key=True),
        sa.Column("intent", sa.String(32), nullable=False),
        sa.Column("slot", sa.String(32), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("conversation_state")
    op.drop_index("ix_sim_timeline_chat", table_name="sim_timeline")
    op.drop_table("sim_timeline")
    op.drop_index("ix_outbox_reply_to", table_name="outbox")
    op.drop_index("ix_outbox_status_due", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_inbox_status_id", table_name="inbox")
    op.drop_table("inbox")
    op.drop_table("members")
