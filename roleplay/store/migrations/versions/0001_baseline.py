"""Baseline: the first release's hand-written SQLite schema (sessions, turns, scoring_cache).

Made idempotent on purpose: a database of that release has no version table and may lack
columns added later in it (`turns.moves`, `sessions.browser`) or the scorer's cache table;
whatever is missing is added, nothing that exists is touched, so no session is lost.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    found = sa.inspect(op.get_bind())
    if not found.has_table("sessions"):
        op.create_table(
            "sessions",
            sa.Column("session_id", sa.Text, primary_key=True),
            sa.Column("persona_id", sa.Text, nullable=False),
            sa.Column("user", sa.Text),
            sa.Column("model", sa.Text),
            sa.Column("started_at", sa.Text, nullable=False),
            sa.Column("ended_at", sa.Text),
            sa.Column("sandbox", sa.Boolean(create_constraint=False), nullable=False,
                      server_default="0"),
            sa.Column("score", sa.Float),
            sa.Column("report", sa.Text),
            sa.Column("browser", sa.Text),
        )
    elif "browser" not in {c["name"] for c in found.get_columns("sessions")}:
        op.add_column("sessions", sa.Column("browser", sa.Text))
    if not found.has_table("turns"):
        op.create_table(
            "turns",
            sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.session_id"),
                      primary_key=True),
            sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
            sa.Column("role", sa.Text, nullable=False),
            sa.Column("content", sa.Text, nullable=False),
            sa.Column("rung_before", sa.Text),
            sa.Column("rung_after", sa.Text),
            sa.Column("reason", sa.Text),
            sa.Column("created_at", sa.Text, nullable=False),
            sa.Column("model", sa.Text),
            sa.Column("moves", sa.Text),
            sa.CheckConstraint("role IN ('customer', 'trainee')", name="turns_role"),
        )
    elif "moves" not in {c["name"] for c in found.get_columns("turns")}:
        op.add_column("turns", sa.Column("moves", sa.Text))
    if "sessions_by_user" not in {i["name"] for i in found.get_indexes("sessions")}:
        op.create_index("sessions_by_user", "sessions", ["user", "started_at"])
    if not found.has_table("scoring_cache"):
        op.create_table(
            "scoring_cache",
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("value", sa.Text, nullable=False),
        )


def downgrade() -> None:
    raise NotImplementedError("the baseline is the oldest schema; restore a backup instead")
