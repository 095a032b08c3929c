"""Coaching (issue 12): a coach's status changes and turn comments, assignments, and
assessment attempts (roleplay/coaching/tables.py defines them).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coach_overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.session_id"), nullable=False),
        sa.Column("principle", sa.Text, nullable=False),
        sa.Column("by_user", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("from_status", sa.Text, nullable=False),
        sa.Column("to_status", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_index("coach_overrides_by_session", "coach_overrides", ["session_id"])
    op.create_table(
        "coach_turn_comments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.session_id"), nullable=False),
        sa.Column("turn", sa.Integer, nullable=False),
        sa.Column("by_user", sa.Text, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("coach_turn_comments_by_session", "coach_turn_comments", ["session_id"])
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scenarios", sa.Text, nullable=False),
        sa.Column("trainees", sa.Text, nullable=False),
        sa.Column("due", sa.Date),
        sa.Column("pass_mark", sa.Float),
        sa.Column("assessment", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("release_at_once", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.Text, nullable=False),
    )
    op.create_table(
        "assessment_attempts",
        sa.Column("session_id", sa.Text, sa.ForeignKey("sessions.session_id"),
                  primary_key=True),
        sa.Column("assignment_id", sa.Integer, sa.ForeignKey("assignments.id"),
                  nullable=False),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("scenario", sa.Text, nullable=False),
        sa.Column("released", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("released_by", sa.Text),
        sa.Column("released_at", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("assessment_attempts")
    op.drop_table("assignments")
    op.drop_index("coach_turn_comments_by_session", "coach_turn_comments")
    op.drop_table("coach_turn_comments")
    op.drop_index("coach_overrides_by_session", "coach_overrides")
    op.drop_table("coach_overrides")
