"""Merge point: the capabilities' branches (0002-0004, 0005→0006) meet again, so there is one head.

New migrations revise 0007 (or whatever the single head is then); no schema change here.

Revision ID: 0007
Revises: 0002, 0003, 0004, 0006
Create Date: 2026-12-02
"""

revision = "0007"
down_revision = ("0002", "0003", "0004", "0006")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
