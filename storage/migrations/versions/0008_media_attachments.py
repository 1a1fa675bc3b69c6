"""Photos and locations (issue 16 item 9): request attachments, their checked bytes, the simulator's uploads.

Revision ID: 0008_media_attachments
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_media_attachments"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "request_attachments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("community", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("msg_id", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("group_id", sa.String(64)),
        sa.Column("sender_id", sa.String(128), nullable=False),
        sa.Column("sender_name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("media_id", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("latitude", sa.Float),
        sa.Column("longitude", sa.Float),
        sa.Column("label", sa.String(200)),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id")),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(16)),
        sa.Column("content_type", sa.String(32)),
        sa.Column("size", sa.Integer),
        sa.Column("width", sa.Integer),
        sa.Column("height", sa.Integer),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("attached_at", TS),
        sa.Column("fetched_at", TS),
        sa.UniqueConstraint("channel", "msg_id", "position", name="uq_request_attachments_message"),
    )
    op.create_index("ix_request_attachments_due", "request_attachments", ["status", "next_attempt_at"])
    op.create_index("ix_request_attachments_request", "request_attachments", ["request_id", "id"])
    op.create_index("ix_request_attachments_sender", "request_attachments", ["community", "sender_id", "created_at"])
    op.create_table(
        "attachment_files",
        sa.Column("attachment_id", sa.Integer, sa.ForeignKey("request_attachments.id"), primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("thumbnail", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "sim_uploads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("content_type", sa.String(64)),
        sa.Column("created_at", TS, nullable=False),
    )
    with op.batch_alter_table("sim_timeline") as batch:
        batch.add_column(sa.Column("upload_id", sa.Integer, sa.ForeignKey("sim_uploads.id",
                                                                          name="fk_sim_timeline_upload")))


def downgrade() -> None:
    with op.batch_alter_table("sim_timeline") as batch:
        batch.drop_constraint("fk_sim_timeline_upload", type_="foreignkey")
        batch.drop_column("upload_id")
    op.drop_table("sim_uploads")
    op.drop_table("attachment_files")
    op.drop_index("ix_request_attachments_sender", "request_attachments")
    op.drop_index("ix_request_attachments_request", "request_attachments")
    op.drop_index("ix_request_attachments_due", "request_attachments")
    op.drop_table("request_attachments")
