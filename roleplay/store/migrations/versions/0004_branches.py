"""Branches of a call (issue 13): turns point at their parent turn.

`turns.parent` is the idx of the turn a turn follows (None for the opening line) and
`turns.branch` the branch it was said in; `sessions.branch` is the branch being played;
`branches` keeps each later branch's starting point, origin and report. Existing calls
become branch 0 with every turn following the one before it, so nothing changes for them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("turns", sa.Column("branch", sa.Integer, nullable=False, server_default="0"))
    op.add_column("turns", sa.Column("parent", sa.Integer))
    op.execute("UPDATE turns SET parent = idx - 1 WHERE idx > 0")
    op.add_column("sessions", sa.Column("branch", sa.Integer, nullable=False,
                                        server_default="0"))
    op.create_table(
        "branches",
        sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.session_id"),
                  primary_key=True),
        sa.Column("branch", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("parent_branch", sa.Integer, nullable=False),
        sa.Column("fork", sa.Integer),
        sa.Column("from_turn", sa.Integer, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("report", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("branches")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("branch")
    with op.batch_alter_table("turns") as batch:
        batch.drop_column("parent")
        batch.drop_column("branch")
