"""Issue 19: the outbox's pending rows in partial indexes, for claims by row locks alone.

`ix_outbox_pending_due` (next_attempt_at, id) finds due rows without walking the sent ones;
`ix_outbox_pending_chat` (channel, target, id) answers "is an earlier row of this chat still
pending?", which every claim asks for each candidate (before: a scan of every leased or backing-off
row). Both hold pending rows only: a row leaves them once sent or failed. They replace
ix_outbox_status_due (status, next_attempt_at), which held every row ever sent.

Revision ID: 0012_outbox_pending_indexes
Revises: 0011_req_lifecycle
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_outbox_pending_indexes"
down_revision = "0011_req_lifecycle"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index("ix_outbox_pending_due", "outbox", ["next_attempt_at", "id"],
                    postgresql_where=PENDING, sqlite_where=PENDING)
    op.create_index("ix_outbox_pending_chat", "outbox", ["channel", "target", "id"],
                    postgresql_where=PENDING, sqlite_where=PENDING)
    op.drop_index("ix_outbox_status_due", table_name="outbox")


def downgrade() -> None:
    op.create_index("ix_outbox_status_due", "outbox", ["status", "next_attempt_at"])
    op.drop_index("ix_outbox_pending_chat", table_name="outbox")
    op.drop_index("ix_outbox_pending_due", table_name="outbox")
