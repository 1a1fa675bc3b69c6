"""A request's life (issue 16): its object, owner, deadline, overdue and 回访 marks; what each
reporter wrote and how satisfied they were; history values wide enough for a person's id.

Revision ID: 0011_req_lifecycle
Revises: 0010_ops_notices_attendance
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_req_lifecycle"
down_revision = "0010_ops_notices_attendance"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("object", sa.String(32)))
        batch.add_column(sa.Column("owner_id", sa.String(128)))
        batch.add_column(sa.Column("due_at", TS))
        batch.add_column(sa.Column("overdue_at", TS))
        batch.add_column(sa.Column("followup_at", TS))
    op.create_index("ix_requests_community_owner", "requests", ["community", "owner_id", "status"])
    op.create_index("ix_requests_community_due", "requests", ["community", "status", "due_at"])
    with op.batch_alter_table("request_reporters") as batch:
        batch.add_column(sa.Column("text", sa.Text))
        batch.add_column(sa.Column("satisfaction", sa.Integer))
        batch.add_column(sa.Column("rated_at", TS))
    with op.batch_alter_table("request_events") as batch:
        batch.alter_column("from_value", type_=sa.String(128), existing_type=sa.String(16))
        batch.alter_column("to_value", type_=sa.String(128), existing_type=sa.String(16))


def downgrade() -> None:
    with op.batch_alter_table("request_events") as batch:
        batch.alter_column("from_value", type_=sa.String(16), existing_type=sa.String(128))
        batch.alter_column("to_value", type_=sa.String(16), existing_type=sa.String(128))
    with op.batch_alter_table("request_reporters") as batch:
        batch.drop_column("rated_at")
        batch.drop_column("satisfaction")
        batch.drop_column("text")
    op.drop_index("ix_requests_community_due", "requests")
    op.drop_index("ix_requests_community_owner", "requests")
    with op.batch_alter_table("requests") as batch:
        for column in ("followup_at", "overdue_at", "due_at", "owner_id", "object"):
            batch.drop_column(column)
