"""Failed logins and lock-outs in the database, so every app process counts them together.

Before this, each process kept them in memory: behind a load balancer with N processes a
password guesser got N times the tries before a lock, and a restart forgot every lock.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("login_failures_by_key", "login_failures", ["key", "at"])
    op.create_table(
        "login_locks",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("until", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_locks")
    op.drop_index("login_failures_by_key", table_name="login_failures")
    op.drop_table("login_failures")
